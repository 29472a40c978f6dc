import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing


/// One acknowledged write of one field, with what its writer had seen of the record.
struct LoggedWrite: Hashable {
    let key: String  // entity/id/field
    let dot: Dot
    let seen: VersionVector
}

/// Random offline edits on several replicas, random partial syncs over real HTTP, then a full
/// sync: every replica must end identical, and every field must hold exactly the writes that
/// no other write had seen (so nothing acknowledged is lost and every concurrent write shows).
@Suite("Replicas converge through the real central server", .serialized)
struct ConvergenceTests {
    static let fields: [(String, [FieldValue])] = [
        ("phone", ["040 111 1111", "040 222 2222", "050 333 3333"].map(FieldValue.string)),
        ("language", ["fi", "sv", "en"].map(FieldValue.string)),
        ("status", ["registered", "assessment", "referred"].map(FieldValue.string)),
        ("municipality", ["749", "402", "091"].map(FieldValue.string)),
        ("lastName", ["Virtanen", "Korhonen", "Mäkinen"].map(FieldValue.string)),
    ]

    @Test(arguments: 1...UInt64(ProcessInfo.processInfo.environment["KASVU_SCHEDULES"].flatMap(Int.init) ?? 100))
    func randomSchedulesConverge(seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(db: directory.path("central.sqlite"))
        defer { _ = central.stop() }
        try await Self.runSchedule(seed: seed, in: directory, servers: [central])
    }

    /// Three office replicas, 24 random steps, then full syncs and the checks. Each round trip
    /// goes to one of `servers` (all on the same database), at random.
    static func runSchedule(seed: UInt64, in directory: TemporaryDirectory, servers: [CentralProcess]) async throws {
        var rng = SeededGenerator(seed: seed)
        var replicas: [TestReplica] = []
        for index in 0..<3 { replicas.append(try TestReplica("r\(seed)-\(index)", in: directory, central: servers[0])) }
        var log: [LoggedWrite] = []

        for _ in 0..<24 {
            let replica = replicas.randomElement(using: &rng)!.replica
            let live = try await replica.list(.client, limit: 1000).items
            let action = live.isEmpty ? 0 : Int.random(in: 0..<10, using: &rng)
            switch action {
            case 0..<2:
                let record = try await replica.create(.client, fields: [
                    "clientType": .string("company"), "businessId": .string("2077474-0"),
                    "name": .string("Client Oy"), "municipality": .string("749"),
                ])
                let state = try #require(try await replica.state(.client, id: record.id))
                for (field, entries) in state.fields {
                    log.append(LoggedWrite(key: "client/\(record.id)/\(field)", dot: entries[0].dot, seen: VersionVector()))
                }
            case 2:
                let target = live.randomElement(using: &rng)!
                let seen = try #require(try await replica.state(.client, id: target.id)).vv
                try await replica.delete(.client, id: target.id)
                // The delete writes `deleted` and erases (writes null to) the personal fields.
                let state = try #require(try await replica.state(.client, id: target.id))
                let dot = try #require(state.fields["deleted"]?.first?.dot)
                for (field, entries) in state.fields where entries.contains(where: { $0.dot == dot }) {
                    log.append(LoggedWrite(key: "client/\(target.id)/\(field)", dot: dot, seen: seen))
                }
            case 3..<6:
                let replica = replicas.randomElement(using: &rng)!, batchSize = Int.random(in: 1...4, using: &rng)
                try await replica.sync(batchSize: batchSize, through: servers.count > 1 ? servers.randomElement(using: &rng) : nil)
            default:
                let target = live.randomElement(using: &rng)!
                let (field, values) = Self.fields.randomElement(using: &rng)!
                let seen = try #require(try await replica.state(.client, id: target.id)).vv
                _ = try await replica.update(.client, id: target.id, set: [field: values.randomElement(using: &rng)!])
                let dot = try #require(try await replica.state(.client, id: target.id)?.fields[field]?.first?.dot)
                log.append(LoggedWrite(key: "client/\(target.id)/\(field)", dot: dot, seen: seen))
            }
        }
        // Two full rounds: the first brings every write to the central store, the second to everyone.
        for _ in 0..<2 { for replica in replicas { try await replica.sync(through: servers.count > 1 ? servers.randomElement(using: &rng) : nil) } }

        let reference = try await replicas[0].everything()
        for replica in replicas.dropFirst() {
            #expect(try await replica.everything() == reference, "seed \(seed): replicas differ")
        }
        for replica in replicas { #expect(try await replica.replica.info().pendingChanges == 0) }

        var finalDots: [String: Set<Dot>] = [:]
        for envelope in reference {
            for (field, entries) in envelope.state.fields {
                finalDots["\(envelope.entity.rawValue)/\(envelope.id)/\(field)"] = Set(entries.map(\.dot))
            }
        }
        for (key, writes) in Dictionary(grouping: log, by: \.key) {
            let unseen = writes.filter { write in !writes.contains { $0 != write && $0.seen.covers(write.dot) } }
            #expect(finalDots[key] == Set(unseen.map(\.dot)), "seed \(seed): \(key) holds the wrong writes")
        }
    }
}
