import JSONRPC
import KasvuDomain

/// Small builders for the JSON Schemas of the OpenRPC catalogue.
enum JSONSchema {
    static func string(_ description: String? = nil, allowed: [String]? = nil, pattern: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string"]
        if let description { schema["description"] = .string(description) }
        if let allowed { schema["enum"] = .array(allowed.map(JSONValue.string)) }
        if let pattern { schema["pattern"] = .string(pattern) }
        return .object(schema)
    }

    static func integer(_ description: String? = nil, minimum: Int64? = nil, maximum: Int64? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "integer"]
        if let description { schema["description"] = .string(description) }
        if let minimum { schema["minimum"] = .int(minimum) }
        if let maximum { schema["maximum"] = .int(maximum) }
        return .object(schema)
    }

    static let boolean: JSONValue = ["type": "boolean"]
    /// Any JSON value.
    static let any: JSONValue = [:]

    static func object(_ properties: [String: JSONValue], required: [String] = [], closed: Bool = false, description: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.sorted().map(JSONValue.string)) }
        if closed { schema["additionalProperties"] = false }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    static func array(_ items: JSONValue, description: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "array", "items": items]
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func nullable(_ schema: JSONValue) -> JSONValue { ["oneOf": [schema, ["type": "null"]]] }

    /// `{items: [...]}`, the shape of every report and list without paging.
    static func items(_ item: JSONValue) -> JSONValue { object(["items": array(item)], required: ["items"]) }

    static let uuid: JSONValue = ["type": "string", "format": "uuid", "description": "UUID, lowercase canonical form"]
    static let date = string("ISO date YYYY-MM-DD", pattern: #"^\d{4}-\d{2}-\d{2}$"#)
    static let month = string("YYYY-MM", pattern: #"^\d{4}-\d{2}$"#)
    static let period = string("four-month period YYYY-T1, -T2 or -T3", pattern: #"^\d{4}-T[1-3]$"#)
    static let money = string("euros, exact, two decimals", pattern: #"^-?\d+\.\d{2}$"#)
    static let entity = string(allowed: EntityKind.allCases.map(\.rawValue))
    static let referralState = string(allowed: ReferralState.allCases.map(\.rawValue))

    /// One record field: its JSON type and the facets its rule states; nullable unless required.
    static func field(_ spec: FieldSpec) -> JSONValue {
        let format = spec.rule.format
        var schema: [String: JSONValue] = ["type": .string(spec.type.rawValue)]
        switch format.structure {
        case .codes(let codes)?:
            schema["items"] = .object(["type": "string", "enum": .array(codes.map(JSONValue.string))])
            schema["uniqueItems"] = true
        case .texts(let maxLength)?:
            schema["items"] = .object(["type": "string", "maxLength": .int(Int64(maxLength))])
        case .participants(let roles, let nameMaxLength)?:
            schema["items"] = .object([
                "type": "object", "additionalProperties": false, "required": ["role", "name"],
                "properties": .object(["role": .object(["type": "string", "enum": .array(roles.map(JSONValue.string))]),
                                       "name": .object(["type": "string", "maxLength": .int(Int64(nameMaxLength))])]),
            ])
        case .municipalities?:
            schema["items"] = .object(["type": "string", "pattern": #"^\d{3}$"#])
            schema["uniqueItems"] = true
            schema["minItems"] = 1
        case .serviceTarget(let clientTypes)?:
            let age: JSONValue = ["type": "integer", "minimum": 0, "maximum": 120]
            schema["additionalProperties"] = false
            schema["properties"] = .object([
                "clientTypes": .object(["type": "array", "uniqueItems": true, "items": .object(["type": "string", "enum": .array(clientTypes.map(JSONValue.string))])]),
                "riskGroups": .object(["type": "array", "uniqueItems": true, "minItems": 1, "items": ["type": "integer", "minimum": 1, "maximum": 3]]),
                "minAge": age, "maxAge": age,
            ])
        case nil:
            break
        }
        if let maxItems = format.maxItems { schema["maxItems"] = .int(Int64(maxItems)) }
        if let allowed = format.allowed { schema["enum"] = .array(allowed.map(JSONValue.string)) }
        if let pattern = format.pattern { schema["pattern"] = .string(pattern) }
        if let maxLength = format.maxLength { schema["maxLength"] = .int(Int64(maxLength)) }
        if let name = format.format { schema["format"] = .string(name) }
        if let range = format.range {
            schema["minimum"] = .int(range.lowerBound)
            schema["maximum"] = .int(range.upperBound)
        }
        var notes = [spec.summary, format.description].compactMap { $0 }
        switch spec.access {
        case .editable: break
        case .createOnly: notes.append("given on create, cannot change after")
        case .system: notes.append("set by the system")
        }
        if spec.confidential { notes.append("never delivered to provider replicas") }
        if spec.personal { notes.append("personal data, erased when the client is deleted") }
        if !notes.isEmpty { schema["description"] = .string(notes.joined(separator: "; ")) }
        return spec.required ? .object(schema) : nullable(.object(schema))
    }
}
