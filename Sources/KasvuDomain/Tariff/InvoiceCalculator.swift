import Foundation

/// Computes the pilot invoices of one provider from plain facts and a `Tariff`.
/// Pure and deterministic: the result does not depend on the order of the facts.
///
/// Rules (shared/domain/tariff-example.json):
/// - **Capitation**, per referral in state `active` or `ended` overlapping the month:
///   `base × weight(riskGroup) × activeDays / daysInMonth`, start and end days inclusive.
///   Lines are ordered by client id, then referral start, then referral id.
/// - **Minimum-service sanction**, per client-month with at least `minActiveDays` active days and
///   fewer than `contactsPerMonth` contacts in the month: `−share × the client's line amount(s)`.
///   Ordered by client id.
/// - **Outcome**, per hours report whose month is in the period: `hours × hourlyRate × weight(riskGroup)`,
///   the risk group being that of the client's referral to the provider. Lines are ordered by
///   client id, then month, then report id.
/// - **Audit recovery** (when audited): `−subtotal × overClaimed / claimed` over the sampled reports
///   that have a verified value, where a report's claimed value is `hours × rate × weight` and its
///   over-claimed value `(hours − verified) × rate × weight` when fewer hours were verified.
/// - **Education bonus**: each `education_started` event dated within the period, ordered by date
///   then client id, after the audit recovery.
/// - **Bonus items** of the tariff (business start-up, regional): each event of the item's kind
///   dated within the period (of a client living in one of the item's municipalities, when it
///   names some), per item in the tariff's order, by date then client id.
///
/// Every line and every adjustment is rounded half away from zero to cents on its own;
/// `subtotal` = Σ lines, `total` = subtotal + Σ adjustments.
///
/// ```swift
/// let invoice = try InvoiceCalculator.capitation(facts, month: try YearMonth(iso: "2019-03"), tariff: .current)
/// String(decoding: try invoice.jsonData(), as: UTF8.self)
/// ```
public enum InvoiceCalculator {
    public static let educationStartedKind = "education_started"

    /// The capitation invoice of `facts.provider` for `month`.
    ///
    /// - Throws: `KasvuError` `validation_failed` when the provider's capitation base is not a
    ///   money amount within the tariff's range, a counted referral has an unknown risk group,
    ///   an `ended` referral has no end date, or an end date lies before its start.
    public static func capitation(_ facts: InvoiceFacts, month: YearMonth, tariff: Tariff) throws(KasvuError) -> Invoice {
        let base = try providerTerm(facts.provider.capitationBase, field: "capitationBase", within: tariff.capitation.baseRange)
        let daysInMonth = month.dayCount
        let counted = Set(ReferralState.billable.map(\.rawValue))

        var lines: [(referral: InvoiceFacts.Referral, line: Invoice.CapitationLine)] = []
        var errors: [FieldError] = []
        for referral in facts.referrals where counted.contains(referral.state) {
            let field = "referrals.\(referral.id)"
            if referral.state == ReferralState.ended.rawValue && referral.end == nil {
                errors.append(FieldError(field: "\(field).end", message: "an ended referral needs an end date"))
                continue
            }
            if let end = referral.end, end < referral.start {
                errors.append(FieldError(field: "\(field).end", message: "end \(end) is before start \(referral.start)"))
                continue
            }
            let first = max(referral.start, month.firstDay)
            let last = min(referral.end ?? month.lastDay, month.lastDay)
            guard first <= last else { continue }
            guard let weight = tariff.capitationWeight(riskGroup: referral.riskGroup) else {
                errors.append(FieldError(field: "\(field).riskGroup", message: "unknown risk group \(referral.riskGroup)"))
                continue
            }
            let days = last.day - first.day + 1
            let amount = Money.round(base * weight * Decimal(days) / Decimal(daysInMonth))
            lines.append((referral, Invoice.CapitationLine(clientId: referral.clientId, riskGroup: referral.riskGroup,
                                                           days: days, daysInMonth: daysInMonth, amount: amount)))
        }
        guard errors.isEmpty else { throw .validationFailed(errors) }
        lines.sort { a, b in
            (a.referral.clientId, a.referral.start, a.referral.id) < (b.referral.clientId, b.referral.start, b.referral.id)
        }

        // Minimum-service sanction, per client-month.
        let service = tariff.sanctions.minimumService
        var contactsByClient: [String: Int] = [:]
        for contact in facts.contacts where month.contains(contact.date) {
            contactsByClient[contact.clientId, default: 0] += 1
        }
        var clientDays: [String: Int] = [:]
        var clientAmount: [String: Decimal] = [:]
        for (_, line) in lines {
            clientDays[line.clientId, default: 0] += line.days
            clientAmount[line.clientId, default: 0] += line.amount
        }
        var adjustments: [Invoice.Adjustment] = []
        for clientId in clientDays.keys.sorted() {
            let days = min(clientDays[clientId] ?? 0, daysInMonth)
            guard days >= service.minActiveDays, contactsByClient[clientId, default: 0] < service.contactsPerMonth else { continue }
            let amount = Money.round(-(tariff.minimumServiceShare * (clientAmount[clientId] ?? 0)))
            adjustments.append(.minimumServiceNotDelivered(clientId: clientId, amount: amount))
        }

        return Invoice(providerId: facts.provider.id, kind: .capitation, month: month, period: nil,
                       lines: lines.map { .capitation($0.line) }, adjustments: adjustments)
    }

    /// The outcome invoice of `facts.provider` for `period`, with the audit recovery when
    /// `audit` is given and the education bonuses.
    ///
    /// An hours report that cannot be priced (not a non-negative decimal, no started referral
    /// of its client to the provider, a risk group without a weight) is held back
    /// (``Invoice/heldBack``), not invoiced, and does not stop the rest of the period.
    ///
    /// - Throws: `KasvuError` `validation_failed` when the provider's hourly rate is not a money
    ///   amount within the tariff's range, or the audit rate or a verified value is invalid.
    public static func outcome(_ facts: InvoiceFacts, period: BillingPeriod, audit: AuditFindings?,
                               tariff: Tariff) throws(KasvuError) -> Invoice {
        let rate = try providerTerm(facts.provider.hourlyRate, field: "hourlyRate", within: tariff.outcome.hourlyRange)

        struct Priced {
            let line: Invoice.OutcomeLine
            let hours: Decimal
            let weight: Decimal
        }
        var priced: [Priced] = []
        var errors: [FieldError] = []
        var heldBack: [Invoice.HeldBack] = []
        for report in facts.hours where period.contains(report.month) {
            func holdBack(_ reason: String) {
                heldBack.append(Invoice.HeldBack(id: report.id, clientId: report.clientId, month: report.month.description, reason: reason))
            }
            guard let hours = try? Money.parse(report.hours, field: "hours", maxFractionDigits: 6) else {
                holdBack("the hours '\(report.hours)' are not a decimal number")
                continue
            }
            guard let referral = referral(of: report.clientId, for: report.month, in: facts.referrals) else {
                holdBack("the client has no started referral to this provider")
                continue
            }
            if let end = referral.end,
               report.month > WriteRules.lastOutcomeMonth(endedOn: end, reason: referral.endReason, windowMonths: tariff.outcome.windowMonths) {
                holdBack("after the referral's outcome window (\(tariff.outcome.windowMonths) months after its end; none after a switch of provider)")
                continue
            }
            guard let weight = tariff.outcomeWeight(riskGroup: referral.riskGroup) else {
                holdBack("the referral's risk group \(referral.riskGroup) has no outcome weight")
                continue
            }
            let amount = Money.round(hours * rate * weight)
            priced.append(Priced(line: Invoice.OutcomeLine(id: report.id, clientId: report.clientId, month: report.month,
                                                           hours: report.hours, riskGroup: referral.riskGroup, amount: amount),
                                 hours: hours, weight: weight))
        }

        var auditRate = Decimal(0)
        var verified: [String: Decimal] = [:], audited: [String: Decimal] = [:]
        if let audit {
            do {
                auditRate = try Money.parse(audit.rate, field: "audit.rate", maxFractionDigits: 6)
                if auditRate > 1 { errors.append(FieldError(field: "audit.rate", message: "must be between 0 and 1, got '\(audit.rate)'")) }
            } catch {
                errors.append(error)
            }
            for (id, text) in audit.verifiedHours.sorted(by: { $0.key < $1.key }) {
                do {
                    verified[id] = try Money.parse(text, field: "audit.verifiedHours.\(id)", maxFractionDigits: 6)
                } catch {
                    errors.append(error)
                }
            }
            for (id, text) in audit.auditedHours.sorted(by: { $0.key < $1.key }) {
                do {
                    audited[id] = try Money.parse(text, field: "audit.auditedHours.\(id)", maxFractionDigits: 6)
                } catch {
                    errors.append(error)
                }
            }
        }
        guard errors.isEmpty else { throw .validationFailed(errors) }

        priced.sort { a, b in (a.line.clientId, a.line.month, a.line.id) < (b.line.clientId, b.line.month, b.line.id) }
        let lines = priced.map { Invoice.Line.outcome($0.line) }
        let subtotal = priced.reduce(Decimal(0)) { $0 + $1.line.amount }

        var adjustments: [Invoice.Adjustment] = []
        if let audit {
            let sampled = AuditSampler.sample(hoursIDs: priced.map(\.line.id), seed: audit.seed, rate: auditRate)
            let byID = Dictionary(priced.map { ($0.line.id, $0) }, uniquingKeysWith: { first, _ in first })
            var claimed = Decimal(0)
            var overClaimed = Decimal(0)
            for id in sampled {
                guard let report = byID[id], let verifiedHours = verified[id] else { continue }
                let claim = audited[id] ?? report.hours  // the claim the audit checked
                claimed += claim * rate * report.weight
                if verifiedHours < claim {
                    overClaimed += (claim - verifiedHours) * rate * report.weight
                }
            }
            let errorRate = claimed > 0 ? overClaimed / claimed : Decimal(0)
            let recovery = claimed > 0 ? subtotal * overClaimed / claimed : Decimal(0)
            adjustments.append(.auditRecovery(sampled: sampled, errorRate: Money.round(errorRate, scale: 6),
                                              amount: Money.round(-recovery)))
        }

        let bonus = Money.round(tariff.educationStartedBonus)
        let bonusEvents = facts.events
            .filter { $0.kind == educationStartedKind && period.contains($0.date) }
            .sorted { ($0.date, $0.clientId) < ($1.date, $1.clientId) }
        for event in bonusEvents {
            adjustments.append(.educationStartedBonus(clientId: event.clientId, amount: bonus))
        }
        // The tariff's bonus items, in its order; each by date, then client id.
        for item in tariff.bonusItems {
            let amount = Money.round(Tariff.number(item.amount) ?? 0)
            let regional = item.municipalities.map(Set.init)
            let earned = facts.events
                .filter { event in
                    guard event.kind == item.event, period.contains(event.date) else { return false }
                    guard let regional else { return true }
                    return event.municipality.map(regional.contains) ?? false
                }
                .sorted { ($0.date, $0.clientId) < ($1.date, $1.clientId) }
            for event in earned {
                adjustments.append(.bonus(reason: item.reason, clientId: event.clientId, amount: amount))
            }
        }

        return Invoice(providerId: facts.provider.id, kind: .outcome, month: nil, period: period,
                       lines: lines, adjustments: adjustments, heldBack: heldBack.sorted { $0.id < $1.id })
    }

    // MARK: Internals

    static func providerTerm(_ text: String, field: String, within range: Tariff.Range) throws(KasvuError) -> Decimal {
        if let error = Tariff.check(text, field: "provider.\(field)", within: range) { throw .validationFailed([error]) }
        do {
            return try Money.parse(text, field: "provider.\(field)")
        } catch {
            throw .validationFailed([error])
        }
    }

    /// The client's referral that prices an hours report: among the client's referrals, those
    /// active or ended overlapping the month first, then the latest start, then the highest id.
    static func referral(of clientId: String, for month: YearMonth, in referrals: [InvoiceFacts.Referral]) -> InvoiceFacts.Referral? {
        let counted = Set(ReferralState.billable.map(\.rawValue))
        func overlaps(_ referral: InvoiceFacts.Referral) -> Bool {
            counted.contains(referral.state) && referral.start <= month.lastDay && (referral.end ?? month.firstDay) >= month.firstDay
        }
        return referrals
            .filter { $0.clientId == clientId }
            .max { a, b in
                (overlaps(a) ? 1 : 0, a.start, a.id) < (overlaps(b) ? 1 : 0, b.start, b.id)
            }
    }
}
