/// A client's enrolment in a catalogue service.
///
/// ```
/// planned ──► started ──► completed
///    │           └──────► interrupted (reason required)
///    └──► not_started (reason required)
/// ```
/// `completed`, `interrupted` and `not_started` are final.
public enum EnrolmentState: String, Sendable, Hashable, CaseIterable, Codable {
    case planned, started, completed, interrupted
    case notStarted = "not_started"

    public var allowedNext: [EnrolmentState] {
        switch self {
        case .planned: [.started, .notStarted]
        case .started: [.completed, .interrupted]
        case .completed, .interrupted, .notStarted: []
        }
    }

    /// Whether `next` can be reached from `self` by one or more transitions.
    public func reaches(_ next: EnrolmentState) -> Bool {
        allowedNext.contains(next) || allowedNext.contains { $0.reaches(next) }
    }

    /// The field changes that move an enrolment from `self` to `next` on `day`.
    public func transition(to next: EnrolmentState, on day: CalendarDate, reason: String?, startedOn: CalendarDate?) throws(KasvuError) -> [String: FieldValue] {
        guard allowedNext.contains(next) else {
            let allowed = allowedNext.isEmpty ? "none: \(rawValue) is final" : allowedNext.map(\.rawValue).joined(separator: ", ")
            throw KasvuError(.invalidTransition, "an enrolment cannot go from \(rawValue) to \(next.rawValue) (allowed: \(allowed))")
        }
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        var changes: [String: FieldValue] = [FieldKey.state.rawValue: .string(next.rawValue)]
        switch next {
        case .started:
            changes[.startedOn] = .string(day.description)
        case .completed, .interrupted, .notStarted:
            if next != .completed, (reason ?? "").isEmpty {
                throw .validationFailed(field: "reason", "is required when an enrolment is \(next == .interrupted ? "interrupted" : "not started")")
            }
            if let startedOn, day < startedOn { throw .validationFailed(field: "date", "\(day) is before the start \(startedOn)") }
            changes[.endedOn] = .string(day.description)
            if let reason, !reason.isEmpty { changes[.endReason] = .string(reason) }
        case .planned:
            break
        }
        return changes
    }
}
