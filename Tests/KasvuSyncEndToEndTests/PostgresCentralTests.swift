import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Several `kasvu central serve` processes on one PostgreSQL database (a throw-away cluster,
/// `PostgresCluster`): replicas send each round trip to either server, and the merged result is
/// the one a single server would reach. If PostgreSQL cannot start, these tests fail and say why.
@Suite("Two central servers on one PostgreSQL database")
struct PostgresCentralTests {
    /// Two servers on a new database of the shared cluster.
    static func twoServers() throws -> [CentralProcess] {
        let url = try PostgresCluster.shared().createDatabase()
        return [try CentralProcess(postgres: url), try CentralProcess(postgres: url)]
    }

    @Test(arguments: 1...UInt64(ProcessInfo.processInfo.environment["KASVU_POSTGRES_SCHEDULES"].flatMap(Int.init) ?? 12))
    func randomSchedulesConvergeThroughEitherServer(seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let servers = try Self.twoServers()
        defer { for server in servers { _ = server.stop() } }
        try await ConvergenceTests.runSchedule(seed: seed, in: directory, servers: servers)
    }

    /// Three offices refer two clients each to a provider with three places, offline, then
    /// sync at the same time, each through a server of its own: the cap holds across
    /// processes, and every replica sees the same three active referrals.
    @Test(arguments: 1...UInt64(3))
    func theCapHoldsWhenOfficesSyncThroughDifferentServersAtOnce(seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let servers = try Self.twoServers()
        defer { for server in servers { _ = server.stop() } }
        let admin = try TestReplica("admin", in: directory, central: servers[0], role: "admin")
        let offices = try (0..<3).map { try TestReplica("office-\($0)", in: directory, central: servers[0]) }
        let provider = try await admin.replica.create(.provider, fields: [
            "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("Pohjois-Savo"),
            "cap": .int(3), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ])
        try await admin.sync(through: servers[1])
        var created: [String] = []
        for (index, office) in offices.enumerated() {
            try await office.sync(through: servers[index % 2])
            for number in 0..<2 {
                let client = try await CapTests.referableClient(office.replica, index * 2 + number)
                created.append(try await office.replica.createReferral([
                    "clientId": .string(client), "providerId": .string(provider.id), "chosenBy": .string("client"),
                ]).id)
            }
        }
        var rng = SeededGenerator(seed: seed)
        let routes = offices.map { _ in servers.randomElement(using: &rng)! }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (office, server) in zip(offices, routes) {
                // Concurrent syncs may meet the server's busy limit: a retry is part of the protocol.
                group.addTask { try await office.sync(through: server, maxAttempts: 10) }
            }
            try await group.waitForAll()
        }
        for replica in [admin] + offices + [admin] { try await replica.sync(through: servers.randomElement(using: &rng)) }

        let reference = try await admin.replica.list(.referral, limit: 100).items
        #expect(Set(reference.map(\.id)) == Set(created))
        let states = reference.map { $0["state"].stringValue ?? "?" }
        #expect(states.filter { $0 == "active" }.count == 3, "\(states)")
        #expect(states.filter { $0 == "waitlisted" }.count == 3, "\(states)")
        for office in offices { #expect(try await office.replica.list(.referral, limit: 100).items == reference) }
    }

    /// A server killed with SIGKILL while a replica syncs through it: whatever it acknowledged
    /// is in the database, and the other server serves the rest.
    @Test func aServerKilledInTheMiddleOfSyncsLosesNothingAcknowledged() async throws {
        let directory = try TemporaryDirectory()
        let servers = try Self.twoServers()
        defer { _ = servers[1].stop() }
        let office = try TestReplica("office", in: directory, central: servers[0])
        let admin = try TestReplica("admin", in: directory, central: servers[0], role: "admin")
        var created: Set<String> = []
        for index in 0..<300 {
            created.insert(try await office.replica.create(.client, fields: [
                "hetu": .string(testHetu(index)), "lastName": .string("Asiakas"), "municipality": .string("749"),
            ]).id)
        }
        // Batches of two through the first server, which is killed as soon as one has been
        // acknowledged (the outbox shrank), in the middle of the sync.
        let syncing = Task { try await office.sync(batchSize: 2, through: servers[0], maxAttempts: 1) }
        for _ in 0..<2_000 {
            if try await office.replica.info().pendingChanges < 300 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        servers[0].kill()
        _ = try? await syncing.value
        let left = try await office.replica.info().pendingChanges
        #expect(left < 300 && left > 0, "the server was killed after \(300 - left) of 300 were acknowledged")

        try await office.sync(through: servers[1])
        #expect(try await office.replica.info().pendingChanges == 0)
        try await admin.sync(through: servers[1])
        let merged = try await admin.replica.list(.client, limit: 1000).items
        #expect(Set(merged.map(\.id)) == created)
        #expect(try await admin.everything().filter { $0.entity == .client } == office.everything().filter { $0.entity == .client })
    }

    /// `kasvu central migrate`: a store in use on SQLite moves to PostgreSQL whole, as a new
    /// incarnation; the replicas carry on with their tokens, nothing acknowledged is lost (not
    /// even by a server left running on the old file), and a second copy into the same
    /// database is refused.
    @Test func aStoreMovesFromSQLiteToPostgresAndReplicasCarryOn() async throws {
        let directory = try TemporaryDirectory()
        let sqlite = try CentralProcess(db: directory.path("central.sqlite"))
        let admin = try TestReplica("admin", in: directory, central: sqlite, role: "admin")
        let office = try TestReplica("office", in: directory, central: sqlite)
        let providers = try await admin.createTwoProviders()
        try await office.sync()
        let client = try await CapTests.referableClient(office.replica, 1)
        let referral = try await office.replica.createReferral([
            "clientId": .string(client), "providerId": .string(providers[0]), "chosenBy": .string("client"),
        ])
        let gone = try await office.replica.create(.client, fields: ["hetu": .string(testHetu(2)), "lastName": .string("Poistuva"), "municipality": .string("749")])
        try await office.sync()
        try await office.replica.delete(.client, id: gone.id)
        for replica in [office, admin, office] { try await replica.sync() }
        #expect(sqlite.stop() == 0)

        let url = try PostgresCluster.shared().createDatabase()
        let migrated = try KasvuBinary.run(["central", "migrate", "--from", sqlite.db, "--to", url])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        for table in ["replica", "record", "dot", "audit_trail", "actor"] {
            #expect(migrated.stdout.contains("\(table): "), "\(migrated.stdout)")
        }
        #expect(!migrated.stdout.contains("record: 0 rows"))
        let again = try KasvuBinary.run(["central", "migrate", "--from", sqlite.db, "--to", url])
        #expect(again.status != 0 && again.stderr.contains("already holds a central store"), "\(again.stderr)")

        // The old server is (wrongly) started again and acknowledges one more write: the move
        // began a new incarnation, so the office sends that write again to the new store.
        try sqlite.restart()
        _ = try await office.replica.update(.client, id: client, set: ["phone": .string("040 111 1111")])
        try await office.sync()
        #expect(sqlite.stop() == 0)

        let postgres = try CentralProcess(postgres: url)
        defer { _ = postgres.stop() }
        let held = try await office.everything()
        try await office.sync(through: postgres)
        #expect(try await office.everything() == held)
        #expect(try await office.replica.info().pendingChanges == 0)
        _ = try await office.replica.update(.client, id: client, set: ["email": .string("aino@example.fi")])
        try await office.sync(through: postgres)
        try await admin.sync(through: postgres)
        let merged = try await admin.replica.get(.client, id: client)
        #expect(merged["phone"] == .string("040 111 1111") && merged["email"] == .string("aino@example.fi"))
        #expect(try await admin.replica.get(.referral, id: referral.id)["state"] == .string("active"))
        // A replica registered after the move gets the same records as the one from before it.
        let colleague = try TestReplica("office-2", in: directory, central: postgres)
        try await colleague.sync()
        #expect(try await colleague.everything() == office.everything())
        #expect(try await colleague.replica.state(.client, id: gone.id)?.value("deleted") == .bool(true))
    }

    /// A store put back by PostgreSQL's own means (`pg_dump`, `pg_restore`) has lost what it
    /// acknowledged after the dump; `kasvu central begin-incarnation` before serving from it
    /// makes the replicas send that again.
    @Test func aStorePutBackByPgRestoreGetsBackWhatItLostAfterANewIncarnation() async throws {
        let directory = try TemporaryDirectory()
        let cluster = try PostgresCluster.shared()
        let suffix = UInt32.random(in: 0...UInt32.max)
        let central = try CentralProcess(postgres: try cluster.createDatabase(named: "dumped_\(suffix)"))
        let office = try TestReplica("office", in: directory, central: central)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let before = try await office.replica.create(.client, fields: CentralRestoreTests.person(1, "Ennen"))
        try await office.sync()
        let dump = directory.path("store.dump")
        try cluster.client("pg_dump", ["-Fc", "-f", dump, "dumped_\(suffix)"])
        let after = try await office.replica.create(.client, fields: CentralRestoreTests.person(2, "Jälkeen"))
        try await office.sync()
        #expect(try await office.replica.info().pendingChanges == 0)
        #expect(central.stop() == 0)

        let restored = try cluster.createDatabase(named: "restored_\(suffix)")
        try cluster.client("pg_restore", ["--no-owner", "-d", "restored_\(suffix)", dump])
        let begun = try KasvuBinary.run(["central", "begin-incarnation", "--store", restored])
        #expect(begun.status == 0 && begun.stdout.contains("new incarnation"), "\(begun.stderr)")
        let server = try CentralProcess(postgres: restored)
        defer { _ = server.stop() }
        try await office.sync(through: server)
        try await admin.sync(through: server)
        #expect(try await admin.replica.get(.client, id: before.id)["lastName"] == .string("Ennen"))
        #expect(try await admin.replica.get(.client, id: after.id)["lastName"] == .string("Jälkeen"))
        #expect(try await admin.everything() == office.everything())
    }
}
