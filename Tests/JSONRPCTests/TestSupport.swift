import JSONRPC

extension String {
    /// The UTF-8 bytes of the string, as the parser and reader consume them.
    var bytes: [UInt8] { Array(utf8) }
}

/// Parses test input that is known to be valid, failing loudly otherwise.
func json(_ text: String) -> JSONValue {
    do {
        return try JSONValue.parse(text.utf8)
    } catch {
        fatalError("invalid JSON in test: \(error): \(text)")
    }
}
