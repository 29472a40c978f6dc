import JSONBytes

extension JSONValue {
    /// The compact UTF-8 JSON text of this value.
    ///
    /// Output is deterministic: object members are sorted by key (in UTF-8
    /// byte order, which equals Unicode code point order), there is no
    /// insignificant whitespace, and doubles use the shortest text that parses
    /// back to the same value. Integral doubles keep a fraction (`1.0`) so they
    /// stay doubles after a round trip. JSON cannot express NaN or infinity, so
    /// non-finite doubles are written as `null`.
    ///
    /// ```swift
    /// let value: JSONValue = ["b": [1, 2.5], "a": "x\n"]
    /// String(decoding: value.serialized(), as: UTF8.self)
    /// // {"a":"x\n","b":[1,2.5]}
    /// ```
    public func serialized() -> [UInt8] {
        var writer = JSONWriter(capacity: 64)
        JSONSerializer.write(self, into: &writer)
        return writer.bytes
    }

    /// ``serialized()`` as a `String`.
    public var jsonString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

/// Writes compact JSON text with the shared writer (one escaping policy with the sync wire).
enum JSONSerializer {
    static func write(_ value: JSONValue, into writer: inout JSONWriter) {
        switch value {
        case .null: writer.null()
        case .bool(let flag): writer.bool(flag)
        case .int(let number): writer.int64(number)
        case .double(let number): writer.double(number)
        case .string(let text): writer.string(text)
        case .array(let elements):
            writer.array(elements) { writer, element in write(element, into: &writer) }
        case .object(let members):
            // Sorting makes equal objects serialize identically, which keeps logs, golden files
            // and test expectations stable.
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            writer.object { writer in
                for key in keys { writer.member(key) { writer in write(members[key]!, into: &writer) } }
            }
        }
    }
}
