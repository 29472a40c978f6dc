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
    /// How far the recovered records claim the former actor: above `acknowledged`, the writes
    /// the central store holds as this database's kept their dots up to here; all others were
    /// stamped again.
    public let claimed: UInt64
    /// The dot every restamped write now has (the new actor's first).
    public let restampedAs: Dot
}

extension Replica {
    /// Writes a consistent copy of this replica to `path` (a new file, owner-only): one snapshot
    /// (`VACUUM INTO`) while the replica goes on working. Put back in place of the replica, or
    /// opened on a second laptop, it is the restored or copied database the central store
    /// refuses as `replica_rewound` once it would reuse a dot, until ``recover(at:durability:held:)``.
    public func backup(to path: String) async throws {
        do { try await Snapshot.write(pool, to: path) } catch let error as DatabaseError { throw Self.storageError(error) }
    }

    /// A restamped write of a record whose note is gone (acknowledged to this database, then
    /// stamped again because an older write of another record was not) gets a note naming it,
    /// with no user: every field the new dot sets is then named by a note of that dot, as the
    /// central store checks (``WriteNote/disagreement(_:state:actor:)``).
    private static func noteUnnamedFields(_ db: Database, stamp: (dot: Dot, hlc: HLC)) throws {
        for item in try Row.fetchAll(db, sql: "SELECT entity, id FROM outbox") {
            guard let kind = EntityKind(rawValue: item["entity"]), let state = try loadState(db, kind, item["id"]) else { continue }
            let written = state.fields.filter { $0.value.contains { $0.dot == stamp.dot } }
            guard !written.isEmpty else { continue }
            var named: Set<String> = []
            for text in try String.fetchAll(db, sql: "SELECT changes FROM write_log WHERE entity = ? AND id = ?", arguments: [kind.rawValue, item["id"] as String]) {
                named.formUnion(try WriteNote.changes(json: text.utf8).map(\.field))
            }
            let unnamed = written.keys.filter { !named.contains($0) }
            guard !unnamed.isEmpty else { continue }
            let changes = Dictionary(uniqueKeysWithValues: unnamed.map { field in (field, written[field]!.first { $0.dot == stamp.dot }!.value) })
            let note = WriteNote.of(kind, before: RecordState(), changes: changes, counter: stamp.dot.counter, hlc: stamp.hlc, user: nil)
            try db.execute(sql: "INSERT INTO write_log (entity, id, counter, hlc, user_name, changes) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [kind.rawValue, item["id"] as String, Int64(note.counter), Int64(bitPattern: note.hlc.rawValue), nil,
                                       WriteNote.changesText(note.changes)])
        }
    }

    /// The actor a recovery would replace and the counter up to which its writes are surely
    /// held by the central store: ask the store which of the writes above it it holds.
    public static func recoveryPoint(at path: String) throws -> (actor: ActorID, acknowledged: UInt64) {
        let replica = try open(at: path)
        do {
            return try replica.pool.read { db in
                guard let actor = try String.fetchOne(db, sql: "SELECT actor FROM replica WHERE singleton = 1") else {
                    throw KasvuError(.replicaNotInitialized, "replica row missing")
                }
                return (ActorID(rawValue: actor), try acknowledgedCounter(db))
            }
        } catch let error as DatabaseError {
            throw storageError(error)
        }
    }

    /// Every write below the oldest unacknowledged one is held by the central store.
    private static func acknowledgedCounter(_ db: Database) throws -> UInt64 {
        let counter = try Int64.fetchOne(db, sql: "SELECT counter FROM replica WHERE singleton = 1") ?? 0
        let oldestPending = try Int64.fetchOne(db, sql: "SELECT min(first_version) FROM outbox")
        return UInt64(max(0, (oldestPending ?? counter + 1) - 1))
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
    /// `held`: the writes of the current actor the central store holds above
    /// ``recoveryPoint(at:)``, by counter (`GET /v1/writes`). A write it holds under the same dot
    /// and time is this database's own (its answer was lost, or it was acknowledged to the
    /// database this one was restored or copied from): it keeps its dot, so that nothing the
    /// store holds comes back as a new write beside itself (a deleted client's old name, a
    /// referral's first state). Only up to the first write the store holds as another's: the
    /// recovered records claim the old actor no further. Every other write above the recovery
    /// point is stamped again; without `held`, every one is.
    ///
    /// ```swift
    /// let point = try Replica.recoveryPoint(at: "office.sqlite")
    /// let held = try await transport.heldWrites(of: point.actor, after: point.acknowledged)
    /// let summary = try Replica.recover(at: "office.sqlite", held: held)   // then sync
    /// ```
    public static func recover(at path: String, durability: Durability = .full, held: [UInt64: HLC] = [:]) throws -> RecoverySummary {
        let replica = try open(at: path, durability: durability)
        do {
            return try replica.pool.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT actor, counter, hlc FROM replica WHERE singleton = 1") else {
                    throw KasvuError(.replicaNotInitialized, "replica row missing")
                }
                let former = ActorID(rawValue: row["actor"])
                let acknowledged = try acknowledgedCounter(db)
                // How far the recovered records may claim the former actor: up to the first write
                // the store holds under its number as another database's (a different time). A
                // write it does not hold hides nothing; this database's own keep their dots.
                var claim = acknowledged
                if !held.isEmpty {
                    // The time of each of this database's writes above that point: from the
                    // entries its unpushed records carry (an entry is the dot's), else from its
                    // notes (a note keeps its edit time when a recovery moves it to a new dot).
                    var mine: [UInt64: HLC] = [:]
                    for note in try Row.fetchAll(db, sql: "SELECT counter, hlc FROM write_log WHERE counter > ?", arguments: [Int64(acknowledged)]) {
                        mine[UInt64(note["counter"] as Int64)] = HLC(rawValue: UInt64(bitPattern: note["hlc"] as Int64))
                    }
                    for item in try Row.fetchAll(db, sql: "SELECT entity, id FROM outbox") {
                        guard let kind = EntityKind(rawValue: item["entity"]), let state = try loadState(db, kind, item["id"]) else { continue }
                        for entry in state.fields.values.joined() where entry.dot.actor == former && entry.dot.counter > acknowledged {
                            mine[entry.dot.counter] = entry.hlc
                        }
                    }
                    // No further than the store has seen the former actor: a push may claim no more.
                    let seen = min(UInt64(row["counter"] as Int64), held.keys.max() ?? 0)
                    // A held write this database has no trace of is its own: it keeps a note of
                    // every write until the store acknowledges it.
                    while claim < seen, held[claim + 1].map({ theirs in mine[claim + 1].map { $0 == theirs } ?? true }) ?? true { claim += 1 }
                }
                var writer = WriterClock(actor: .random(), counter: 0, last: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64)))
                let stamp = writer.next(nowMillis: replica.nowMillis())
                var restamped = 0
                let pending = try Row.fetchAll(db, sql: "SELECT entity, id FROM outbox ORDER BY entity, id")
                let kept = held.filter { $0.key <= claim }.keys.map { Int64($0) }
                for item in pending {
                    guard let kind = EntityKind(rawValue: item["entity"]) else { continue }
                    let id: String = item["id"]
                    guard let state = try loadState(db, kind, id) else { continue }
                    let again = state.restamped(former: former, after: acknowledged, claiming: claim,
                                                keeping: { held[$0.counter] == $1 }, as: stamp)
                    if let again {
                        try saveState(db, kind, id, again)
                        restamped += 1
                    }
                    // Notes are of the pushing actor's writes. The notes of the writes stamped again
                    // move to the new dot (each keeps its author and time); the store has noted the
                    // writes it holds, and a record with nothing stamped again pushes no notes.
                    if again?.fields.values.joined().contains(where: { $0.dot == stamp.dot }) == true {
                        try db.execute(sql: """
                            DELETE FROM write_log WHERE entity = ? AND id = ? AND (counter <= ? OR counter IN (\(kept.map(String.init).joined(separator: ","))))
                            """, arguments: [kind.rawValue, id, Int64(acknowledged)])
                        try db.execute(sql: "UPDATE write_log SET counter = ? WHERE entity = ? AND id = ?", arguments: [Int64(stamp.dot.counter), kind.rawValue, id])
                    } else {
                        try db.execute(sql: "DELETE FROM write_log WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id])
                    }
                }
                // Every pending row is pushed again under the new actor's first write.
                try db.execute(sql: "UPDATE outbox SET version = ?, first_version = ?", arguments: [Int64(stamp.dot.counter), Int64(stamp.dot.counter)])
                try noteUnnamedFields(db, stamp: stamp)
                try db.execute(sql: "UPDATE replica SET actor = ?, counter = ?, hlc = ?, last_sync_error = NULL WHERE singleton = 1",
                               arguments: [writer.actor.rawValue, Int64(writer.counter), Int64(bitPattern: writer.clock.last.rawValue)])
                return RecoverySummary(formerActor: former, actor: writer.actor, restamped: restamped, acknowledged: acknowledged,
                                       claimed: claim, restampedAs: stamp.dot)
            }
        } catch let error as DatabaseError {
            throw storageError(error)
        }
    }
}
