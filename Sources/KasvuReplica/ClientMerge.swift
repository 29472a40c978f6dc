import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// What `client/merge` did.
public struct MergeSummary: Sendable, Hashable {
    public let keep: String
    public let remove: String
    /// Referrals, contacts, hours reports and events now the kept client's.
    public let moved: Int
}

extension Replica {
    /// Merges a duplicate client into the one kept (issue 12, item 5): in one write, every
    /// referral, contact and event of `remove` becomes `keep`'s (`clientId` rewritten, which the
    /// central store allows only towards the client the removed one was merged into), each hours
    /// report moves to the id derived for `keep` (the old one is deleted), and `remove` is
    /// deleted and erased, with `mergedInto` naming `keep`. A wrong henkilötunnus is corrected
    /// by registering the right one and merging the wrong one into it.
    ///
    /// Refused, changing nothing, when both clients have an open referral (one client, one open
    /// referral: cancel or end one first), when both have hours for one provider and month, when
    /// a moved hours report was audited (only the central office may write findings), or when a
    /// moved report's month would fall outside `keep`'s referrals.
    ///
    /// ```swift
    /// let summary = try await replica.mergeClients(keep: right.id, remove: wrong.id)
    /// ```
    public func mergeClients(keep: String, remove: String) async throws -> MergeSummary {
        let keep = try Self.canonicalID(keep), remove = try Self.canonicalID(remove)
        guard keep != remove else { throw KasvuError.validationFailed(field: "remove", "must be another client than keep") }
        let summary = try await write { db in
            _ = try Self.liveState(db, .client, keep)  // it must exist and be live
            let removed = try Self.liveState(db, .client, remove)
            let open = try Self.openReferrals(db, client: keep), otherOpen = try Self.openReferrals(db, client: remove)
            if !open.isEmpty && !otherOpen.isEmpty {
                throw KasvuError.validationFailed(field: "remove", "both clients have an open referral (\(open[0].id), \(otherOpen[0].id)); cancel or end one first")
            }
            var moves: [(EntityKind, String, RecordState)] = []
            for kind in [EntityKind.referral, .contact, .event, .assessment, .enrolment, .hours] {
                for row in try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE client_id = ? AND deleted IS NOT 1 ORDER BY id",
                                            arguments: [remove]) {
                    moves.append((kind, row["id"], try Self.decodeState(row["sync_state"])))
                }
            }
            // The referrals the kept client will have, for the hours reports' months.
            var referrals = try String.fetchAll(db, sql: "SELECT sync_state FROM referral WHERE client_id = ? AND deleted IS NOT 1", arguments: [keep])
                .map { try Self.decodeState($0).values }
            referrals += moves.filter { $0.0 == .referral }.map(\.2.values)
            var errors: [FieldError] = []
            for (kind, id, state) in moves where kind == .hours {
                let provider = state.value(.providerId).stringValue ?? "", month = state.value(.month).stringValue ?? ""
                let target = WriteRules.hoursID(clientID: keep, providerID: provider, month: month)
                if try Self.loadState(db, .hours, target).map({ !$0.isDeleted }) == true {
                    errors.append(FieldError(field: "remove", message: "both clients have hours for provider \(provider) in \(month); correct one first"))
                }
                if !state.value(.verifiedHours).isNull && self.role != .admin {
                    errors.append(FieldError(field: "remove", message: "hours report \(id) was audited; the central office merges these clients"))
                }
                if let parsed = try? YearMonth(iso: month),
                   let refusal = WriteRules.hoursReferralRefusal(parsed, providerID: provider, referrals: referrals) {
                    errors.append(FieldError(field: "remove", message: "hours report \(id): \(refusal)"))
                }
            }
            guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }

            let stamp = try self.stamp(db, writing: "merge \(remove) into \(keep)")
            for (kind, id, state) in moves {
                if kind == .hours {
                    var fields = state.values.filter { !$0.value.isNull && $0.key != EntitySchema.deletedField }
                    fields[FieldKey.clientId.rawValue] = .string(keep)
                    let target = WriteRules.hoursID(clientID: keep, providerID: fields[FieldKey.providerId.rawValue]?.stringValue ?? "",
                                                    month: fields[FieldKey.month.rawValue]?.stringValue ?? "")
                    let existing = try Self.loadState(db, .hours, target) ?? RecordState()
                    if existing.isDeleted { fields[EntitySchema.deletedField] = .bool(false) }
                    _ = try self.apply(db, .hours, target, state: existing, changes: fields, stamp: stamp)
                    _ = try self.apply(db, .hours, id, state: state, changes: [EntitySchema.deletedField: .bool(true)], stamp: stamp)
                } else {
                    _ = try self.apply(db, kind, id, state: state, changes: [FieldKey.clientId.rawValue: .string(keep)], stamp: stamp)
                }
            }
            var erasure = removed.erasure(.client)
            erasure[EntitySchema.deletedField] = .bool(true)
            erasure[FieldKey.mergedInto.rawValue] = .string(keep)
            _ = try self.apply(db, .client, remove, state: removed, changes: erasure, stamp: stamp)
            try Scrub.markPending(db)
            return MergeSummary(keep: keep, remove: remove, moved: moves.count)
        }
        try await scrubErasedBytes()  // the removed client's personal values, as for a delete
        return summary
    }
}
