extension RecordState {
    /// The state a recovering replica pushes (`kasvu recover`): every entry `former` wrote after
    /// `acknowledged` — writes the central store may hold under the same dots from another
    /// database — is stamped again with `stamp` under the replica's new actor, keeping its value
    /// and the entries it stood beside (a conflict stays a conflict), except the entries `held`
    /// says the store holds as this database's own (same dot, same time) up to `claim`: those
    /// keep their dots. The version vector and delete contexts claim nothing of `former` beyond
    /// `claim` (at least `acknowledged`: up to the first write the store holds as another), so
    /// that the push neither reuses a dot nor claims to have seen the other database's writes;
    /// those merge in as concurrent edits. Nil when there is nothing to change.
    ///
    /// The entries take the recovery's timestamp: one dot has one HLC (the central store's
    /// dot registry checks that), so a recovered referral queues as created at recovery. Each
    /// names the write it first was (``FieldEntry/origin``), so that the same write stamped
    /// again by two copies lands once.
    ///
    /// ```swift
    /// if let restamped = state.restamped(former: old, after: acked, as: (Dot(new, 1), hlc)) { save(restamped) }
    /// ```
    public func restamped(former: ActorID, after acknowledged: UInt64, claiming claim: UInt64? = nil,
                          keeping held: (Dot, HLC) -> Bool = { _, _ in false }, as stamp: (dot: Dot, hlc: HLC)) -> RecordState? {
        let claim = max(claim ?? acknowledged, acknowledged)
        guard vv[former] > acknowledged else { return nil }
        func clamped(_ context: VersionVector?) -> VersionVector? {
            guard var context, context[former] > claim else { return context }
            context[former] = claim
            context[stamp.dot.actor] = max(context[stamp.dot.actor], stamp.dot.counter)
            return context
        }
        var changed = false
        let restampedFields = fields.mapValues { entries in
            entries.map { entry in
                guard entry.dot.actor == former, entry.dot.counter > acknowledged,
                      entry.dot.counter > claim || !held(entry.dot, entry.hlc) else { return entry }
                changed = true
                return FieldEntry(value: entry.value, dot: stamp.dot, hlc: stamp.hlc, context: clamped(entry.context), origin: entry.firstWrite)
            }
        }
        guard changed || vv[former] > claim else { return nil }
        var vector = vv
        vector[former] = min(vv[former], claim)
        if changed { vector[stamp.dot.actor] = max(vector[stamp.dot.actor], stamp.dot.counter) }
        return RecordState(vv: vector, fields: restampedFields)
    }
}
