import Foundation
import KasvuDomain
import KasvuSync

/// Everything the central store checks of one pushed record before it keeps the merge
/// (DESIGN section 4, "Trust"): ownership of dots, no vanishing values, and for every entry
/// the push adds, the same write rules the replica applied before its commit
/// (``WriteRules``, the entity schema), for the role of the replica that pushed it.
struct PushRules {
    let ownership: PushCheck
    let role: ReplicaRole
    /// The pushing replica: a leased activation spends a lease it holds.
    let replicaID: String
    let today: CalendarDate
    /// Other stored records (the referral's client, the client's referrals), in the same transaction.
    let reads: any CentralReads

    /// Why the merge of `pushed` into `stored`, giving `merged`, may not be kept; nil when it may.
    func refusal(_ kind: EntityKind, _ id: String, pushed: RecordState, stored: RecordState?, merged: RecordState) throws -> KasvuError? {
        if let refusal = ownership.ownershipRefusal(pushed, stored: stored) ?? PushCheck.vanishingRefusal(stored: stored, merged: merged) {
            return KasvuError(.permissionDenied, refusal)
        }
        let written = PushCheck.newEntries(stored: stored, merged: merged)
        guard !written.isEmpty else { return nil }
        let schema = kind.schema
        // A referral the central office imports with its history arrives with its states and
        // dates; `importedBy` is written when a referral is created, never after.
        let importing = kind == .referral && stored == nil && WriteRules.isImportedHistory(merged.values, role: role)
        // An office's referral made active at once under its capacity lease.
        let leased = kind == .referral && stored == nil && WriteRules.isLeasedCreation(merged.values, role: role)
        for (field, entry) in written {
            guard entry.dot.actor == ownership.actor else { return KasvuError(.permissionDenied, "a write of another actor the central store has not seen") }
            if field == FieldKey.importedBy.rawValue && stored != nil {
                return KasvuError(.invalidTransition, "importedBy is set when a referral is imported, never on one the store holds")
            }
            if let refusal = WriteRules.fieldRefusal(kind, field: field, value: entry.value, role: role, importing: importing, leased: leased) {
                return KasvuError(.permissionDenied, refusal)
            }
            // Identity never changes; a deletion erases it (null), as every personal field.
            let erasure = entry.value.isNull && merged.isDeleted && schema.field(field)?.personal == true
            if schema.field(field)?.access == .createOnly, !erasure, let held = stored?.fields[field], !held.contains(where: { $0.value == entry.value }),
               try !movesToMergedClient(kind, field: field, from: held.first?.value, to: entry.value) {
                return .validationFailed(field: field, "cannot be changed after create")
            }
        }
        // The state machines and the gate hold for deleted records too: a change made under a
        // delete must not come alive with a later undelete.
        // An issued invoice never changes and is never deleted; a second laptop issuing the
        // same invoice (the same derived id) is refused: the first one stands.
        if kind == .invoice, stored != nil || merged.isDeleted {
            return KasvuError(.invalidTransition, "invoice \(merged.value(.number).stringValue ?? id) is issued and never changes; changes to its data appear as corrections on the provider's next invoice")
        }
        let machine: KasvuError? = switch kind {
        case .referral:
            importing ? try importRefusal(merged)
                : try referralRefusal(pushed: pushed, stored: stored, merged: merged, written: written, leased: leased) ?? (leased ? try leaseRefusal(merged) : nil)
        case .assessment: try assessmentRefusal(pushed: pushed, stored: stored, merged: merged, written: written)
        case .enrolment: try enrolmentRefusal(pushed: pushed, stored: stored, merged: merged, written: written)
        default: nil
        }
        if let machine { return machine }
        if merged.isDeleted { return nil }
        var values = merged.values
        values[EntitySchema.deletedField] = nil
        let errors = schema.recordErrors(values)
        if !errors.isEmpty { return .validationFailed(errors) }
        switch kind {
        case .hours: return try hoursRefusal(id, merged: merged, written: written)
        case .referral:
            // A pending referral that comes alive again meets the gate as a new one does.
            let revived = stored?.isDeleted == true && merged.value(.state) == .string(ReferralState.pending.rawValue)
            return revived ? try assessmentGateRefusal(merged) : nil
        case .invoice:
            let kind = merged.value(.kind).stringValue.flatMap(Invoice.Kind.init(rawValue:)) ?? .capitation
            let provider = merged.value(.providerId).stringValue ?? ""
            let billed = merged.value(.month).stringValue ?? merged.value(.period).stringValue ?? ""
            guard id == IssuedInvoice.id(providerID: provider, kind: kind, billed: billed) else {
                return .validationFailed(field: "id", "the id of an invoice is derived from its provider, kind and month or period")
            }
            return try correctionRefusal(merged, provider: provider, kind: kind, billed: billed)
        case .tariff:
            let expected = Tariff.recordID(area: merged.value(.pilotArea).stringValue ?? "", validFrom: merged.value(.validFrom).stringValue ?? "")
            return id == expected ? nil : .validationFailed(field: "id", "the id of a tariff version is derived from its area and first day")
        case .baseline:
            let expected = WriteRules.baselineID(area: merged.value(.pilotArea).stringValue ?? "", period: merged.value(.period).stringValue ?? "")
            return id == expected ? nil : .validationFailed(field: "id", "the id of a baseline is derived from its area and period")
        default: return nil
        }
    }

    /// A referral, contact, event, assessment or enrolment of a client merged into another (`client/merge`) moves to
    /// it: its `clientId` may change only to the client the old one names in `mergedInto`, once
    /// that client is deleted (the merge's own write, pushed before its records).
    private func movesToMergedClient(_ kind: EntityKind, field: String, from old: FieldValue?, to new: FieldValue) throws -> Bool {
        guard field == FieldKey.clientId.rawValue, [.referral, .contact, .event, .assessment, .enrolment].contains(kind),
              let old = old?.stringValue, let merged = try reads.record(.client, old) else { return false }
        return merged.isDeleted && merged.value(.mergedInto) == new
    }

    private func hoursRefusal(_ id: String, merged: RecordState, written: [(field: String, entry: FieldEntry)]) throws -> KasvuError? {
        let month = merged.value(.month).stringValue ?? "", client = merged.value(.clientId).stringValue ?? ""
        let provider = merged.value(.providerId).stringValue ?? ""
        guard id == WriteRules.hoursID(clientID: client, providerID: provider, month: month) else {
            return .validationFailed(field: "id", "the id of an hours report is derived from its client, provider and month")
        }
        // Checked when the month is written, as the replica did when it reported: a referral
        // ended or cancelled later does not make an earlier correction illegal.
        guard written.contains(where: { $0.field == "month" }), let parsed = try? YearMonth(iso: month) else { return nil }
        if let refusal = WriteRules.hoursMonthRefusal(parsed, today: today) { return .validationFailed(field: "month", refusal) }
        let started = try reads.referrals(ofClient: client).filter { !$0.isDeleted }.map { $0.values }
        return WriteRules.hoursReferralRefusal(parsed, providerID: provider, referrals: started).map { .validationFailed(field: "month", $0) }
    }

    private func referralRefusal(pushed: RecordState, stored: RecordState?, merged: RecordState,
                                 written: [(field: String, entry: FieldEntry)], leased: Bool) throws -> KasvuError? {
        for (field, entry) in written {
            switch field {
            case FieldKey.state.rawValue:
                guard let next = entry.value.stringValue.flatMap(ReferralState.init(rawValue:)) else { continue }
                // The states the writer had seen, which its write replaces.
                let seen = (stored?.entries(.state) ?? []).filter { pushed.vv.covers($0.dot) }
                    .compactMap { $0.value.stringValue.flatMap(ReferralState.init(rawValue:)) }
                // A writer that had seen no state creates the referral, whether or not the store
                // holds it already (the same creation under another dot, from a copied database).
                let isNew = stored == nil || seen.isEmpty
                if let refusal = WriteRules.referralStateRefusal(next: next, seen: seen, isNew: isNew, leased: leased && stored == nil) {
                    return KasvuError(.invalidTransition, refusal)
                }
                if isNew, next == .pending || leased, let refusal = try assessmentGateRefusal(merged) { return refusal }
            case FieldKey.riskGroup.rawValue:
                // The tariff weight comes from here: it must be a group a person confirmed.
                let client = try merged.value(.clientId).stringValue.flatMap { try reads.record(.client, $0) }
                if !(client?.entries(.riskGroup) ?? []).contains(where: { $0.value == entry.value }) {
                    return .validationFailed(field: "riskGroup", "must be the client's confirmed risk group")
                }
            default:
                continue
            }
        }
        return nil
    }

    /// The correction lines of a new invoice against the invoices the store holds
    /// (``IssuedInvoice/correctionRefusal(_:billed:issued:)``).
    private func correctionRefusal(_ merged: RecordState, provider: String, kind: Invoice.Kind, billed: String) throws -> KasvuError? {
        do {
            let summary = try IssuedInvoice.Summary(document: merged.value(.document).stringValue ?? "")
            guard !summary.lines.isEmpty else { return nil }
            let issued = try reads.invoices().filter {
                $0.state.value(.providerId).stringValue == provider && $0.state.value(.kind).stringValue == kind.rawValue && !$0.state.isDeleted
            }.map { invoice throws(KasvuError) in
                (id: invoice.id, billed: invoice.state.value(.month).stringValue ?? invoice.state.value(.period).stringValue ?? "",
                 amount: Decimal(string: invoice.state.value(.amount).stringValue ?? "", locale: Locale(identifier: "en_US_POSIX")) ?? 0,
                 summary: try IssuedInvoice.Summary(document: invoice.state.value(.document).stringValue ?? ""))
            }
            return IssuedInvoice.correctionRefusal(summary, billed: billed, issued: issued).map { .validationFailed(field: "document", $0) }
        } catch let error as KasvuError {
            return error
        }
    }

    /// A leased activation spends a place of a live lease this replica holds for the
    /// referral's provider (``LeaseLedger``): the place reserved for it since the grant, so the
    /// cap holds whatever the laptop's clock said. The merge then counts it spent.
    /// Its start date lies between the grant and the lease's expiry, and not after today
    /// (capitation is paid from it). A client who holds a place already is the scheduler's to
    /// decide after the merge (``ReferralScheduler/endLeasedDuplicate(_:referral:)``), as for
    /// a pending referral. After a restore from a backup, an activation made before the
    /// restore under a lease the store lost, or counts as spent, is taken within the restore's
    /// window (``LeaseLedger/Restore``).
    private func leaseRefusal(_ merged: RecordState) throws -> KasvuError? {
        let leaseID = merged.value(.leaseId).stringValue ?? ""
        guard let start = merged.value(.startDate).stringValue.flatMap({ try? CalendarDate(iso: $0) }) else {
            return .validationFailed(field: "startDate", "a referral activated under a lease has its start date")
        }
        let lease = try reads.lease(leaseID)
        let notHeld = KasvuError(.capacityExceeded, "lease \(leaseID) is not a capacity lease this replica holds for the referral's provider")
        if let lease, lease.replicaID != replicaID || lease.providerID != merged.value(.providerId).stringValue { return notHeld }
        let refusal = lease.flatMap { CapacityLeases.activationRefusal(places: $0.places, spent: $0.spent, expiresAt: $0.expiresAt, nowMillis: nil) }
        if lease == nil || refusal != nil {
            // Lost, or spent by the store's count: honoured only as made before a restore.
            guard let restore = try reads.restore(), lease.map({ $0.grantedAt < restore.at }) ?? true else {
                return refusal.map { KasvuError(.capacityExceeded, "lease \(leaseID): \($0)") } ?? notHeld
            }
            if !restore.activationDays.contains(start) || start > today {
                return .validationFailed(field: "startDate", "startDate \(start) is not a day a lease granted before the restore could be spent on")
            }
            return nil
        }
        if let lease, let refusal = CapacityLeases.startDateRefusal(start, expiresAt: lease.expiresAt, latestToday: today) {
            return .validationFailed(field: "startDate", refusal)
        }
        return nil
    }

    /// An imported referral's history must hang together, and an active one must fit its
    /// provider's cap as the store holds it.
    private func importRefusal(_ merged: RecordState) throws -> KasvuError? {
        let errors = WriteRules.importedReferralErrors(merged.values, today: today)
        if !errors.isEmpty { return .validationFailed(errors) }
        guard merged.value(.state) == .string(ReferralState.active.rawValue), let provider = merged.value(.providerId).stringValue else { return nil }
        let cap = try reads.record(.provider, provider)?.value(.cap).intValue ?? 0
        if try reads.referrals(ofProvider: provider, in: [.active]).count + reads.reservedPlaces(ofProvider: provider) >= cap {
            return KasvuError(.capacityExceeded, "provider \(provider) has all \(cap) places taken: an imported active referral must fit its cap")
        }
        return nil
    }

    /// The assessment gate of the provider's pilot area (``AssessmentGate``), on the store's own
    /// view of the client and its assessments: a replica that skipped its check, or checked
    /// an assessment the store does not have, is refused here.
    private func assessmentGateRefusal(_ referral: RecordState) throws -> KasvuError? {
        guard let clientID = referral.value(.clientId).stringValue, let client = try reads.record(.client, clientID),
              let providerID = referral.value(.providerId).stringValue,
              let area = try reads.record(.provider, providerID)?.value(.pilotArea).stringValue else { return nil }
        let assessments = try reads.assessments(ofClient: clientID).filter { !$0.state.isDeleted }.map { (id: $0.id, values: $0.state.gateValues) }
        return AssessmentGate.shipped.refusal(area: area, on: today, clientID: clientID, client: client.values, assessments: assessments)
    }

    /// An assessment is of a person, starts as a draft (or completed at once), is completed
    /// once, and does not change after (``WriteRules/completedAssessmentRefusal(field:value:)``)
    /// for a writer that had seen it completed.
    private func assessmentRefusal(pushed: RecordState, stored: RecordState?, merged: RecordState,
                                   written: [(field: String, entry: FieldEntry)]) throws -> KasvuError? {
        let seen = (stored?.entries(.state) ?? []).filter { pushed.vv.covers($0.dot) }.compactMap { $0.value.stringValue }
        for (field, entry) in written {
            if field == FieldKey.state.rawValue, let next = entry.value.stringValue,
               let refusal = WriteRules.assessmentStateRefusal(next: next, seen: seen) {
                return KasvuError(.invalidTransition, refusal)
            }
            // Choosing one of the values a conflict holds resolves it; anything else changes the decision.
            if seen.contains("completed"), stored?.fields[field]?.contains(where: { $0.value == entry.value }) != true,
               let refusal = WriteRules.completedAssessmentRefusal(field: field, value: entry.value) {
                return KasvuError(.invalidTransition, refusal)
            }
        }
        if stored == nil, let clientID = merged.value(.clientId).stringValue, let client = try reads.record(.client, clientID),
           let type = client.value(.clientType).stringValue, type != "person" {
            return .validationFailed(field: "clientId", "a multi-professional assessment applies to person clients; client \(clientID) is a \(type)")
        }
        return nil
    }

    /// An enrolment follows its state machine; it must fit its service (valid on its dates,
    /// serving the client's municipality, type, risk group and age) when made and when its dates
    /// move, on the store's own copy of both.
    private func enrolmentRefusal(pushed: RecordState, stored: RecordState?, merged: RecordState,
                                  written: [(field: String, entry: FieldEntry)]) throws -> KasvuError? {
        let seen = (stored?.entries(.state) ?? []).filter { pushed.vv.covers($0.dot) }
            .compactMap { $0.value.stringValue.flatMap(EnrolmentState.init(rawValue:)) }
        for (field, entry) in written where field == FieldKey.state.rawValue {
            guard let next = entry.value.stringValue.flatMap(EnrolmentState.init(rawValue:)) else { continue }
            if let refusal = WriteRules.enrolmentStateRefusal(next: next, seen: seen) { return KasvuError(.invalidTransition, refusal) }
        }
        // The fit with the service, when made and whenever its dates move.
        guard stored == nil || written.contains(where: { [FieldKey.startDate.rawValue, FieldKey.endDate.rawValue].contains($0.field) }),
              let clientID = merged.value(.clientId).stringValue, let serviceID = merged.value(.serviceId).stringValue,
              let start = merged.value(.startDate).stringValue.flatMap({ try? CalendarDate(iso: $0) }) else { return nil }
        guard let clientState = try reads.record(.client, clientID), !clientState.isDeleted || merged.isDeleted else {
            return .validationFailed(field: "clientId", "no client with id \(clientID)")
        }
        let client = clientState.values
        let service = try reads.record(.service, serviceID)?.values
        let end = merged.value(.endDate).stringValue.flatMap { try? CalendarDate(iso: $0) }
        let errors = ServiceRules.enrolmentErrors(serviceID: serviceID, service: service, client: client, start: start, end: end)
        return errors.isEmpty ? nil : .validationFailed(errors)
    }
}
