/// One HTTP request for ``CurlHTTPClient``.
///
/// The defaults fit the common case of this client — posting a body to an API:
///
/// ```swift
/// let request = HTTPRequest(
///     url: "https://sync.example.fi/v1/batches",
///     headers: [(name: "Content-Type", value: "application/json")],
///     body: Array(json.utf8)
/// )
/// ```
///
/// Set ``idempotent`` to `false` when sending the request twice could do harm;
/// such a request is attempted exactly once.
public struct HTTPRequest: Sendable {
    /// The request method, sent as given (HTTP methods are case-sensitive).
    public var method: String
    /// An absolute `https://` URL, or `http://` to a loopback host.
    public var url: String
    /// Extra header fields, in order. A `User-Agent`, `Content-Type` or `Expect`
    /// given here replaces the client's own.
    public var headers: [(name: String, value: String)]
    /// The request body; empty means no body (a `POST` then sends `Content-Length: 0`).
    public var body: [UInt8]
    /// Whether the request may be retried after a connection error or a retryable status.
    public var idempotent: Bool

    public init(
        method: String = "POST",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        idempotent: Bool = true
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.idempotent = idempotent
    }
}
