/// Why JSON bytes could not be read.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the problem.
    public let offset: Int
    public let message: String
    /// The text is not RFC 8259 JSON at all (as opposed to valid JSON of the wrong shape).
    public let isSyntax: Bool

    public init(offset: Int, message: String, isSyntax: Bool) {
        self.offset = offset
        self.message = message
        self.isSyntax = isSyntax
    }

    public var description: String { "at byte \(offset): \(message)" }
}
