import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// Which audit an outcome invoice applies: the sample's seed and rate; the findings are the
/// ones recorded with ``Replica/recordAudit(hoursID:verifiedHours:auditedBy:)``.
public struct AuditRequest: Sendable, Hashable {
    public let seed: String
    public let rate: String
    public init(seed: String, rate: String) {
        self.seed = seed
        self.rate = rate
    }
}

/// Invoices and audits from the records this replica holds (the central office's admin
/// replica holds all of them). The rules live in ``InvoiceCalculator`` and the tariff is data.
extension Replica {
    /// Everything the tariff needs about one provider: its terms, its referrals with the risk
    /// group recorded at referral, its contacts, hours reports and events.
    public func invoiceFacts(providerID: String) async throws -> InvoiceFacts {
        let providerID = try Self.canonicalID(providerID)
        return try await read { db in try Self.invoiceFacts(db, providerID: providerID) }
    }

    static func invoiceFacts(_ db: Database, providerID: String) throws -> InvoiceFacts {
        let provider = try Self.liveState(db, .provider, providerID)
        func live(_ kind: EntityKind) throws -> [(id: String, state: RecordState)] {
            try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE provider_id = ? AND deleted IS NOT 1 ORDER BY id",
                             arguments: [providerID]).map { ($0["id"], try Self.decodeState($0["sync_state"])) }
        }
        func date(_ state: RecordState, _ field: String) -> CalendarDate? {
            state.value(field).stringValue.flatMap { try? CalendarDate(iso: $0) }
        }
        let referrals = try live(.referral).compactMap { id, state -> InvoiceFacts.Referral? in
            guard let start = date(state, "startDate"), let group = state.value(.riskGroup).intValue else { return nil }
            return InvoiceFacts.Referral(id: id, clientId: state.value(.clientId).stringValue ?? "", riskGroup: Int(group),
                                         state: state.value(.state).stringValue ?? "", start: start, end: date(state, "endDate"),
                                         endReason: state.value(.endReason).stringValue)
        }
        let contacts = try live(.contact).compactMap { _, state in
            date(state, "date").map { InvoiceFacts.Contact(clientId: state.value(.clientId).stringValue ?? "", date: $0) }
        }
        let hours = try live(.hours).compactMap { id, state -> InvoiceFacts.Hours? in
            guard let month = state.value(.month).stringValue.flatMap({ try? YearMonth(iso: $0) }),
                  let amount = state.value(.hours).stringValue else { return nil }
            return InvoiceFacts.Hours(id: id, clientId: state.value(.clientId).stringValue ?? "", month: month, hours: amount)
        }
        // Regional bonuses go by the client's home municipality.
        var municipalities: [String: String?] = [:]
        func municipality(_ client: String) throws -> String? {
            if let known = municipalities[client] { return known }
            let found = try Self.loadState(db, .client, client)?.value(.municipality).stringValue
            municipalities[client] = found
            return found
        }
        let events = try live(.event).compactMap { _, state -> InvoiceFacts.Event? in
            guard let day = date(state, "date") else { return nil }
            let client = state.value(.clientId).stringValue ?? ""
            return InvoiceFacts.Event(clientId: client, date: day, kind: state.value(.kind).stringValue ?? "", municipality: try municipality(client))
        }
        return InvoiceFacts(
            provider: InvoiceFacts.Provider(id: providerID, capitationBase: provider.value(.capitationBase).stringValue ?? "0",
                                            hourlyRate: provider.value(.hourlyRate).stringValue ?? "0", pilotArea: Self.pilotArea(provider)),
            referrals: referrals, contacts: contacts, hours: hours, events: events)
    }

    /// The capitation invoice of a month that has begun (a future month is refused), priced
    /// by `tariff`, or else by the tariff valid in the provider's area on the month's first day.
    public func capitationInvoice(providerID: String, month: YearMonth, tariff: Tariff? = nil) async throws -> Invoice {
        if !month.hasBegun(by: self.today()) {
            throw KasvuError.validationFailed(field: "month", "\(month) has not begun: invoices are for months that have")
        }
        let providerID = try Self.canonicalID(providerID)
        let (facts, schedule) = try await read { db in (try Self.invoiceFacts(db, providerID: providerID), try Self.tariffSchedule(db)) }
        return try InvoiceCalculator.capitation(facts, month: month, tariff: tariff ?? schedule.tariff(area: facts.provider.pilotArea, on: month.firstDay))
    }

    /// The outcome invoice of a four-month period, priced as ``capitationInvoice(providerID:month:tariff:)``
    /// (the tariff valid on the period's first day). With an audit (`seed`, `rate`), the sampled
    /// reports' recorded findings (``recordAudit``) give the extrapolated recovery.
    public func outcomeInvoice(providerID: String, period: BillingPeriod, audit: AuditRequest? = nil,
                               tariff: Tariff? = nil) async throws -> Invoice {
        if !period.months[0].hasBegun(by: self.today()) {
            throw KasvuError.validationFailed(field: "period", "\(period) has not begun: invoices are for periods that have")
        }
        let providerID = try Self.canonicalID(providerID)
        let (facts, findings, schedule) = try await read { db in
            (try Self.invoiceFacts(db, providerID: providerID), try audit.map { try Self.auditFindings(db, providerID: providerID, $0) },
             try Self.tariffSchedule(db))
        }
        return try InvoiceCalculator.outcome(facts, period: period, audit: findings,
                                             tariff: tariff ?? schedule.tariff(area: facts.provider.pilotArea, on: period.months[0].firstDay))
    }

    /// The recorded register findings of a provider's hours reports, for an audit.
    static func auditFindings(_ db: Database, providerID: String, _ audit: AuditRequest) throws -> AuditFindings {
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, json_extract(sync_state, '\(StorageSQL.winningValue("verifiedHours"))') AS verified,
                   json_extract(sync_state, '\(StorageSQL.winningValue("auditedHours"))') AS audited FROM hours
            WHERE provider_id = ? AND deleted IS NOT 1 AND verified IS NOT NULL
            """, arguments: [providerID]).map { ($0["id"] as String, $0["verified"] as String, $0["audited"] as String?) }
        return AuditFindings(seed: audit.seed, rate: audit.rate, verifiedHours: Dictionary(rows.map { ($0.0, $0.1) }) { a, _ in a },
                             auditedHours: Dictionary(rows.compactMap { row in row.2.map { (row.0, $0) } }) { a, _ in a })
    }

    /// The hours reports of a provider's period to check against the registers, in the
    /// documented order: sha256("<seed>:<id>") ascending, the first ceil(rate × count).
    public func auditSample(providerID: String, period: BillingPeriod, rate: String, seed: String) async throws -> [String] {
        let rateValue: Decimal
        do throws(FieldError) {
            rateValue = try Money.parse(rate, field: "rate", maxFractionDigits: 6)
        } catch { throw KasvuError.validationFailed([error]) }
        guard rateValue > 0, rateValue <= 1 else { throw KasvuError.validationFailed(field: "rate", "must be in (0, 1]") }
        let ids = try await invoiceFacts(providerID: providerID).hours.filter { period.contains($0.month) }.map(\.id)
        return AuditSampler.sample(hoursIDs: ids, seed: seed, rate: rateValue)
    }

    /// Stores a register finding for one hours report; the next outcome invoice with an audit
    /// carries the recovery.
    public func recordAudit(hoursID: String, verifiedHours: String, auditedBy: String) async throws -> Record {
        let id = try Self.canonicalID(hoursID)
        let value = try EntityKind.hours.schema.validateValue("verifiedHours", .string(verifiedHours))
        let now = ISO8601DateFormatter().string(from: Date())
        return try await write { db in
            let state = try Self.liveState(db, .hours, id)
            return try self.commit(db, .hours, id, state: state, changes: [
                "verifiedHours": value, "auditedHours": state.value(.hours), "auditedBy": .string(auditedBy), "auditedAt": .string(now),
            ])
        }
    }
}
