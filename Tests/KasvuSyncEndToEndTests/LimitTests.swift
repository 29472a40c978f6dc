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

    /// A sync that waited `--sync-wait-ms` (500 by default) without a slot freeing is refused.
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

    /// Syncs that find every slot taken wait for one, first come first served, up to
    /// `--sync-wait-ms`; once 4 × the slots wait, the next is refused at once.
    @Test(arguments: CentralBackend.allCases)
    func syncsWaitForAFreeSlotAndOnlyABoundedNumberWait(_ backend: CentralBackend) async throws {
        let central = try CentralProcess(backend, in: directory, extraArguments: ["--max-concurrent-syncs", "1", "--sync-wait-ms", "120000"])
        let office = try TestReplica("office", in: directory, central: central)
        let body = SyncRequest(header: try await office.replica.syncHeader(pullLimit: 10, userName: nil), push: []).jsonBytes
        let text = String(decoding: body, as: UTF8.self)
        let slow = try RawConnection(port: central.port)
        slow.send(request(office, contentLength: body.count, body: String(text.prefix(10))))
        var options = HTTPClientOptions()
        options.maxAttempts = 1
        let admin = [(name: "Authorization", value: "Bearer \(try central.adminToken())")]
        let metricsClient = try CurlHTTPClient(options: options)
        func gauges() async throws -> String {
            String(decoding: try await metricsClient.send(HTTPRequest(method: "GET", url: central.url + "/metrics", headers: admin)).body, as: UTF8.self)
        }
        // Bounded waits until the server shows the expected state; the assertions are made once.
        func waitFor(_ gauge: String) async throws {
            for _ in 0..<500 {
                if try await gauges().contains(gauge) { return }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        try await waitFor("kasvu_syncs_in_progress 1")
        let headers = [(name: "Authorization", value: "Bearer \(office.token)"), (name: "Content-Type", value: "application/json")]
        let sync = HTTPRequest(method: "POST", url: central.url + "/v1/sync", headers: headers, body: body)
        let waiting = try (0..<4).map { _ in try CurlHTTPClient(options: options) }.map { client in
            Task { try await client.send(sync).status }
        }
        try await waitFor("kasvu_syncs_waiting 4")
        #expect(try await gauges().contains("kasvu_syncs_waiting 4"))
        // A fifth is refused while the slot is still held: it did not wait out the two minutes.
        let refused = try await CurlHTTPClient(options: options).send(sync)
        #expect(refused.status == 503 && refused.header("retry-after") == "1")
        // The held sync completes, and each waiting one gets the slot in turn.
        slow.send(String(text.dropFirst(10)))
        #expect(slow.response()?.status == 200)
        for task in waiting { #expect(try await task.value == 200) }
        #expect(try await gauges().contains("kasvu_syncs_waiting 0\n"))
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
