import Dispatch
import Foundation
import GRDB
@testable import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Synchronization
import Testing

/// A pull reads a WAL snapshot outside the write lock: while one replica's pull is held open,
/// another replica's push commits (issue 10: seven providers pulling from cursor 0 once
/// delayed an office's sync to 59 s).
@Suite struct PullIsolationTests {
    @Test func aLongPullDoesNotDelayAnotherReplicasPush() async throws {
        let directory = try TemporaryDirectory()
        let pulling = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let holdFirstPull = Mutex(true)
        let store = try SQLCentralStore(path: directory.path("central.sqlite"), nowMillis: { Replica.systemMillis() }, whilePulling: {
            guard holdFirstPull.withLock({ first in defer { first = false }; return first }) else { return }
            pulling.signal()
            // Bounded: should the push below never come, the pull goes on and the test fails.
            _ = release.wait(timeout: .now() + 60)
        })
        let reader = try #require(try await store.authenticate(token: try await store.addReplica(id: "reader", role: .admin, scope: .all)))
        let writer = try #require(try await store.authenticate(token: try await store.addReplica(id: "writer", role: .admin, scope: .all)))
        let longPull = Task { try await store.sync(CentralSyncRequest(Self.request(from: "reader", actor: 1, push: [])), from: reader) }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { pulling.wait(); continuation.resume() }
        }
        // The pull is open. A push now commits at once; with the write lock held it would wait
        // for SQLite's busy timeout and fail with storage_failed.
        var state = RecordState()
        state.write(companyClient, dot: Dot(ActorID(hex: 2), 1), hlc: HLC(millis: Replica.systemMillis()))
        let pushed = try await store.sync(CentralSyncRequest(Self.request(from: "writer", actor: 2, push: [RecordEnvelope(entity: .client, id: RecordID.random(), state: state)])),
                                          from: writer)
        let stillPulling = release.signal() != 0  // nonzero: it woke the waiting pull
        #expect(pushed.accepted == 1 && pushed.rejections.isEmpty)
        #expect(stillPulling)
        // The held pull then completes without error (its snapshot may or may not hold the client).
        _ = try await longPull.value
    }

    static func request(from replica: String, actor: UInt64, push: [RecordEnvelope]) -> SyncRequest {
        SyncRequest(header: SyncHeader(schemaVersion: SyncSchema.version, replicaID: replica, actor: ActorID(hex: actor), actorCounter: 1,
                                       clock: HLC(millis: Replica.systemMillis()), cursor: 0, pullLimit: 100), push: push)
    }
}

/// The central store judges "not a future month" as the furthest-ahead clock it accepts would:
/// a laptop a minute ahead at midnight between two months is already in the next one.
@Suite struct CentralDayTests {
    @Test func theAllowedSkewCountsTowardsToday() throws {
        // 2026-11-30 23:59:00 in Helsinki (UTC+2).
        let beforeMidnight: UInt64 = 1_796_075_940_000
        #expect(CalendarDate.today(now: Date(timeIntervalSince1970: Double(beforeMidnight) / 1000)).description == "2026-11-30")
        #expect(SQLCentralStore.latestToday(nowMillis: beforeMidnight, skew: 120_000).description == "2026-12-01")
        #expect(SQLCentralStore.latestToday(nowMillis: beforeMidnight - 120_000, skew: 120_000).description == "2026-11-30")
    }
}

/// The central file is opened like a replica's: every commit fsynced, erased bytes overwritten.
@Suite struct CentralStorageSettingsTests {
    @Test func theCentralWriterCommitsDurablyAndErasesForReal() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLCentralStore(path: directory.path("central.sqlite"))
        let settings = try store.file?.write { db in
            [try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA secure_delete")]
        }
        #expect(settings == [2, 1])
    }
}
