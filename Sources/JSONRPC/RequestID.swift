/// The `id` of a JSON-RPC request: an integer or a string.
///
/// JSON-RPC 2.0 also tolerates `null` and fractional ids, but discourages
/// both; like the Language Server Protocol, this module treats them as
/// invalid requests so that every id can be echoed back exactly.
///
/// ```swift
/// let id: RequestID = 7
/// id.jsonValue  // .int(7)
/// ```
public enum RequestID: Sendable, Hashable {
    /// A numeric id such as `1`.
    case int(Int64)
    /// A string id such as `"req-1"`.
    case string(String)

    /// The id as it appears in a message.
    public var jsonValue: JSONValue {
        switch self {
        case .int(let value): return .int(value)
        case .string(let value): return .string(value)
        }
    }

    /// Reads an id from a message's `id` member; `nil` for any other type.
    public init?(jsonValue: JSONValue) {
        switch jsonValue {
        case .int(let value): self = .int(value)
        case .string(let value): self = .string(value)
        default: return nil
        }
    }
}

extension RequestID: ExpressibleByIntegerLiteral {
    /// Creates `.int` from an integer literal.
    public init(integerLiteral value: Int64) {
        self = .int(value)
    }
}

extension RequestID: ExpressibleByStringLiteral {
    /// Creates `.string` from a string literal.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension RequestID: CustomStringConvertible {
    /// The id as JSON text: `7` or `"req-1"`.
    public var description: String { jsonValue.jsonString }
}

extension RequestID: Codable {
    /// Decodes an integer or string id.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "A request id must be an integer or a string"
            )
        }
    }

    /// Encodes the id as a bare integer or string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }
}
