// Codable support lets `JSONValue` be embedded in `Codable` types (for
// example a free-form `metadata` field) and pass through `JSONEncoder` /
// `JSONDecoder` unchanged. Everything goes through a single-value container so
// the value is encoded as itself, not wrapped in an enum-shaped object.

extension JSONValue: Codable {
    /// Decodes whichever JSON type the decoder holds at this position.
    ///
    /// ```swift
    /// struct Note: Codable { var text: String; var extra: JSONValue }
    /// let note = try JSONDecoder().decode(Note.self, from: data)
    /// ```
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // The order matters: Bool before numbers so `true` is not read as 1,
        // Int64 before Double so integers keep their exact value.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "Value is not representable as JSON"
            )
        }
    }

    /// Encodes the value as the corresponding JSON type.
    ///
    /// Non-finite doubles are encoded as `null`, matching ``serialized()``,
    /// because JSON has no spelling for them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null:
            try container.encodeNil()
        case .bool(let value):
            try container.encode(value)
        case .int(let value):
            try container.encode(value)
        case .double(let value):
            if value.isFinite {
                try container.encode(value)
            } else {
                try container.encodeNil()
            }
        case .string(let value):
            try container.encode(value)
        case .array(let elements):
            try container.encode(elements)
        case .object(let members):
            try container.encode(members)
        }
    }
}
