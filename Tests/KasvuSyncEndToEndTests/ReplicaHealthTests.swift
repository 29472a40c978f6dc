import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Replica health (issue 16, item 2): the central store notes each replica's syncs and
/// failures; `kasvu central replicas` lists them stalest first and `/metrics` exposes each
/// replica's staleness.
@Suite("Replica health", .serialized)
struct ReplicaHealthTests {
    struct Listed: Decodable, Equatable {
        let id: String, role: String, registeredAt: String
        let lastSyncAt: String?, lastFailureAt: String?, lastErrorKind: String?, version: String?
        let schemaVersion: Int?, pendingChanges: Int?, recordsInScope: Int
    }

    static func replicas(_ central: CentralProcess, _ extra: [String] = []) throws -> [Listed] {
        let listed = try KasvuBinary.run(["central", "replicas"] + central.storeArguments + ["--format", "json"] + extra)
        #expect(listed.status == 0, "\(listed)")
        return try JSONDecoder().decode([Listed].self, from: Data(listed.stdout.utf8))
    }

    @Test(arguments: CentralBackend.allCases)
    func theCentralStoreListsEachReplicasSyncsAndFailuresStalestFirst(_ backend: CentralBackend) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(backend, in: directory)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        _ = try TestReplica("laptop-never", in: directory, central: central)
        _ = try await admin.createTwoProviders()
        try await admin.sync()
        _ = try await office.replica.create(.client, fields: aino(municipality: "749"))
        try await office.sync()
        try await admin.sync()

        var listed = try Self.replicas(central)
        // Never synced first, then by last sync (to the second; ties by id).
        #expect(listed.first?.id == "laptop-never" && Set(listed.map(\.id)) == ["laptop-never", "admin", "office-749"])
        #expect(listed.dropFirst().map { ($0.lastSyncAt ?? "") + $0.id } == listed.dropFirst().map { ($0.lastSyncAt ?? "") + $0.id }.sorted())
        #expect(listed[0].lastSyncAt == nil && listed[0].version == nil && listed[0].recordsInScope == 0)
        let officeRow = try #require(listed.first { $0.id == "office-749" })
        #expect(officeRow.lastSyncAt != nil && officeRow.lastFailureAt == nil && officeRow.lastErrorKind == nil)
        #expect(officeRow.version == KasvuRelease.version && officeRow.schemaVersion == SyncSchema.version && officeRow.pendingChanges == 0)
        var held = 0
        for kind in EntityKind.allCases { held += try await office.replica.allStates(kind).count }
        #expect(officeRow.recordsInScope == held && held == 3)  // two providers and its client
        #expect(listed.first { $0.id == "admin" }?.recordsInScope == 3)

        // A sync refused after the token was accepted is noted with its kind, never its message.
        let forger = Forger(office)
        let skewed = try await forger.post([]) { $0.clock = HLC(millis: Replica.systemMillis() + 86_400_000) }
        #expect(skewed.error?.kind == "clock_skew")
        listed = try Self.replicas(central)
        let failed = try #require(listed.first { $0.id == "office-749" })
        #expect(failed.lastErrorKind == "clock_skew" && failed.lastFailureAt != nil && failed.lastSyncAt == officeRow.lastSyncAt)
        // What the header says is bounded: a version with control characters is refused.
        let forgedVersion = try await forger.post([]) { $0.appVersion = "1.0\u{1B}[31m" }
        #expect(forgedVersion.status == 400 && forgedVersion.error?.kind == "validation_failed")
        #expect(try Self.replicas(central).first { $0.id == "office-749" }?.lastErrorKind == "validation_failed")

        // The pending changes a replica reports; /metrics shows every replica's staleness.
        let pending = try await forger.post([]) { $0.unpushed = 7 }
        #expect(pending.status == 200)
        #expect(try Self.replicas(central).first { $0.id == "office-749" }?.pendingChanges == 7)
        let client = try CurlHTTPClient(options: HTTPClientOptions())
        let metrics = String(decoding: try await client.send(HTTPRequest(method: "GET", url: central.url + "/metrics",
                                                                         headers: [(name: "Authorization", value: "Bearer \(try central.adminToken())")])).body, as: UTF8.self)
        #expect(metrics.contains(#"kasvu_replica_seconds_since_sync{replica="office-749",role="office"} "#), "\(metrics)")
        #expect(metrics.contains(#"kasvu_replica_pending_changes{replica="office-749",role="office"} 7"#))
        #expect(metrics.contains(#"kasvu_replica_seconds_since_sync{replica="laptop-never",role="office"} "#))
        #expect(!metrics.contains("Aino") && !metrics.contains("131052"))

        // The table for people: the stalest first (the metrics reader, registered for /metrics
        // above, never synced either); a registration of today is not stale yet.
        let table = try KasvuBinary.run(["central", "replicas"] + central.storeArguments + ["--stale-after-days", "1"])
        let lines = table.stdout.split(separator: "\n")
        #expect(table.status == 0 && lines.count == 5 && lines[1].hasPrefix("laptop-never") && lines[2].hasPrefix("metrics-reader") && lines[1].contains("never"), "\(table)")
        #expect(!table.stdout.contains("STALE"))
    }
}
