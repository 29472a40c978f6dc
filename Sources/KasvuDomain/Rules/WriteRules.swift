/// What a replica is for. The central store enforces the matching scope when it syncs.
public enum ReplicaRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// The central office (ELY centre): reads and writes everything.
    case admin
    /// A TE office: clients of its municipalities.
    case office
    /// A service provider: clients referred to it.
    case provider
}

/// Who may write what (DESIGN section 4, "Trust"). The replica checks every write against
/// these rules before it commits; the central store checks every entry a push adds against
/// the same rules, for the role of the replica that made it. A rule lives here once.
///
/// ```swift
/// WriteRules.fieldRefusal(.hours, field: "verifiedHours", value: .string("10"), role: .provider)
/// // "verifiedHours of hours is recorded by the central office"
/// ```
public enum WriteRules {
    /// The record kinds a provider writes: its own service and outcome reports, and (a
    /// service manager only, which the central store checks against the provider's contract)
    /// enrolments in catalogue services.
    public static let providerKinds: Set<EntityKind> = [.contact, .hours, .event, .enrolment]
    /// The findings of an audit, written by the central office only.
    public static let auditFields: Set<String> = [FieldKey.verifiedHours.rawValue, FieldKey.auditedHours.rawValue, FieldKey.auditedBy.rawValue, FieldKey.auditedAt.rawValue]
    /// The referral states a replica may write: a new referral is pending; it may be
    /// rejected, cancelled or ended. Activation and the queue are the central store's.
    public static let replicaReferralStates: Set<ReferralState> = [.pending, .rejected, .cancelled, .ended]

    /// Fields only the central store's own actor writes: its decisions against the caps
    /// (a referral becoming active or waitlisted, and the start date that confirmation sets),
    /// and the duplicate flag only it can set, seeing every replica's clients.
    public static func isCentralOwned(_ kind: EntityKind, _ field: String, _ value: FieldValue) -> Bool {
        if kind == .client { return field == FieldKey.duplicateOf.rawValue }
        guard kind == .referral else { return false }
        switch field {
        case FieldKey.startDate.rawValue: return true
        case FieldKey.state.rawValue: return !(value.stringValue.flatMap(ReferralState.init(rawValue:)).map(replicaReferralStates.contains) ?? false)
        default: return false
        }
    }

    /// Why a replica of `role` may not write `value` to `field` of a `kind` record, or nil.
    ///
    /// `importing`: the write creates a referral the central office imports with its history
    /// (`kasvu import`, marked by `importedBy`): its states and dates are the past's, not a
    /// decision against today's caps.
    ///
    /// `leased`: the write creates a referral an office activates under its capacity lease
    /// (``isLeasedCreation(_:role:)``): its state `active` and start date are the office's.
    public static func fieldRefusal(_ kind: EntityKind, field: String, value: FieldValue, role: ReplicaRole, importing: Bool = false,
                                    leased: Bool = false) -> String? {
        if kind == .referral && field == FieldKey.importedBy.rawValue && role != .admin {
            return "only the central office imports referrals with their history"
        }
        if kind == .referral && field == FieldKey.leaseId.rawValue && !(leased && role == .office) {
            return "leaseId is written by an office that activates a new referral under its capacity lease"
        }
        if importing && role == .admin && kind == .referral { return nil }
        if leased && role == .office && kind == .referral
            && (field == FieldKey.startDate.rawValue || (field == FieldKey.state.rawValue && value == .string(ReferralState.active.rawValue))) {
            return nil
        }
        if isCentralOwned(kind, field, value) {
            if kind == .client { return "duplicateOf of a client is set by the central store, which sees every replica's clients" }
            return "\(field) \(value.stringValue.map { "'\($0)' " } ?? "")of a referral is decided by the central office when it confirms referrals"
        }
        switch role {
        case .admin:
            return nil
        case .office:
            if [.provider, .service, .baseline, .invoice, .tariff].contains(kind) { return "only the central office writes providers, the service catalogue, baselines, tariffs and invoices" }
        case .provider:
            guard providerKinds.contains(kind) else { return providerKindsRefusal }
        }
        if kind == .hours && auditFields.contains(field) { return "\(field) of hours is recorded by the central office" }
        return nil
    }

    /// Checks every field of one write; throws `permission_denied` naming the first refusal.
    public static func check(_ kind: EntityKind, _ changes: [String: FieldValue], role: ReplicaRole, importing: Bool = false,
                             leased: Bool = false) throws(KasvuError) {
        for (field, value) in changes.sorted(by: { $0.key < $1.key }) {
            if let refusal = fieldRefusal(kind, field: field, value: value, role: role, importing: importing, leased: leased) {
                throw KasvuError(.permissionDenied, refusal)
            }
        }
    }

    /// Why a replica may not move a referral to `next`, given the states its writer had seen
    /// (`seen`: empty for a referral new to the judge, or when the writer saw none of the
    /// stored states, which then stand beside the new one as a conflict).
    ///
    /// Re-asserting one of the states seen (never pending) is allowed: it resolves a conflict
    /// between concurrent transitions by choosing one of them (each was legal where it was made).
    public static func referralStateRefusal(next: ReferralState, seen: [ReferralState], isNew: Bool, leased: Bool = false) -> String? {
        // Made active under a lease, and perhaps ended (a provider switch) before it was pushed.
        if isNew && leased && (next == .active || ReferralState.active.allowedNext.contains(next)) { return nil }
        if isNew { return next == .pending || next == .rejected || next == .cancelled ? nil : "a new referral starts pending" }
        if next == .pending { return "a referral does not go back to pending" }
        if seen.contains(next) { return nil }
        for state in seen where state != next && !state.allowedNext.contains(next) {
            return "a referral cannot go from \(state.rawValue) to \(next.rawValue)"
        }
        return nil
    }

    /// Why a write may not change `field` of an assessment whose writer had seen it completed,
    /// or nil. A completed assessment is a decision on record, which a new assessment
    /// supersedes; only erasure (null to a personal field, when its client is deleted) and a
    /// move to the client a duplicate was merged into (checked as a create-only field) touch it.
    public static func completedAssessmentRefusal(field: String, value: FieldValue) -> String? {
        if field == EntitySchema.deletedField || field == FieldKey.clientId.rawValue { return nil }
        if value.isNull, EntityKind.assessment.schema.field(field)?.personal == true { return nil }
        return "a completed assessment does not change; record a new assessment (assessment/create) instead"
    }

    /// What a provider's replica is told when it writes any other kind of record.
    public static let providerKindsRefusal = "a provider writes contacts, hours, events and (a service manager) enrolments only"

    /// Why a replica may write `next` to an enrolment's state, given the states its writer had
    /// seen (none: a new enrolment, which may arrive already started or ended), or nil.
    public static func enrolmentStateRefusal(next: EnrolmentState, seen: [EnrolmentState]) -> String? {
        if seen.isEmpty || seen.contains(next) { return nil }
        for state in seen where !state.reaches(next) { return "an enrolment cannot go from \(state.rawValue) to \(next.rawValue)" }
        return nil
    }

    /// Why a replica may write `next` to an assessment's state, given the states its writer had
    /// seen, or nil: an assessment starts as a draft (or completed at once) and is completed once.
    public static func assessmentStateRefusal(next: String, seen: [String]) -> String? {
        if seen.contains("completed") && next != "completed" { return "a completed assessment does not go back to \(next)" }
        return nil
    }

    /// Hours are reported for a past or the current month, never a future one.
    public static func hoursMonthRefusal(_ month: YearMonth, today: CalendarDate) -> String? {
        month.hasBegun(by: today) ? nil : "hours for \(month) cannot be reported before the month begins"
    }

    /// Hours are reported for a month in which, or after which, the client's referral to that
    /// provider had started (confirmed active, possibly ended since: employment after the
    /// service is the outcome the fee pays for, as in the worked tariff example), never for a
    /// month before it. `referrals`: the winning values of the client's referrals.
    public static func hoursReferralRefusal(_ month: YearMonth, providerID: String, referrals: [[String: FieldValue]],
                                            windowMonths: Int = Tariff.current.outcome.windowMonths) -> String? {
        var last: YearMonth?
        for referral in referrals where referral[.providerId]?.stringValue == providerID {
            guard let state = referral[.state]?.stringValue.flatMap(ReferralState.init(rawValue:)), ReferralState.billable.contains(state),
                  let start = referral[.startDate]?.stringValue.flatMap({ try? CalendarDate(iso: $0) }), start.yearMonth <= month else { continue }
            guard let end = referral[.endDate]?.stringValue.flatMap({ try? CalendarDate(iso: $0) }), state == .ended else { return nil }
            let lastMonth = lastOutcomeMonth(endedOn: end, reason: referral[.endReason]?.stringValue, windowMonths: windowMonths)
            if month <= lastMonth { return nil }
            last = max(last ?? lastMonth, lastMonth)
        }
        if let last {
            return "\(month) is after \(last), the last month the client's ended referral to this provider earns outcome fees in (\(windowMonths) months after its end; none after a switch of provider)"
        }
        return "\(noStartedReferral) by \(month)"
    }

    /// The start of ``hoursReferralRefusal(_:providerID:referrals:windowMonths:)``'s answer when
    /// no referral had started by the month.
    public static let noStartedReferral = "the client has no referral to this provider that had started"


    /// The `endReason` of a referral closed because the client moved to another provider.
    public static let providerSwitched = "provider_switched"

    /// The last month whose employment earns the provider of a referral that ended on `end`
    /// outcome fees: the tariff's outcome window after the end month, or the end month itself
    /// when the client switched to another provider (who earns them from then on).
    public static func lastOutcomeMonth(endedOn end: CalendarDate, reason: String?,
                                        windowMonths: Int = Tariff.current.outcome.windowMonths) -> YearMonth {
        reason == providerSwitched ? end.yearMonth : end.yearMonth.adding(months: windowMonths)
    }

    /// Whether the provider of a referral that ended on `end` still keeps its client on `today`,
    /// to report the hours that earn outcome fees: through the month after the last one (hours
    /// are reported once a month is over), and not at all after a switch of provider.
    public static func keepsClientAfterEnd(endedOn end: CalendarDate, reason: String?, today: CalendarDate,
                                           windowMonths: Int = Tariff.current.outcome.windowMonths) -> Bool {
        reason != providerSwitched && today.yearMonth <= lastOutcomeMonth(endedOn: end, reason: reason, windowMonths: windowMonths).adding(months: 1)
    }

    /// What is wrong with the history of a referral the central office imports (`importedBy`):
    /// a start for every state that had one, an end and its reason for an ended one, no end
    /// before its start, nothing after `today`. The import checks it, and the central store
    /// again on push.
    public static func importedReferralErrors(_ values: [String: FieldValue], today: CalendarDate) -> [FieldError] {
        guard let state = values[.state]?.stringValue.flatMap(ReferralState.init(rawValue:)) else { return [] }
        var errors: [FieldError] = []
        let start = values[.startDate]?.stringValue, end = values[.endDate]?.stringValue
        if [.active, .ended].contains(state) && start == nil {
            errors.append(FieldError(field: "startDate", message: "an \(state.rawValue) referral has the day it became active"))
        }
        if state == .ended && (end == nil || values[.endReason] == nil) {
            errors.append(FieldError(field: end == nil ? "endDate" : "endReason", message: "an ended referral has its end day and reason"))
        }
        if let start, let end, end < start { errors.append(FieldError(field: "endDate", message: "is before startDate \(start)")) }
        for (field, day) in [("startDate", start), ("endDate", end)] {
            if let day, day > today.description { errors.append(FieldError(field: field, message: "is in the future: an import records history")) }
        }
        return errors
    }

    /// Whether a new referral is the central office's import of history, whose states and
    /// dates the rules for new referrals do not judge: a pending one is a new referral like any.
    public static func isImportedHistory(_ values: [String: FieldValue], role: ReplicaRole) -> Bool {
        role == .admin && values[.importedBy]?.stringValue != nil && values[.state]?.stringValue != ReferralState.pending.rawValue
    }

    /// Whether a new referral is an office's activation under its capacity lease
    /// (``CapacityLeases``): made active at once, naming the lease, which the central store
    /// checks; it may have ended since (a provider switch before it was pushed).
    public static func isLeasedCreation(_ values: [String: FieldValue], role: ReplicaRole) -> Bool {
        role == .office && values[.leaseId]?.stringValue != nil
    }

    /// The one id of an area's baseline for a period: setting it again corrects it.
    public static func baselineID(area: String, period: String) -> String {
        RecordID.derived(["baseline", area, period])
    }

    /// The one id of the hours of a client with a provider in a month: a second report corrects
    /// the first, and two offline reports meet as one record.
    public static func hoursID(clientID: String, providerID: String, month: String) -> String {
        RecordID.derived(["hours", clientID, providerID, month])
    }
}
