import Foundation
import GRDB
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// SIGKILL `kasvu sync` or `kasvu central serve` at random moments during syncs, again and
/// again: both databases stay intact, sync resumes, and every acknowledged write reaches the
/// central store.
@Suite("Crash loop", .serialized)
struct CrashLoopTests {
    static let iterations = ProcessInfo.processInfo.environment["KASVU_CRASH_ITERATIONS"].flatMap(Int.init) ?? 100

    @Test(arguments: CentralBackend.allCases)
    func killingSyncAndCentralAtRandomLosesNothing(_ backend: CentralBackend) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(backend, in: directory)
        let office = try TestReplica("office", in: directory, central: central)
        var rng = SeededGenerator(seed: 2026)
        var written: Set<String> = []
        var kills = (sync: 0, central: 0)

        for iteration in 0..<Self.iterations {
            for _ in 0..<Int.random(in: 5...25, using: &rng) {
                written.insert(try await office.replica.create(.client, fields: companyClient.merging(["name": .string("Asiakas \(iteration)")]) { $1 }).id)
            }
            if let id = written.randomElement(using: &rng) {
                _ = try? await office.replica.update(.client, id: id, set: ["phone": .string("040 \(iteration)")])
            }
            let sync = Process()
            sync.executableURL = URL(fileURLWithPath: KasvuBinary.path)
            sync.arguments = ["sync", "--db", office.replica.path, "--batch-size", "5"]
            sync.standardOutput = FileHandle.nullDevice
            sync.standardError = FileHandle.nullDevice
            try sync.run()
            // The moment is random; the checks below hold wherever it lands.
            usleep(UInt32.random(in: 0...40_000, using: &rng))
            if Bool.random(using: &rng) {
                kill(sync.processIdentifier, SIGKILL)
                kills.sync += 1
            } else {
                central.kill()
                kills.central += 1
                // Its client would retry for seconds against a dead server; the next sync resumes anyway.
                if sync.isRunning { kill(sync.processIdentifier, SIGKILL) }
            }
            sync.waitUntilExit()
            if !central.isRunning { try central.restart() }
            #expect(try integrityCheck(office.replica.path) == "ok")
            // PostgreSQL's files are its server's, which no kill here touches.
            if backend == .sqlite { #expect(try integrityCheck(central.db) == "ok") }
        }
        try await office.sync()
        #expect(try await office.replica.info().pendingChanges == 0)

        // Every acknowledged write is in the central store, with the replica's state.
        let states = try await centralStates(central)
        for envelope in try await office.replica.allStates(.client) {
            #expect(states[envelope.id] == envelope.state, "client \(envelope.id) differs at the central store")
        }
        #expect(Set(states.keys) == written)
        #expect(kills.sync > Self.iterations / 10 && kills.central > Self.iterations / 10)
        #expect(central.stop() == 0)
    }

    func integrityCheck(_ path: String) throws -> String {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer"
        }
    }

    func centralStates(_ central: CentralProcess) async throws -> [String: RecordState] {
        var states: [String: RecordState] = [:]
        for row in try await central.rows("SELECT id, state FROM record WHERE entity = 'client'") {
            states[try row["id"] as String] = try RecordState(json: (try row["state"] as String).utf8)
        }
        return states
    }
}
