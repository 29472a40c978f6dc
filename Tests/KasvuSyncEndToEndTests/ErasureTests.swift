import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Deleting a client erases it (GDPR Art. 17): after the next syncs, no byte of its personal
/// data is left in any file of any replica that held it, nor of the central store, on either
/// database.
@Suite("Erasure", .serialized)
struct ErasureTests {
    let directory: TemporaryDirectory
    let central: CentralProcess
    /// PostgreSQL: a cluster of the test's own, so that every file under it is this store's,
    /// with the settings that matter here as in production: whole pages in the write-ahead log
    /// after each checkpoint, and old log segments deleted rather than reused.
    let cluster: PostgresCluster?
    static let database = "erasure"

    init(_ backend: CentralBackend) throws {
        directory = try TemporaryDirectory()
        switch backend {
        case .sqlite:
            cluster = nil
            central = try CentralProcess(db: directory.path("central.sqlite"))
        case .postgres:
            let cluster = try PostgresCluster.start(settings: ["full_page_writes": "on", "wal_recycle": "off"])
            self.cluster = cluster
            central = try CentralProcess(postgres: try cluster.createDatabase(named: Self.database))
        }
    }

    /// Distinctive values, so that a match in a file can only be this client's.
    static let hetu = testHetu(4242)
    static let secrets = [hetu, "Erasmussen", "Unikkonimi", "040 9876543", "unikko@example.fi", "muistiinpano-salaisuus", "syy-salaisuus",
                          "arvio-salaisuus", "Osallistujanimi", "suositus-salaisuus"]

    /// Which of `secrets` any file of `path` (database, write-ahead log, shared memory) contains.
    static func leaks(_ path: String) throws -> [String] {
        try leaks(files: [path, path + "-wal", path + "-shm"].filter { FileManager.default.fileExists(atPath: $0) })
    }

    /// The secrets as written and as the search index keeps them (lower case).
    static let forms = Array(Set(secrets + secrets.map { $0.lowercased() })).sorted()

    static func leaks(files: [String], secrets: [String]? = nil) throws -> [String] {
        let forms = secrets.map { Array(Set($0 + $0.map { $0.lowercased() })).sorted() } ?? Self.forms
        var found: [String] = []
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            found += forms.filter { bytes.range(of: Data($0.utf8)) != nil }.map { "\($0) in \(file.split(separator: "/").suffix(2).joined(separator: "/"))" }
        }
        return found
    }

    /// The central store's leaks: its file, or every file of the PostgreSQL cluster (tables,
    /// indexes, statistics, write-ahead log, the server's log).
    func centralLeaks() throws -> [String] {
        guard let cluster else { return try Self.leaks(central.db) }
        let root = URL(fileURLWithPath: cluster.directory)
        let enumerator = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]))
        let files = try enumerator.compactMap { $0 as? URL }.filter { try $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true }
        return try Self.leaks(files: files.map(\.path))
    }

    /// The store scrubs after the erasing sync has answered: SQLite's server at once in the
    /// background, PostgreSQL's in its hourly maintenance round, so there the bytes are still
    /// there to find first. `kasvu central scrub` waits for the one running and runs the one owed.
    func scrubCentral() throws {
        if cluster != nil {
            #expect(try !centralLeaks().isEmpty, "the erased values' old versions are in PostgreSQL's files until the scrub")
            #expect(try central.scrub().contains("Scrubbed"))
        } else {
            try central.scrub()
        }
    }

    @Test(arguments: CentralBackend.allCases) static func aDeletedClientLeavesNoByteAnywhere(_ backend: CentralBackend) async throws {
        try await Self(backend).aDeletedClientLeavesNoByteAnywhere()
    }

    func aDeletedClientLeavesNoByteAnywhere() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let colleague = try TestReplica("office-2", in: directory, central: central)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let client = try await office.replica.create(.client, fields: [
            "hetu": .string(Self.hetu), "firstName": .string("Unikkonimi"), "lastName": .string("Erasmussen"), "municipality": .string("749"),
            "phone": .string("040 9876543"), "email": .string("unikko@example.fi"),
            "monthsUnemployed": .int(30), "educationLevel": .string("basic"), "monthsEmployedLast24": .int(2), "languageSkills": .string("native"),
        ])
        _ = try await office.replica.profile(clientID: client.id)
        _ = try await office.replica.confirmRiskGroup(clientID: client.id, group: 3, reason: "syy-salaisuus", confirmedBy: "worker")
        let providers = try await admin.createTwoProviders()
        try await office.sync()
        _ = try await office.replica.create(.contact, fields: [
            "clientId": .string(client.id), "providerId": .string(providers[0]), "date": .string("2026-11-02"),
            "kind": .string("meeting"), "note": .string("muistiinpano-salaisuus"),
        ])
        let assessment = try await office.replica.create(.assessment, fields: [
            "clientId": .string(client.id), "date": .string("2026-11-03"), "notes": .string("arvio-salaisuus"),
            "participants": .string(#"[{"role":"kela","name":"Osallistujanimi"}]"#), "needs": .string(#"["housing"]"#),
            "recommendedServices": .string(#"["suositus-salaisuus"]"#), "outcome": .string("direct_referral"),
        ])
        _ = try await office.replica.completeAssessment(id: assessment.id, completedBy: "worker")
        for replica in [office, colleague, admin, office] { try await replica.sync() }
        // The check can see the data while it is there.
        #expect(try !Self.leaks(colleague.replica.path).isEmpty && !centralLeaks().isEmpty)
        // PostgreSQL's sampled statistics would keep values where no erasure reaches them.
        try cluster?.psql("ANALYZE", database: Self.database)

        try await office.replica.delete(.client, id: client.id)
        for replica in [office, colleague, admin] { try await replica.sync() }
        try scrubCentral()

        for path in [office.replica.path, colleague.replica.path, admin.replica.path] {
            #expect(try Self.leaks(path) == [], "\(path)")
        }
        #expect(try centralLeaks() == [])
        // What remains is a tombstone: the record, its municipality, and no personal field.
        let tombstone = try #require(try await colleague.replica.allStates(.client).first { $0.id == client.id }?.state)
        #expect(tombstone.isDeleted)
        #expect(EntityKind.client.schema.personalFields.allSatisfy { tombstone.value($0) == .null })
        #expect(tombstone.value(.municipality) == .string("749"))
        let contacts = try await colleague.replica.list(.contact, where: ["clientId": .string(client.id)]).items
        #expect(contacts.count == 1 && contacts.first?["note"] == .null)
        // The assessment keeps its outcome for the statistics, and nothing about the person.
        let erased = try await colleague.replica.get(.assessment, id: assessment.id)
        #expect(erased["outcome"] == .string("direct_referral") && EntityKind.assessment.schema.personalFields.allSatisfy { erased[$0] == .null })
    }

    /// An edit made elsewhere, concurrently with the delete, survives as a delete-vs-edit
    /// conflict holding only that edit; keeping the delete erases it too.
    @Test(arguments: CentralBackend.allCases) static func keepingTheDeleteErasesAConcurrentEdit(_ backend: CentralBackend) async throws {
        try await Self(backend).keepingTheDeleteErasesAConcurrentEdit()
    }

    func keepingTheDeleteErasesAConcurrentEdit() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let colleague = try TestReplica("office-2", in: directory, central: central)
        let client = try await office.replica.create(.client, fields: [
            "hetu": .string(Self.hetu), "firstName": .string("Unikkonimi"), "lastName": .string("Erasmussen"), "municipality": .string("749"),
        ])
        try await office.sync()
        try await colleague.sync()
        // Offline on both laptops: one deletes, the other records a phone number.
        try await office.replica.delete(.client, id: client.id)
        _ = try await colleague.replica.update(.client, id: client.id, set: ["phone": .string("040 9876543")])
        for replica in [office, colleague, office] { try await replica.sync() }

        let conflicts = try await office.replica.conflicts(of: .client)
        #expect(conflicts.map(\.conflict.kind) == [.deleteVsEdit])
        #expect(conflicts.first?.conflict.editedFields == ["phone"])
        #expect(try Self.leaks(office.replica.path).contains { $0.hasPrefix("040 9876543") })
        // Only the concurrent edit remains: the name was erased by the delete.
        #expect(try !Self.leaks(office.replica.path).contains { $0.lowercased().hasPrefix("erasmussen") })

        _ = try await office.replica.resolveConflict(.client, id: client.id, field: "deleted", value: .bool(true))
        for replica in [office, colleague] { try await replica.sync() }
        try scrubCentral()
        for path in [office.replica.path, colleague.replica.path] {
            #expect(try Self.leaks(path) == [], "\(path)")
        }
        #expect(try centralLeaks() == [])
        #expect(try await office.replica.conflicts(of: .client).isEmpty)
    }

    /// The retention rule: `kasvu central purge --ended-before` erases the clients whose
    /// referrals all ended before the day, everywhere; a client still served is untouched.
    @Test(arguments: CentralBackend.allCases) static func thePurgeErasesClientsWhoseServiceEnded(_ backend: CentralBackend) async throws {
        try await Self(backend).thePurgeErasesClientsWhoseServiceEnded()
    }

    func thePurgeErasesClientsWhoseServiceEnded() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        let providers = try await admin.createTwoProviders()
        try await office.sync()
        var clients: [String] = []
        for (n, firstName, lastName) in [(4242, "Unikkonimi", "Erasmussen"), (4243, "Toinen", "Jatkaja")] {
            let client = try await office.replica.create(.client, fields: [
                "hetu": .string(testHetu(n)), "firstName": .string(firstName), "lastName": .string(lastName), "municipality": .string("749"),
                "monthsUnemployed": .int(30), "educationLevel": .string("basic"), "monthsEmployedLast24": .int(2), "languageSkills": .string("native"),
            ])
            let proposal = try await office.replica.profile(clientID: client.id)
            _ = try await office.replica.confirmRiskGroup(clientID: client.id, group: proposal.group, reason: nil, confirmedBy: "worker")
            _ = try await office.replica.createReferral(["clientId": .string(client.id), "providerId": .string(providers[0]), "chosenBy": .string("client")])
            clients.append(client.id)
        }
        _ = try await office.replica.create(.contact, fields: [
            "clientId": .string(clients[0]), "providerId": .string(providers[0]), "date": .string("2026-11-02"),
            "kind": .string("meeting"), "note": .string("muistiinpano-salaisuus"),
        ])
        _ = try await office.replica.create(.assessment, fields: [
            "clientId": .string(clients[0]), "date": .string("2026-11-03"), "notes": .string("arvio-salaisuus"),
            "participants": .string(#"[{"role":"kela","name":"Osallistujanimi"}]"#),
        ])
        try await office.sync()
        try await office.sync()  // the central store's activations
        let referral = try #require(try await office.replica.list(.referral, where: ["clientId": .string(clients[0])]).items.first)
        _ = try await office.replica.transitionReferral(id: referral.id, to: .ended, date: nil, reason: "employed")
        for replica in [office, admin] { try await replica.sync() }
        #expect(try !centralLeaks().isEmpty)

        // The purge scrubs on either database: it is a batch job, not a sync.
        let tomorrow = CalendarDate.today(now: Date().addingTimeInterval(86_400)).description
        let purge = try KasvuBinary.run(["central", "purge"] + central.storeArguments + ["--ended-before", tomorrow])
        #expect(purge.status == 0 && purge.stdout.contains("Erased 1 clients"), "\(purge.stderr)")
        for replica in [office, admin] { try await replica.sync() }

        for path in [office.replica.path, admin.replica.path] {
            #expect(try Self.leaks(path) == [], "\(path)")
        }
        #expect(try centralLeaks() == [])
        let kept = try await office.replica.get(.client, id: clients[1])
        #expect(kept["lastName"] == .string("Jatkaja") && kept["hetu"] == .string(testHetu(4243)))
        #expect(try KasvuBinary.run(["central", "purge"] + central.storeArguments + ["--ended-before", tomorrow]).stdout.contains("Erased 0 clients"))
    }
}
