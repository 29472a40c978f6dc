import Foundation
import KasvuSQL
import KasvuDomain
import KasvuSync

/// What one collection run did (``SQLCentralStore/collectTombstones(inactiveAfterDays:)``).
public struct TombstoneCollection: Sendable, Hashable {
    /// Tombstones dropped in this run; replicas drop theirs as their pulls pass them.
    public var collected = 0
    /// Collected tombstones every replica in use has now dropped: no longer sent to anyone.
    public var retired = 0
    /// Everything collected up to this sequence number is forgotten (``SyncResponse/horizon``).
    public var horizon: Int64 = 0
    /// The lowest cursor of the replicas in use, up to which tombstones could be collected.
    public var reach: Int64 = 0
}

/// Collecting tombstones (DESIGN "Lifecycle"). A deleted client is already erased; what stays
/// is a tombstone that keeps replicas from bringing the record back. Once every replica in use
/// has pulled past it, it is no longer needed:
///
/// 1. **Collect.** A tombstone at or below the *reach* (the lowest settled cursor of the replicas
///    in use: those that settled within `inactiveAfterDays`) with no conflict and nothing
///    referring to it (no referral, contact, hours or event of the client, no duplicate flag)
///    leaves `record`; its key goes to `collected` under a new sequence number. A pull that passes that number evicts it from a replica that holds
///    it. A tombstone with dependants stays while they do: it routes and prices them, and holds
///    no personal data.
/// 2. **Retire.** A collected key at or below the reach has reached every replica in use: it is
///    no longer sent, and the *horizon* moves up to it. A replica that returns having never pulled
///    that far (away longer than `inactiveAfterDays`, or restored from an old backup) is told the
///    horizon in every answer and pulls everything again, dropping what the store no longer sends.
///
/// The key of a collected record stays for good (an id, no data), so that a push of the
/// record or of a record of its client is refused (`not_found`) and evicted, never resurrected.
///
/// A replica's *settled cursor* is the cursor of its latest request that pushed everything it
/// had (``SyncHeader/unpushed`` 0): its writes made before it pulled a tombstone have then been
/// merged, so an edit concurrent with a delete is a conflict the store keeps, never collected.
/// A replica that syncs but never settles (always more to push, or never saying) holds nothing
/// back for longer than one that stays away: past the limit it is counted as away. A replica
/// that never settled counts as settled at cursor 0 when it was registered.
extension SQLCentralStore {
    /// Replicas not settled for longer than this no longer hold back collection; returning, they pull everything again.
    public static let defaultInactiveAfterDays = 30

    /// Collects the tombstones every replica in use has pulled, and retires the collected keys every one has passed.
    @discardableResult
    public func collectTombstones(inactiveAfterDays: Int = defaultInactiveAfterDays) async throws -> TombstoneCollection {
        let since = Int64(nowMillis()) - Int64(max(inactiveAfterDays, 0)) * 86_400_000
        return try await write { db in
            var run = TombstoneCollection()
            var sequence = try db.value(Int64.self, "SELECT value FROM sequence") ?? 0
            run.reach = try db.value(Int64.self, """
                SELECT min(settled_cursor) FROM replica WHERE revoked_at IS NULL AND settled_ms >= ?
                """, [since]) ?? sequence
            run.horizon = try Self.horizon(db)
            // Retire first: a key collected below is numbered above the reach, so never retired in the same run.
            let retiring = try db.all("SELECT entity, id, seq FROM collected WHERE seq IS NOT NULL AND seq <= ?", [run.reach])
            for row in retiring {
                try db.execute("DELETE FROM delivered WHERE entity = ? AND id = ?", [row["entity"] as String, row["id"] as String])
                run.horizon = max(run.horizon, try row["seq"])
            }
            try db.execute("UPDATE collected SET seq = NULL WHERE seq IS NOT NULL AND seq <= ?", [run.reach])
            run.retired = retiring.count
            let candidates = try db.all("SELECT entity, id, state FROM record WHERE tombstone = 1 AND seq <= ? ORDER BY seq",
                                              [run.reach])
            for row in candidates {
                let id: String = try row["id"]
                let state = try Self.decode(row["state"])
                guard state.isDeleted, state.conflicts.isEmpty, try !Self.isReferredTo(db, id) else { continue }
                try db.execute("DELETE FROM record WHERE entity = ? AND id = ?", [row["entity"] as String, id])
                sequence += 1
                try db.execute("INSERT INTO collected (entity, id, seq) VALUES (?, ?, ?)", [row["entity"] as String, id, sequence])
                run.collected += 1
            }
            try db.execute("UPDATE sequence SET value = ?", [sequence])
            // A replica whose cursor is below the horizon syncs again from the start: what left
            // its homes before it no replica needs.
            try db.execute("DELETE FROM departure WHERE seq <= ?", [run.horizon])
            try db.execute("INSERT INTO central_state (name, value) VALUES ('tombstone_horizon', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", ["\(run.horizon)"])
            return run
        }
    }

    /// Whether another record names this one: a client's referrals, contacts, hours and events, or a duplicate flag.
    static func isReferredTo(_ db: any SQLConnection, _ id: String) throws -> Bool {
        try db.value(Bool.self, """
            SELECT 1 FROM record WHERE (client_ref = ?1 AND entity <> 'client') OR client_duplicate_of = ?1 OR referral_provider = ?1 LIMIT 1
            """, [id]) ?? false
    }

    static func horizon(_ db: any SQLConnection) throws -> Int64 {
        try db.value(String.self, "SELECT value FROM central_state WHERE name = 'tombstone_horizon'").flatMap(Int64.init) ?? 0
    }

    /// Why a push may not create this record: it, or the client it belongs to, was deleted and
    /// its tombstone collected. Nil otherwise. Asked only of records the store does not hold.
    static func collectedRefusal(_ db: any SQLConnection, _ kind: EntityKind, _ id: String, _ state: RecordState) throws -> KasvuError? {
        let isCollected = db.statement("SELECT 1 FROM collected WHERE entity = ? AND id = ?")
        if try isCollected.value(Bool.self, [kind.rawValue, id]) == true {
            return KasvuError(.notFound, "\(kind.rawValue) \(id) was deleted and erased; nothing more can be written to it")
        }
        if kind != .client, let client = state.value(.clientId).stringValue, try isCollected.value(Bool.self, [EntityKind.client.rawValue, client]) == true {
            return KasvuError(.notFound, "client \(client) was deleted and erased; nothing more can be written for it")
        }
        return nil
    }

    /// The keys among those a replica waits for (``SyncRequest/waiting``) that were collected:
    /// no pull brings them back, so the replica lets them go. A key tells only that a record
    /// with an id the replica already holds was erased and forgotten.
    static func collected(_ db: any SQLConnection, among waiting: [RecordKey]) throws -> [RecordKey] {
        let isCollected = db.statement("SELECT 1 FROM collected WHERE entity = ? AND id = ?")
        return try waiting.filter { try isCollected.value(Bool.self, [$0.entity.rawValue, $0.id]) == true }
    }

    /// The collected keys a pull passes, in `(after, through]` by sequence number, at most `limit`:
    /// evictions for a replica that may hold them (every one for a replica that sees everything).
    static func collectedKeys(_ db: any SQLConnection, after: Int64, through: Int64, limit: Int) throws -> [(key: RecordKey, seq: Int64)] {
        try db.all("SELECT entity, id, seq FROM collected WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                         [after, through, limit]).compactMap { row in
            try EntityKind(rawValue: row["entity"]).map { (RecordKey(entity: $0, id: try row["id"]), try row["seq"]) }
        }
    }
}
