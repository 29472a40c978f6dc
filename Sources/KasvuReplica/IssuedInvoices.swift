import Foundation
import GRDB
import KasvuDomain
import KasvuSync

/// An issued invoice as the replica holds it: the record's fields and the stored document,
/// byte for byte as it was issued.
public struct IssuedInvoiceRecord: Sendable, Hashable {
    public let id: String
    public let number: String
    public let providerId: String
    public let kind: Invoice.Kind
    /// The month (`YYYY-MM`) or period (`YYYY-Tn`).
    public let billed: String
    public let issuedAt: String
    public let issuedBy: String
    /// The invoice's own total and what is payable with its corrections, exact decimal text.
    public let amount: String
    public let total: String
    /// The issued document: compact JSON with sorted keys (``IssuedInvoice``).
    public let document: String

    init(id: String, state: RecordState) {
        self.id = id
        number = state.value(.number).stringValue ?? ""
        providerId = state.value(.providerId).stringValue ?? ""
        kind = state.value(.kind).stringValue.flatMap(Invoice.Kind.init(rawValue:)) ?? .capitation
        billed = state.value(.month).stringValue ?? state.value(.period).stringValue ?? ""
        issuedAt = state.value(.issuedAt).stringValue ?? ""
        issuedBy = state.value(.issuedBy).stringValue ?? ""
        amount = state.value(.amount).stringValue ?? ""
        total = state.value(.total).stringValue ?? ""
        document = state.value(.document).stringValue ?? ""
    }
}

/// Issuing invoices (the central office's): an issued invoice is frozen; whatever changes in
/// its data later is carried by correction lines on the provider's next issued invoice of the
/// same kind.
extension Replica {
    /// Issues a provider's invoice for a month that is over (capitation) or a period that is
    /// over (outcome), with correction lines for its earlier issued invoices of the same kind.
    ///
    /// ```swift
    /// let march = try await replica.issueInvoice(providerID: id, kind: .capitation, billed: "2026-03", issuedBy: "ely")
    /// march.number  // "CAP-2026-03-3F2A9C1B"
    /// ```
    ///
    /// - Throws: `already_exists` when it was issued before, `validation_failed` for a month
    ///   or period not yet over or data the tariff cannot price, `not_found` for an unknown provider.
    public func issueInvoice(providerID: String, kind: Invoice.Kind, billed: String, audit: AuditRequest? = nil,
                             issuedBy: String) async throws -> IssuedInvoiceRecord {
        let providerID = try Self.canonicalID(providerID)
        if kind == .capitation && audit != nil {
            throw KasvuError.validationFailed(field: "audit", "an audit applies to outcome invoices only")
        }
        let today = self.today()
        let lastDay = try Self.lastDay(kind: kind, billed: billed)
        guard lastDay < today else {
            throw KasvuError.validationFailed(field: kind == .capitation ? "month" : "period",
                                              "\(billed) is not over: an invoice is issued after its last day, \(lastDay)")
        }
        let issuedAt = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(nowMillis()) / 1000))
        return try await write { db in
            let id = IssuedInvoice.id(providerID: providerID, kind: kind, billed: billed)
            if let existing = try Self.loadState(db, .invoice, id) {
                throw KasvuError(.alreadyExists, "invoice \(existing.value(.number).stringValue ?? id) is already issued; changes to its data go on the provider's next invoice")
            }
            let facts = try Self.invoiceFacts(db, providerID: providerID)
            let schedule = try Self.tariffSchedule(db)
            // Each month or period is priced by the tariff valid in the provider's area on its first day.
            // An earlier invoice is recomputed with the provider's terms it was issued with.
            func compute(_ billed: String, _ audit: AuditRequest?, terms: (base: String, rate: String)? = nil)
                throws -> (invoice: Invoice, findings: AuditFindings?, tariff: Tariff) {
                let tariff = schedule.tariff(area: facts.provider.pilotArea, on: try Self.firstDay(kind: kind, billed: billed))
                var facts = facts
                if let terms { (facts.provider.capitationBase, facts.provider.hourlyRate) = terms }
                switch kind {
                case .capitation:
                    return (try InvoiceCalculator.capitation(facts, month: try Self.month(billed), tariff: tariff), nil, tariff)
                case .outcome:
                    let findings = try audit.map { try Self.auditFindings(db, providerID: providerID, $0) }
                    return (try InvoiceCalculator.outcome(facts, period: try Self.period(billed), audit: findings, tariff: tariff), findings, tariff)
                }
            }
            let (invoice, findings, tariff) = try compute(billed, audit)

            let issued = try Self.issuedInvoices(db, providerID: providerID, kind: kind)
            var settled: [String: Decimal] = [:]
            var earlier: [IssuedInvoice.Earlier] = []
            for record in issued {
                let summary = try IssuedInvoice.Summary(document: record.document)
                settled.merge(summary.corrections, uniquingKeysWith: +)
                guard record.billed < billed, let amount = Decimal(string: record.amount, locale: Locale(identifier: "en_US_POSIX")) else { continue }
                earlier.append(IssuedInvoice.Earlier(id: record.id, number: record.number, billed: record.billed, amount: amount,
                                                     audit: summary.auditSeed.map { ($0, summary.auditRate ?? "0") },
                                                     capitationBase: summary.capitationBase, hourlyRate: summary.hourlyRate))
            }
            let corrections = try IssuedInvoice.corrections(earlier: earlier, settledCorrections: settled) { earlier throws(KasvuError) in
                do {
                    return try compute(earlier.billed, earlier.audit.map { AuditRequest(seed: $0.seed, rate: $0.rate) },
                                       terms: (earlier.capitationBase, earlier.hourlyRate)).invoice.total
                } catch let error as KasvuError {
                    throw KasvuError(error.kind, "invoice \(earlier.number) cannot be recomputed for its correction: \(error.message)", fieldErrors: error.fieldErrors)
                } catch {
                    throw KasvuError(.storageFailed, "invoice \(earlier.number) cannot be recomputed: \(error)")
                }
            }
            let document = IssuedInvoice(invoice: invoice, issuedAt: issuedAt, issuedBy: issuedBy, tariff: tariff,
                                         corrections: corrections, facts: facts, audit: findings)
            let text = String(decoding: try document.jsonData(), as: UTF8.self)
            var values: [String: FieldValue] = [
                "providerId": .string(providerID), "kind": .string(kind.rawValue), "number": .string(document.number),
                "issuedAt": .string(issuedAt), "issuedBy": .string(issuedBy), "tariffVersion": .string(tariff.version),
                "amount": .string(Money.format(invoice.total)), "total": .string(Money.format(document.total)), "document": .string(text),
            ]
            values[kind == .capitation ? "month" : "period"] = .string(billed)
            for (field, value) in values {
                _ = try EntityKind.invoice.schema.validateValue(field, value)
            }
            let errors = EntityKind.invoice.schema.recordErrors(values)
            if !errors.isEmpty { throw KasvuError.validationFailed(errors) }
            if let other = try Self.issuedInvoice(db, number: document.number), other.id != id {
                throw KasvuError(.alreadyExists, "invoice number \(document.number) is taken by another provider's invoice (their ids share 8 digits)")
            }
            _ = try self.commit(db, .invoice, id, state: RecordState(), changes: values)
            return IssuedInvoiceRecord(id: id, state: try Self.liveState(db, .invoice, id))
        }
    }

    /// Issued invoices, optionally of one provider and kind, by month or period, then number.
    public func issuedInvoices(providerID: String? = nil, kind: Invoice.Kind? = nil) async throws -> [IssuedInvoiceRecord] {
        let providerID = try providerID.map(Self.canonicalID)
        return try await read { db in try Self.issuedInvoices(db, providerID: providerID, kind: kind) }
    }

    /// One issued invoice by id or number.
    public func issuedInvoice(_ idOrNumber: String) async throws -> IssuedInvoiceRecord {
        try await read { db in
            if let id = try? Self.canonicalID(idOrNumber), let state = try Self.loadState(db, .invoice, id), !state.isDeleted {
                return IssuedInvoiceRecord(id: id, state: state)
            }
            guard let found = try Self.issuedInvoice(db, number: idOrNumber) else {
                throw KasvuError(.notFound, "no issued invoice \(idOrNumber)")
            }
            return found
        }
    }

    static func issuedInvoices(_ db: Database, providerID: String?, kind: Invoice.Kind?) throws -> [IssuedInvoiceRecord] {
        var sql = "SELECT id, sync_state FROM invoice WHERE deleted IS NOT 1"
        var arguments: [any DatabaseValueConvertible] = []
        if let providerID { sql += " AND provider_id = ?"; arguments.append(providerID) }
        if let kind { sql += " AND kind = ?"; arguments.append(kind.rawValue) }
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
            .map { IssuedInvoiceRecord(id: $0["id"], state: try Self.decodeState($0["sync_state"])) }
            .sorted { ($0.billed, $0.number) < ($1.billed, $1.number) }
    }

    static func issuedInvoice(_ db: Database, number: String) throws -> IssuedInvoiceRecord? {
        try Row.fetchOne(db, sql: "SELECT id, sync_state FROM invoice WHERE number = ? AND deleted IS NOT 1", arguments: [number])
            .map { IssuedInvoiceRecord(id: $0["id"], state: try Self.decodeState($0["sync_state"])) }
    }

    static func month(_ text: String) throws(KasvuError) -> YearMonth {
        do throws(FieldError) { return try YearMonth(iso: text, field: "month") } catch { throw .validationFailed([error]) }
    }

    static func period(_ text: String) throws(KasvuError) -> BillingPeriod {
        do throws(FieldError) { return try BillingPeriod(iso: text) } catch { throw .validationFailed([error]) }
    }

    /// The first day of an invoice's month or period: the day its tariff is chosen by.
    static func firstDay(kind: Invoice.Kind, billed: String) throws(KasvuError) -> CalendarDate {
        switch kind {
        case .capitation: (try month(billed)).firstDay
        case .outcome: (try period(billed)).months[0].firstDay
        }
    }

    /// The last day of an invoice's month or period.
    static func lastDay(kind: Invoice.Kind, billed: String) throws(KasvuError) -> CalendarDate {
        switch kind {
        case .capitation: (try month(billed)).lastDay
        case .outcome: try period(billed).months[3].lastDay
        }
    }
}
