import JSONRPC
import KasvuDomain

/// Named parameters of one request, with every shape problem collected into a single
/// -32602 error (`data.errors: [{field, message}]`) before the handler touches the replica.
struct Params {
    private let object: [String: JSONValue]
    private var errors: [(field: String, message: String)] = []

    /// - Parameter allowed: the parameter names the method takes; anything else is an error,
    ///   so that a typo (`lastname`) is never silently ignored.
    /// - Parameter required: the names that must be present (whether null is acceptable is the
    ///   handler's to say: `conflict/resolve` may write null, an `id` may not be null).
    init(_ params: JSONValue?, allowed: Set<String>, required: Set<String> = []) throws(ResponseError) {
        switch params {
        case nil, .null?: object = [:]
        case .object(let members)?: object = members
        default: throw .invalidParams("params must be an object of named parameters")
        }
        for key in object.keys.sorted() where !allowed.contains(key) {
            errors.append((key, "unknown parameter; expected one of \(allowed.sorted().joined(separator: ", "))"))
        }
        for key in required.sorted() where object[key] == nil {
            errors.append((key, "is required"))
        }
    }

    /// Records a problem, once per field (a missing required name is not also "must be a string").
    private mutating func report(_ field: String, _ message: String) {
        if !errors.contains(where: { $0.field == field }) { errors.append((field, message)) }
    }

    mutating func string(_ key: String) -> String {
        optionalString(key) ?? { report(key, "is required"); return "" }()
    }

    mutating func optionalString(_ key: String) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: report(key, "must be a string"); return nil
        }
    }

    mutating func optionalInt(_ key: String) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case .int(let value)?: return Int(value)
        default: report(key, "must be an integer"); return nil
        }
    }

    mutating func optionalObject(_ key: String) -> [String: JSONValue]? {
        switch object[key] {
        case nil, .null?: return nil
        case .object(let members)?: return members
        default: report(key, "must be an object"); return nil
        }
    }

    mutating func id(_ key: String = "id") -> String {
        let text = string(key)
        guard !text.isEmpty else { return text }
        do throws(FieldError) { return try RecordID.validate(text, field: key) } catch {
            report(key, error.message)
            return text
        }
    }

    mutating func optionalID(_ key: String) -> String? {
        guard let text = optionalString(key) else { return nil }
        do throws(FieldError) { return try RecordID.validate(text, field: key) } catch {
            report(key, error.message)
            return text
        }
    }

    /// Record fields given as JSON values, checked against the schema's value types. Values of
    /// the right type but an invalid content (a bad henkilötunnus) are left for the domain's
    /// validation, which answers `validation_failed`.
    mutating func fields(_ members: [String: JSONValue], of kind: EntityKind, path: String = "") -> [String: FieldValue] {
        var result: [String: FieldValue] = [:]
        for (name, json) in members {
            let field = path.isEmpty ? name : "\(path).\(name)"
            guard let spec = kind.schema.field(name) else {
                report(field, "unknown field of \(kind.rawValue)")
                continue
            }
            switch (spec.type, json) {
            case (_, .null): result[name] = .null
            case (.string, .string(let text)): result[name] = .string(text)
            case (.integer, .int(let number)): result[name] = .int(number)
            case (.boolean, .bool(let flag)): result[name] = .bool(flag)
            // An array or object field's value is its JSON text; the domain's rule checks it.
            case (.array, .array), (.object, .object): result[name] = .string(String(decoding: json.serialized(), as: UTF8.self))
            default: report(field, "must be \(spec.type == .integer ? "an integer" : spec.type == .array ? "an array" : spec.type == .object ? "an object" : "a \(spec.type.rawValue)")")
            }
        }
        return result
    }

    /// Throws the collected -32602 error, if any.
    func check() throws(ResponseError) {
        guard errors.isEmpty else {
            throw .invalidParams("invalid params: " + errors.map { "\($0.field) \($0.message)" }.joined(separator: "; "),
                                 errors: errors)
        }
    }

    subscript(key: String) -> JSONValue? { object[key] }
}

/// Parameter texts parsed into domain values; a bad one is `validation_failed` naming the field.
///
/// Plain functions rather than a generic typed-throws helper in async closures: the latter
/// crashed the 6.3.1 optimizer (coroutine splitting) in release builds.
enum ParamParsing {
    static func month(_ text: String) throws -> YearMonth {
        do { return try YearMonth(iso: text) } catch { throw KasvuError.validationFailed([error]) }
    }

    static func date(_ text: String) throws -> CalendarDate {
        do { return try CalendarDate(iso: text) } catch { throw KasvuError.validationFailed([error]) }
    }

    static func period(_ text: String) throws -> BillingPeriod {
        do { return try BillingPeriod(iso: text) } catch { throw KasvuError.validationFailed([error]) }
    }

    static func entityKind(_ name: String) throws(ResponseError) -> EntityKind {
        guard let kind = EntityKind(rawValue: name) else {
            throw .invalidParams("invalid params: unknown entity \(name)",
                                 errors: [("entity", "must be one of \(EntityKind.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        return kind
    }
}
