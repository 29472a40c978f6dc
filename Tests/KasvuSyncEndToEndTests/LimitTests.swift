import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// The central server's bounds on concurrency and on what a connection may send, each over a
/// real socket (issue 10: a slow body answered `storage_failed`, a broken chunk 500).
@Suite("Central server limits", .serialized)
struct LimitTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func request(_ office: TestReplica, contentLength: Int, body: String) -> String {
        "POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(office.token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(contentLength)\r\n\r\n\(body)"
    }

    @Test(arguments: CentralBackend.allCases)
    func syncsBeyondTheLimitGet503WithRetryAfter(_ backend: CentralBackend) async throws {
        let central = try CentralProcess(backend, in: directory, extraArguments: ["--max-concurrent-syncs", "1"])
        let office = try TestReplica("office", in: directory, central: central)
        let body = SyncRequest(header: try await office.replica.syncHeader(pullLimit: 10, userName: nil), push: []).jsonBytes
        let text = String(decoding: body, as: UTF8.self)
        // One sync holds the only slot while its body arrives.
        let slow = try RawConnection(port: central.port)
        slow.send(request(office, contentLength: body.count, body: String(text.prefix(10))))
        var options = HTTPClientOptions()
        options.maxAttempts = 1
        let client = try CurlHTTPClient(options: options)
        // Wait (bounded) until the server has taken it in; the assertions below are made once.
        let admin = [(name: "Authorization", value: "Bearer \(try central.adminToken())")]
        for _ in 0..<500 {
            let metrics = try await client.send(HTTPRequest(method: "GET", url: central.url + "/metrics", headers: admin))
            if String(decoding: metrics.body, as: UTF8.self).contains("kasvu_syncs_in_progress 1") { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let headers = [(name: "Authorization", value: "Bearer \(office.token)"), (name: "Content-Type", value: "application/json")]
        let busy = try await client.send(HTTPRequest(method: "POST", url: central.url + "/v1/sync", headers: headers, body: body))
        #expect(busy.status == 503)
        #expect(busy.header("retry-after") == "1")
        #expect((try? JSONDecoder().decode(SyncErrorBody.self, from: Data(busy.body)))?.error.kind == "sync_busy")
        // The held sync completes; its slot is free again once it has answered.
        slow.send(String(text.dropFirst(10)))
        #expect(slow.response()?.status == 200)
        #expect(try await client.send(HTTPRequest(method: "POST", url: central.url + "/v1/sync", headers: headers, body: body)).status == 200)
    }

    @Test(arguments: CentralBackend.allCases)
    func aBodyTooSlowGets408(_ backend: CentralBackend) async throws {
        let central = try CentralProcess(backend, in: directory, extraArguments: ["--body-timeout", "1"])
        let office = try TestReplica("office", in: directory, central: central)
        let connection = try RawConnection(port: central.port)
        connection.send(request(office, contentLength: 100, body: "{\"header\""))
        let answer = try #require(connection.response())
        #expect(answer.status == 408)
        #expect(answer.body.contains("\"request_timeout\""))
    }

    @Test(arguments: CentralBackend.allCases)
    func aBrokenChunkGets400(_ backend: CentralBackend) async throws {
        let central = try CentralProcess(backend, in: directory)
        let office = try TestReplica("office", in: directory, central: central)
        let connection = try RawConnection(port: central.port)
        connection.send("POST /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(office.token)\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")
        let answer = try #require(connection.response())
        #expect(answer.status == 400)
        #expect(answer.headers["content-type"] == "application/json")
    }
}
