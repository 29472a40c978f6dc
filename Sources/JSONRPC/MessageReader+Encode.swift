extension MessageReader {
    /// Frames an outgoing message body.
    ///
    /// ```swift
    /// MessageReader.encode(Array("{}".utf8), framing: .contentLength)
    /// // "Content-Length: 2\r\n\r\n{}"
    /// MessageReader.encode(Array("{}".utf8), framing: .newline)
    /// // "{}\n"
    /// ```
    ///
    /// Newline framing relies on the body containing no raw line feed, which
    /// holds for compact JSON produced by ``JSONValue/serialized()``.
    public static func encode(_ body: [UInt8], framing: Framing) -> [UInt8] {
        switch framing {
        case .contentLength:
            var output = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
            output.append(contentsOf: body)
            return output
        case .newline:
            var output = body
            output.append(ASCII.lineFeed)
            return output
        }
    }
}
