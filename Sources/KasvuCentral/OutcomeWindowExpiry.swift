import KasvuSQL
import KasvuDomain
import KasvuSync

/// A provider keeps a client whose referral to it ended for the tariff's outcome window, so that
/// it can report the hours that earn outcome fees (``ScopeResolver/providerHolds(_:provider:)``).
/// When the window passes nothing is written, so nothing would reach the provider's replica:
/// this job gives the records of every client whose window lapsed since its last run new
/// sequence numbers, and each provider's next pull evicts what it may no longer see.
extension SQLCentralStore {
    /// Renumbers the records of clients whose outcome window lapsed after the previous run and
    /// by `today`; returns how many clients. Run daily (`kasvu central expire`), and by `purge`.
    @discardableResult
    public func expireOutcomeWindows(today: CalendarDate) async throws -> Int {
        let window = Tariff.current.outcome.windowMonths
        return try await write { db in
            let previous = try db.value(String.self, "SELECT value FROM central_state WHERE name = 'outcome_windows_expired_through'")
                .flatMap { try? CalendarDate(iso: $0) }
            var lapsed: Set<String> = []
            for text in try db.values(String.self, "SELECT state FROM record WHERE entity = 'referral' AND referral_state = 'ended'") {
                let referral = try Self.decode(text)
                guard let client = referral.value(.clientId).stringValue,
                      let end = referral.value(.endDate).stringValue.flatMap({ try? CalendarDate(iso: $0) }) else { continue }
                // The first day on which the provider may no longer see the client (a switch of
                // provider took the client away at once, through the referral's own change).
                guard referral.value(.endReason).stringValue != WriteRules.providerSwitched else { continue }
                let lapse = WriteRules.lastOutcomeMonth(endedOn: end, reason: nil, windowMonths: window).adding(months: 2).firstDay
                if lapse <= today && previous.map({ lapse > $0 }) ?? true { lapsed.insert(client) }
            }
            var sequence = try db.value(Int64.self, "SELECT value FROM sequence") ?? 0
            try Self.renumber(db, clients: lapsed, numberedBefore: sequence, sequence: &sequence)
            try db.execute("UPDATE sequence SET value = ?", [sequence])
            try db.execute("INSERT INTO central_state (name, value) VALUES ('outcome_windows_expired_through', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                           [today.description])
            return lapsed.count
        }
    }
}
