import Foundation
import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Which replicas hold tombstone collection back (`KasvuCentral/TombstoneCollection.swift`):
/// one whose latest request left writes unpushed does, one that has not pushed everything it
/// had for longer than the limit (away, or syncing without ever settling) does not. In process, on a clock the test moves.
@Suite struct TombstoneCollectionTests {
    typealias TestClock = OutcomeWindowTests.TestClock

    let directory: TemporaryDirectory
    let clock = TestClock()
    let store: SQLCentralStore

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        let clock = self.clock
        clock.set("2026-03-02")
        store = try await backend.openStore(in: directory, nowMillis: { clock.now })
    }

    /// An office replica that registers a client, syncs it out and deletes it; two more syncs
    /// settle its cursor past the delete. Returns the client's id.
    func deletedClient() async throws -> String {
        let token = try await store.addReplica(id: "office", role: .office, scope: .municipalities(["749"]))
        let clock = self.clock
        let office = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office", role: .office, nowMillis: { clock.now })
        let sync = SyncClient(replica: office, transport: OutcomeWindowTests.DirectTransport(store: store, token: token))
        let client = try await office.create(.client, fields: ["hetu": .string(testHetu(77)), "lastName": .string("Kivi"), "municipality": .string("749")])
        _ = try await sync.run()
        try await office.delete(.client, id: client.id)
        for _ in 0..<2 { _ = try await sync.run() }
        return client.id
    }

    /// A bare request of another replica: nothing pushed, the given cursor and unpushed count.
    func request(from id: String, token: String, cursor: Int64, unpushed: Int?) async throws {
        let replica = try #require(try await store.authenticate(token: token))
        let header = SyncHeader(schemaVersion: SyncSchema.version, replicaID: id, actor: ActorID(rawValue: "00000000000000a1"), actorCounter: 0,
                                clock: HLC(millis: clock.now), cursor: cursor, pullLimit: 100, unpushed: unpushed)
        _ = try await store.sync(try CentralSyncRequest(json: SyncRequest(header: header, push: []).jsonBytes), from: replica)
    }

    @Test(arguments: CentralBackend.allCases) static func aReplicaWithWritesLeftToPushHoldsCollectionBack(_ backend: CentralBackend) async throws { try await Self(backend).aReplicaWithWritesLeftToPushHoldsCollectionBack() }
    func aReplicaWithWritesLeftToPushHoldsCollectionBack() async throws {
        let admin = try await store.addReplica(id: "admin", role: .admin, scope: .all)
        try await request(from: "admin", token: admin, cursor: 0, unpushed: 0)
        _ = try await deletedClient()
        let end = try await store.statistics().sequence
        // Pulled past the delete, but writes made before that pull may still wait in its outbox.
        try await request(from: "admin", token: admin, cursor: end, unpushed: 3)
        #expect(try await store.collectTombstones().collected == 0)
        try await request(from: "admin", token: admin, cursor: end, unpushed: nil)
        #expect(try await store.collectTombstones().collected == 0)
        try await request(from: "admin", token: admin, cursor: end, unpushed: 0)
        let run = try await store.collectTombstones()
        #expect(run.collected == 1 && run.reach == end)
        // A replica whose cursor went back (a restored laptop) lowers the reach at once, whatever it says of its outbox.
        try await request(from: "admin", token: admin, cursor: 1, unpushed: 5)
        #expect(try await store.collectTombstones().reach == 1)
    }

    /// Simulation seed 2316: an admin replica's syncs had all left writes unpushed when another
    /// office's delete was collected, and its concurrent edit was then refused.
    @Test(arguments: CentralBackend.allCases) static func aReplicaThatNeverSettledHoldsCollectionBackFromItsRegistration(_ backend: CentralBackend) async throws { try await Self(backend).aReplicaThatNeverSettledHoldsCollectionBackFromItsRegistration() }
    func aReplicaThatNeverSettledHoldsCollectionBackFromItsRegistration() async throws {
        let admin = try await store.addReplica(id: "admin", role: .admin, scope: .all)
        _ = try await deletedClient()
        let end = try await store.statistics().sequence
        try await request(from: "admin", token: admin, cursor: end, unpushed: 2)
        clock.set("2026-03-31")
        #expect(try await store.collectTombstones(inactiveAfterDays: 30).collected == 0)
        clock.set("2026-04-02")  // 31 days after the admin was registered
        #expect(try await store.collectTombstones(inactiveAfterDays: 30).collected == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func aReplicaUnsettledPastTheLimitNoLongerHoldsCollectionBack(_ backend: CentralBackend) async throws { try await Self(backend).aReplicaUnsettledPastTheLimitNoLongerHoldsCollectionBack() }
    func aReplicaUnsettledPastTheLimitNoLongerHoldsCollectionBack() async throws {
        let admin = try await store.addReplica(id: "admin", role: .admin, scope: .all)
        try await request(from: "admin", token: admin, cursor: 0, unpushed: 0)
        clock.set("2026-03-03")
        _ = try await deletedClient()
        clock.set("2026-04-01")  // 30 days after the admin last pushed everything it had
        #expect(try await store.collectTombstones(inactiveAfterDays: 30).collected == 0)
        // Syncing without ever settling (always more to push) holds nothing back for longer.
        try await request(from: "admin", token: admin, cursor: 0, unpushed: 3)
        clock.set("2026-04-02")
        let run = try await store.collectTombstones(inactiveAfterDays: 30)
        #expect(run.collected == 1)
        // Not forgotten yet: the office, still in use, has not pulled past the collection.
        #expect(try await store.collectTombstones(inactiveAfterDays: 30).retired == 0)
    }

    /// Simulation seeds 2644 and 5289: after a central restore, a replica held a client it had
    /// deleted, waiting for the creator's values the restored store lacked; the store had
    /// collected the tombstone, so no pull would ever bring them. Named as waiting, it is evicted.
    @Test(arguments: CentralBackend.allCases) static func aWaitingRecordTheStoreCollectedIsEvicted(_ backend: CentralBackend) async throws { try await Self(backend).aWaitingRecordTheStoreCollectedIsEvicted() }
    func aWaitingRecordTheStoreCollectedIsEvicted() async throws {
        let admin = try await store.addReplica(id: "admin", role: .admin, scope: .all)
        let id = try await deletedClient()
        let end = try await store.statistics().sequence
        try await request(from: "admin", token: admin, cursor: end, unpushed: 0)
        #expect(try await store.collectTombstones().collected == 1)
        let replica = try #require(try await store.authenticate(token: admin))
        let header = SyncHeader(schemaVersion: SyncSchema.version, replicaID: "admin", actor: ActorID(rawValue: "00000000000000a1"), actorCounter: 0,
                                clock: HLC(millis: clock.now), cursor: end, pullLimit: 100)
        let other = RecordKey(entity: .client, id: "00000000-0000-4000-8000-000000000001")
        let waiting = [RecordKey(entity: .client, id: id), other]
        let answer = try await store.sync(try CentralSyncRequest(json: SyncRequest(header: header, push: [], waiting: waiting).jsonBytes), from: replica)
        #expect(answer.evict.contains(RecordKey(entity: .client, id: id)))
        #expect(!answer.evict.contains(other))  // never collected: it may still come back
    }

    /// Simulation seeds 5092, 5965, 7292, 8655: a replica's first push after a central restore,
    /// built on writes the store lost, was merged and refused as rewound. A request naming an
    /// earlier incarnation merges nothing; its answer names the new one.
    @Test(arguments: CentralBackend.allCases) static func aPushBuiltOnAnEarlierIncarnationMergesNothing(_ backend: CentralBackend) async throws {
        try await Self(backend).aPushBuiltOnAnEarlierIncarnationMergesNothing(backend)
    }
    func aPushBuiltOnAnEarlierIncarnationMergesNothing(_ backend: CentralBackend) async throws {
        let token = try await store.addReplica(id: "office", role: .office, scope: .municipalities(["749"]))
        let clock = self.clock
        let office = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office", role: .office, nowMillis: { clock.now })
        _ = try await SyncClient(replica: office, transport: OutcomeWindowTests.DirectTransport(store: store, token: token)).run()
        try await store.backup(to: directory.path("backup.sqlite"))
        let restored: SQLCentralStore
        switch backend {
        case .sqlite:
            try await SQLCentralStore.restore(from: directory.path("backup.sqlite"), to: directory.path("restored.sqlite"))
            restored = try SQLCentralStore(path: directory.path("restored.sqlite"), nowMillis: { clock.now })
        case .postgres:
            try await SQLCentralStore.restore(from: directory.path("backup.sqlite"), into: store)
            restored = store
        }
        _ = try await office.create(.client, fields: ["hetu": .string(testHetu(78)), "lastName": .string("Kivi"), "municipality": .string("749")])
        let replica = try #require(try await restored.authenticate(token: token))
        let header = try await office.syncHeader(pullLimit: 100, userName: nil)
        let push = try await office.pendingPush(limit: 10).map(\.envelope)
        let before = try await restored.statistics().sequence
        let answer = try await restored.sync(try CentralSyncRequest(json: SyncRequest(header: header, push: push).jsonBytes), from: replica)
        #expect(push.count == 1 && answer.accepted == 0 && answer.rejections.isEmpty && answer.pull.isEmpty)
        #expect(answer.incarnation != nil && answer.incarnation != header.incarnation)
        #expect(try await restored.statistics().sequence == before)
        // The replica notices, re-syncs and pushes its client then.
        let summary = try await SyncClient(replica: office, transport: OutcomeWindowTests.DirectTransport(store: restored, token: token)).run()
        #expect(summary.pushed == 1)
        #expect(try await restored.statistics().sequence > before)
    }
}
