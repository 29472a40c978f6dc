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
        var output: [UInt8] = []
        output.reserveCapacity(64)
        JSONSerializer.write(self, into: &output)
        return output
    }

    /// ``serialized()`` as a `String`.
    public var jsonString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

/// Writes compact JSON text.
enum JSONSerializer {
    static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let flag):
            output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number):
            output.append(contentsOf: String(number).utf8)
        case .double(let number):
            writeDouble(number, into: &output)
        case .string(let text):
            writeString(text, into: &output)
        case .array(let elements):
            output.append(ASCII.openBracket)
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(ASCII.comma) }
                write(element, into: &output)
            }
            output.append(ASCII.closeBracket)
        case .object(let members):
            output.append(ASCII.openBrace)
            // Sorting makes equal objects serialize identically, which keeps
            // logs, golden files and test expectations stable.
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (position, key) in keys.enumerated() {
                if position > 0 { output.append(ASCII.comma) }
                writeString(key, into: &output)
                output.append(ASCII.colon)
                write(members[key]!, into: &output)
            }
            output.append(ASCII.closeBrace)
        }
    }

    private static func writeDouble(_ number: Double, into output: inout [UInt8]) {
        guard number.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        // Swift's `description` is the shortest representation that round
        // trips, and for finite values it is always valid JSON number text
        // ("1.0", "2.5e-07", "1e+300").
        output.append(contentsOf: number.description.utf8)
    }

    static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(ASCII.quote)
        for byte in text.utf8 {
            switch byte {
            case ASCII.quote:
                appendEscape(ASCII.quote, to: &output)
            case ASCII.backslash:
                appendEscape(ASCII.backslash, to: &output)
            case ASCII.lineFeed:
                appendEscape(ASCII.n, to: &output)
            case ASCII.carriageReturn:
                appendEscape(ASCII.r, to: &output)
            case ASCII.tab:
                appendEscape(ASCII.t, to: &output)
            case 0x08:
                appendEscape(ASCII.b, to: &output)
            case 0x0C:
                appendEscape(ASCII.f, to: &output)
            case 0..<0x20, 0x7F:
                // Remaining control characters (and DEL, which some
                // terminals mangle) use the generic \u00XX form.
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0x0F))
            default:
                // Everything else, including multi-byte UTF-8, is copied as
                // is: Swift strings are always valid Unicode.
                output.append(byte)
            }
        }
        output.append(ASCII.quote)
    }

    /// Appends a two-character escape such as `\n`.
    private static func appendEscape(_ letter: UInt8, to output: inout [UInt8]) {
        output.append(ASCII.backslash)
        output.append(letter)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? ASCII.zero + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
