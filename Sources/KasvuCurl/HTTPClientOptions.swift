/// How a ``CurlHTTPClient`` connects, times out and retries.
///
/// ```swift
/// var options = HTTPClientOptions(userAgent: "kasvu/1.4")
/// options.caCertificatePath = "/etc/kasvu/central-ca.pem"
/// let client = try CurlHTTPClient(options: options)
/// ```
///
/// Times are in seconds.
public struct HTTPClientOptions: Sendable {
    /// Longest wait for one TCP + TLS connection to be established.
    public var connectTimeout: Double
    /// Longest duration of one attempt, connect included. Each retry gets a fresh
    /// budget; time spent waiting between attempts is not counted.
    public var totalTimeout: Double
    /// Attempts in total, the first included; `1` disables retries.
    public var maxAttempts: Int
    /// Upper bound of the first backoff; each later bound doubles, up to ``maxBackoff``.
    /// The actual wait is random between zero and the bound ("full jitter").
    public var initialBackoff: Double
    /// Largest backoff bound.
    public var maxBackoff: Double
    /// Longest wait honoured from a `Retry-After` header; longer values are cut to this.
    public var maxRetryAfter: Double
    /// A PEM file of CA certificates to trust instead of the system bundle.
    public var caCertificatePath: String?
    /// Allows plain `http://` to any host. Without it only loopback hosts may use it.
    public var allowInsecureHTTP: Bool
    /// The `User-Agent` header sent with every request.
    public var userAgent: String

    public init(
        connectTimeout: Double = 5,
        totalTimeout: Double = 60,
        maxAttempts: Int = 5,
        initialBackoff: Double = 0.2,
        maxBackoff: Double = 10,
        maxRetryAfter: Double = 30,
        caCertificatePath: String? = nil,
        allowInsecureHTTP: Bool = false,
        userAgent: String = "Kasvu (libcurl)"
    ) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.caCertificatePath = caCertificatePath
        self.allowInsecureHTTP = allowInsecureHTTP
        self.userAgent = userAgent
    }
}

extension HTTPClientOptions {
    /// Rejects values that would make libcurl or the retry loop misbehave
    /// (a zero timeout means "no timeout" to libcurl; NaN breaks arithmetic).
    func validate() throws(HTTPClientError) {
        func invalid(_ what: String) -> HTTPClientError {
            HTTPClientError(kind: .other, message: "invalid HTTPClientOptions: \(what)")
        }
        guard connectTimeout.isFinite, connectTimeout > 0 else { throw invalid("connectTimeout must be > 0") }
        guard totalTimeout.isFinite, totalTimeout > 0 else { throw invalid("totalTimeout must be > 0") }
        guard maxAttempts >= 1 else { throw invalid("maxAttempts must be >= 1") }
        for (name, value) in [("initialBackoff", initialBackoff), ("maxBackoff", maxBackoff),
                              ("maxRetryAfter", maxRetryAfter)] {
            guard value.isFinite, value >= 0 else { throw invalid("\(name) must be >= 0") }
        }
        guard !userAgent.contains(where: \.isNewline) else { throw invalid("userAgent contains a line break") }
    }
}
