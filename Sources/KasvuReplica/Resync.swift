import GRDB
import KasvuDomain
import KasvuSync

/// What a sync answer's incarnation means for this replica.
enum IncarnationChange {
    /// The same central store as before (or the first one this replica meets).
    case unchanged
    /// A central store restored from a backup: re-sync before anything else.
    case restored
}

/// Re-syncing with a central store restored from a backup (a new incarnation, see
/// `KasvuCentral/Backup.swift`): pull everything again, rebase every record on what the store
/// now holds (``KasvuSync/RecordState/rebased(on:own:)``), let go of records only others wrote
/// that the store lost, and queue every record the store lacks something of. The state of the
/// re-sync is in the database (`replica.resync`, `resync_pending`, the pull cursor), each pulled
/// batch committing with its cursor, so a re-sync cut short resumes at the next sync.
extension Replica {
    /// Compares the answer's incarnation with the one this replica synced with; on a change,
    /// starts the re-sync in the same transaction.
    func noteIncarnation(_ incarnation: String) async throws -> IncarnationChange {
        try await write { db in
            let known = try String.fetchOne(db, sql: "SELECT central_incarnation FROM replica WHERE singleton = 1")
            if known == incarnation { return .unchanged }
            try db.execute(sql: "UPDATE replica SET central_incarnation = ? WHERE singleton = 1", arguments: [incarnation])
            guard known != nil else { return .unchanged }
            try db.execute(sql: "UPDATE replica SET resync = 1, pull_cursor = 0 WHERE singleton = 1")
            try db.execute(sql: "DELETE FROM resync_pending")
            for kind in EntityKind.allCases {
                try db.execute(sql: "INSERT INTO resync_pending (entity, id) SELECT ?, id FROM \"\(kind.rawValue)\"", arguments: [kind.rawValue])
            }
            return .restored
        }
    }

    /// Whether a re-sync is under way (it survives a crash or a cut connection).
    func isResyncing() async throws -> Bool {
        try await read { db in try Bool.fetchOne(db, sql: "SELECT resync FROM replica WHERE singleton = 1") ?? false }
    }

    /// Applies one pulled batch of a re-sync: each record rebased on the store's state, queued
    /// when the store lacks something of it; evictions; the new cursor. One transaction.
    func applyResyncBatch(_ response: SyncResponse) async throws {
        try await write { db in
            let stored = try Row.fetchOne(db, sql: "SELECT counter, hlc FROM replica")
            var writer = WriterClock(actor: self.actor, counter: UInt64(stored?["counter"] as Int64? ?? 0),
                                     last: HLC(rawValue: UInt64(bitPattern: stored?["hlc"] as Int64? ?? 0)))
            for envelope in response.pull { writer.observe(envelope.state) }
            try db.execute(sql: "UPDATE replica SET hlc = ? WHERE singleton = 1", arguments: [Int64(bitPattern: writer.clock.last.rawValue)])
            for envelope in response.pull {
                let id = try Self.canonicalID(envelope.id)
                if let local = try Self.loadState(db, envelope.entity, id) {
                    try self.rebase(db, envelope.entity, id, local: local, central: envelope.state)
                } else {
                    try Self.saveState(db, envelope.entity, id, envelope.state)
                }
                try db.execute(sql: "DELETE FROM resync_pending WHERE entity = ? AND id = ?", arguments: [envelope.entity.rawValue, id])
            }
            for key in response.evict {
                try db.execute(sql: "DELETE FROM \"\(key.entity.rawValue)\" WHERE id = ?", arguments: [key.id])
                for table in ["outbox", "write_log", "resync_pending", "resync_waiting"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE entity = ? AND id = ?", arguments: [key.entity.rawValue, key.id])
                }
            }
            try db.execute(sql: "UPDATE replica SET pull_cursor = ? WHERE singleton = 1", arguments: [response.cursor])
        }
    }

    /// Ends a re-sync once everything is pulled: the records the store did not send keep only
    /// this replica's writes (queued) or go; then the outbox pushes as usual.
    func finishResync() async throws {
        try await write { db in
            for row in try Row.fetchAll(db, sql: "SELECT entity, id FROM resync_pending ORDER BY entity, id") {
                guard let kind = EntityKind(rawValue: row["entity"]), let local = try Self.loadState(db, kind, row["id"]) else { continue }
                try self.rebase(db, kind, row["id"], local: local, central: nil)
            }
            try db.execute(sql: "DELETE FROM resync_pending")
            try db.execute(sql: "UPDATE replica SET resync = 0 WHERE singleton = 1")
        }
    }

    /// Keeps what ``KasvuSync/RecordState/rebased(on:own:)`` keeps of one record, and queues it
    /// when the store lacks something of it. A referral the store lost, whose state only the
    /// lost decision held, is this replica's pending referral again (its creation, re-asserted
    /// under a new write): the store decides it anew. A record still missing required values
    /// (another replica created it; this one only edited it) waits for its creator's writes.
    private func rebase(_ db: Database, _ kind: EntityKind, _ id: String, local: RecordState, central: RecordState?) throws {
        guard var kept = local.rebased(on: central, own: actor) else {
            try db.execute(sql: "DELETE FROM \"\(kind.rawValue)\" WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM outbox WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id])
            return
        }
        if central == nil, kind == .referral, kept.fields[FieldKey.state.rawValue] == nil {
            let stamp = try stamp(db)
            kept.write([FieldKey.state.rawValue: .string(ReferralState.pending.rawValue)], dot: stamp.dot, hlc: stamp.hlc)
        }
        try Self.saveState(db, kind, id, kept)
        guard kept != central else { return }
        if Self.isIncomplete(kind, kept) {
            try db.execute(sql: "INSERT OR IGNORE INTO resync_waiting (entity, id) VALUES (?, ?)", arguments: [kind.rawValue, id])
        } else {
            try Self.queueAgain(db, kind, id)
        }
    }

    /// After a merge: queues a waiting record once the merge completed it.
    static func releaseIfComplete(_ db: Database, _ kind: EntityKind, _ id: String, _ state: RecordState) throws {
        guard !isIncomplete(kind, state) else { return }
        try db.execute(sql: "DELETE FROM resync_waiting WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id])
        if db.changesCount > 0 { try queueAgain(db, kind, id) }
    }

    static func isIncomplete(_ kind: EntityKind, _ state: RecordState) -> Bool {
        guard !state.isDeleted else { return false }
        var values = state.values
        values[EntitySchema.deletedField] = nil
        return !kind.schema.recordErrors(values).isEmpty
    }

    /// Queues a record for push again. Which of its writes the restored store lost is unknown,
    /// so all count as unacknowledged (`first_version` 1) should `kasvu recover` follow.
    private static func queueAgain(_ db: Database, _ kind: EntityKind, _ id: String) throws {
        let counter = try Int64.fetchOne(db, sql: "SELECT counter FROM replica WHERE singleton = 1") ?? 0
        try db.execute(sql: """
            INSERT INTO outbox (entity, id, version, first_version) VALUES (?, ?, ?, 1)
            ON CONFLICT (entity, id) DO UPDATE SET first_version = 1
            """, arguments: [kind.rawValue, id, counter])
    }
}
