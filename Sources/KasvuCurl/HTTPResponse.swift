/// The final response to an ``HTTPRequest``: the last one received, after any retries.
///
/// Every status is a response, not an error — the caller decides what a `413`
/// or a `409` means:
///
/// ```swift
/// let response = try await client.send(request)
/// switch response.status {
/// case 200..<300: try decode(response.body)
/// case 413: halveTheBatch()
/// default: throw UnexpectedStatus(response.status, response.header("content-type"))
/// }
/// ```
public struct HTTPResponse: Sendable {
    /// The HTTP status code, such as `200`.
    public let status: Int
    /// Header fields keyed by lowercased name. Repeated fields are joined with `", "`.
    public let headers: [String: String]
    /// The body, already decoded when the server sent it compressed.
    public let body: [UInt8]

    /// Creates a response; header names are lowercased. Useful for test doubles.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.body = body
        var lowercased: [String: String] = [:]
        for (name, value) in headers {
            lowercased[name.lowercased(), default: ""].appendField(value)
        }
        self.headers = lowercased
    }

    /// The value of the header field `name`, compared case-insensitively.
    ///
    /// ```swift
    /// response.header("Retry-After") // "30"
    /// ```
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }
}

extension String {
    /// Appends one more value of a repeated header field, as RFC 9110 §5.3 combines them.
    mutating func appendField(_ value: String) {
        self = isEmpty ? value : self + ", " + value
    }
}
