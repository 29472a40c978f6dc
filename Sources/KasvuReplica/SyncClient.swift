import Foundation
import Synchronization
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// Progress of one sync, reported after every round trip.
public struct SyncProgress: Sendable, Hashable {
    public enum Phase: String, Sendable { case pushing, pulling, done }
    public let phase: Phase
    public let pushed: Int
    public let pulled: Int
    /// Records still waiting to be pushed, when known.
    public let pendingPush: Int?
}

/// The outcome of a completed sync.
public struct SyncSummary: Sendable, Hashable {
    public let pushed: Int
    public let pulled: Int
    /// Records purged because they left the replica's scope.
    public let evicted: Int
    public let rejections: [SyncRejection]
    /// Records queued again after a central restore that the store could not take yet (they
    /// rest on writes of others it still lacks): held, and tried again at the next sync.
    public let held: Int
    public let roundTrips: Int
    public let cursor: Int64
}

/// The replica side of the sync loop (DESIGN section 4): push outbox batches and pull
/// `seq > cursor` in one round trip each, until nothing is left either way. Each pulled batch,
/// its acknowledgements and the new cursor commit in one transaction, so an interruption at
/// any point loses nothing and the next run resumes.
///
/// ```swift
/// let client = SyncClient(replica: replica, transport: transport)
/// let summary = try await client.run { progress in print(progress) }
/// ```
public struct SyncClient: Sendable {
    public let replica: Replica
    public let transport: any SyncTransport
    public var batchSize: Int
    public var pullLimit: Int
    public var userName: String?
    /// Stops a runaway loop (a peer that always answers `more`); far above any real sync.
    public var maxRoundTrips = 1_000_000

    /// Records per round trip each way. Larger batches pay the per-transaction cost (commit,
    /// checkpoint, index pages rewritten) less often: an initial sync of 100,000 clients took
    /// 15.1 s with 1,000 and 9.5 s with 5,000 (BENCHMARKS.md); the central store allows 5,000.
    public static let defaultBatchSize = SyncBatch.maxRecords

    /// How long `kasvu sync` and `sync/run` wait for a round trip before giving up: far above
    /// a round trip of a full batch (well under 2 s at 5,000 records), far below the 5 minutes
    /// libcurl's own retries would wait on a server that never answers.
    public static let defaultTimeoutSeconds = 60

    public init(replica: Replica, transport: any SyncTransport, batchSize: Int = defaultBatchSize, pullLimit: Int = defaultBatchSize,
                userName: String? = nil) {
        self.replica = replica
        self.transport = transport
        self.batchSize = batchSize
        self.pullLimit = pullLimit
        self.userName = userName
    }

    /// Runs one sync. With a `timeout`, the sync gives up with `sync_timeout` when no round trip
    /// completes within it (a central server that accepts the connection and never answers),
    /// saying what it was waiting for; a long sync that keeps making progress is never cut.
    public func run(timeout: Duration? = nil, progress: @escaping @Sendable (SyncProgress) async -> Void = { _ in }) async throws -> SyncSummary {
        guard let timeout else { return try await loop(watch: nil, progress: progress) }
        let watch = SyncWatch(timeout: timeout)
        do {
            return try await withThrowingTaskGroup(of: SyncSummary?.self) { group in
                group.addTask { try await loop(watch: watch, progress: progress) }
                group.addTask { try await watch.expiry(); return nil }
                defer { group.cancelAll() }
                guard let summary = try await group.next() ?? nil else { throw watch.timeoutError }
                return summary
            }
        } catch let error as KasvuError where error.kind == .syncTimeout {
            try? await replica.recordSyncResult(error: "\(error)")
            throw error
        }
    }

    private func loop(watch: SyncWatch?, progress: @Sendable (SyncProgress) async -> Void) async throws -> SyncSummary {
        var batch = max(1, batchSize)
        var pushed = 0, pulled = 0, evicted = 0, roundTrips = 0
        var rejections: [SyncRejection] = []
        var cursor: Int64 = 0
        // The next round trip's batch and answer, exchanged while the previous one committed.
        var prefetched: (items: [OutboxItem], response: SyncResponse)?
        // Rejections that are no refusal: records held after a central restore, moved clients let go.
        var held: [SyncRejection] = [], gone: [SyncRejection] = []
        do {
            // Records held after a central restore are tried once more in every sync.
            try await replica.releaseHeldRecords()
            // A re-sync with a restored central store that was cut short goes on first.
            if try await replica.isResyncing() {
                (roundTrips, pulled) = try await resync(watch: watch, progress: progress)
            }
            while roundTrips < maxRoundTrips {
                try Task.checkCancellation()
                let items: [OutboxItem]
                let response: SyncResponse
                if let next = prefetched {
                    (items, response, prefetched) = (next.items, next.response, nil)
                } else {
                    // Leases to give back are marked before the outbox is read (Leases.swift).
                    let returning = try await replica.leasesToReturn()
                    items = try await replica.pendingPush(limit: batch)
                    var header = try await replica.syncHeader(pullLimit: pullLimit, userName: userName)
                    // A batch short of the limit is everything there is to push (for the tombstone horizon).
                    header.unpushed = items.count < batch ? 0 : max(0, try await replica.pushableCount() - items.count)
                    // A request made here (not one sent while an answer commits) asks for leases
                    // and returns those whose every activation the store has or gets in this
                    // push (Leases.swift); the others leave leases as they are.
                    header.leasesWanted = replica.role == .office
                    header.leasesReturned = try await replica.returnable(returning, pushing: items)
                    watch?.waiting(for: "the central server's answer to round trip \(roundTrips + 1) (\(items.count) records pushed)")
                    do {
                        response = try await transport.exchange(SyncRequest(header: header, push: items.map(\.envelope),
                                                                             waiting: try await replica.waitingKeys()))
                    } catch is SyncBatchTooLarge {
                        batch = try Self.halved(batch)
                        continue
                    }
                }
                roundTrips += 1
                watch?.progressed(waitingFor: "this replica's database to commit round trip \(roundTrips)")
                guard response.schemaVersion == SyncSchema.version else {
                    throw KasvuError(.schemaMismatch, "central store speaks schema version \(response.schemaVersion), this replica \(SyncSchema.version)")
                }
                // A central store restored from a backup: this answer is not applied (what it
                // acknowledges stays queued, and is pushed again after the re-sync).
                if let incarnation = response.incarnation, try await replica.noteIncarnation(incarnation) == .restored {
                    let (trips, resynced) = try await resync(watch: watch, progress: progress)
                    roundTrips += trips
                    pulled += resynced
                    continue
                }
                // The store forgot tombstones this replica may hold: pull everything again first.
                if try await replica.notePastHorizon(response.horizon) {
                    let (trips, resynced) = try await resync(watch: watch, progress: progress)
                    roundTrips += trips
                    pulled += resynced
                    continue
                }
                // Send the next round trip (the records not in flight, from the cursor just
                // received) while this one commits, so that the central store and the replica
                // work at the same time. Requests stay one at a time and batches are applied in
                // order. If this replica stops before applying the next answer, that answer is
                // lost like any lost response: the next sync pushes and pulls it again.
                let nextItems = try await replica.pendingPush(limit: batch, excluding: Set(items.map { RecordKey(entity: $0.envelope.entity, id: $0.envelope.id) }))
                if response.more || !nextItems.isEmpty {
                    var header = try await replica.syncHeader(pullLimit: pullLimit, userName: userName)
                    header.cursor = response.cursor
                    // No `unpushed` claim: a write made before this answer is applied may be concurrent
                    // with a tombstone in it. The next sync's first request settles the cursor.
                    async let next = transport.exchange(SyncRequest(header: header, push: nextItems.map(\.envelope)))
                    let applied = try await replica.applySyncResponse(response, acknowledging: items)
                    (evicted, held, gone) = (evicted + applied.evicted, held + applied.held, gone + applied.gone)
                    watch?.waiting(for: "the central server's answer to round trip \(roundTrips + 1) (\(nextItems.count) records pushed)")
                    do {
                        prefetched = (nextItems, try await next)
                    } catch is SyncBatchTooLarge {
                        batch = try Self.halved(batch)
                    }
                } else {
                    let applied = try await replica.applySyncResponse(response, acknowledging: items)
                    (evicted, held, gone) = (evicted + applied.evicted, held + applied.held, gone + applied.gone)
                }
                pushed += items.count - response.rejections.count
                pulled += response.pull.count
                rejections += response.rejections.filter { rejection in !(held + gone).contains { $0.entity == rejection.entity && $0.id == rejection.id } }
                cursor = response.cursor
                let remaining = try await replica.pushableCount()
                await progress(SyncProgress(phase: remaining > 0 ? .pushing : .pulling, pushed: pushed, pulled: pulled, pendingPush: remaining))
                // Everything pushed (no writes arrived meanwhile) and nothing left to pull.
                if prefetched == nil && !response.more && remaining == 0 { break }
            }
        } catch {
            try? await replica.recordSyncResult(error: "\(error)")
            throw error
        }
        try await replica.recordSyncResult(error: nil)
        await progress(SyncProgress(phase: .done, pushed: pushed, pulled: pulled, pendingPush: 0))
        return SyncSummary(pushed: pushed, pulled: pulled, evicted: evicted, rejections: rejections, held: held.count, roundTrips: roundTrips, cursor: cursor)
    }
}

extension SyncClient {
    /// Pulls everything from a restored central store (pushing nothing until it is done),
    /// rebasing each record on it, then finishes the re-sync; returns round trips and records pulled.
    func resync(watch: SyncWatch?, progress: @Sendable (SyncProgress) async -> Void) async throws -> (roundTrips: Int, pulled: Int) {
        var roundTrips = 0, pulled = 0
        while roundTrips < maxRoundTrips {
            try Task.checkCancellation()
            let header = try await replica.syncHeader(pullLimit: pullLimit, userName: userName)
            watch?.waiting(for: "the restored central server's answer while this replica pulls everything again")
            let response = try await transport.exchange(SyncRequest(header: header, push: []))
            roundTrips += 1
            watch?.progressed(waitingFor: "this replica's database to commit the re-sync")
            guard response.schemaVersion == SyncSchema.version else {
                throw KasvuError(.schemaMismatch, "central store speaks schema version \(response.schemaVersion), this replica \(SyncSchema.version)")
            }
            // Restored once more meanwhile: noteIncarnation started over from the first record.
            if let incarnation = response.incarnation, try await replica.noteIncarnation(incarnation) == .restored { continue }
            guard try await replica.applyResyncBatch(response) else { continue }
            pulled += response.pull.count
            await progress(SyncProgress(phase: .pulling, pushed: 0, pulled: pulled, pendingPush: nil))
            if !response.more { break }
        }
        try await replica.finishResync()
        return (roundTrips, pulled)
    }

    /// The next push batch size after HTTP 413.
    static func halved(_ batch: Int) throws -> Int {
        guard batch > 1 else { throw KasvuError(.validationFailed, "the central store refuses even a single record as too large") }
        return batch / 2
    }
}

extension Replica {
    /// The header of the next sync request: identity, counter, clock and cursor.
    public func syncHeader(pullLimit: Int, userName: String?) async throws -> SyncHeader {
        let now = nowMillis()
        return try await read { db in
            // The actor with its counter, from the same row: `kasvu recover` may have changed both.
            guard let row = try Row.fetchOne(db, sql: "SELECT replica_id, actor, counter, hlc, pull_cursor, central_incarnation FROM replica WHERE singleton = 1") else {
                throw KasvuError(.replicaNotInitialized, "replica row missing")
            }
            let last = HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64))
            return SyncHeader(schemaVersion: SyncSchema.version, replicaID: row["replica_id"], actor: ActorID(rawValue: row["actor"]),
                              actorCounter: UInt64(row["counter"] as Int64), clock: max(last, HLC(millis: now)),
                              cursor: row["pull_cursor"], pullLimit: pullLimit, userName: userName, incarnation: row["central_incarnation"],
                              appVersion: KasvuRelease.version)
        }
    }

    /// Clears acknowledged (and rejected) outbox items, merges the pulled batch and saves the
    /// new cursor, all in one transaction. A record a re-sync queued again that the restored
    /// store refuses is held instead (it rests on writes of others the store still lacks) and
    /// tried again at the next sync; it is not among the rejections.
    /// A client it so queued that the store refuses because it holds it outside this replica's
    /// scope (another replica moved it and sent it again first) goes, with its records, as if
    /// the move had been pulled; that is not among the rejections either.
    /// - Returns: how many records it evicted (an eviction sent again finds nothing to remove),
    ///   the rejections that were held, and those that let a moved client go.
    @discardableResult
    public func applySyncResponse(_ response: SyncResponse, acknowledging items: [OutboxItem]) async throws
        -> (evicted: Int, held: [SyncRejection], gone: [SyncRejection]) {
        let (evicted, erased, held, gone) = try await write { db in
            var evicted = 0
            let at = ISO8601DateFormatter().string(from: Date())
            // Records a re-sync queued again (none, but after a central restore).
            let requeuedAny = try Bool.fetchOne(db, sql: "SELECT 1 FROM resync_waiting LIMIT 1") ?? false
            var held: [SyncRejection] = []
            var gone: [SyncRejection] = []
            if requeuedAny {
                let requeued = try db.cachedStatement(sql: "SELECT 1 FROM resync_waiting WHERE entity = ? AND id = ?")
                // A record the store collected (`not_found`) is gone for good: evicted, never held.
                // Held too: a record written since, whose client still waits for writes of others
                // the store lost (a referral refused because the client's confirmation is not back
                // yet; simulation seed 475).
                for rejection in response.rejections where rejection.kind != KasvuError.Kind.notFound.rawValue {
                    guard let kind = EntityKind(rawValue: rejection.entity) else { continue }
                    // A client the store holds where this replica may not see it (another replica
                    // moved it, and sent it again before this creator did): gone from here, with
                    // its records, as if this replica had pulled the move (simulation seed 475).
                    if kind == .client, rejection.message == SyncRejection.outsideScope, response.evict.contains(RecordKey(entity: kind, id: rejection.id)) {
                        gone.append(rejection)
                        continue
                    }
                    let client = kind == .client ? nil : try Self.loadState(db, kind, rejection.id)?.value(.clientId).stringValue
                    guard try Bool.fetchOne(requeued, arguments: [rejection.entity, rejection.id]) == true
                            || client.map({ try Bool.fetchOne(requeued, arguments: [EntityKind.client.rawValue, $0]) == true }) == true else { continue }
                    held.append(rejection)
                    try db.execute(sql: "INSERT OR REPLACE INTO resync_waiting (entity, id, held) VALUES (?, ?, 1)", arguments: [rejection.entity, rejection.id])
                }
            }
            let keep = Set(held.map { "\($0.entity)/\($0.id)" })
            let taken = items.filter { !keep.contains("\($0.envelope.entity.rawValue)/\($0.envelope.id)") }
            try self.clearOutbox(db, taken)
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM sync_rejection LIMIT 1") == true {
                // A record refused once (held after a central restore) and taken now is no longer refused.
                let refusedNow = Set(response.rejections.map { "\($0.entity)/\($0.id)" })
                let forget = try db.cachedStatement(sql: "DELETE FROM sync_rejection WHERE entity = ? AND id = ?")
                for item in taken where !refusedNow.contains("\(item.envelope.entity.rawValue)/\(item.envelope.id)") {
                    try forget.execute(arguments: [item.envelope.entity.rawValue, item.envelope.id])
                }
            }
            if requeuedAny {
                for item in taken {
                    try db.execute(sql: "DELETE FROM resync_waiting WHERE entity = ? AND id = ?", arguments: [item.envelope.entity.rawValue, item.envelope.id])
                }
            }
            for rejection in response.rejections {
                try db.execute(sql: """
                    INSERT INTO sync_rejection (entity, id, code, kind, message, at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (entity, id) DO UPDATE SET code = excluded.code, kind = excluded.kind, message = excluded.message, at = excluded.at
                    """, arguments: [rejection.entity, rejection.id, rejection.code, rejection.kind, rejection.message, at])
            }
            let erased = try self.mergeInTransaction(db, response.pull, cursor: response.cursor)
            try Self.applyLeases(db, response.leases, reserved: response.reservedPlaces)
            // Records that left this replica's scope go, with their sync state and outbox rows;
            // secure_delete overwrites the freed pages. A record refused and evicted in the same
            // answer keeps its rejection, so that `sync/status` says why it went.
            let refused = Set(response.rejections.map { "\($0.entity)/\($0.id)" })
            // A held record is this replica's own writes the restored store cannot place yet
            // (it lacks the client that puts it in scope): kept, not evicted, until it lands.
            var evictions = response.evict.filter { !keep.contains("\($0.entity.rawValue)/\($0.id)") }
            for client in gone {
                for kind in EntityKind.allCases where kind.schema.field(FieldKey.clientId.rawValue) != nil {
                    evictions += try String.fetchAll(db, sql: "SELECT id FROM \"\(kind.rawValue)\" WHERE client_id = ?", arguments: [client.id])
                        .map { RecordKey(entity: kind, id: $0) }
                }
            }
            for key in evictions {
                try db.execute(sql: "DELETE FROM \"\(key.entity.rawValue)\" WHERE id = ?", arguments: [key.id])
                evicted += db.changesCount
                for table in ["outbox", "write_log", "resync_waiting"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE entity = ? AND id = ?", arguments: [key.entity.rawValue, key.id])
                }
                if !refused.contains("\(key.entity.rawValue)/\(key.id)") {
                    try db.execute(sql: "DELETE FROM sync_rejection WHERE entity = ? AND id = ?", arguments: [key.entity.rawValue, key.id])
                }
            }
            if evicted > 0 || erased > 0 { try Scrub.markPending(db) }
            return (evicted, erased, held, gone)
        }
        // Evicted records and values erased elsewhere leave no copy in the files.
        if evicted > 0 || erased > 0 { try await scrubErasedBytes() }
        return (evicted, held, gone)
    }

    /// Rewrites this replica's file when an erasure or eviction owes it (``KasvuStorage/Scrub``):
    /// no byte of an erased or evicted value stays in the database or its write-ahead log.
    /// A scrub another process's reader kept from finishing stays owed and runs next time.
    public func scrubErasedBytes() async throws {
        try await writeWithoutTransaction { db in _ = try Scrub.runIfPending(db) }
    }

    /// Records the end of a sync for `sync/status` and `replica/info`.
    public func recordSyncResult(error: String?) async throws {
        try await write { db in
            if let error {
                try db.execute(sql: "UPDATE replica SET last_sync_error = ? WHERE singleton = 1", arguments: [error])
            } else {
                try db.execute(sql: "UPDATE replica SET last_sync_at = ?, last_sync_error = NULL WHERE singleton = 1",
                               arguments: [ISO8601DateFormatter().string(from: Date())])
            }
        }
    }
}

/// The deadline of a sync with a timeout: pushed back after every completed round trip, with
/// what the sync waits for now, for the error that names it.
final class SyncWatch: Sendable {
    private struct State {
        var deadline: ContinuousClock.Instant
        var waitingFor = "the central server to answer the first request"
    }

    private let timeout: Duration
    private let state: Mutex<State>

    init(timeout: Duration) {
        self.timeout = timeout
        state = Mutex(State(deadline: .now + timeout))
    }

    func waiting(for what: String) { state.withLock { $0.waitingFor = what } }

    func progressed(waitingFor what: String) {
        state.withLock { $0 = State(deadline: .now + timeout, waitingFor: what) }
    }

    /// Returns once the deadline passes without progress; throws when cancelled.
    func expiry() async throws {
        while true {
            let deadline = state.withLock(\.deadline)
            try await Task.sleep(until: deadline, clock: .continuous)
            if state.withLock({ ContinuousClock.now >= $0.deadline }) { return }
        }
    }

    var timeoutError: KasvuError {
        let waiting = state.withLock(\.waitingFor)
        return KasvuError(.syncTimeout, "no progress for \(timeout.components.seconds) s while waiting for \(waiting); nothing was lost: check the network and the central server, then sync again")
    }
}
