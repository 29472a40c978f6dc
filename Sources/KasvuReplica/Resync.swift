import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// What a sync answer's incarnation means for this replica.
enum IncarnationChange {
    /// The same central store as before (or the first one this replica meets).
    case unchanged
    /// A central store restored from a backup: re-sync before anything else.
    case restored
}

/// Why a replica pulls everything again (the `replica.resync` column; 0: it does not).
enum ResyncReason: Int {
    /// The central store was restored from a backup: rebase every record on what it now holds.
    case restoredStore = 1
    /// The store forgot collected tombstones this replica may still hold (its tombstone horizon
    /// is above anything this replica pulled): merge everything again, and drop what the store
    /// no longer sends, unless it holds writes of this replica not yet pushed.
    case pastHorizon = 2
}

/// Re-syncing: pulling everything again, each pulled batch committing with its cursor and the
/// state of the re-sync (`replica.resync`, `resync_pending`), so a re-sync cut short resumes at
/// the next sync.
///
/// With a central store restored from a backup (a new incarnation, see
/// `KasvuCentral/Backup.swift`): rebase every record on what the store now holds
/// (``KasvuSync/RecordState/rebased(on:own:)``), let go of records only others wrote that the
/// store lost, and queue every record the store lacks something of.
///
/// Past the tombstone horizon (`KasvuCentral/TombstoneCollection.swift`): the store lost
/// nothing but tombstones; records it does not send again are gone (collected, or out of this
/// replica's scope) and are dropped, so that no erased client lingers or comes back.
extension Replica {
    /// Compares the answer's incarnation with the one this replica synced with; on a change,
    /// starts the re-sync in the same transaction.
    func noteIncarnation(_ incarnation: String) async throws -> IncarnationChange {
        try await write { db in
            let known = try String.fetchOne(db, sql: "SELECT central_incarnation FROM replica WHERE singleton = 1")
            if known == incarnation { return .unchanged }
            try db.execute(sql: "UPDATE replica SET central_incarnation = ? WHERE singleton = 1", arguments: [incarnation])
            guard known != nil else { return .unchanged }
            try Self.startResync(db, .restoredStore)
            return .restored
        }
    }

    /// Starts a re-sync from scratch when the answer's tombstone horizon is above everything
    /// this replica ever pulled (it was away longer than the store waits, or it was restored
    /// from an old backup); returns whether it did. A replica that holds nothing pulls from the
    /// start anyway: its re-sync is an ordinary first sync.
    func notePastHorizon(_ horizon: Int64) async throws -> Bool {
        guard horizon > 0 else { return false }
        return try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT pulled_through, resync FROM replica WHERE singleton = 1"),
                  row["resync"] as Int64 == 0, horizon > row["pulled_through"] as Int64 else { return false }
            try Self.startResync(db, .pastHorizon)
            return true
        }
    }

    private static func startResync(_ db: Database, _ reason: ResyncReason) throws {
        try db.execute(sql: "UPDATE replica SET resync = ?, pull_cursor = 0, pulled_through = 0 WHERE singleton = 1", arguments: [reason.rawValue])
        try db.execute(sql: "DELETE FROM resync_pending")
        for kind in EntityKind.allCases {
            try db.execute(sql: "INSERT INTO resync_pending (entity, id) SELECT ?, id FROM \"\(kind.rawValue)\"", arguments: [kind.rawValue])
        }
    }

    static func resyncReason(_ db: Database) throws -> ResyncReason? {
        try Int.fetchOne(db, sql: "SELECT resync FROM replica WHERE singleton = 1").flatMap(ResyncReason.init(rawValue:))
    }

    /// Whether a re-sync is under way (it survives a crash or a cut connection).
    func isResyncing() async throws -> Bool {
        try await read { db in try Self.resyncReason(db) != nil }
    }

    /// Applies one pulled batch of a re-sync: each record rebased on the store's state, queued
    /// when the store lacks something of it; evictions; the new cursor. One transaction.
    /// - Returns: false when the re-sync started over instead: the store's tombstone horizon rose
    ///   past its cursor since it began, so a tombstone it pulled earlier may have been collected
    ///   and forgotten without its eviction ever reaching this replica (simulation seed 3957).
    func applyResyncBatch(_ response: SyncResponse) async throws -> Bool {
        try await write { db in
            let reason = try Self.resyncReason(db) ?? .restoredStore
            let row = try Row.fetchOne(db, sql: "SELECT pull_cursor, resync_horizon FROM replica WHERE singleton = 1")
            if row?["pull_cursor"] as Int64? ?? 0 == 0 {
                try db.execute(sql: "UPDATE replica SET resync_horizon = ? WHERE singleton = 1", arguments: [response.horizon])
            } else if let row, response.horizon > row["resync_horizon"] as Int64, response.horizon > row["pull_cursor"] as Int64 {
                try Self.startResync(db, reason)
                return false
            }
            if reason == .pastHorizon {
                try self.mergeInTransaction(db, response.pull, cursor: nil)
            } else {
                try self.rebaseInTransaction(db, response.pull)
            }
            for envelope in response.pull {
                try db.execute(sql: "DELETE FROM resync_pending WHERE entity = ? AND id = ?", arguments: [envelope.entity.rawValue, try Self.canonicalID(envelope.id)])
            }
            for key in response.evict {
                try db.execute(sql: "DELETE FROM \"\(key.entity.rawValue)\" WHERE id = ?", arguments: [key.id])
                for table in ["outbox", "write_log", "resync_pending", "resync_waiting"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE entity = ? AND id = ?", arguments: [key.entity.rawValue, key.id])
                }
            }
            try Self.savePullCursor(db, response.cursor)
            // A rebase may have dropped personal values (an erasure the store holds) and
            // evictions drop records: the files are scrubbed once the re-sync ends.
            try Scrub.markPending(db)
            return true
        }
    }

    /// Rebases each pulled record of a re-sync after a central restore on the store's state.
    private func rebaseInTransaction(_ db: Database, _ pulled: [RecordEnvelope]) throws {
        let stored = try Row.fetchOne(db, sql: "SELECT counter, hlc FROM replica")
        var writer = WriterClock(actor: self.actor, counter: UInt64(stored?["counter"] as Int64? ?? 0),
                                 last: HLC(rawValue: UInt64(bitPattern: stored?["hlc"] as Int64? ?? 0)))
        for envelope in pulled { writer.observe(envelope.state) }
        try db.execute(sql: "UPDATE replica SET hlc = ? WHERE singleton = 1", arguments: [Int64(bitPattern: writer.clock.last.rawValue)])
        for envelope in pulled {
            let id = try Self.canonicalID(envelope.id)
            if let local = try Self.loadState(db, envelope.entity, id) {
                try self.rebase(db, envelope.entity, id, local: local, central: envelope.state)
            } else {
                try Self.saveState(db, envelope.entity, id, envelope.state)
            }
        }
    }

    /// Ends a re-sync once everything is pulled: the records the store did not send keep only
    /// this replica's writes (queued) or go; then the outbox pushes as usual.
    func finishResync() async throws {
        try await write { db in
            if try Self.resyncReason(db) == .pastHorizon {
                // Gone from the store; a record with writes not yet pushed stays for its push,
                // which the store takes (a record it never had) or refuses and evicts (collected).
                for row in try Row.fetchAll(db, sql: """
                    SELECT entity, id FROM resync_pending p WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity = p.entity AND o.id = p.id)
                    """) {
                    guard let kind = EntityKind(rawValue: row["entity"]) else { continue }
                    try db.execute(sql: "DELETE FROM \"\(kind.rawValue)\" WHERE id = ?", arguments: [row["id"] as String])
                    try db.execute(sql: "DELETE FROM write_log WHERE entity = ? AND id = ?", arguments: [kind.rawValue, row["id"] as String])
                }
                try db.execute(sql: "DELETE FROM resync_pending")
                try db.execute(sql: "UPDATE replica SET resync = 0 WHERE singleton = 1")
                return
            }
            for row in try Row.fetchAll(db, sql: "SELECT entity, id FROM resync_pending ORDER BY entity, id") {
                guard let kind = EntityKind(rawValue: row["entity"]), let local = try Self.loadState(db, kind, row["id"]) else { continue }
                try self.rebase(db, kind, row["id"], local: local, central: nil)
            }
            // Writes made while the re-sync was cut short may rest on what the store lost too (a
            // referral's decision, made anew when its referral comes back): refused, they are
            // held and sent again at the next sync, like the records the re-sync queued (6689).
            try db.execute(sql: "INSERT OR IGNORE INTO resync_waiting (entity, id, held) SELECT entity, id, 0 FROM outbox")
            try db.execute(sql: "DELETE FROM resync_pending")
            try db.execute(sql: "UPDATE replica SET resync = 0 WHERE singleton = 1")
            try Scrub.markPending(db)
        }
        try await scrubErasedBytes()
    }

    /// Keeps what ``KasvuSync/RecordState/rebased(on:own:)`` keeps of one record, and queues it
    /// when the store lacks something of it. A referral the store lost, whose state only the
    /// lost decision held, is this replica's pending referral again (its creation, re-asserted
    /// under a new write): the store decides it anew. A record the store lost that another
    /// replica created and this one only edited would lack its required values: it stays as it
    /// is, readable and editable, and waits (unpushed) until its creator's re-sync brings it
    /// back to the store; the pull that delivers it rebases it and queues it (``mergeWaiting``).
    private func rebase(_ db: Database, _ kind: EntityKind, _ id: String, local: RecordState, central: RecordState?) throws {
        let own = try Self.currentActor(db)
        guard var kept = local.withoutCreation(kind, under: central, own: own).rebased(on: central, own: own) else {
            try db.execute(sql: "DELETE FROM \"\(kind.rawValue)\" WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM outbox WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id])
            return
        }
        if central == nil, kind == .referral, kept.fields[FieldKey.state.rawValue] == nil {
            let stamp = try stamp(db, writing: "referral \(id) pending again")
            kept.write([FieldKey.state.rawValue: .string(ReferralState.pending.rawValue)], dot: stamp.dot, hlc: stamp.hlc)
        }
        if central == nil, local.isDeleted, !kept.isDeleted {
            // The store lost a delete this replica had seen (another's, acknowledged before the
            // backup): deleted again under a new write of this replica, erasing again, so that
            // the record neither comes back to life nor waits for a delete nobody holds
            // whole (the deleter kept only its own entries, which lack this one's values). It
            // knows what the lost delete knew, no more: edits the delete had not seen stay, a
            // delete-vs-edit conflict as before the restore (simulation seed 6497).
            let seen = Self.knowledge(ofDeletesIn: local, within: kept.vv)
            let erasure = kept.erasure(kind).filter { name, _ in
                (kept.fields[name] ?? []).allSatisfy { $0.value.isNull || seen.covers($0.dot) }
            }
            let stamp = try stamp(db, writing: "\(kind.rawValue) \(id) deleted again")
            kept.write(erasure.merging([EntitySchema.deletedField: .bool(true)]) { $1 }, dot: stamp.dot, hlc: stamp.hlc, deleteContext: seen)
        }
        if central == nil, Self.isIncomplete(kind, kept), !Self.isIncomplete(kind, local),
           kept.isDeleted || Self.decidesWhereItLives(kind, kept, own: own) {
            // Its creation values, or the municipality it moved the client to, are this
            // replica's, but values it held were others' writes the store lost: written again
            // as its own (it saw them), so that the record comes back whole even when their
            // writers no longer hold it (evicted when the client moved; simulation seeds 286
            // and 521). A writer that still holds it sends its write too: a conflict of two
            // equal values, shown until resolved. A tombstone holds no personal data to spread:
            // whoever holds it writes it whole again, since its creator may have let it go when
            // the store collected it before the restore (simulation seed 5289).
            var missing = Self.valuesToWriteAgain(kind, kept: kept, local: local)
            if kept.isDeleted { missing = missing.filter { kind.schema.field($0.key)?.personal == false } }
            if !missing.isEmpty {
                let stamp = try stamp(db, writing: "\(kind.rawValue) \(id) written again")
                kept.write(missing, dot: stamp.dot, hlc: stamp.hlc)
            }
        }
        if central == nil && Self.isIncomplete(kind, kept) {
            try db.execute(sql: "INSERT OR REPLACE INTO resync_waiting (entity, id, held) VALUES (?, ?, 1)", arguments: [kind.rawValue, id])
            return
        }
        try Self.saveState(db, kind, id, kept)
        if kept != central { try Self.queueAgain(db, kind, id) }
    }

    /// What the deletes a record holds had seen, within `vector`.
    static func knowledge(ofDeletesIn state: RecordState, within vector: VersionVector) -> VersionVector {
        var seen: [ActorID: UInt64] = [:]
        for entry in state.fields[EntitySchema.deletedField] ?? [] where entry.value == .bool(true) {
            for (actor, counter) in entry.context?.counters ?? [:] { seen[actor] = max(seen[actor] ?? 0, min(counter, vector[actor])) }
        }
        return VersionVector(seen)
    }

    /// Whether this replica's own writes hold where a record comes from: its creation (a
    /// create-only value) or, for a client, its municipality, which decides who holds it. Other
    /// holders wait for it: two replicas writing the same values again would show each as a
    /// conflict of two equal values.
    static func decidesWhereItLives(_ kind: EntityKind, _ kept: RecordState, own: ActorID) -> Bool {
        kind.schema.fields.contains { spec in
            (spec.access == .createOnly || (kind == .client && spec.name == FieldKey.municipality.rawValue))
                && kept.fields[spec.name]?.contains { $0.dot.actor == own && !$0.value.isNull } == true
        }
    }

    /// The values a record's rebase lost (others' writes the store no longer holds), as this
    /// replica held them: all of them, since their writers may no longer hold the record.
    static func valuesToWriteAgain(_ kind: EntityKind, kept: RecordState, local: RecordState) -> [String: FieldValue] {
        local.values.filter { name, value in name != EntitySchema.deletedField && kept.fields[name] == nil && !value.isNull }
    }

    /// Releases the held records that have something to push: each sync tries them once more.
    func releaseHeldRecords() async throws {
        // Every sync starts here: a read first, so that the common case takes no write lock.
        guard try await read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM resync_waiting WHERE held = 1 LIMIT 1") ?? false }) else { return }
        try await write { db in
            try db.execute(sql: """
                UPDATE resync_waiting SET held = 0 WHERE held = 1
                AND EXISTS (SELECT 1 FROM outbox o WHERE o.entity = resync_waiting.entity AND o.id = resync_waiting.id)
                """)
        }
    }

    /// The records held back waiting for writes of others (``KasvuSync/SyncRequest/waiting``):
    /// the store answers evictions for those it collected, which no pull would bring back.
    func waitingKeys() async throws -> [RecordKey] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT entity, id FROM resync_waiting WHERE held = 1 ORDER BY entity, id LIMIT ?",
                             arguments: [SyncLimits.maxWaitingKeys]).compactMap { row in
                EntityKind(rawValue: row["entity"]).map { RecordKey(entity: $0, id: row["id"]) }
            }
        }
    }

    /// A pulled state of a record waiting for its creator: rebased on it, and queued once that
    /// makes it whole; otherwise merged as usual and still waiting. Returns the state saved.
    func mergeWaiting(_ db: Database, _ kind: EntityKind, _ id: String, local: RecordState, pulled: RecordState) throws -> RecordState {
        let own = try Self.currentActor(db)
        if let rebased = local.withoutCreation(kind, under: pulled, own: own).rebased(on: pulled, own: own), !Self.isIncomplete(kind, rebased) {
            try Self.saveState(db, kind, id, rebased)
            if rebased != pulled {
                try Self.queueAgain(db, kind, id)
                try db.execute(sql: "UPDATE resync_waiting SET held = 0 WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id])
            } else {
                try db.execute(sql: "DELETE FROM resync_waiting WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id])
            }
            return rebased
        }
        let merged = local.merged(with: pulled)
        try Self.saveState(db, kind, id, merged)
        return merged
    }

    /// The replica's actor now: `kasvu recover` in another process may have changed it since
    /// this one opened the file, and a rebase keeps the writes of the current one.
    static func currentActor(_ db: Database) throws -> ActorID {
        ActorID(rawValue: try String.fetchOne(db, sql: "SELECT actor FROM replica WHERE singleton = 1") ?? "")
    }

    /// Whether a record lacks values its creator gave it: a required value (a deleted record
    /// keeps those that are not personal data, such as a client's municipality, which decides
    /// who may see it).
    static func isIncomplete(_ kind: EntityKind, _ state: RecordState) -> Bool {
        if state.isDeleted {
            return kind.schema.fields.contains { $0.required && !$0.personal && state.value($0.name).isNull }
        }
        var values = state.values
        values[EntitySchema.deletedField] = nil
        return !kind.schema.recordErrors(values).isEmpty
    }

    /// Queues a record for push again, remembered until the store takes it. Which of its writes
    /// the restored store lost is unknown, so all count as unacknowledged (`first_version` 1)
    /// should `kasvu recover` follow.
    private static func queueAgain(_ db: Database, _ kind: EntityKind, _ id: String) throws {
        let counter = try Int64.fetchOne(db, sql: "SELECT counter FROM replica WHERE singleton = 1") ?? 0
        try db.execute(sql: """
            INSERT INTO outbox (entity, id, version, first_version) VALUES (?, ?, ?, 1)
            ON CONFLICT (entity, id) DO UPDATE SET first_version = 1
            """, arguments: [kind.rawValue, id, counter])
        try db.execute(sql: "INSERT OR IGNORE INTO resync_waiting (entity, id, held) VALUES (?, ?, 0)", arguments: [kind.rawValue, id])
    }
}
