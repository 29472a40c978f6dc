/// Why ``CurlHTTPClient/send(_:)`` produced no response.
///
/// HTTP statuses are never errors; this covers the request that could not be
/// made or completed.
///
/// ```swift
/// do {
///     let response = try await client.send(request)
/// } catch let error where error.kind == .connectFailed || error.kind == .timedOut {
///     scheduleLaterSync()
/// }
/// ```
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The host could not be resolved or refused the connection.
        case connectFailed
        /// The connect timeout or the total timeout of an attempt expired.
        case timedOut
        /// The TLS handshake or certificate verification failed.
        case tlsFailed
        /// Plain `http://` to a non-loopback host without `allowInsecureHTTP`.
        case insecureURL
        /// The URL could not be parsed or is not `http` / `https`.
        case invalidURL
        /// Anything else, including cancellation and invalid options or headers.
        case other
    }

    public let kind: Kind
    /// Human-readable detail: libcurl's explanation and the `host:port` involved.
    public let message: String
    /// The libcurl `CURLcode`, when libcurl reported the failure.
    public let curlCode: Int32?
    /// Attempts made; `0` when the request was refused before any network traffic.
    public let attempts: Int

    public init(kind: Kind, message: String, curlCode: Int32? = nil, attempts: Int = 0) {
        self.kind = kind
        self.message = message
        self.curlCode = curlCode
        self.attempts = attempts
    }

    public var description: String {
        var text = "HTTPClientError.\(kind): \(message)"
        if let curlCode { text += " [curl \(curlCode)]" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }
}
