import JSONBytes

extension JSONValue {
    /// Parses one JSON text (RFC 8259), strictly, with the same reader as the sync wire format
    /// (`JSONBytes.JSONReader`). It rejects:
    /// - invalid UTF-8 and byte-order marks,
    /// - unescaped control characters and lone UTF-16 surrogates in strings,
    /// - leading zeros, `NaN`, `Infinity`, and numbers too large for `Double`,
    /// - anything but whitespace after the value,
    /// - arrays and objects nested more than `maxDepth` levels deep.
    ///
    /// Numbers without fraction or exponent that fit in `Int64` become
    /// ``int(_:)``; every other number becomes ``double(_:)``. When an object
    /// repeats a key, the last occurrence wins. Containers are tracked on a
    /// heap-allocated stack, not the call stack, so hostile nesting only ever
    /// meets the limit.
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
        maxDepth: Int = JSONReader.maxDepth
    ) throws(JSONParseError) -> JSONValue {
        do {
            return try JSONReader.read(bytes, maxDepth: maxDepth) { reader in try readValue(&reader) }
        } catch let error as JSONReadError {
            throw JSONParseError(offset: error.offset, message: error.message)
        } catch {
            throw JSONParseError(offset: 0, message: "\(error)")
        }
    }

    /// A container whose closing bracket has not been read yet.
    private struct OpenContainer {
        var isObject: Bool
        var elements: [JSONValue] = []
        var members: [String: JSONValue] = [:]
        /// The key the next member value belongs to.
        var pendingKey = ""
    }

    private static func readValue(_ reader: inout JSONReader) throws -> JSONValue {
        var stack: [OpenContainer] = []
        while true {
            // The start of a value. An opened container with content is pushed, and the loop
            // comes back here for its first element.
            var value: JSONValue
            switch try reader.nextKind() {
            case .object:
                guard try reader.beginObject() else { value = .object([:]); break }
                stack.append(OpenContainer(isObject: true, pendingKey: try reader.key()))
                continue
            case .array:
                guard try reader.beginArray() else { value = .array([]); break }
                stack.append(OpenContainer(isObject: false))
                continue
            case .string: value = .string(try reader.string())
            case .bool: value = .bool(try reader.bool())
            case .null: _ = try reader.null(); value = .null
            case .number:
                switch try reader.number() {
                case .int(let number): value = .int(number)
                case .double(let number): value = .double(number)
                }
            }
            // Hand the finished value to its container, closing every container that ends
            // right after it.
            while let top = stack.indices.last {
                if stack[top].isObject {
                    stack[top].members[stack[top].pendingKey] = value
                    guard try reader.next(closing: UInt8(ascii: "}")) else {
                        value = .object(stack.removeLast().members)
                        continue
                    }
                    stack[top].pendingKey = try reader.key()
                } else {
                    stack[top].elements.append(value)
                    guard try reader.next(closing: UInt8(ascii: "]")) else {
                        value = .array(stack.removeLast().elements)
                        continue
                    }
                }
                break
            }
            if stack.isEmpty { return value }
        }
    }
}
