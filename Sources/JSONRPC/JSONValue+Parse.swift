extension JSONValue {
    /// Parses one JSON text (RFC 8259), strictly.
    ///
    /// The parser is written by hand rather than built on `JSONSerialization`
    /// so that it can enforce a nesting limit without recursion and report
    /// exact byte offsets. It rejects:
    /// - invalid UTF-8 and byte-order marks,
    /// - unescaped control characters and lone UTF-16 surrogates in strings,
    /// - leading zeros, `NaN`, `Infinity`, and numbers too large for `Double`,
    /// - anything but whitespace after the value,
    /// - arrays and objects nested more than `maxDepth` levels deep.
    ///
    /// Numbers without fraction or exponent that fit in `Int64` become
    /// ``int(_:)``; every other number becomes ``double(_:)``. When an object
    /// repeats a key, the last occurrence wins.
    ///
    /// ```swift
    /// let value = try JSONValue.parse(Array(#"{"id": 1, "tags": ["a"]}"#.utf8))
    /// value["id"]  // .int(1)
    /// ```
    ///
    /// - Parameters:
    ///   - bytes: UTF-8 encoded JSON text.
    ///   - maxDepth: The deepest allowed container nesting; `[]` has depth 1.
    /// - Throws: ``JSONParseError`` describing the first problem found.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        maxDepth: Int = 128
    ) throws(JSONParseError) -> JSONValue {
        let fastPath: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            parseResult(buffer, maxDepth: maxDepth)
        }
        let result = fastPath ?? Array(bytes).withUnsafeBufferPointer { buffer in
            parseResult(buffer, maxDepth: maxDepth)
        }
        return try result.get()
    }

    // `withContiguousStorageIfAvailable` only rethrows untyped errors, so the
    // typed error travels out of the closure inside a `Result`.
    private static func parseResult(
        _ buffer: UnsafeBufferPointer<UInt8>,
        maxDepth: Int
    ) -> Result<JSONValue, JSONParseError> {
        var parser = JSONParser(bytes: buffer, maxDepth: maxDepth)
        do {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}
