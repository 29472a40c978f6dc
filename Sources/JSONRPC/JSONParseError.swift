/// Why a byte sequence is not acceptable JSON text.
///
/// ```swift
/// do {
///     _ = try JSONValue.parse(Array("[1,]".utf8))
/// } catch {
///     print(error.offset, error.message)  // 3 "expected a value, found ']'"
/// }
/// ```
public struct JSONParseError: Error, Sendable, Hashable {
    /// Zero-based byte offset in the input where the problem was detected.
    public let offset: Int
    /// A human-readable explanation, suitable for a JSON-RPC parse error.
    public let message: String

    /// Creates an error at `offset` with an explanation.
    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
}

extension JSONParseError: CustomStringConvertible {
    /// `"<message> at byte <offset>"`.
    public var description: String { "\(message) at byte \(offset)" }
}
