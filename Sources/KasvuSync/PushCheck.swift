import KasvuDomain

/// The ownership checks the central store makes of every pushed record state before merging
/// it (DESIGN section 4, "Trust"). Pure, so that the rule is stated and tested in one place.
///
/// A replica introduces only its own writes: dots and version-vector counters of its own
/// actor, no further than the counter in its request header. Everything of another actor it
/// may only repeat: the stored state must have seen it (and, where the stored state still
/// holds an entry, with identical content), and its vector may claim no more of another
/// actor than the stored state has. Together these mean the merge can drop a stored entry
/// only where the pusher wrote that field anew, so a forged state can never make another
/// replica's acknowledged write disappear, and can never push another actor's counter past
/// what that actor really wrote (which would make its next honest write look old).
///
/// ```swift
/// let check = PushCheck(actor: header.actor, counter: header.actorCounter)
/// if let refusal = check.ownershipRefusal(pushed, stored: current) { reject(refusal) }
/// let merged = (current ?? RecordState()).merged(with: pushed)
/// if let refusal = PushCheck.vanishingRefusal(stored: current, merged: merged) { reject(refusal) }
/// ```
public struct PushCheck: Sendable {
    public let actor: ActorID
    public let counter: UInt64
    /// The pusher's earlier actors (before `kasvu recover`) and the highest of their writes the
    /// central store holds: the replica may claim to know its own earlier writes that far,
    /// as it did before it recovered, even in a record whose stored vector is behind (a record
    /// it created after a fork, whose earlier writes it stamped again).
    public let formerActors: [ActorID: UInt64]

    public init(actor: ActorID, counter: UInt64, formerActors: [ActorID: UInt64] = [:]) {
        self.actor = actor
        self.counter = counter
        self.formerActors = formerActors
    }

    /// Why `pushed` may not be merged into `stored`, or nil.
    public func ownershipRefusal(_ pushed: RecordState, stored: RecordState?) -> String? {
        if pushed.vv.counters.count > SyncLimits.maxVersionVectorActors {
            return "the version vector names more than \(SyncLimits.maxVersionVectorActors) actors"
        }
        for (other, claimed) in pushed.vv.counters {
            if other == actor {
                if claimed > counter { return "the version vector claims write \(claimed) of this replica, beyond its counter \(counter)" }
            } else if claimed > max(stored?.vv[other] ?? 0, formerActors[other] ?? 0) {
                return "the version vector claims writes of another actor that the central store has not seen"
            }
        }
        for (field, entries) in pushed.fields {
            if entries.count > SyncLimits.maxEntriesPerField {
                return "field \(field) holds more than \(SyncLimits.maxEntriesPerField) values"
            }
            var writers = Set<ActorID>()
            for entry in entries {
                // A later write of one actor supersedes its earlier ones: honest registers hold
                // at most one entry per actor.
                guard writers.insert(entry.dot.actor).inserted else { return "field \(field) holds two values of one actor" }
                if let context = entry.context, !pushed.vv.dominates(context) {
                    return "a delete claims to have seen more than the record's version vector"
                }
                if entry.dot.actor != actor, let held = stored?.fields[field]?.first(where: { $0.dot == entry.dot }), held != entry {
                    return "write \(entry.dot) of field \(field) differs from the stored one"
                }
            }
        }
        return nil
    }

    /// Why a merge that turned `stored` into `merged` removed values without a new write, or
    /// nil. A value leaves a register only when a write that saw it replaces it; no field
    /// vanishes (clearing a field is an explicit write of null).
    public static func vanishingRefusal(stored: RecordState?, merged: RecordState) -> String? {
        guard let stored else { return nil }
        for (field, entries) in stored.fields {
            let kept = merged.fields[field] ?? []
            let keptDots = Set(kept.map(\.dot)), storedDots = Set(entries.map(\.dot))
            if entries.contains(where: { !keptDots.contains($0.dot) }) && !kept.contains(where: { !storedDots.contains($0.dot) }) {
                return "the push would remove values of field \(field) without writing it"
            }
        }
        return nil
    }

    /// The entries `merged` holds that `stored` did not: what this push writes.
    public static func newEntries(stored: RecordState?, merged: RecordState) -> [(field: String, entry: FieldEntry)] {
        var result: [(field: String, entry: FieldEntry)] = []
        for (field, entries) in merged.fields.sorted(by: { $0.key < $1.key }) {
            let storedDots = Set((stored?.fields[field] ?? []).map(\.dot))
            for entry in entries where !storedDots.contains(entry.dot) { result.append((field, entry)) }
        }
        return result
    }
}
