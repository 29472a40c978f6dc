import Foundation
import GRDB
@testable import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSQL
import KasvuSync
import KasvuTestSupport
import Synchronization
import Testing

/// Offline capacity leases (issue 18), through real replica files and the central store's own
/// sync entry point on a clock the test moves: an office with a lease makes a referral active
/// at once, offline, and the store honours it; leases, confirmations and returns never take a
/// provider past its cap; a forged lease is refused.
@Suite struct CapacityLeaseSyncTests {
    let directory: TemporaryDirectory
    let clock = OutcomeWindowTests.TestClock()
    let store: SQLCentralStore
    let admin: (Replica, SyncClient)

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        let clock = self.clock
        clock.set("2026-03-02")
        store = try await backend.openStore(in: directory, nowMillis: { clock.now })
        try await store.setCapacityLeases(true)
        let token = try await store.addReplica(id: "admin", role: .admin, scope: .all)
        let replica = try Replica.create(at: directory.path("admin.sqlite"), replicaID: "admin", role: .admin, nowMillis: { clock.now })
        admin = (replica, SyncClient(replica: replica, transport: OutcomeWindowTests.DirectTransport(store: store, token: token)))
    }

    func office(_ id: String, clock: OutcomeWindowTests.TestClock? = nil) async throws -> (replica: Replica, sync: SyncClient) {
        let token = try await store.addReplica(id: id, role: .office, scope: .municipalities(["749"]))
        let clock = clock ?? self.clock
        let replica = try Replica.create(at: directory.path("\(id).sqlite"), replicaID: id, role: .office, nowMillis: { clock.now })
        tokens.withLock { $0[replica.path] = token }
        return (replica, SyncClient(replica: replica, transport: OutcomeWindowTests.DirectTransport(store: store, token: token)))
    }

    /// Every office's token, by its replica file.
    let tokens = Tokens()
    final class Tokens: Sendable {
        private let byPath = Mutex<[String: String]>([:])
        func withLock<T>(_ body: (inout [String: String]) -> T) -> T { byPath.withLock { body(&$0) } }
    }

    /// Puts the backup at `backup` back in place of the store, at the clock's time: a new store
    /// on SQLite (the server restarts on the file), the same one on PostgreSQL. Returns it.
    func restore(_ backend: CentralBackend, from backup: String) async throws -> SQLCentralStore {
        let clock = self.clock
        switch backend {
        case .sqlite:
            try await SQLCentralStore.restore(from: backup, to: directory.path("restored.sqlite"), nowMillis: { clock.now })
            return try SQLCentralStore(path: directory.path("restored.sqlite"), nowMillis: { clock.now })
        case .postgres:
            try await SQLCentralStore.restore(from: backup, into: store)
            return store
        }
    }

    /// A sync client of the office `replica` against `store`.
    func sync(_ replica: Replica, with store: SQLCentralStore, batchSize: Int = SyncClient.defaultBatchSize) -> SyncClient {
        SyncClient(replica: replica, transport: OutcomeWindowTests.DirectTransport(store: store, token: tokens.withLock { $0[replica.path]! }),
                   batchSize: batchSize)
    }

    func provider(cap: Int) async throws -> String {
        let provider = try await admin.0.create(.provider, fields: [
            "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("MK11"), "cap": .int(Int64(cap)),
            "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ])
        _ = try await admin.1.run()
        return provider.id
    }

    /// A client with a confirmed risk group, referred to `provider`.
    func refer(_ office: Replica, _ n: Int, to provider: String) async throws -> KasvuReplica.Record {
        let client = try await referable(office, n)
        return try await office.createReferral(["clientId": .string(client), "providerId": .string(provider), "chosenBy": .string("client")])
    }

    /// A client with a confirmed risk group.
    func referable(_ office: Replica, _ n: Int) async throws -> String {
        let client = try await office.create(.client, fields: [
            "hetu": .string(testHetu(6100 + n)), "lastName": .string("Asiakas\(n)"), "municipality": .string("749"),
            "monthsUnemployed": .int(12), "educationLevel": .string("basic"), "monthsEmployedLast24": .int(2), "languageSkills": .string("good"),
        ])
        let proposal = try await office.profile(clientID: client.id)
        _ = try await office.confirmRiskGroup(clientID: client.id, group: proposal.group, reason: nil, confirmedBy: "tester")
        return client.id
    }

    func centralState(_ id: String) async throws -> String? {
        try await store.read { try SQLCentralStore.load($0, .referral, id) }?.value(.state).stringValue
    }

    /// The leases the store holds for the offices these tests register.
    func centralLeases() async throws -> [LeaseLedger.Lease] {
        try await store.read { db in try ["office", "office-a", "office-b"].flatMap { try LeaseLedger.held(db, replica: $0) } }
    }

    @Test(arguments: CentralBackend.allCases) static func anOfficeActivatesOfflineUnderItsLeaseAndTheStoreHonoursIt(_ backend: CentralBackend) async throws {
        try await Self(backend).anOfficeActivatesOfflineUnderItsLeaseAndTheStoreHonoursIt()
    }
    func anOfficeActivatesOfflineUnderItsLeaseAndTheStoreHonoursIt() async throws {
        let provider = try await provider(cap: 40)
        let (office, sync) = try await office("office")
        _ = try await sync.run()
        // No referral of its own yet: one place to start with (a quarter of 40 would be 10).
        let granted = try await office.info().leases
        #expect(granted.map(\.providerID) == [provider] && granted.map(\.placesLeft) == [1])
        #expect(granted.first?.expiresAt == clock.now + CapacityLeases.termMillis)

        // Offline: the referral is active at once, under the lease.
        let referral = try await refer(office, 1, to: provider)
        #expect(referral["state"] == .string("active") && referral["startDate"] == .string("2026-03-02"))
        #expect(referral["leaseId"] == .string(granted[0].id))
        #expect(try await office.info().leases.isEmpty)  // spent

        let summary = try await sync.run()
        #expect(summary.rejections.isEmpty)
        #expect(try await centralState(referral.id) == "active")
        // The spent lease went back with that sync, and a new one came: the office's share of
        // the referrals (all of them) within a quarter of the 39 free places.
        let renewed = try await office.info().leases
        #expect(renewed.map(\.placesLeft) == [9] && renewed.first?.id != granted[0].id)
        #expect(try await centralLeases().map(\.places) == [9])
        _ = try await admin.1.run()
        #expect(try await admin.0.get(.referral, id: referral.id)["state"] == .string("active"))
        // The central office's caseload counts the reserved places out of the free ones.
        let caseload = try #require(try await admin.0.caseloadReport().first)
        #expect(caseload.active == 1 && caseload.reserved == 9 && caseload.free == 30)
        #expect(try await office.caseloadReport().first?.reserved == 9)  // an office: its own lease
        // A provider's or the central office's replica asks for none.
        #expect(try await admin.0.info().leases.isEmpty)
    }

    /// Off until the purchaser turns them on; turned off, no more are granted, and what an
    /// office holds stays its own to spend.
    @Test(arguments: CentralBackend.allCases) static func leasesAreOffUntilTurnedOn(_ backend: CentralBackend) async throws {
        try await Self(backend).leasesAreOffUntilTurnedOn()
    }
    func leasesAreOffUntilTurnedOn() async throws {
        #expect(try await store.setCapacityLeases(false))  // the suite's init turned them on
        let provider = try await provider(cap: 40)
        let (office, sync) = try await office("office")
        _ = try await sync.run()
        #expect(try await office.info().leases.isEmpty)
        #expect(try await refer(office, 1, to: provider)["state"] == .string("pending"))
        try await store.setCapacityLeases(true)
        _ = try await sync.run()
        let held = try await office.info().leases
        #expect(held.count == 1)
        try await store.setCapacityLeases(false)
        _ = try await sync.run()
        #expect(try await office.info().leases == held)
        #expect(try await refer(office, 2, to: provider)["state"] == .string("active"))
        _ = try await sync.run()
        // Still held, one place fewer, on both sides; turned off, nothing new was granted.
        #expect(try await office.info().leases.map(\.placesLeft) == [held[0].placesLeft - 1])
        #expect(try await centralLeases().map(\.spent) == [1])
    }

    /// Cap 4: the first office's lease reserves one place; the other office's four pending
    /// referrals get the other three and a waitlist place; the leased activation takes the
    /// reserved place. Never more than four active.
    @Test(arguments: CentralBackend.allCases) static func leasesAndConfirmationsStayWithinTheCap(_ backend: CentralBackend) async throws {
        try await Self(backend).leasesAndConfirmationsStayWithinTheCap()
    }
    func leasesAndConfirmationsStayWithinTheCap() async throws {
        let provider = try await provider(cap: 4)
        let (first, firstSync) = try await office("office-a")
        let (second, secondSync) = try await office("office-b")
        _ = try await firstSync.run()
        _ = try await secondSync.run()
        #expect(try await first.info().leases.map(\.placesLeft) == [1])
        #expect(try await second.info().leases.isEmpty)  // 3 free: fewer than four, no lease

        var pending: [String] = []
        for n in 1...4 { pending.append(try await refer(second, n, to: provider).id) }
        #expect(try await second.get(.referral, id: pending[0])["state"] == .string("pending"))
        _ = try await secondSync.run()
        let decided = try await pending.asyncMap { try await centralState($0) }
        #expect(decided.filter { $0 == "active" }.count == 3 && decided.filter { $0 == "waitlisted" }.count == 1, "\(decided)")

        let leased = try await refer(first, 5, to: provider)
        #expect(leased["state"] == .string("active"))
        #expect(try await firstSync.run().rejections.isEmpty)
        #expect(try await centralState(leased.id) == "active")
        let active = try await store.read { db in try SQLCentralReads(db: db).referrals(ofProvider: provider, in: [.active]).count }
        #expect(active == 4)
        #expect(try await centralLeases().isEmpty)  // spent, returned, none free to grant
        _ = try await secondSync.run()
        #expect(try await second.info().leases.isEmpty)
    }

    /// Cap 4: office A holds a lease of one place; office B's four referrals take the other
    /// three places and one waits (`waiting`).
    func aLeaseAndAWaitlist() async throws -> (provider: String, first: Replica, firstSync: SyncClient, waiting: String) {
        let provider = try await provider(cap: 4)
        let (first, firstSync) = try await office("office-a")
        let (second, secondSync) = try await office("office-b")
        _ = try await firstSync.run()
        _ = try await secondSync.run()
        var referrals: [String] = []
        for n in 1...4 { referrals.append(try await refer(second, n, to: provider).id) }
        _ = try await secondSync.run()
        let waiting = try await referrals.asyncFilter { try await centralState($0) == "waitlisted" }
        #expect(waiting.count == 1)
        return (provider, first, firstSync, try #require(waiting.first))
    }

    /// A lease that expires unspent goes back at the next sync, and its place goes to the
    /// referral waiting for it.
    @Test(arguments: CentralBackend.allCases) static func anExpiredLeaseGivesItsPlacesBack(_ backend: CentralBackend) async throws {
        try await Self(backend).anExpiredLeaseGivesItsPlacesBack()
    }
    func anExpiredLeaseGivesItsPlacesBack() async throws {
        let (provider, first, firstSync, waiting) = try await aLeaseAndAWaitlist()
        clock.set("2026-03-10")  // past the week
        #expect(try await first.info().leases.isEmpty)  // expired: no longer offered to spend
        _ = try await firstSync.run()
        #expect(try await centralState(waiting) == "active")
        #expect(try await centralLeases().isEmpty)
        // No lease now, and the office sees the provider full: a new referral is refused there.
        do {
            _ = try await refer(first, 5, to: provider)
            Issue.record("a referral to a full provider with no lease was made")
        } catch let error as KasvuError {
            #expect(error.kind == .capacityExceeded)
        }
    }

    /// A lost laptop's lease comes back when the central office revokes the replica, and its
    /// place goes at once to the referral waiting for it.
    @Test(arguments: CentralBackend.allCases) static func aRevokedOfficesPlacesGoToTheWaitlist(_ backend: CentralBackend) async throws {
        try await Self(backend).aRevokedOfficesPlacesGoToTheWaitlist()
    }
    func aRevokedOfficesPlacesGoToTheWaitlist() async throws {
        let waiting = try await aLeaseAndAWaitlist().waiting
        try await store.revokeReplica(id: "office-a")
        #expect(try await centralState(waiting) == "active")
        #expect(try await centralLeases().isEmpty)
    }

    /// A laptop whose clock is ten days behind spends its lease (the laptop sees no expiry),
    /// but the start date it gives is before the grant: capitation would be paid for days
    /// before the place existed. The store refuses it.
    @Test(arguments: CentralBackend.allCases) static func aLeasedReferralIsNotBackdated(_ backend: CentralBackend) async throws {
        try await Self(backend).aLeasedReferralIsNotBackdated()
    }
    func aLeasedReferralIsNotBackdated() async throws {
        let provider = try await provider(cap: 40)
        let behind = OutcomeWindowTests.TestClock()
        behind.set("2026-02-20")
        let (office, sync) = try await office("office", clock: behind)
        _ = try await sync.run()
        let referral = try await refer(office, 1, to: provider)
        #expect(referral["state"] == .string("active") && referral["startDate"] == .string("2026-02-20"))
        let refusal = try #require(try await sync.run().rejections.first { $0.id == referral.id })
        #expect(refusal.kind == "validation_failed" && refusal.message.contains("before the lease was granted (2026-03-02)"), "\(refusal)")
        #expect(try await centralState(referral.id) == nil)
    }

    /// Two offices refer one client at once, both under their leases: only one place can be
    /// paid for. The one that arrives first stands; the central store ends the other on its
    /// start day, as its own decision, and every replica shows it so (found by the simulation:
    /// a refusal left the second referral on its laptop alone).
    @Test(arguments: CentralBackend.allCases) static func oneClientHoldsOnePlace(_ backend: CentralBackend) async throws {
        try await Self(backend).oneClientHoldsOnePlace()
    }
    func oneClientHoldsOnePlace() async throws {
        let provider = try await provider(cap: 40)
        let (first, firstSync) = try await office("office-a")
        let (second, secondSync) = try await office("office-b")
        _ = try await firstSync.run()
        let client = try await referable(first, 1)
        _ = try await firstSync.run()
        _ = try await secondSync.run()  // office B holds the client too, and a lease
        let refer = ["clientId": FieldValue.string(client), "providerId": .string(provider), "chosenBy": .string("client")]
        let earlier = try await second.createReferral(refer)
        let leased = try await first.createReferral(refer)  // office A has not heard of B's
        #expect(earlier["state"] == .string("active") && leased["state"] == .string("active"))
        _ = try await secondSync.run()
        #expect(try await centralState(earlier.id) == "active")
        #expect(try await firstSync.run().rejections.isEmpty)
        #expect(try await centralState(leased.id) == "ended")
        let ended = try await first.get(.referral, id: leased.id)
        #expect(ended["state"] == .string("ended") && ended["endReason"] == .string("client_already_referred"))
        #expect(ended["endDate"] == ended["startDate"])
        _ = try await secondSync.run()
        #expect(try await second.get(.referral, id: leased.id)["state"] == .string("ended"))
    }

    /// A laptop whose lease table was edited: a lease id of another office, or more places than
    /// granted. The store checks its own ledger and refuses those referrals; the cap holds.
    @Test(arguments: CentralBackend.allCases) static func aForgedLeaseIsRefused(_ backend: CentralBackend) async throws {
        try await Self(backend).aForgedLeaseIsRefused()
    }
    func aForgedLeaseIsRefused() async throws {
        let provider = try await provider(cap: 40)
        let (first, firstSync) = try await office("office-a")
        let (second, secondSync) = try await office("office-b")
        _ = try await firstSync.run()
        _ = try await secondSync.run()
        let firstLease = try #require(try await first.info().leases.first)
        // Office B claims office A's lease, and office A claims five places of its one.
        let secondFile = try DatabaseQueue(path: second.path)
        try await secondFile.write { db in
            try db.execute(sql: "UPDATE capacity_lease SET id = ?, places = 5", arguments: [firstLease.id])
        }
        try secondFile.close()
        let firstFile = try DatabaseQueue(path: first.path)
        try await firstFile.write { db in try db.execute(sql: "UPDATE capacity_lease SET places = 5") }
        try firstFile.close()

        let stolen = try await refer(second, 1, to: provider)
        #expect(stolen["state"] == .string("active"))  // as the edited laptop believes
        let stolenRejections = try await secondSync.run().rejections
        let refusal = try #require(stolenRejections.first { $0.id == stolen.id })
        #expect(refusal.kind == "capacity_exceeded" && refusal.message.contains("not a capacity lease this replica holds"))
        #expect(try await centralState(stolen.id) == nil)

        let own = try await refer(first, 2, to: provider), extra = try await refer(first, 3, to: provider)
        #expect(own["state"] == .string("active") && extra["state"] == .string("active"))
        let rejections = try await firstSync.run().rejections
        #expect(try await centralState(own.id) == "active")
        #expect(rejections.map(\.id) == [extra.id] && rejections.first?.message.contains("all 1 places of the lease are spent") == true, "\(rejections)")
        #expect(try await centralState(extra.id) == nil)
    }
}

extension CapacityLeaseSyncTests {
    /// A central restore from a backup loses the leases granted since and what was spent of
    /// them. An activation made under a lost lease is charged to a place of another lease its
    /// office holds for the provider (here the lease of the backup, still unspent there), and
    /// that lease is told to its office as expired at the restore, so that it is given back.
    @Test(arguments: CentralBackend.allCases) static func anActivationUnderALeaseTheRestoreLostTakesAnotherReservedPlace(_ backend: CentralBackend) async throws {
        try await Self(backend).anActivationUnderALeaseTheRestoreLostTakesAnotherReservedPlace(backend)
    }
    func anActivationUnderALeaseTheRestoreLostTakesAnotherReservedPlace(_ backend: CentralBackend) async throws {
        let provider = try await provider(cap: 40)
        let (office, sync) = try await office("office")
        _ = try await sync.run()
        let first = try await refer(office, 1, to: provider)
        _ = try await sync.run()
        let backed = try #require(try await office.info().leases.first)  // nine places
        #expect(backed.placesLeft == 9)
        try await store.backup(to: directory.path("backup.sqlite"))
        // After the backup: one place spent, the lease expires and is given back, a new one comes
        // and is spent offline.
        let second = try await refer(office, 2, to: provider)
        #expect(second["leaseId"] == .string(backed.id))
        clock.set("2026-03-10")
        _ = try await sync.run()
        let lost = try #require(try await office.info().leases.first)
        #expect(lost.id != backed.id)
        let third = try await refer(office, 3, to: provider)
        #expect(third["state"] == .string("active") && third["leaseId"] == .string(lost.id))

        let restored = try await restore(backend, from: directory.path("backup.sqlite"))
        let summary = try await self.sync(office, with: restored).run()
        #expect(summary.rejections.isEmpty, "\(summary.rejections)")
        for referral in [first, second, third] {
            let state = try await restored.read { try SQLCentralStore.load($0, .referral, referral.id) }
            #expect(state?.value(.state) == .string("active"))
        }
        // The second spent the backup's lease as before; the third, whose lease the store lost,
        // another of its places. The backup's lease is told as having no place left: spent no
        // more, and given back at the next sync, for a new one.
        #expect(try await restored.read { db in try LeaseLedger.lease(db, id: backed.id) }?.spent == 2)
        #expect(try await office.info().leases.isEmpty)
        _ = try await self.sync(office, with: restored).run()
        let ledger = try await restored.read { db in try LeaseLedger.held(db, replica: "office") }
        #expect(!ledger.contains { $0.id == backed.id || $0.id == lost.id } && ledger.count == 1, "\(ledger)")
        #expect(try await office.info().leases.map(\.id) == ledger.map(\.id))
        let reserved = try await restored.read { db in try LeaseLedger.reserved(db, provider: provider) }
        #expect(reserved == ledger.first.map { $0.places - $0.spent })
    }

    /// An office that held no lease at the backup re-syncs one record per request: a request
    /// before its lost activations arrive grants it a new lease, which it spends itself. The
    /// lost activations take free places, never that new lease's (the office would find its
    /// own activations under it refused as spent).
    @Test(arguments: CentralBackend.allCases) static func lostActivationsLeaveALeaseGrantedAfterTheRestoreToItsOffice(_ backend: CentralBackend) async throws {
        try await Self(backend).lostActivationsLeaveALeaseGrantedAfterTheRestoreToItsOffice(backend)
    }
    func lostActivationsLeaveALeaseGrantedAfterTheRestoreToItsOffice(_ backend: CentralBackend) async throws {
        let provider = try await provider(cap: 40)
        let (office, sync) = try await office("office")
        try await store.setCapacityLeases(false)
        _ = try await sync.run()
        try await store.backup(to: directory.path("backup.sqlite"))  // no lease, leases off
        try await store.setCapacityLeases(true)
        _ = try await sync.run()
        _ = try await refer(office, 1, to: provider)
        _ = try await sync.run()  // spent, given back; nine places now
        var lost: [String] = []
        for n in 2...4 { lost.append(try await refer(office, n, to: provider).id) }

        let restored = try await restore(backend, from: directory.path("backup.sqlite"))
        try await restored.setCapacityLeases(true)
        #expect(try await self.sync(office, with: restored, batchSize: 1).run().rejections.isEmpty)
        let granted = try #require(try await office.info().leases.first)
        let ledger = try #require(try await restored.read { db in try LeaseLedger.lease(db, id: granted.id) })
        #expect(ledger.spent == 0 && granted.placesLeft == ledger.places)
        for n in 5..<(5 + granted.placesLeft) { _ = try await refer(office, n, to: provider) }
        #expect(try await self.sync(office, with: restored).run().rejections.isEmpty)
        for id in lost { #expect(try await restored.read { try SQLCentralStore.load($0, .referral, id) }?.value(.state) == .string("active")) }
    }

    /// When the restored store has given the places away meanwhile (here to another office's
    /// pending referrals), an activation under a lease it lost finds none: the store ends it on
    /// its start day, as its own decision, and the cap holds. A laptop that invents a lease
    /// after a restore cannot backdate a start before the backup with it.
    @Test(arguments: CentralBackend.allCases) static func anActivationUnderALostLeaseWithoutAPlaceIsEnded(_ backend: CentralBackend) async throws {
        try await Self(backend).anActivationUnderALostLeaseWithoutAPlaceIsEnded(backend)
    }
    func anActivationUnderALostLeaseWithoutAPlaceIsEnded(_ backend: CentralBackend) async throws {
        let provider = try await provider(cap: 8)
        let (first, firstSync) = try await office("office-a")
        let (second, _) = try await office("office-b")
        let behind = OutcomeWindowTests.TestClock()
        behind.set("2026-02-20")
        let (forger, _) = try await office("office-c", clock: behind)
        _ = try await firstSync.run()
        try await store.backup(to: directory.path("backup.sqlite"))
        let spent = try await refer(first, 1, to: provider)
        _ = try await firstSync.run()  // its lease spent and given back, a new one of one place
        let lost = try await refer(first, 2, to: provider)
        #expect(spent["state"] == .string("active") && lost["state"] == .string("active") && spent["leaseId"] != lost["leaseId"])

        let restored = try await restore(backend, from: directory.path("backup.sqlite"))
        // Office B's seven referrals take the seven places the backup's lease left free.
        _ = try await sync(second, with: restored).run()
        for n in 11...17 { _ = try await refer(second, n, to: provider) }
        #expect(try await sync(second, with: restored).run().rejections.isEmpty)
        let summary = try await sync(first, with: restored).run()
        #expect(summary.rejections.isEmpty, "\(summary.rejections)")
        let stateOf = { (id: String) in try await restored.read { try SQLCentralStore.load($0, .referral, id) } }
        #expect(try await stateOf(spent.id)?.value(.state) == .string("active"))  // the backup's own lease
        let ended = try await first.get(.referral, id: lost.id)
        #expect(ended["state"] == .string("ended") && ended["endReason"] == .string("no_place_after_restore") && ended["endDate"] == ended["startDate"])
        let active = try await restored.read { db in try SQLCentralReads(db: db).referrals(ofProvider: provider, in: [.active]).count }
        #expect(active == 8)

        // Office C's laptop, ten days behind, invents a lease after the restore.
        _ = try await sync(forger, with: restored).run()
        let forgerFile = try DatabaseQueue(path: forger.path)
        try await forgerFile.write { db in
            try db.execute(sql: "INSERT INTO capacity_lease (id, provider_id, places, expires_at) VALUES ('0d9c7c1e-8a4b-4c59-9f43-2f5b8f6f1a2b', ?, 3, ?)",
                           arguments: [provider, Int64(clock.now + CapacityLeases.termMillis)])
        }
        try forgerFile.close()
        let backdated = try await refer(forger, 21, to: provider)
        #expect(backdated["state"] == .string("active") && backdated["startDate"] == .string("2026-02-20"))
        let refusal = try #require(try await sync(forger, with: restored).run().rejections.first { $0.id == backdated.id })
        #expect(refusal.kind == "validation_failed" && refusal.message.contains("not a day a lease granted before the restore could be spent on"), "\(refusal)")
        #expect(try await stateOf(backdated.id) == nil)
    }
}

/// What a restore from a backup changes of the leases the store holds (``LeaseLedger/Restore``).
@Suite struct LeaseRestoreTests {
    static let day: UInt64 = 86_400_000
    /// Restored at noon on 2026-03-10 from a backup taken at noon on 2026-03-04.
    let restore = LeaseLedger.Restore(at: OutcomeWindowTests.TestClock.millis("2026-03-10"), backupTakenAt: OutcomeWindowTests.TestClock.millis("2026-03-04"))

    /// A lease granted before the restore is told to its holder as having no place left, so
    /// that it is spent no more (whatever the laptop's clock says) and given back; one granted
    /// since is told as it is.
    @Test func leasesGrantedBeforeARestoreHaveNoPlaceLeft() {
        let before = LeaseLedger.Lease(id: "a", replicaID: "office", providerID: "p", places: 3, spent: 1,
                                       expiresAt: restore.at - Self.day + CapacityLeases.termMillis)
        #expect(before.held(after: restore).places == 0)
        #expect(before.held(after: nil).places == 3)
        let since = LeaseLedger.Lease(id: "b", replicaID: "office", providerID: "p", places: 3, spent: 0,
                                      expiresAt: restore.at + Self.day + CapacityLeases.termMillis)
        #expect(since.held(after: restore).places == 3)
    }

    /// An activation under a lease the restore lost started after the backup (a day earlier for
    /// a laptop clock behind across midnight) and at most a term after the restore; without the
    /// backup's time, up to the demand window before the restore.
    @Test func aLostLeaseWasSpentBetweenTheBackupAndATermAfterTheRestore() throws {
        #expect(restore.activationDays == (try CalendarDate(iso: "2026-03-03"))...(try CalendarDate(iso: "2026-03-17")))
        let unknownBackup = LeaseLedger.Restore(at: restore.at, backupTakenAt: nil)
        #expect(unknownBackup.activationDays.lowerBound == (try CalendarDate(iso: "2026-02-07")))
        // A backup whose time is after the restore's (the restoring machine's clock behind):
        // the window opens the day before the restore.
        let clockBehind = LeaseLedger.Restore(at: restore.at, backupTakenAt: restore.at + 10 * Self.day)
        #expect(clockBehind.activationDays == (try CalendarDate(iso: "2026-03-09"))...(try CalendarDate(iso: "2026-03-17")))
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }

    func asyncFilter(_ keep: (Element) async throws -> Bool) async rethrows -> [Element] {
        var result: [Element] = []
        for element in self where try await keep(element) { result.append(element) }
        return result
    }
}
