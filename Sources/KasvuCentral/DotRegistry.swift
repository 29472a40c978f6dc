import KasvuSQL
import KasvuDomain
import KasvuSync

/// The central store's memory of every replica write it has merged, by dot: a dot is one write
/// (DESIGN section 4), so the same actor and counter arriving with another timestamp is a
/// second database writing under one actor id — a laptop restored from a backup, or a copied
/// file, that wrote before it synced. Such a push is refused as a whole with `replica_rewound`
/// on whatever record the reused dot lands, and the write already held is never affected.
///
/// All records of one write transaction share its dot and HLC, so the registry holds one row
/// per transaction, and a push checks each distinct dot once.
struct DotRegistry {
    private let lookup: SQLStatement
    private let insert: SQLStatement
    /// Dots of this sync already looked up or registered, with their HLC.
    private var known: [UInt64: HLC] = [:]
    private let actor: ActorID
    /// The highest counter of the actor's registered dots before this sync: a higher one needs
    /// no lookup (the usual push). Not the actor's `max_counter`, which is the counter its
    /// header claimed: after the first request of a push cut into several, that covers every
    /// later request's writes, and each of them would be looked up.
    private let seenBefore: UInt64

    /// The pushing replica's former actors (it recovered from them): the only ones whose writes
    /// its restamped entries may name as their origin.
    private var formerActors: Set<ActorID>
    private let lookupOrigin: SQLStatement
    private let insertOrigin: SQLStatement
    private let lookupHeld: SQLStatement

    /// Whether another copy of the database stamped again a write of the pusher's own actor
    /// (rare: only then are its ordinary entries looked up in `stamped_again`).
    private let actorStampedAgain: Bool

    private let replicaID: String
    private let ownerOf: SQLStatement
    private let claimActor: SQLStatement

    init(_ db: any SQLConnection, actor: ActorID, replicaID: String, formerActors: Set<ActorID> = []) throws {
        self.actor = actor
        self.replicaID = replicaID
        self.formerActors = formerActors
        ownerOf = db.statement("SELECT replica_id FROM actor WHERE actor = ?")
        claimActor = db.statement("INSERT INTO actor (actor, replica_id, max_counter) VALUES (?, ?, 0) ON CONFLICT DO NOTHING")
        actorStampedAgain = try db.value(Bool.self, "SELECT 1 FROM stamped_again WHERE actor = ? LIMIT 1", [actor.rawValue]) ?? false
        seenBefore = UInt64(try db.value(Int64.self, "SELECT max(counter) FROM dot WHERE actor = ?", [actor.rawValue]) ?? 0)
        lookup = db.statement("SELECT hlc FROM dot WHERE actor = ? AND counter = ?")
        insert = db.statement("INSERT INTO dot (actor, counter, hlc) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        lookupOrigin = db.statement("SELECT as_actor, as_counter FROM stamped_again WHERE actor = ? AND counter = ? AND hlc = ?")
        insertOrigin = db.statement("INSERT INTO stamped_again (actor, counter, hlc, as_actor, as_counter) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        lookupHeld = db.statement("SELECT 1 FROM dot WHERE actor = ? AND counter = ? AND hlc = ?")
    }

    /// Refuses the push when one of the pusher's own entries in `pushed` reuses a dot the
    /// central store holds with a different timestamp (or two of its entries disagree).
    /// What a refused replica does, in every `replica_rewound` message.
    static let recovery = "run `kasvu recover --db PATH` (local work is stamped again under a new actor, nothing is lost), then sync"

    mutating func check(_ pushed: RecordState, entity: EntityKind, id: String) throws {
        for entry in pushed.fields.values.joined() where entry.dot.actor == actor {
            let held: HLC?
            if let cached = known[entry.dot.counter] {
                held = cached
            } else if entry.dot.counter > seenBefore {
                known[entry.dot.counter] = entry.hlc  // new: later entries of this push must agree
                continue
            } else {
                held = try lookup.value(Int64.self, [actor.rawValue, Int64(entry.dot.counter)]).map { HLC(rawValue: UInt64(bitPattern: $0)) }
                if let held { known[entry.dot.counter] = held }
            }
            if let held, held != entry.hlc {
                throw KasvuError(.replicaRewound, """
                    write \(entry.dot.counter) of actor \(actor) (\(entity.rawValue) \(id)) is not the write the central store holds \
                    under that number: this database was restored from a backup or copied, and wrote before syncing. \
                    \(Self.recovery)
                    """)
            }
        }
    }

    /// Refuses the push when one of the pusher's own entries would vanish into the stored
    /// record's vector: covered by it, not held, and never merged anywhere (not in the registry).
    /// An honest replica never pushes such a write: one the store saw is registered, and one its
    /// own later write superseded it no longer holds. Only a copy of the database that wrote
    /// under the same number (the other copy's later writes raised the vector) does, and merged,
    /// its write would be dropped in silence.
    ///
    /// Likewise the other way round: a stored write of the pusher's own actor that its pushed
    /// vector claims to have seen, which it neither holds nor superseded with a later write of its
    /// own in that field. An honest replica only sees its own writes by making them.
    mutating func checkNotHidden(_ pushed: RecordState, stored: RecordState, entity: EntityKind, id: String) throws {
        for (field, entries) in stored.fields {
            let mine = pushed.fields[field] ?? []
            for entry in entries where entry.dot.actor == actor && pushed.vv.covers(entry.dot) && !mine.contains(where: { $0.dot == entry.dot })
                && !mine.contains(where: { $0.dot.actor == actor && $0.dot.counter > entry.dot.counter }) {
                throw KasvuError(.replicaRewound, """
                    the push claims to have seen write \(entry.dot.counter) of actor \(actor) (\(entity.rawValue) \(id)) without holding it: \
                    another database wrote that number under the same actor. \(Self.recovery)
                    """)
            }
        }
        for (field, entries) in pushed.fields {
            for entry in entries where entry.dot.actor == actor && stored.vv.covers(entry.dot) {
                guard stored.fields[field]?.contains(where: { $0.dot == entry.dot }) != true, known[entry.dot.counter] == nil else { continue }
                if let held = try lookup.value(Int64.self, [actor.rawValue, Int64(entry.dot.counter)]) {
                    known[entry.dot.counter] = HLC(rawValue: UInt64(bitPattern: held))
                    continue
                }
                throw KasvuError(.replicaRewound, """
                    write \(entry.dot.counter) of actor \(actor) (\(entity.rawValue) \(id)) is one the central store never received, yet the \
                    record has seen that number from another database writing under the same actor: this database was restored from a \
                    backup or copied. \(Self.recovery)
                    """)
            }
        }
    }

    /// Remembers the pusher's entries of a record the central store merged, and the writes its
    /// restamped entries first were (a write of one of its former actors, stamped again by
    /// `kasvu recover`): that write is then held, under the new dot.
    mutating func register(_ merged: RecordState) throws {
        // The fields one write set share its dot: one statement per write, not per field (a
        // round trip each on PostgreSQL).
        var registered: Set<UInt64> = []
        for entry in merged.fields.values.joined() where entry.dot.actor == actor {
            if registered.insert(entry.dot.counter).inserted {
                try insert.execute([actor.rawValue, Int64(entry.dot.counter), Int64(bitPattern: entry.hlc.rawValue)])
            }
            if let origin = entry.origin, try isOwn(origin.dot.actor) {
                try insertOrigin.execute([origin.dot.actor.rawValue, Int64(origin.dot.counter), Int64(bitPattern: origin.hlc.rawValue),
                                                     actor.rawValue, Int64(entry.dot.counter)])
            }
        }
    }

    /// Whether `former`, named as an origin, is one of the pusher's actors. One the store never
    /// met (the copy wrote under it offline only) becomes the pusher's replica's now, so that
    /// no other replica can write under it later.
    private mutating func isOwn(_ former: ActorID) throws -> Bool {
        if formerActors.contains(former) { return true }
        if former == actor { return false }
        guard let owner = try ownerOf.value(String.self, [former.rawValue]) else {
            try claimActor.execute([former.rawValue, replicaID])
            formerActors.insert(former)
            return true
        }
        return owner == replicaID
    }

    /// `merged` less the pusher's entries that are a write this record has already seen under
    /// another dot: two copies of one database both held the write unpushed, and each recovery
    /// stamped it again (or one kept its first dot). The record saw it when its vector covers the
    /// dot it first had (registered with the same time) or the dot a recovery first stamped it
    /// again as. The write then lands once; the vector keeps the dropped dot, so the pusher drops
    /// it at its next pull as superseded. A field keeps at least one entry.
    mutating func withoutWritesSeen(_ merged: RecordState, pushed: RecordState, stored: RecordState) throws -> RecordState {
        var fields = merged.fields, changed = false
        for (name, entries) in merged.fields {
            let held = stored.fields[name] ?? []
            var remaining = entries
            // Only a restamped entry, one under a former actor's dot, or one of an actor another
            // copy stamped again can be such a write (none is in an ordinary push: no lookup then).
            for entry in entries where (entry.origin != nil || formerActors.contains(entry.dot.actor) || (actorStampedAgain && entry.dot.actor == actor))
                && !held.contains(entry) && pushed.fields[name]?.contains(entry) == true {
                let first = entry.firstWrite
                guard formerActors.contains(first.dot.actor) || first.dot.actor == actor else { continue }
                let arguments: [any SQLValueConvertible] = [first.dot.actor.rawValue, Int64(first.dot.counter), Int64(bitPattern: first.hlc.rawValue)]
                let stampedAs = try lookupOrigin.one(arguments).map { Dot(ActorID(rawValue: try $0[0]), UInt64(try $0[1] as Int64)) }
                let seenAsStamped = stampedAs.map { $0 != entry.dot && stored.vv.covers($0) } ?? false
                let seenAsFirst = entry.origin != nil && stored.vv.covers(first.dot) ? try lookupHeld.value(Bool.self, arguments) ?? false : false
                if (seenAsStamped || seenAsFirst) && remaining.count > 1 { remaining.removeAll { $0 == entry } }
            }
            if remaining.count != entries.count {
                fields[name] = remaining
                changed = true
            }
        }
        return changed ? RecordState(vv: merged.vv, fields: fields) : merged
    }
}

extension SQLCentralStore {
    public func heldWrites(of actor: ActorID, after: UInt64, for replica: RegisteredReplica) async throws -> HeldWritesPage {
        try await read { db in
            let owner = try db.value(String.self, "SELECT replica_id FROM actor WHERE actor = ?", [actor.rawValue])
            if let owner, owner != replica.id { throw KasvuError(.permissionDenied, "actor \(actor) is not one of replica \(replica.id)'s") }
            let rows = try db.all("SELECT counter, hlc FROM dot WHERE actor = ? AND counter > ? ORDER BY counter LIMIT ?",
                                        [actor.rawValue, Int64(clamping: after), HeldWritesPage.limit + 1])
            let writes = try rows.prefix(HeldWritesPage.limit).map {
                HeldWrite(counter: UInt64(try $0["counter"] as Int64), hlc: HLC(rawValue: UInt64(bitPattern: try $0["hlc"] as Int64)))
            }
            return HeldWritesPage(writes: Array(writes), more: rows.count > HeldWritesPage.limit)
        }
    }
}
