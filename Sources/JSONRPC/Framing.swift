/// How a message is delimited on the byte stream.
///
/// Both framings can be mixed on one stream; the server answers every
/// message in the framing it arrived in.
public enum Framing: Sendable, Hashable {
    /// LSP base protocol: `Content-Length: N\r\n\r\n` followed by N bytes.
    case contentLength
    /// One JSON text per line, terminated by `\n` (as in JSON Lines).
    case newline
}
