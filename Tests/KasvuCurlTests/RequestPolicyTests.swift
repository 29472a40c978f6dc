import Testing
@testable import KasvuCurl

@Suite struct RequestPolicyTests {
    @Test(arguments: ["localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.1.2.3", "127.255.255.254",
                      "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"])
    func loopbackHosts(host: String) {
        #expect(Loopback.isLoopback(host))
    }

    @Test(arguments: ["example.com", "localhost.example.com", "128.0.0.1", "10.0.0.1", "0.0.0.0",
                      "::", "::2", "::ffff:10.0.0.1", "1.127.0.0", ""])
    func nonLoopbackHosts(host: String) {
        #expect(!Loopback.isLoopback(host))
    }

    @Test func targetUsesLibcurlsParsing() throws {
        let v6 = try RequestTarget(url: "http://[::1]:8080/x")
        #expect(v6 == RequestTarget.testValue(scheme: "http", host: "::1", port: 8080))
        #expect(v6.hostAndPort == "[::1]:8080")
        let https = try RequestTarget(url: "HTTPS://Sync.Example.fi/v1")
        #expect(https.scheme == "https")
        #expect(https.port == 443)
        #expect(https.hostAndPort.hasSuffix(":443"))
    }

    @Test func plainHTTPPolicy() throws {
        try RequestTarget(url: "http://localhost:9/").checkTransportSecurity(allowInsecureHTTP: false)
        try RequestTarget(url: "http://127.0.0.1/").checkTransportSecurity(allowInsecureHTTP: false)
        try RequestTarget(url: "http://[::1]/").checkTransportSecurity(allowInsecureHTTP: false)
        try RequestTarget(url: "http://example.com/").checkTransportSecurity(allowInsecureHTTP: true)
        try RequestTarget(url: "https://example.com/").checkTransportSecurity(allowInsecureHTTP: false)
        let error = try #require(throws: HTTPClientError.self) {
            try RequestTarget(url: "http://example.com/").checkTransportSecurity(allowInsecureHTTP: false)
        }
        #expect(error.kind == .insecureURL)
        #expect(error.message.contains("example.com:80"))
    }

    @Test func noProxyKeepsTheEnvironmentAndAddsLoopback() {
        let loopback = "localhost,127.0.0.1,::1,127.0.0.0/8"
        #expect(NoProxy.list { _ in nil } == loopback)
        #expect(NoProxy.list { ["no_proxy": ".corp, intranet"][$0] } == ".corp,intranet," + loopback)
        #expect(NoProxy.list { ["NO_PROXY": "internal"][$0] } == "internal," + loopback)
        #expect(NoProxy.list { ["no_proxy": "lower", "NO_PROXY": "upper"][$0] } == "lower," + loopback)
        #expect(NoProxy.list { ["no_proxy": "*"][$0] } == "*")
    }

    @Test func preparedRequestShapesAndHeaders() throws {
        func prepare(_ method: String, body: [UInt8] = [], headers: [(name: String, value: String)] = [])
            throws -> PreparedRequest {
            try PreparedRequest(
                HTTPRequest(method: method, url: "https://example.com/", headers: headers, body: body),
                allowInsecureHTTP: false
            )
        }
        #expect(try prepare("GET").shape == .get)
        #expect(try prepare("GET", body: [1]).shape == .withBody(customMethod: "GET"))
        #expect(try prepare("HEAD").shape == .head)
        #expect(try prepare("POST").shape == .withBody(customMethod: nil))
        #expect(try prepare("PUT").shape == .withBody(customMethod: "PUT"))
        #expect(try prepare("DELETE").shape == .custom("DELETE"))

        #expect(try prepare("POST").headerLines == ["Expect:", "Content-Type:"])
        #expect(try prepare("GET").headerLines == ["Expect:"])
        let custom = try prepare("POST", headers: [(name: "Content-Type", value: "application/json"),
                                                   (name: "X-Empty", value: "")])
        #expect(custom.headerLines == ["Content-Type: application/json", "X-Empty;", "Expect:"])

        #expect(throws: HTTPClientError.self) { try prepare("GE T") }
        #expect(throws: HTTPClientError.self) { try prepare("GET", headers: [(name: "Bad Name", value: "x")]) }
        #expect(throws: HTTPClientError.self) { try prepare("GET", headers: [(name: "X", value: "a\nb")]) }
    }

    @Test func headerLinesOfTheLastResponseOnly() {
        let state = TransferState(cancellation: CancellationFlag())
        for line in ["HTTP/1.1 100 Continue\r\n", "X-Early: 1\r\n", "\r\n",
                     "HTTP/1.1 200 OK\r\n", "Content-Type:  text/plain \r\n", "Set-Cookie: a=1\r\n",
                     "set-cookie: b=2\r\n", "X-Folded: first\r\n", "\t second\r\n", "\r\n"] {
            Array(line.utf8).withUnsafeBytes { state.receiveHeaderLine($0) }
        }
        #expect(state.headers == [
            "content-type": "text/plain",
            "set-cookie": "a=1, b=2",
            "x-folded": "first second",
        ])
    }

    @Test func optionsAreValidated() {
        #expect(throws: HTTPClientError.self) { try CurlHTTPClient(options: .init(connectTimeout: 0)) }
        #expect(throws: HTTPClientError.self) { try CurlHTTPClient(options: .init(totalTimeout: .nan)) }
        #expect(throws: HTTPClientError.self) { try CurlHTTPClient(options: .init(maxAttempts: 0)) }
        #expect(throws: HTTPClientError.self) { try CurlHTTPClient(options: .init(initialBackoff: -1)) }
        #expect(throws: HTTPClientError.self) { try CurlHTTPClient(options: .init(userAgent: "a\r\nb")) }
    }

    @Test func responseHeaderLookupIsCaseInsensitive() {
        let response = HTTPResponse(status: 200, headers: ["Retry-After": "5"])
        #expect(response.headers == ["retry-after": "5"])
        #expect(response.header("RETRY-AFTER") == "5")
        #expect(response.header("missing") == nil)
    }

    @Test func errorDescription() {
        let error = HTTPClientError(kind: .connectFailed, message: "Couldn't connect (127.0.0.1:9)", curlCode: 7, attempts: 3)
        #expect(error.description == "HTTPClientError.connectFailed: Couldn't connect (127.0.0.1:9) [curl 7] after 3 attempts")
    }
}

extension RequestTarget {
    static func testValue(scheme: String, host: String, port: Int) -> RequestTarget? {
        try? RequestTarget(url: "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)/")
    }
}
