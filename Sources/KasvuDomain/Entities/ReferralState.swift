/// The referral state machine.
///
/// ```
/// pending ──► active ──► ended (reason required)
///    │  └──► waitlisted ──► active
///    ├──► rejected            └──► cancelled
///    └──► cancelled
/// ```
/// `ended`, `rejected` and `cancelled` are final.
public enum ReferralState: String, Sendable, Hashable, CaseIterable, Codable {
    case pending, active, waitlisted, rejected, cancelled, ended

    public var allowedNext: [ReferralState] {
        switch self {
        case .pending: [.active, .waitlisted, .rejected, .cancelled]
        case .waitlisted: [.active, .cancelled]
        case .active: [.ended]
        case .rejected, .cancelled, .ended: []
        }
    }

    public var isFinal: Bool { allowedNext.isEmpty }

    /// The field changes that move a referral from `self` to `next`.
    ///
    /// - Parameters:
    ///   - date: the day the change takes effect; `today` when absent.
    ///   - reason: required when ending; stored as `endReason` for every final state.
    public func transition(to next: ReferralState, date: CalendarDate?, reason: String?, today: CalendarDate,
                           startDate: CalendarDate?) throws(KasvuError) -> [String: FieldValue] {
        guard allowedNext.contains(next) else {
            let allowed = allowedNext.isEmpty ? "none: \(rawValue) is final" : allowedNext.map(\.rawValue).joined(separator: ", ")
            throw KasvuError(.invalidTransition, "a referral cannot go from \(rawValue) to \(next.rawValue) (allowed: \(allowed))")
        }
        let day = date ?? today
        let trimmedReason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        var changes: [String: FieldValue] = [FieldKey.state.rawValue: .string(next.rawValue)]
        switch next {
        case .active:
            changes[.startDate] = .string(day.description)
        case .ended:
            guard let trimmedReason, !trimmedReason.isEmpty else {
                throw .validationFailed(field: "reason", "is required to end a referral")
            }
            if let startDate, day < startDate {
                throw .validationFailed(field: "date", "end date \(day) is before the start date \(startDate)")
            }
            changes[.endDate] = .string(day.description)
            changes[.endReason] = .string(trimmedReason)
        case .rejected, .cancelled:
            changes[.endDate] = .string(day.description)
            if let trimmedReason, !trimmedReason.isEmpty { changes[.endReason] = .string(trimmedReason) }
        case .pending, .waitlisted:
            break
        }
        return changes
    }
}

extension ReferralState {
    /// Being served or about to be: the client is in the provider's scope, and has at most one.
    public static let open: Set<ReferralState> = [.pending, .active]
    /// Holding or waiting for one of the provider's places.
    public static let holdingPlace: Set<ReferralState> = [.active, .waitlisted]
    /// Still counted against or decided on under the provider's cap.
    public static let undecided: Set<ReferralState> = [.active, .pending, .waitlisted]
    /// Started with the provider, still served or ended since: what capitation, outcome fees and
    /// hours reports count.
    public static let billable: Set<ReferralState> = [.active, .ended]
}
