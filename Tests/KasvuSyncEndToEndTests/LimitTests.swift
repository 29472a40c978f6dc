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

    /// A central server with one sync slot, held by a sync whose body has half arrived, and
    /// what the tests need to talk to it.
    struct HeldSlot {
        let central: CentralProcess
        let slow: RawConnection
        let rest: String
        let sync: HTTPRequest
        let options: HTTPClientOptions
        let metrics: CurlHTTPClient
        let admin: [(name: String, value: String)]

        init(_ test: LimitTests, _ backend: CentralBackend, _ arguments: [String]) async throws {
            central = try CentralProcess(backend, in: test.directory, extraArguments: ["--max-concurrent-syncs", "1"] + arguments)
            let office = try TestReplica("office", in: test.directory, central: central)
            let body = SyncRequest(header: try await office.replica.syncHeader(pullLimit: 10, userName: nil), push: []).jsonBytes
            let text = String(decoding: body, as: UTF8.self)
            slow = try RawConnection(port: central.port)
            slow.send(test.request(office, contentLength: body.count, body: String(text.prefix(10))))
            rest = String(text.dropFirst(10))
            sync = HTTPRequest(method: "POST", url: central.url + "/v1/sync",
                               headers: [(name: "Authorization", value: "Bearer \(office.token)"), (name: "Content-Type", value: "application/json")], body: body)
            var options = HTTPClientOptions()
            options.maxAttempts = 1
            self.options = options
            metrics = try CurlHTTPClient(options: options)
            admin = [(name: "Authorization", value: "Bearer \(try central.adminToken())")]
            try await waitFor("kasvu_syncs_in_progress 1")
        }

        func gauges() async throws -> String {
            String(decoding: try await metrics.send(HTTPRequest(method: "GET", url: central.url + "/metrics", headers: admin)).body, as: UTF8.self)
        }

        /// Waits (bounded) until the server shows `gauge`; the tests' assertions are made once.
        func waitFor(_ gauge: String) async throws {
            for _ in 0..<500 {
                if try await gauges().contains(gauge) { return }
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        /// The rest of the held sync's body: its answer.
        func release() -> Int? {
            slow.send(rest)
            return slow.response()?.status
        }
    }

    /// A sync refused at once (`--sync-wait-ms 0`), or after waiting without a slot freeing.
    @Test(arguments: CentralBackend.allCases, ["0", "300"])
    func syncsBeyondTheLimitGet503WithRetryAfter(_ backend: CentralBackend, _ waitMs: String) async throws {
        let held = try await HeldSlot(self, backend, ["--sync-wait-ms", waitMs])
        let client = try CurlHTTPClient(options: held.options)
        let busy = try await client.send(held.sync)
        #expect(busy.status == 503)
        #expect(busy.header("retry-after") == "1")
        #expect((try? JSONDecoder().decode(SyncErrorBody.self, from: Data(busy.body)))?.error.kind == "sync_busy")
        // The held sync completes; its slot is free again once it has answered.
        #expect(held.release() == 200)
        #expect(try await client.send(held.sync).status == 200)
    }

    /// Syncs that find every slot taken wait for one, first come first served, up to
    /// `--sync-wait-ms`; once 4 × the slots wait, the next is refused at once.
    @Test(arguments: CentralBackend.allCases)
    func syncsWaitForAFreeSlotAndOnlyABoundedNumberWait(_ backend: CentralBackend) async throws {
        let held = try await HeldSlot(self, backend, ["--sync-wait-ms", "120000"])
        let sync = held.sync
        let waiting = try (0..<4).map { _ in try CurlHTTPClient(options: held.options) }.map { client in
            Task { try await client.send(sync).status }
        }
        try await held.waitFor("kasvu_syncs_waiting 4")
        #expect(try await held.gauges().contains("kasvu_syncs_waiting 4"))
        // A fifth is refused while the slot is still held: it did not wait out the two minutes.
        let refused = try await CurlHTTPClient(options: held.options).send(sync)
        #expect(refused.status == 503 && refused.header("retry-after") == "1")
        // The held sync completes, and each waiting one gets the slot in turn.
        #expect(held.release() == 200)
        for task in waiting { #expect(try await task.value == 200) }
        #expect(try await held.gauges().contains("kasvu_syncs_waiting 0\n"))
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
