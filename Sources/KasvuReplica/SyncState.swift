import GRDB
import KasvuDomain
import KasvuSync

/// A record queued for push, with the outbox version it was read at.
public struct OutboxItem: Sendable, Hashable {
    public let envelope: RecordEnvelope
    /// Actor counter of the newest local write included.
    public let version: Int64
}

/// The local half of sync (DESIGN section 4): read the outbox, clear what was acknowledged,
/// merge pulled states together with the new cursor.
extension Replica {
    /// Up to `limit` records with unacknowledged local writes, as whole states (many writes
    /// to one record between syncs travel once).
    /// - Parameter excluding: records already in flight (sent, not yet acknowledged).
    public func pendingPush(limit: Int, excluding: Set<RecordKey> = []) async throws -> [OutboxItem] {
        try await read { db in
            // Providers, services and clients before the records that point at them, so that a batch never
            // carries a referral, contact, hours report or event whose client the central store
            // has not received yet (its scope checks look the client up); assessments before
            // referrals, which the central store checks against the assessment gate.
            // Records held after a central restore (refused for writes of others the store still
            // lacks, or waiting for their creator) are not pushed in this sync.
            let rows = try Row.fetchAll(db, sql: """
                SELECT entity, id, version FROM outbox
                WHERE NOT EXISTS (SELECT 1 FROM resync_waiting w WHERE w.entity = outbox.entity AND w.id = outbox.id AND w.held = 1)
                ORDER BY CASE entity WHEN 'provider' THEN 0 WHEN 'service' THEN 0 WHEN 'client' THEN 1 WHEN 'assessment' THEN 2 WHEN 'referral' THEN 3 ELSE 4 END, version
                LIMIT ?
                """, arguments: [limit + excluding.count])
            var items: [OutboxItem] = []
            var notes = 0
            for row in rows where items.count < limit {
                guard let kind = EntityKind(rawValue: row["entity"]), !excluding.contains(RecordKey(entity: kind, id: row["id"])),
                      let state = try Self.loadState(db, kind, row["id"]) else { continue }
                let writes = try Self.writeNotes(db, kind, row["id"], upTo: row["version"])
                // The central store takes a bounded number of notes per push: the rest go next time.
                if !items.isEmpty && notes + writes.count > SyncLimits.maxWriteNotesPerPush { break }
                notes += writes.count
                items.append(OutboxItem(envelope: RecordEnvelope(entity: kind, id: row["id"], state: state, writes: writes), version: row["version"]))
            }
            return items
        }
    }

    /// Records with writes to push now (not counting those held after a central restore): the
    /// sync loop runs until none is left.
    func pushableCount() async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox
                WHERE NOT EXISTS (SELECT 1 FROM resync_waiting w WHERE w.entity = outbox.entity AND w.id = outbox.id AND w.held = 1)
                """) ?? 0
        }
    }

    /// Clears acknowledged items, except records written again since they were read.
    public func acknowledge(_ items: [OutboxItem]) async throws {
        try await write { db in try self.clearOutbox(db, items) }
    }

    func clearOutbox(_ db: Database, _ items: [OutboxItem]) throws {
        let delete = try db.cachedStatement(sql: "DELETE FROM outbox WHERE entity = ? AND id = ? AND version = ?")
        let deleteNotes = try db.cachedStatement(sql: "DELETE FROM write_log WHERE entity = ? AND id = ? AND counter <= ?")
        for item in items {
            try delete.execute(arguments: [item.envelope.entity.rawValue, item.envelope.id, item.version])
            try deleteNotes.execute(arguments: [item.envelope.entity.rawValue, item.envelope.id, item.version])
        }
    }

    /// The notes of a record's unacknowledged writes up to `version`, oldest first; at most
    /// ``SyncLimits/maxWriteNotesPerPush``, the newest (a record written that often between
    /// two syncs loses the names of its oldest writes, never a write).
    static func writeNotes(_ db: Database, _ kind: EntityKind, _ id: String, upTo version: Int64) throws -> [WriteNote] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT counter, hlc, user_name, changes FROM write_log WHERE entity = ? AND id = ? AND counter <= ?
            ORDER BY counter DESC, note DESC LIMIT ?
            """), arguments: [kind.rawValue, id, version, SyncLimits.maxWriteNotesPerPush])
        return try rows.reversed().map { row in
            WriteNote(counter: UInt64(row["counter"] as Int64), hlc: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64)),
                      user: row["user_name"], changes: try WriteNote.changes(json: (row["changes"] as String).utf8))
        }
    }

    /// Merges pulled record states and saves the new pull cursor in the same transaction.
    /// Local unpushed writes survive: the merge keeps them, and their outbox rows stay.
    public func merge(_ envelopes: [RecordEnvelope], cursor: Int64? = nil) async throws {
        _ = try await write { db in try self.mergeInTransaction(db, envelopes, cursor: cursor) }
    }

    /// - Returns: how many records the merge erased personal values of (an erasure arriving from
    ///   elsewhere): the caller owes a scrub.
    @discardableResult
    func mergeInTransaction(_ db: Database, _ envelopes: [RecordEnvelope], cursor: Int64?) throws -> Int {
            let stored = try Row.fetchOne(db, sql: "SELECT counter, hlc FROM replica")
            var writer = WriterClock(actor: actor, counter: UInt64(stored?["counter"] as Int64? ?? 0),
                                     last: HLC(rawValue: UInt64(bitPattern: stored?["hlc"] as Int64? ?? 0)))
            var erased = 0
            // Records waiting for their creator's writes after a central restore (rare: checked once).
            let waiting = try Bool.fetchOne(db, sql: "SELECT 1 FROM resync_waiting LIMIT 1") ?? false
            let isWaiting = try db.cachedStatement(sql: "SELECT 1 FROM resync_waiting WHERE entity = ? AND id = ?")
            var ownWrites = OwnWriteCheck(actor: try Self.currentActor(db))
            for envelope in envelopes {
                let id = try Self.canonicalID(envelope.id)
                let local = try Self.loadState(db, envelope.entity, id) ?? RecordState()
                try ownWrites.check(db, envelope, local: local)
                if waiting, try Bool.fetchOne(isWaiting, arguments: [envelope.entity.rawValue, id]) == true {
                    writer.observe(envelope.state)
                    if local.erasesPersonalValues(envelope.entity, merged: try mergeWaiting(db, envelope.entity, id, local: local, pulled: envelope.state)) {
                        erased += 1
                    }
                    continue
                }
                let merged = local.merged(with: envelope.state)
                guard merged != local else { continue }
                if local.erasesPersonalValues(envelope.entity, merged: merged) { erased += 1 }
                writer.observe(envelope.state)
                try Self.saveState(db, envelope.entity, id, merged)
            }
            try db.execute(sql: "UPDATE replica SET hlc = ? WHERE singleton = 1", arguments: [Int64(bitPattern: writer.clock.last.rawValue)])
            if let cursor {
                try Self.savePullCursor(db, cursor)
            }
            return erased
    }

    /// Saves the pull cursor, and how far this replica has ever pulled (the tombstone horizon's measure).
    static func savePullCursor(_ db: Database, _ cursor: Int64) throws {
        try db.cachedStatement(sql: "UPDATE replica SET pull_cursor = ?1, pulled_through = max(pulled_through, ?1) WHERE singleton = 1")
            .execute(arguments: [cursor])
    }

    /// Every record state the replica holds, deleted ones included (for tests and digests).
    public func allStates(_ kind: EntityKind) async throws -> [RecordEnvelope] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" ORDER BY id").map {
                RecordEnvelope(entity: kind, id: $0["id"], state: try Self.decodeState($0["sync_state"]))
            }
        }
    }
}

extension Replica {
    /// One record's full sync state, deleted or not; nil when the replica does not hold it.
    public func state(_ kind: EntityKind, id: String) async throws -> RecordState? {
        try await read { db in try Self.loadState(db, kind, id) }
    }
}

/// A pulled state holding a write under this replica's own actor that this database did not
/// make: a copy of it (a restored backup, a cloned disk) wrote under the same dot and pushed
/// first. Merging it would let each write hide the other (both vectors claim the dot), so the
/// pull is refused with `replica_rewound`, changing nothing, before any write is lost; `kasvu
/// recover` then stamps this database's writes again under a new actor.
///
/// Only writes this database has not had acknowledged can differ. A pulled one is another
/// write when it is numbered beyond this database's counter, or when this database's write of
/// that number has another timestamp: the record's own entry of the dot says it, else the
/// note of the write (the timestamp of a write is salted with what it writes,
/// ``KasvuSync/HybridClock/tick(nowMillis:salt:)``, so two writes under one dot differ in it).
/// A recovery's restamp (the new actor's write 1) moves notes that keep their edit times:
/// those say nothing of the dot's time.
struct OwnWriteCheck {
    let actor: ActorID
    private struct Known {
        var counter: UInt64
        var acknowledged: UInt64
        /// Counter → time of this database's unacknowledged writes, by their notes.
        var noted: [UInt64: HLC]
    }
    /// Read once per pull, at the first entry of this actor.
    private var known: Known?

    init(actor: ActorID) { self.actor = actor }

    mutating func check(_ db: Database, _ envelope: RecordEnvelope, local: RecordState) throws {
        for entry in envelope.state.fields.values.joined() where entry.dot.actor == actor {
            if known == nil { known = try Self.load(db) }
            guard let known, entry.dot.counter > known.acknowledged else { continue }
            let mine = local.fields.values.joined().first { $0.dot == entry.dot }?.hlc ?? known.noted[entry.dot.counter]
            if entry.dot.counter > known.counter || mine.map({ $0 != entry.hlc }) == true {
                throw KasvuError(.replicaRewound, """
                    the central store holds write \(entry.dot.counter) of this replica's actor \(actor) (\(envelope.entity.rawValue) \(envelope.id)) \
                    as another write than this database made: a copy of this database wrote under the same actor and synced first. \
                    Nothing was merged. Run `kasvu recover --db PATH` (local work is stamped again under a new actor), then sync
                    """)
            }
        }
    }

    private static func load(_ db: Database) throws -> Known {
        let counter = UInt64(try Int64.fetchOne(db, sql: "SELECT counter FROM replica WHERE singleton = 1") ?? 0)
        let oldestPending = try Int64.fetchOne(db, sql: "SELECT min(first_version) FROM outbox")
        let acknowledged = oldestPending.map { UInt64(max(0, $0 - 1)) } ?? counter
        var noted: [UInt64: HLC] = [:], disagreeing: Set<UInt64> = [1]
        for row in try Row.fetchAll(db, sql: "SELECT counter, hlc FROM write_log WHERE counter > ?", arguments: [Int64(acknowledged)]) {
            let number = UInt64(row["counter"] as Int64), hlc = HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64))
            if let other = noted[number], other != hlc { disagreeing.insert(number) }
            noted[number] = hlc
        }
        for number in disagreeing { noted[number] = nil }
        return Known(counter: counter, acknowledged: acknowledged, noted: noted)
    }
}
