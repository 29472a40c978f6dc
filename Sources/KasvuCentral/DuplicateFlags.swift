import KasvuSQL
import KasvuDomain
import KasvuSync

/// One person, one client, across replicas (issue 12, item 5). A replica refuses a second
/// client with a henkilötunnus it holds (`duplicate_identity`); two offices registering the
/// same person offline meet only here. After a merge touches clients, the central store sets,
/// as its own decision, each live client's `duplicateOf` to another live client with the same
/// henkilötunnus (the smallest id), or back to null once none is left (merged, deleted or
/// corrected). The flag syncs to every replica that holds the client; `conflict/list` shows it
/// as kind `duplicate_identity`.
extension SQLCentralStore {
    /// Flags or unflags `clients` and every client sharing a henkilötunnus with one of them or
    /// flagged as a duplicate of one. Writes only what changes. `stored`: states of `clients`
    /// the caller just saved, so that they are not read and decoded again.
    static func flagDuplicates(_ db: any SQLConnection, clients touched: Set<String>, stored: [String: RecordState] = [:], sequence: inout Int64, at: String,
                               nowMillis: @Sendable () -> UInt64) throws {
        guard !touched.isEmpty else { return }
        let sameIdentity = db.statement("SELECT id FROM record WHERE entity = 'client' AND client_hetu = ?")
        let flaggedAs = db.statement("SELECT id FROM record WHERE entity = 'client' AND client_duplicate_of = ?")
        var affected: Set<String> = []
        for id in touched {
            let flaggers = try flaggedAs.values(String.self, [id])
            let state = try stored[id] ?? load(db, .client, id)
            let sharing = try state?.value(.hetu).stringValue.map { try sameIdentity.values(String.self, [$0]) } ?? []
            // The common case, one client per person and no flag: nothing to decide.
            if flaggers.isEmpty && sharing.allSatisfy({ $0 == id }) && state?.fields[FieldKey.duplicateOf.rawValue] == nil { continue }
            affected.insert(id)
            affected.formUnion(flaggers)
            affected.formUnion(sharing)
        }
        var writer: WriterClock?
        for id in affected.sorted() {
            // A deleted client keeps its last flag: a write after the delete would surface as
            // an edit the delete missed, and no one lists a deleted client's duplicates.
            guard let state = try load(db, .client, id), !state.isDeleted else { continue }
            var flag = FieldValue.null
            if let hetu = state.value(.hetu).stringValue {
                let others = try sameIdentity.values(String.self, [hetu]).filter { $0 != id }
                    .filter { try load(db, .client, $0).map { !$0.isDeleted } ?? false }
                if let first = others.min() { flag = .string(first) }
            }
            let current = state.fields[FieldKey.duplicateOf.rawValue]
            guard current.map({ $0.count > 1 || $0[0].value != flag }) ?? (flag != .null) else { continue }
            if writer == nil { writer = try CentralActor.load(db) }
            writer!.observe(state)
            let stamp = writer!.next(nowMillis: nowMillis())
            var flagged = state
            flagged.write([FieldKey.duplicateOf.rawValue: flag], dot: stamp.dot, hlc: stamp.hlc)
            sequence += 1
            try save(db, .client, id, flagged, sequence: sequence)
            try audit(db, .client, id, before: state, after: flagged, at: at, replica: "central", actor: writer!.actor.rawValue, user: "duplicate check")
        }
        if let writer { try CentralActor.save(writer, db) }
    }
}
