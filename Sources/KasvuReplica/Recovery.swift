import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// What `kasvu recover` did.
public struct RecoverySummary: Sendable {
    public let formerActor: ActorID
    public let actor: ActorID
    /// Records whose unacknowledged writes were stamped again, queued for the next sync.
    public let restamped: Int
    /// The former actor's writes up to this counter were acknowledged and kept their dots.
    public let acknowledged: UInt64
    /// The dot every restamped write now has (the new actor's first).
    public let restampedAs: Dot
}

extension Replica {
    /// Writes a consistent copy of this replica to `path` (a new file, owner-only): one snapshot
    /// (`VACUUM INTO`) while the replica goes on working. Put back in place of the replica, or
    /// opened on a second laptop, it is the restored or copied database the central store
    /// refuses as `replica_rewound` once it would reuse a dot, until ``recover(at:durability:)``.
    public func backup(to path: String) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw KasvuError(.alreadyExists, "\(path) already exists; back up to a new file")
        }
        do { try PrivateFile.create(atPath: path) } catch { throw KasvuError(.storageFailed, "\(error)") }
        do {
            // Outside a transaction (VACUUM cannot run in one), on a reader: writes go on.
            try await pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        } catch let error as DatabaseError {
            try? FileManager.default.removeItem(atPath: path)
            throw Self.storageError(error)
        }
    }

    /// Continues a replica the central store refused as rewound (restored from a backup, or a
    /// copied file that wrote under the same actor) without losing anything typed on it.
    ///
    /// In one transaction: a fresh actor id; every record with writes not yet acknowledged
    /// gets those writes stamped again under the new actor (``RecordState/restamped(former:after:as:)``),
    /// keeping their values and the conflicts they stood in; the next sync pushes them, and
    /// whatever the other database wrote under the old actor merges in beside them as
    /// concurrent edits. Runs offline; the replica keeps its id, role, token and data.
    ///
    /// ```swift
    /// let summary = try Replica.recover(at: "office.sqlite")   // then sync
    /// ```
    public static func recover(at path: String, durability: Durability = .full) throws -> RecoverySummary {
        let replica = try open(at: path, durability: durability)
        do {
            return try replica.pool.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT actor, counter, hlc FROM replica WHERE singleton = 1") else {
                    throw KasvuError(.replicaNotInitialized, "replica row missing")
                }
                let former = ActorID(rawValue: row["actor"])
                // Every write below the oldest unacknowledged one is held by the central store.
                let oldestPending = try Int64.fetchOne(db, sql: "SELECT min(first_version) FROM outbox")
                let acknowledged = UInt64(max(0, (oldestPending ?? (row["counter"] as Int64) + 1) - 1))
                var writer = WriterClock(actor: .random(), counter: 0, last: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64)))
                let stamp = writer.next(nowMillis: replica.nowMillis())
                var restamped = 0
                let pending = try Row.fetchAll(db, sql: "SELECT entity, id FROM outbox ORDER BY entity, id")
                for item in pending {
                    guard let kind = EntityKind(rawValue: item["entity"]) else { continue }
                    let id: String = item["id"]
                    guard let state = try loadState(db, kind, id),
                          let again = state.restamped(former: former, after: acknowledged, as: stamp) else { continue }
                    try saveState(db, kind, id, again)
                    restamped += 1
                }
                // Every pending row is pushed again under the new actor's first write, and so are
                // the notes of its writes (each keeps its author and time).
                try db.execute(sql: "UPDATE outbox SET version = ?, first_version = ?", arguments: [Int64(stamp.dot.counter), Int64(stamp.dot.counter)])
                try db.execute(sql: "DELETE FROM write_log WHERE counter <= ?", arguments: [Int64(acknowledged)])
                try db.execute(sql: "UPDATE write_log SET counter = ?", arguments: [Int64(stamp.dot.counter)])
                try db.execute(sql: "UPDATE replica SET actor = ?, counter = ?, hlc = ?, last_sync_error = NULL WHERE singleton = 1",
                               arguments: [writer.actor.rawValue, Int64(writer.counter), Int64(bitPattern: writer.clock.last.rawValue)])
                return RecoverySummary(formerActor: former, actor: writer.actor, restamped: restamped, acknowledged: acknowledged,
                                       restampedAs: stamp.dot)
            }
        } catch let error as DatabaseError {
            throw storageError(error)
        }
    }
}
