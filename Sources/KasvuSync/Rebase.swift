import KasvuDomain

extension RecordState {
    /// The state a replica keeps of a record after the central store was restored from a backup
    /// (a new incarnation), given what the restored store holds (`central`, nil when it has no
    /// such record): nil when nothing of it is left to keep.
    ///
    /// The replica's own writes (`own`) all stay, whether the store kept them or lost them: they
    /// are pushed again. Another writer's entry stays only where the store holds it: an entry it
    /// lost is that writer's to send again, and a state claiming it could never be pushed (no
    /// replica may vouch for another's write the store has not seen). The vector claims of every
    /// other actor only what both sides have seen, so that values the store holds and the replica
    /// never saw surface as concurrent; a field with no own write the store lacks takes the
    /// store's register. Deletes the store lacks keep their context within that vector. The
    /// result merged with `central` is what the replica then holds; pushing it gives the store
    /// back every write of `own`.
    ///
    /// Writes the lost entries had superseded come back; when their writers send them again,
    /// they meet the replica's later writes as concurrent values (a shown, resolvable conflict).
    ///
    /// ```swift
    /// if let kept = local.rebased(on: pulled, own: replica.actor) { save(kept) } else { drop() }
    /// ```
    public func rebased(on central: RecordState?, own actor: ActorID) -> RecordState? {
        let stored = central ?? RecordState()
        var vector = VersionVector()
        for (other, counter) in vv.counters { vector[other] = other == actor ? counter : min(counter, stored.vv[other]) }
        var kept: [String: [FieldEntry]] = [:]
        for name in Set(fields.keys).union(stored.fields.keys) {
            let entries = fields[name] ?? [], held = stored.fields[name] ?? []
            let lost = entries.filter { entry in entry.dot.actor == actor && !held.contains { $0.dot == entry.dot } }
            // A field with no own write the store lacks is the store's register as it is: what
            // this replica saw supersede what may differ from what the store holds (another's
            // write over a lost one, simulation seeds 3794, 5545, 8372), and a push may drop no
            // value of a field it does not write. An entry the store holds is the store's copy
            // (matched by dot: another replica's rebase may have narrowed a delete's context, 2463).
            kept[name] = lost.isEmpty ? held : entries.compactMap { entry in
                if let copy = held.first(where: { $0.dot == entry.dot }) { return copy }
                guard entry.dot.actor == actor else { return nil }
                guard let context = entry.context else { return entry }
                let clamped = VersionVector(Dictionary(uniqueKeysWithValues: context.counters.map { ($0.key, min($0.value, vector[$0.key])) }))
                return FieldEntry(value: entry.value, dot: entry.dot, hlc: entry.hlc, context: clamped, origin: entry.origin)
            }
        }
        let rebased = RecordState(vv: vector, fields: kept).merged(with: stored)
        return rebased.fields.isEmpty ? nil : rebased
    }

    /// This state without the personal values of `own`'s creation of the record when `central`
    /// lacks the creation and holds the record deleted by others. A delete is made on a record
    /// its writer held, creation included, so it erased those values, even where the deleter's
    /// rebase after a central restore narrowed its context to what the restored store held
    /// (simulation seeds 6804, 4667, 5885): sent again, they would bring erased personal data
    /// back. The other creation values stay (beside equal values written again, if any), and so
    /// do the creator's own erasure and its later edits. The replica applies it when it rebases;
    /// the central store to a push, for a creator that never learned of the restore.
    public func withoutCreation(_ kind: EntityKind, under central: RecordState?, own: ActorID) -> RecordState {
        guard let central, central.isDeleted,
              (central.fields[EntitySchemaDeletedField] ?? []).allSatisfy({ $0.value != .bool(true) || $0.dot.actor != own }) else { return self }
        // The creation write, by its first name: a recovery may have stamped it again under a
        // dot that also holds later edits, which stay (simulation seed 1100).
        let creation = Set(kind.schema.fields.filter { $0.access == .createOnly }.flatMap { spec in
            (fields[spec.name] ?? []).filter { entry in
                // Not null: an erasure (the creator's own delete) writes null there too.
                entry.dot.actor == own && !entry.value.isNull && !(central.fields[spec.name] ?? []).contains { $0.dot == entry.dot }
            }
        }.map(\.firstWrite))
        guard !creation.isEmpty else { return self }
        let personal = Set(kind.schema.personalFields)
        return RecordState(vv: vv, fields: Dictionary(uniqueKeysWithValues: fields.map { name, entries in
            (name, personal.contains(name) ? entries.filter { !creation.contains($0.firstWrite) } : entries)
        }))
    }
}
