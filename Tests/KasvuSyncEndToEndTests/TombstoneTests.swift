import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Tombstones are collected (issue 12, item 3): once every replica in use has pulled past a
/// delete, the central store drops the tombstone and replicas drop theirs; a replica that
/// returns after the collection horizon pulls everything again instead of keeping or bringing
/// back the record. Through the real server, `kasvu central collect-tombstones` and libcurl.
@Suite("Tombstone collection", .serialized)
struct TombstoneTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    let backend: CentralBackend

    init(_ backend: CentralBackend) throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
        self.backend = backend
    }

    /// Runs `kasvu central collect-tombstones` and returns its report line.
    func collect(inactiveAfterDays: Int? = nil) throws -> String {
        var arguments = ["central", "collect-tombstones"] + central.storeArguments
        if let inactiveAfterDays { arguments += ["--inactive-after-days", "\(inactiveAfterDays)"] }
        let run = try KasvuBinary.run(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout
    }

    /// The central store's rows for one record: its state, its collected key (with the sequence
    /// number it is passed under, null once forgotten).
    func centralRows(_ id: String) async throws -> (record: Int, collected: Int, passed: Int) {
        let counts = try #require(try await central.rows("""
            SELECT (SELECT count(*) FROM record WHERE id = ?1), (SELECT count(*) FROM collected WHERE id = ?1),
                   (SELECT count(*) FROM collected WHERE id = ?1 AND seq IS NOT NULL)
            """, [id]).first)
        return (try counts[0] as Int, try counts[1] as Int, try counts[2] as Int)
    }

    func newClient(_ office: TestReplica, _ n: Int, lastName: String) async throws -> String {
        try await office.replica.create(.client, fields: [
            "hetu": .string(testHetu(n)), "firstName": .string("Hautakivi"), "lastName": .string(lastName), "municipality": .string("749"),
        ]).id
    }

    func holds(_ replica: TestReplica, _ id: String) async throws -> Bool {
        try await replica.replica.state(.client, id: id) != nil
    }

    @Test(arguments: CentralBackend.allCases) static func aTombstoneGoesOnceEveryReplicaHasPulledIt(_ backend: CentralBackend) async throws {
        try await Self(backend).aTombstoneGoesOnceEveryReplicaHasPulledIt()
    }

    func aTombstoneGoesOnceEveryReplicaHasPulledIt() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let colleague = try TestReplica("office-2", in: directory, central: central)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let providers = try await admin.createTwoProviders()
        try await office.sync()
        let mistake = try await newClient(office, 5101, lastName: "Virhekirjaus")
        let served = try await newClient(office, 5102, lastName: "Palveltu")
        let conflicted = try await newClient(office, 5103, lastName: "Ristiriita")
        _ = try await office.replica.create(.contact, fields: [
            "clientId": .string(served), "providerId": .string(providers[0]), "date": .string("2026-11-02"), "kind": .string("meeting"),
        ])
        for replica in [office, colleague, admin] { try await replica.sync() }
        // Three deletes: one plain, one of a client with a contact, one concurrent with an edit.
        for id in [mistake, served, conflicted] { try await office.replica.delete(.client, id: id) }
        _ = try await colleague.replica.update(.client, id: conflicted, set: ["phone": .string("040 1112223")])
        try await office.sync()

        // The colleague and the admin have not pulled the deletes: nothing may go yet.
        #expect(try collect().hasPrefix("Collected 0 tombstones"))
        // A replica's pull counts from its next request, the one that says it applied it.
        for replica in [colleague, admin, office] { try await replica.sync() }
        #expect(try collect().hasPrefix("Collected 0 tombstones"))
        for replica in [colleague, admin] { try await replica.sync() }
        #expect(try collect().hasPrefix("Collected 1 tombstones"))
        #expect(try await centralRows(mistake) == (record: 0, collected: 1, passed: 1))
        // A client's contact still names it (the tombstone routes and prices it); a conflict waits for a person.
        let (servedRows, conflictedRows) = (try await centralRows(served), try await centralRows(conflicted))
        #expect(servedRows.record == 1 && conflictedRows.record == 1)
        #expect(try await office.replica.conflicts(of: .client).map(\.id) == [conflicted])

        // Each replica drops its tombstone as its next pull passes the collection.
        for replica in [office, colleague, admin] {
            #expect(try await holds(replica, mistake))
            try await replica.sync()
            #expect(try await !holds(replica, mistake), "\(replica.replica.path)")
            #expect(try await holds(replica, served))
        }
        // Every replica has passed it: the key is no longer sent to anyone, the horizon moves up.
        for replica in [office, colleague, admin] { try await replica.sync() }
        let report = try collect()
        #expect(report.contains("1 collected earlier are now forgotten"), "\(report)")
        #expect(try await centralRows(mistake) == (record: 0, collected: 1, passed: 0))
        // A replica that joins now never hears of the client.
        let newcomer = try TestReplica("admin-2", in: directory, central: central, role: "admin")
        try await newcomer.sync()
        #expect(try await !holds(newcomer, mistake))
        #expect(try await holds(newcomer, served))
        #expect(try await newcomer.replica.allStates(.client).count == 2)
    }

    /// A laptop away longer than the store waits (here: `--inactive-after-days 0`, so nobody
    /// holds collection back) comes back holding the client as it was before the delete, with
    /// an edit of it and a new client of its own, both unpushed. It pulls everything again:
    /// the erased client leaves it (the edit is refused as `not_found`, never resurrected), its
    /// new client lands, and no byte of the erased client is left in its files.
    @Test(arguments: CentralBackend.allCases) static func aReplicaBackAfterTheHorizonPullsEverythingAgainWithoutResurrecting(_ backend: CentralBackend) async throws {
        try await Self(backend).aReplicaBackAfterTheHorizonPullsEverythingAgainWithoutResurrecting()
    }

    func aReplicaBackAfterTheHorizonPullsEverythingAgainWithoutResurrecting() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let laptop = try TestReplica("office-2", in: directory, central: central)
        let erased = try await newClient(office, 5201, lastName: "Poistettava")
        let kept = try await newClient(office, 5202, lastName: "Pysyvä")
        // A client the laptop registered itself: every write to it is the laptop's own.
        let erasedOwn = try await newClient(laptop, 5204, lastName: "Omapoisto")
        try await office.sync()
        try await laptop.sync()
        try await office.sync()

        // The laptop is away: it edits both clients and registers a new one.
        for id in [erased, erasedOwn] { _ = try await laptop.replica.update(.client, id: id, set: ["phone": .string("040 5556667")]) }
        let own = try await newClient(laptop, 5203, lastName: "Uusiasiakas")
        for id in [erased, erasedOwn] { try await office.replica.delete(.client, id: id) }
        try await office.sync()
        #expect(try collect(inactiveAfterDays: 0).hasPrefix("Collected 2 tombstones"))
        #expect(try collect(inactiveAfterDays: 0).contains("2 collected earlier are now forgotten"))
        #expect(try await centralRows(erased) == (record: 0, collected: 1, passed: 0))
        #expect(try databaseFilesContain(laptop.replica.path, "Poistettava"))

        let summary = try await laptop.sync()
        #expect(Set(summary.rejections.map(\.id)) == [erased, erasedOwn], "\(summary.rejections)")
        #expect(summary.rejections.allSatisfy { $0.kind == "not_found" }, "\(summary.rejections)")
        #expect(try await !holds(laptop, erased))
        #expect(try await !holds(laptop, erasedOwn))
        #expect(try await holds(laptop, kept))
        #expect(try await holds(laptop, own))
        #expect(try await laptop.replica.info().pendingChanges == 0)
        if backend == .sqlite { try central.scrub() }
        for secret in [testHetu(5201), "Poistettava", testHetu(5204), "Omapoisto", "040 5556667"] {
            #expect(try !databaseFilesContain(laptop.replica.path, secret), "\(secret)")
            // PostgreSQL's files are scrubbed by its maintenance job: ErasureTests checks them.
            if backend == .sqlite { #expect(try !databaseFilesContain(central.db, secret), "\(secret)") }
        }
        // Not brought back: the central store holds no record under that id, and the office gets the new client.
        let (erasedRows, erasedOwnRows) = (try await centralRows(erased), try await centralRows(erasedOwn))
        #expect(erasedRows.record == 0 && erasedOwnRows.record == 0)
        try await office.sync()
        #expect(try await holds(office, own))
        #expect(try await !holds(office, erased))
        // Once pulled past the horizon, the next sync is an ordinary one.
        let again = try await laptop.sync()
        #expect(again.pulled == 0 && again.rejections.isEmpty)
    }
}
