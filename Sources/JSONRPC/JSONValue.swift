/// An in-memory JSON value.
///
/// `JSONValue` is the currency type of this module: request parameters,
/// results and error data are all `JSONValue`s. It keeps the distinction
/// between integers and floating-point numbers that JSON text carries, so that
/// an identifier such as `9007199254740993` survives a round trip exactly.
///
/// ```swift
/// let params: JSONValue = ["name": "Oak", "height": 12, "tags": ["tree"]]
/// params["name"]?.stringValue   // "Oak"
/// params["height"]?.intValue    // 12
/// params.jsonString             // {"height":12,"name":"Oak","tags":["tree"]}
/// ```
public enum JSONValue: Sendable, Hashable {
    /// The JSON literal `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case int(Int64)
    /// Any other finite number.
    case double(Double)
    /// A string.
    case string(String)
    /// An ordered list of values.
    case array([JSONValue])
    /// A collection of named members; member order is not significant.
    case object([String: JSONValue])
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` when this value is an object, otherwise `nil`.
    ///
    /// ```swift
    /// let value: JSONValue = ["id": 7]
    /// value["id"]        // .int(7)
    /// value["missing"]   // nil
    /// ```
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    /// The string payload, or `nil` when this is not a string.
    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    /// The value as a 64-bit integer, or `nil`.
    ///
    /// JSON itself has a single number type, so a `.double` that holds an
    /// integral value that fits in `Int64` (such as `3.0`) is accepted too;
    /// `3.5` is not.
    public var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    /// The value as a `Double` (integers are converted), or `nil` when this
    /// is not a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The Boolean payload, or `nil` when this is not `true` or `false`.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The members of an object, or `nil` when this is not an object.
    public var objectValue: [String: JSONValue]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The elements of an array, or `nil` when this is not an array.
    public var arrayValue: [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// Whether this is the JSON literal `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

// MARK: - Description

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of the value, handy in logs and test failures.
    public var description: String { jsonString }
}
