import CCurl

/// The scheme, host and port of a request URL, as libcurl itself will read it.
///
/// Parsing with libcurl's URL API (rather than a second parser) means the host
/// that is checked for loopback is exactly the host libcurl will connect to.
struct RequestTarget: Sendable, Equatable {
    /// `http` or `https`.
    let scheme: String
    /// The host, IPv6 addresses without brackets, IPv4 shorthand normalised by libcurl.
    let host: String
    let port: Int

    /// `host:port`, for error messages.
    var hostAndPort: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    init(url: String) throws(HTTPClientError) {
        guard let handle = curl_url() else {
            throw HTTPClientError(kind: .other, message: "curl_url() failed: out of memory")
        }
        defer { curl_url_cleanup(handle) }

        let code = curl_url_set(handle, CURLUPART_URL, url, 0)
        guard code == CURLUE_OK else {
            throw HTTPClientError(
                kind: .invalidURL,
                message: "invalid URL \"\(url)\": \(String(cString: curl_url_strerror(code)))"
            )
        }
        func part(_ what: CURLUPart, flags: Int32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, what, &value, UInt32(flags)) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }

        guard let scheme = part(CURLUPART_SCHEME)?.lowercased(), scheme == "http" || scheme == "https" else {
            throw HTTPClientError(kind: .invalidURL, message: "invalid URL \"\(url)\": only http and https are supported")
        }
        guard var host = part(CURLUPART_HOST), !host.isEmpty,
              let port = part(CURLUPART_PORT, flags: CURLU_DEFAULT_PORT).flatMap({ Int($0) })
        else {
            throw HTTPClientError(kind: .invalidURL, message: "invalid URL \"\(url)\": no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Plain HTTP is refused unless it stays on this machine or the caller opted in,
    /// so a misconfigured URL cannot leak data or credentials in clear text.
    func checkTransportSecurity(allowInsecureHTTP: Bool) throws(HTTPClientError) {
        guard scheme == "http", !allowInsecureHTTP, !Loopback.isLoopback(host) else { return }
        throw HTTPClientError(
            kind: .insecureURL,
            message: "refusing plain http:// to \(hostAndPort): use https://, "
                + "or set HTTPClientOptions.allowInsecureHTTP (plain HTTP is only allowed to loopback hosts)"
        )
    }
}
