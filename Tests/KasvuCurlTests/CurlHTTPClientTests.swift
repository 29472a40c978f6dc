import Foundation
import Testing
@testable import KasvuCurl

/// Backoffs small enough that retry tests finish at once.
private let fastRetries = HTTPClientOptions(maxAttempts: 3, initialBackoff: 0.001, maxBackoff: 0.002)

@Suite struct CurlHTTPClientTests {
    @Test func echoesBodyAndHeaders() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient(options: .init(userAgent: "kasvu-tests/1"))
            // Every byte value, and large enough that libcurl would otherwise use Expect: 100-continue.
            let body = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let response = try await client.send(HTTPRequest(
                url: server.url("/echo"),
                headers: [(name: "Content-Type", value: "application/x-kasvu"), (name: "X-Kasvu-Test", value: "abc")],
                body: body
            ))

            #expect(response.status == 200)
            #expect(response.body == body)
            #expect(response.header("X-ECHO-METHOD") == "POST")
            #expect(response.headers["x-test"] == "one, two")
            #expect(response.header("content-length") == "70000")

            let seen = try #require(try server.requests().only)
            #expect(seen.method == "POST")
            #expect(seen.bodyBytes == body)
            #expect(seen.headers["x-kasvu-test"] == "abc")
            #expect(seen.headers["content-type"] == "application/x-kasvu")
            #expect(seen.headers["user-agent"] == "kasvu-tests/1")
            #expect(seen.headers["expect"] == nil)
        }
    }

    @Test func methodsMapOntoLibcurlAndShareOneConnection() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            for method in ["GET", "PUT", "DELETE", "HEAD", "PATCH", "POST"] {
                let response = try await client.send(HTTPRequest(method: method, url: server.url("/echo")))
                #expect(response.status == 200)
                #expect(response.body.isEmpty)
                #expect(response.header("x-echo-method") == method)
            }
            let seen = try server.requests()
            #expect(seen.map(\.method) == ["GET", "PUT", "DELETE", "HEAD", "PATCH", "POST"])
            // No form-urlencoded default for an unlabelled body.
            #expect(seen.allSatisfy { $0.headers["content-type"] == nil })
            #expect(Set(seen.map(\.connection)).count == 1)
        }
    }

    @Test func keepsTheConnectionAliveBetweenRequests() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            for _ in 0..<3 {
                let response = try await client.send(HTTPRequest(method: "GET", url: server.url("/count-connections")))
                #expect(response.status == 200)
            }
            let seen = try server.requests()
            #expect(seen.count == 3)
            #expect(Set(seen.map(\.connection)).count == 1)
            #expect(Set(seen.map(\.clientPort)).count == 1)

            // The measure itself works: a second client opens a second connection.
            _ = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: server.url("/count-connections")))
            #expect(Set(try server.requests().map(\.connection)).count == 2)
        }
    }

    @Test func retries503WithRetryAfterUntilSuccess() async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient(options: fastRetries)
                .send(HTTPRequest(url: server.url("/flaky?fail=2&key=retry503")))
            #expect(response.status == 200)
            #expect(response.body == Array("ok after 3".utf8))
            let seen = try server.requests()
            #expect(seen.count == 3)
            #expect(Set(seen.map(\.connection)).count == 1) // retries reuse the connection
        }
    }

    @Test func returnsTheLastResponseWhenAttemptsRunOut() async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient(options: fastRetries)
                .send(HTTPRequest(url: server.url("/status/503?retry_after=0")))
            #expect(response.status == 503)
            #expect(response.header("retry-after") == "0")
            #expect(try server.requests().count == 3)
        }
    }

    @Test func retries429() async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient(options: fastRetries)
                .send(HTTPRequest(url: server.url("/flaky?fail=1&status=429")))
            #expect(response.status == 200)
            #expect(try server.requests().count == 2)
        }
    }

    @Test func retries5xxWithoutRetryAfterUsingBackoff() async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient(options: fastRetries)
                .send(HTTPRequest(method: "GET", url: server.url("/status/502")))
            #expect(response.status == 502)
            #expect(try server.requests().count == 3)
        }
    }

    @Test func doesNotRetryNonIdempotentRequests() async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient(options: fastRetries)
                .send(HTTPRequest(url: server.url("/flaky?fail=1"), idempotent: false))
            #expect(response.status == 503)
            #expect(try server.requests().count == 1)
        }
    }

    @Test(arguments: [413, 400, 409, 501])
    func returnsNonRetryableStatusesAtOnce(status: Int) async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient(options: fastRetries)
                .send(HTTPRequest(url: server.url("/status/\(status)")))
            #expect(response.status == status)
            #expect(try server.requests().count == 1)
        }
    }

    @Test func decodesGzipResponses() async throws {
        try await withTestServer { server in
            let response = try await CurlHTTPClient().send(HTTPRequest(method: "GET", url: server.url("/gzip")))
            #expect(response.status == 200)
            #expect(response.header("content-encoding") == "gzip")
            #expect(response.body == Array(String(repeating: "kasvu ", count: 2000).utf8))
            let seen = try #require(try server.requests().only)
            #expect(seen.headers["accept-encoding"]?.contains("gzip") == true)
        }
    }

    @Test func connectionRefusedFailsAfterMaxAttempts() async throws {
        let closed = try ClosedPort()
        defer { withExtendedLifetime(closed) {} }
        let url = "http://127.0.0.1:\(closed.port)/echo"
        let error = try await #require(throws: HTTPClientError.self) {
            try await CurlHTTPClient(options: fastRetries).send(HTTPRequest(url: url))
        }
        #expect(error.kind == .connectFailed)
        #expect(error.curlCode == 7)
        #expect(error.attempts == 3)
        #expect(error.message.contains("127.0.0.1:"))
    }

    @Test func connectionRefusedIsNotRetriedWhenNotIdempotent() async throws {
        let closed = try ClosedPort()
        defer { withExtendedLifetime(closed) {} }
        let url = "http://127.0.0.1:\(closed.port)/echo"
        let error = try await #require(throws: HTTPClientError.self) {
            try await CurlHTTPClient(options: fastRetries).send(HTTPRequest(url: url, idempotent: false))
        }
        #expect(error.kind == .connectFailed)
        #expect(error.attempts == 1)
    }

    @Test(arguments: ["http://example.com/v1/batches", "http://10.0.0.1:8080/", "http://[2001:db8::1]/"])
    func refusesPlainHTTPToOtherHostsBeforeAnyTraffic(url: String) async throws {
        let error = try await #require(throws: HTTPClientError.self) {
            try await CurlHTTPClient().send(HTTPRequest(url: url))
        }
        #expect(error.kind == .insecureURL)
        #expect(error.attempts == 0)
        #expect(error.curlCode == nil)
        #expect(error.message.contains("http://"))
    }

    @Test(arguments: ["not a url", "ftp://127.0.0.1/file", "/relative/path", "https://"])
    func rejectsInvalidURLs(url: String) async throws {
        let error = try await #require(throws: HTTPClientError.self) {
            try await CurlHTTPClient().send(HTTPRequest(url: url))
        }
        #expect(error.kind == .invalidURL)
        #expect(error.attempts == 0)
    }

    @Test func rejectsHeaderInjection() async throws {
        let error = try await #require(throws: HTTPClientError.self) {
            try await CurlHTTPClient().send(HTTPRequest(
                url: "http://127.0.0.1:9/",
                headers: [(name: "X-Evil", value: "a\r\nHost: elsewhere")]
            ))
        }
        #expect(error.kind == .other)
        #expect(error.attempts == 0)
    }

    @Test(.timeLimit(.minutes(5)))
    func cancellationAbortsATransferInFlight() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient(options: .init(totalTimeout: 30))
            let task = Task { try await client.send(HTTPRequest(method: "GET", url: server.url("/hang"))) }
            // The server prints "hang" once the request has arrived.
            var lines = server.output.makeAsyncIterator()
            #expect(await lines.next() == "hang")
            task.cancel()
            let error = try #require(await task.result.failure as? HTTPClientError)
            #expect(error.kind == .other)
            #expect(error.curlCode == 42) // CURLE_ABORTED_BY_CALLBACK
            #expect(try server.requests().count == 1)
        }
    }
}

extension Array {
    /// The single element, or `nil` when there are zero or several.
    var only: Element? { count == 1 ? first : nil }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}

/// A port on 127.0.0.1 with nothing listening on it: the socket stays bound (not listening)
/// for the object's lifetime, so connections are refused and no parallel test's server can take
/// the port meanwhile (a released port was once grabbed by another test's echo server).
final class ClosedPort {
    let port: Int
    private let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestFailure(description: "bind() failed")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
