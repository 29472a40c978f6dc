import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

let companyClient: [String: FieldValue] = [
    "clientType": .string("company"), "businessId": .string("2077474-0"), "name": .string("Oy Asiakas"), "municipality": .string("749"),
]

/// The central server's refusals, each over real HTTP: the refused request changes nothing.
@Suite("Central server safety", .serialized)
struct SafetyTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory, extraArguments: ["--max-body-bytes", "200000"])
    }

    func post(_ body: [UInt8], token: String?) async throws -> (status: Int, error: SyncErrorBody.Detail?, body: [UInt8], retryAfter: String?) {
        var headers = [(name: "Content-Type", value: "application/json")]
        if let token { headers.append((name: "Authorization", value: "Bearer \(token)")) }
        var options = HTTPClientOptions()
        options.maxAttempts = 1  // show every answer, 429 included
        let client = try CurlHTTPClient(options: options)
        let response = try await client.send(HTTPRequest(method: "POST", url: central.url + "/v1/sync", headers: headers, body: body))
        #expect(response.header("content-type") == "application/json")
        return (response.status, try? JSONDecoder().decode(SyncErrorBody.self, from: Data(response.body)).error, response.body,
                response.header("retry-after"))
    }

    func centralRecordCount() async throws -> Int { try await metric("kasvu_central_records") }

    /// One value of `/metrics`, read with the admin token.
    func metric(_ name: String) async throws -> Int {
        let client = try CurlHTTPClient(options: HTTPClientOptions())
        let metrics = try await client.send(HTTPRequest(method: "GET", url: central.url + "/metrics",
                                                        headers: [(name: "Authorization", value: "Bearer \(try central.adminToken())")]))
        let text = String(decoding: metrics.body, as: UTF8.self)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(name + " ") })
        return try #require(Int(line.split(separator: " ").last ?? ""))
    }

    func request(for replica: TestReplica, schemaVersion: Int = SyncSchema.version) async throws -> SyncRequest {
        var header = try await replica.replica.syncHeader(pullLimit: 100, userName: nil)
        header.schemaVersion = schemaVersion
        return SyncRequest(header: header, push: try await replica.replica.pendingPush(limit: 100).map(\.envelope))
    }

    @Test(arguments: CentralBackend.allCases) static func missingForgedAndRevokedTokensGet401(_ backend: CentralBackend) async throws { try await Self(backend).missingForgedAndRevokedTokensGet401() }
    func missingForgedAndRevokedTokensGet401() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)
        let body = try await request(for: office).jsonBytes
        let forged = "office." + String(repeating: "ab", count: 32)
        for token in [nil, forged, "garbage"] {
            let answer = try await post(body, token: token)
            #expect(answer.status == 401)
            #expect(answer.error?.kind == "sync_unauthorized")
        }
        #expect(try KasvuBinary.run(["central", "revoke-replica"] + central.storeArguments + ["--id", "office"]).status == 0)
        #expect(try await post(body, token: office.token).status == 401)
        await #expect(throws: KasvuError.self) { try await office.sync() }
        #expect(try await centralRecordCount() == 0)
        #expect(try await office.replica.info().pendingChanges == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func repeatedFailedAuthenticationIsSlowedDown(_ backend: CentralBackend) async throws { try await Self(backend).repeatedFailedAuthenticationIsSlowedDown() }
    func repeatedFailedAuthenticationIsSlowedDown() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)
        let body = try await request(for: office).jsonBytes
        for attempt in 1...10 {
            #expect(try await post(body, token: "office." + String(repeating: "0", count: 63) + "\(attempt % 10)").status == 401)
        }
        let blocked = try await post(body, token: "office." + String(repeating: "1", count: 64))
        #expect(blocked.status == 429)
        #expect(Int(blocked.retryAfter ?? "") ?? 0 > 0)
        #expect(try await post(Array("{}".utf8), token: nil).status == 401)  // no credentials is no guess
        #expect(try await centralRecordCount() == 0)
        // The guessing slows down the guesser only: a valid token behind the same address
        // (one office NAT) still syncs, and so does a lower-case scheme name.
        #expect(try await post(body, token: office.token).status == 200)
        var headers = [(name: "Content-Type", value: "application/json"), (name: "Authorization", value: "bearer \(office.token)")]
        let client = try CurlHTTPClient(options: HTTPClientOptions())
        #expect(try await client.send(HTTPRequest(method: "POST", url: central.url + "/v1/sync", headers: headers, body: body)).status == 200)
        headers[1].value = "BEARER   \(office.token)"
        #expect(try await client.send(HTTPRequest(method: "POST", url: central.url + "/v1/sync", headers: headers, body: body)).status == 200)
        #expect(try await centralRecordCount() == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func rotatedTokenReplacesTheOldOne(_ backend: CentralBackend) async throws { try await Self(backend).rotatedTokenReplacesTheOldOne() }
    func rotatedTokenReplacesTheOldOne() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)
        let rotated = try KasvuBinary.run(["central", "rotate-token"] + central.storeArguments + ["--id", "office"])
        let token = try #require(rotated.stdout.split(separator: "\n").last.map(String.init))
        #expect(token != office.token && token.hasPrefix("office."))
        let body = try await request(for: office).jsonBytes
        #expect(try await post(body, token: office.token).status == 401)
        #expect(try await post(body, token: token).status == 200)
        #expect(try await centralRecordCount() == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func malformedAndOversizedBodiesGet4xxWithJSON(_ backend: CentralBackend) async throws { try await Self(backend).malformedAndOversizedBodiesGet4xxWithJSON() }
    func malformedAndOversizedBodiesGet4xxWithJSON() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        for body in ["{", "[]", #"{"header":{}}"#, "\u{FF}\u{FE}"] {
            let answer = try await post(Array(body.utf8), token: office.token)
            #expect(answer.status == 400, "body \(body)")
            #expect(answer.error?.kind == "validation_failed")
        }
        let huge = try await post(Array(repeating: UInt8(ascii: " "), count: 300_000), token: office.token)
        #expect(huge.status == 413)
        #expect(huge.error != nil)
        let client = try CurlHTTPClient(options: HTTPClientOptions())
        let missing = try await client.send(HTTPRequest(method: "GET", url: central.url + "/v2/nothing"))
        #expect(missing.status == 404)
        // A known path with a method it does not take: 405 with Allow, not 404.
        let wrongMethod = try await client.send(HTTPRequest(method: "DELETE", url: central.url + "/v1/sync"))
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("allow") == "POST")
        #expect((try? JSONDecoder().decode(SyncErrorBody.self, from: Data(wrongMethod.body))) != nil)
        let audit = try await client.send(HTTPRequest(method: "GET", url: central.url + "/v1/audit?entity=client&id=not-a-uuid",
                                                      headers: [(name: "Authorization", value: "Bearer \(try central.adminToken())")]))
        #expect(audit.status == 400)
        #expect((try? JSONDecoder().decode(SyncErrorBody.self, from: Data(missing.body))) != nil)
        #expect(try await centralRecordCount() == 0)
    }

    @Test(arguments: CentralBackend.allCases) static func oversizedBatchesAreHalvedUntilTheyFit(_ backend: CentralBackend) async throws { try await Self(backend).oversizedBatchesAreHalvedUntilTheyFit() }
    func oversizedBatchesAreHalvedUntilTheyFit() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let count = 600
        for index in 0..<count {
            _ = try await office.replica.create(.client, fields: companyClient.merging(["name": .string("Asiakas \(index) " + String(repeating: "x", count: 20))]) { $1 })
        }
        // The whole batch is over the server's 200,000 bytes; half of it is under.
        let header = try await office.replica.syncHeader(pullLimit: count, userName: nil)
        let whole = SyncRequest(header: header, push: try await office.replica.pendingPush(limit: count).map(\.envelope)).jsonBytes.count
        let half = SyncRequest(header: header, push: try await office.replica.pendingPush(limit: count / 2).map(\.envelope)).jsonBytes.count
        #expect(whole > 200_000 && half < 200_000, "bodies of \(whole) and \(half) bytes")
        let summary = try await office.sync(batchSize: count)
        #expect(summary.pushed == count)
        #expect(summary.roundTrips == 2)  // two halves, after the refused whole
        #expect(try await centralRecordCount() == count)
        #expect(try await metric(#"kasvu_http_requests_total{path="/v1/sync",status="413"}"#) == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func aMalformedRecordIsRejectedAndTheRestLands(_ backend: CentralBackend) async throws { try await Self(backend).aMalformedRecordIsRejectedAndTheRestLands() }
    func aMalformedRecordIsRejectedAndTheRestLands() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)
        let good = try await request(for: office)
        var json = try #require(try JSONSerialization.jsonObject(with: Data(good.jsonBytes)) as? [String: Any])
        var push = try #require(json["push"] as? [[String: Any]])
        var bad = push[0]
        bad["id"] = RecordID.random()
        var state = try #require(bad["state"] as? [String: Any])
        var fields = try #require(state["f"] as? [String: Any])
        var entry = try #require((fields["municipality"] as? [[Any]])?.first)
        entry[0] = "999"  // not a municipality
        fields["municipality"] = [entry]
        state["f"] = fields
        bad["state"] = state
        push.append(bad)
        push.append(["entity": "spaceship", "id": RecordID.random(), "state": [:]])
        json["push"] = push
        let answer = try await post(Array(try JSONSerialization.data(withJSONObject: json)), token: office.token)
        #expect(answer.status == 200)
        let response = try SyncResponse(json: answer.body)
        #expect(response.accepted == 1)
        #expect(response.rejections.count == 2)
        #expect(response.rejections.allSatisfy { $0.kind == "validation_failed" })
        #expect(try await centralRecordCount() == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func rewoundReplicaIsRefusedWithRecovery(_ backend: CentralBackend) async throws { try await Self(backend).rewoundReplicaIsRefusedWithRecovery() }
    func rewoundReplicaIsRefusedWithRecovery() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)
        // A file-level backup: the database and its write-ahead log.
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: office.replica.path + suffix) {
            try FileManager.default.copyItem(atPath: office.replica.path + suffix, toPath: directory.path("backup.sqlite") + suffix)
        }
        _ = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()
        // The laptop is restored from the backup: its counter is behind what the central store saw.
        let restored = try Replica.open(at: directory.path("backup.sqlite"))
        try restored.saveToken(office.token)
        let stale = TestReplica(restoring: restored, token: office.token, central: central)
        do {
            try await stale.sync()
            Issue.record("a rewound replica was accepted")
        } catch let error as KasvuError {
            #expect(error.kind == .replicaRewound)
            #expect(error.message.contains("kasvu recover"))
        }
        #expect(try await centralRecordCount() == 2)
    }

    @Test(arguments: CentralBackend.allCases) static func clockFarAheadIsRefused(_ backend: CentralBackend) async throws { try await Self(backend).clockFarAheadIsRefused() }
    func clockFarAheadIsRefused() async throws {
        let future: @Sendable () -> UInt64 = { Replica.systemMillis() + 10 * 60 * 1000 }
        let office = try TestReplica("office", in: directory, central: central, nowMillis: future)
        _ = try await office.replica.create(.client, fields: companyClient)
        do {
            try await office.sync()
            Issue.record("a skewed clock was accepted")
        } catch let error as KasvuError {
            #expect(error.kind == .clockSkew)
            #expect(error.message.contains("ahead"))
        }
        #expect(try await centralRecordCount() == 0)
    }

    @Test(arguments: CentralBackend.allCases) static func schemaMismatchIsRefused(_ backend: CentralBackend) async throws { try await Self(backend).schemaMismatchIsRefused() }
    func schemaMismatchIsRefused() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)
        let body = try await request(for: office, schemaVersion: SyncSchema.version + 1).jsonBytes
        let answer = try await post(body, token: office.token)
        #expect(answer.status == 409)
        #expect(answer.error?.kind == "schema_mismatch")
        #expect(try await centralRecordCount() == 0)
    }

    @Test(arguments: CentralBackend.allCases) static func healthzAndMetricsAnswer(_ backend: CentralBackend) async throws { try await Self(backend).healthzAndMetricsAnswer() }
    func healthzAndMetricsAnswer() async throws {
        let client = try CurlHTTPClient(options: HTTPClientOptions())
        let health = try await client.send(HTTPRequest(method: "GET", url: central.url + "/healthz"))
        #expect(health.status == 200)
        // Metrics only for the central office: not without a token, not with an office's.
        #expect(try await client.send(HTTPRequest(method: "GET", url: central.url + "/metrics")).status == 401)
        let office = try central.addReplica("office")
        let refused = try await client.send(HTTPRequest(method: "GET", url: central.url + "/metrics", headers: [(name: "Authorization", value: "Bearer \(office)")]))
        #expect(refused.status == 403)
        #expect(!String(decoding: refused.body, as: UTF8.self).contains("kasvu_central_records"))
        let metrics = try await client.send(HTTPRequest(method: "GET", url: central.url + "/metrics",
                                                        headers: [(name: "Authorization", value: "Bearer \(try central.adminToken())")]))
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("# TYPE kasvu_http_requests_total counter"))
        #expect(central.stop() == 0)  // SIGTERM: graceful shutdown, exit status 0
    }
}

extension TestReplica {
    init(restoring replica: Replica, token: String, central: CentralProcess) {
        self.replica = replica
        self.token = token
        self.central = central
    }
}
