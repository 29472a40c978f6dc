/// One unit read from a message stream by ``MessageReader``.
public enum Frame: Sendable, Hashable {
    /// A complete message body, not yet parsed as JSON, and how it was framed.
    case message(Framing, [UInt8])
    /// Bytes that could not be framed, with the framing that was attempted
    /// and a human-readable reason. The reader has already skipped past them.
    case malformed(Framing, String)
}
