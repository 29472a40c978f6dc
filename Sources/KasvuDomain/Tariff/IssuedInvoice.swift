import Foundation

/// An invoice as issued (`invoice/issue`): the computed ``Invoice`` frozen with its number,
/// the tariff version and the inputs it was computed from, and correction lines for the
/// provider's earlier issued invoices of the same kind whose data changed since they were
/// issued (a late hours report, an audit finding). An issued invoice never changes: its
/// document is stored as bytes and served as they are.
///
/// One invoice per provider, kind and month (or period): its record id and its number are
/// derived from them, so two central-office laptops issuing the same invoice offline meet as
/// one record, and the central store keeps the first.
///
/// ```swift
/// IssuedInvoice.number(providerID: "…-4a5b3f2a9c1b", kind: .capitation, billed: "2026-05")  // "CAP-2026-05-3F2A9C1B"
/// ```
public struct IssuedInvoice: Sendable, Hashable, Encodable {
    /// The difference between what an earlier issued invoice settled and what its month or
    /// period computes to now, carried on this invoice.
    public struct Correction: Sendable, Hashable, Encodable {
        public let invoiceId: String
        public let invoiceNumber: String
        /// The earlier invoice's month or period.
        public let billed: String
        /// What has been invoiced for it so far: its own amount and the corrections to it that
        /// issued invoices already carry.
        public let settled: Decimal
        /// Its month or period computed today, from today's data.
        public let recomputed: Decimal
        public var amount: Decimal { recomputed - settled }

        public init(invoiceId: String, invoiceNumber: String, billed: String, settled: Decimal, recomputed: Decimal) {
            self.invoiceId = invoiceId
            self.invoiceNumber = invoiceNumber
            self.billed = billed
            self.settled = settled
            self.recomputed = recomputed
        }

        private enum CodingKeys: String, CodingKey { case invoiceId, invoiceNumber, billed, settled, recomputed, amount }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(invoiceId, forKey: .invoiceId)
            try container.encode(invoiceNumber, forKey: .invoiceNumber)
            try container.encode(billed, forKey: .billed)
            try container.encode(Money.format(settled), forKey: .settled)
            try container.encode(Money.format(recomputed), forKey: .recomputed)
            try container.encode(Money.format(amount), forKey: .amount)
        }
    }

    /// An earlier issued invoice of the same provider and kind, as the corrections need it.
    public struct Earlier: Sendable, Hashable {
        public let id: String
        public let number: String
        public let billed: String
        /// Its own computed total, without the corrections it carried for others.
        public let amount: Decimal
        /// The audit its outcome invoice applied, to apply again when it is recomputed.
        public let audit: (seed: String, rate: String)?
        /// The provider's terms it was computed with (``Summary``).
        public let capitationBase: String
        public let hourlyRate: String

        public init(id: String, number: String, billed: String, amount: Decimal, audit: (seed: String, rate: String)?,
                    capitationBase: String, hourlyRate: String) {
            self.id = id
            self.number = number
            self.billed = billed
            self.amount = amount
            self.audit = audit
            self.capitationBase = capitationBase
            self.hourlyRate = hourlyRate
        }

        public static func == (a: Earlier, b: Earlier) -> Bool {
            (a.id, a.number, a.billed, a.amount) == (b.id, b.number, b.billed, b.amount)
                && (a.audit?.seed, a.audit?.rate, a.capitationBase, a.hourlyRate) == (b.audit?.seed, b.audit?.rate, b.capitationBase, b.hourlyRate)
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(id) }
    }

    public let id: String
    public let number: String
    public let issuedAt: String
    public let issuedBy: String
    public let invoice: Invoice
    public let tariffVersion: String
    public let corrections: [Correction]
    /// The facts the invoice was computed from (those of its month or period) and its audit.
    public let inputs: InvoiceFacts
    public let audit: AuditFindings?

    /// What is payable: the invoice's own total and its corrections.
    public var total: Decimal { corrections.reduce(invoice.total) { $0 + $1.amount } }

    /// The month (`YYYY-MM`) or period (`YYYY-Tn`) the invoice is for.
    public var billed: String { Self.billed(invoice) }

    public init(invoice: Invoice, issuedAt: String, issuedBy: String, tariff: Tariff, corrections: [Correction],
                facts: InvoiceFacts, audit: AuditFindings?) {
        let billed = Self.billed(invoice)
        id = Self.id(providerID: invoice.providerId, kind: invoice.kind, billed: billed)
        number = Self.number(providerID: invoice.providerId, kind: invoice.kind, billed: billed)
        self.issuedAt = issuedAt
        self.issuedBy = issuedBy
        self.invoice = invoice
        tariffVersion = tariff.version
        self.corrections = corrections.filter { $0.amount != 0 }.sorted { ($0.billed, $0.invoiceId) < ($1.billed, $1.invoiceId) }
        inputs = Self.relevant(facts, to: invoice)
        self.audit = audit
    }

    // MARK: Identity

    /// The record id of the one invoice of a provider, kind and month or period.
    public static func id(providerID: String, kind: Invoice.Kind, billed: String) -> String {
        RecordID.derived(["invoice", providerID, kind.rawValue, billed])
    }

    /// `CAP-2026-05-3F2A9C1B` or `OUT-2026-T2-3F2A9C1B`: the kind, the month or period, and
    /// the last eight hex digits of the provider's id (random bits: the first ones of a
    /// version 7 id are its creation time, shared by providers created together).
    public static func number(providerID: String, kind: Invoice.Kind, billed: String) -> String {
        "\(kind == .capitation ? "CAP" : "OUT")-\(billed)-\(providerID.suffix(8).uppercased())"
    }

    static func billed(_ invoice: Invoice) -> String {
        invoice.month?.description ?? invoice.period?.description ?? ""
    }

    /// The corrections for `earlier` invoices: each one's amount today (`recompute`) against
    /// what has been settled for it (`settled`: the corrections already issued, by invoice id).
    /// Invoices whose amount has not changed get no line.
    public static func corrections(earlier: [Earlier], settledCorrections: [String: Decimal],
                                   recompute: (Earlier) throws(KasvuError) -> Decimal) throws(KasvuError) -> [Correction] {
        var lines: [Correction] = []
        for invoice in earlier {
            let settled = invoice.amount + (settledCorrections[invoice.id] ?? 0)
            let now = try recompute(invoice)
            if now != settled {
                lines.append(Correction(invoiceId: invoice.id, invoiceNumber: invoice.number, billed: invoice.billed,
                                        settled: settled, recomputed: now))
            }
        }
        return lines
    }

    /// The facts of the invoice's month or period only, in a stable order.
    static func relevant(_ facts: InvoiceFacts, to invoice: Invoice) -> InvoiceFacts {
        var kept = facts
        if let month = invoice.month {
            let counted = Set(ReferralState.billable.map(\.rawValue))
            kept.referrals = facts.referrals.filter { counted.contains($0.state) && $0.start <= month.lastDay && ($0.end ?? month.firstDay) >= month.firstDay }
            kept.contacts = facts.contacts.filter { month.contains($0.date) }
            kept.hours = []
            kept.events = []
        } else if let period = invoice.period {
            kept.hours = facts.hours.filter { period.contains($0.month) }
            let clients = Set(kept.hours.map(\.clientId))
            kept.referrals = facts.referrals.filter { clients.contains($0.clientId) }
            kept.contacts = []
            kept.events = facts.events.filter { $0.kind == InvoiceCalculator.educationStartedKind && period.contains($0.date) }
        }
        kept.referrals.sort { $0.id < $1.id }
        kept.contacts.sort { ($0.clientId, $0.date) < ($1.clientId, $1.date) }
        kept.hours.sort { $0.id < $1.id }
        kept.events.sort { ($0.clientId, $0.date, $0.kind) < ($1.clientId, $1.date, $1.kind) }
        return kept
    }

    // MARK: The record

    /// The longest document a record holds: an outcome invoice of a few thousand clients.
    public static let maxDocumentLength = 4_000_000

    /// What is wrong with an invoice record's values: the month or period its kind needs, the
    /// number derived from them, a document that says the same as the record's fields. The
    /// replica checks it before it commits and the central store when one is pushed.
    public static func recordErrors(_ record: [String: FieldValue]) -> [FieldError] {
        guard let provider = record[.providerId]?.stringValue, let kindText = record[.kind]?.stringValue,
              let kind = Invoice.Kind(rawValue: kindText) else { return [] }
        let month = record[.month]?.stringValue, period = record[.period]?.stringValue
        switch kind {
        case .capitation where month == nil || period != nil:
            return [FieldError(field: "month", message: "a capitation invoice has a month and no period")]
        case .outcome where period == nil || month != nil:
            return [FieldError(field: "period", message: "an outcome invoice has a period and no month")]
        default: break
        }
        let billed = month ?? period ?? ""
        let number = Self.number(providerID: provider, kind: kind, billed: billed)
        if record[.number]?.stringValue != number {
            return [FieldError(field: "number", message: "must be \(number), derived from the provider, kind and \(kind == .capitation ? "month" : "period")")]
        }
        struct Document: Decodable {
            struct Computed: Decodable { let total: String }
            struct Correction: Decodable { let amount: String }
            let id: String, number: String, providerId: String, kind: String, month: String?, period: String?, total: String
            let invoice: Computed
            let corrections: [Correction]
        }
        guard let text = record[.document]?.stringValue,
              let document = try? JSONDecoder().decode(Document.self, from: Data(text.utf8)) else {
            return [FieldError(field: "document", message: "is not an issued invoice document")]
        }
        let same = document.id == Self.id(providerID: provider, kind: kind, billed: billed) && document.number == number
            && document.providerId == provider && document.kind == kindText && document.month == month && document.period == period
            && document.total == record[.total]?.stringValue && document.invoice.total == record[.amount]?.stringValue
        // The payable total is the invoice's own and its correction lines.
        var sum = Money.number(document.invoice.total)
        for line in document.corrections { sum = sum.flatMap { total in Money.number(line.amount).map { total + $0 } } }
        let adds = sum.map { Money.format($0) } == document.total
        return same && adds ? [] : [FieldError(field: "document", message: "does not match the invoice's number, provider, month or period and totals")]
    }

    /// Why the correction lines of a new invoice disagree with the invoices issued before it
    /// (`issued`: the same provider's and kind's, as the central store holds them), or nil.
    /// Each line must correct an earlier invoice, and say as settled for it what its own
    /// amount and the corrections already issued for it add up to: two laptops that issued
    /// before either synced cannot both carry one change.
    public static func correctionRefusal(_ document: Summary, billed: String,
                                         issued: [(id: String, billed: String, amount: Decimal, summary: Summary)]) -> String? {
        for line in document.lines {
            guard let corrected = issued.first(where: { $0.id == line.invoiceId }), corrected.billed < billed else {
                return "a correction line names invoice \(line.invoiceId), which is not an earlier issued invoice of this provider and kind"
            }
            let settled = issued.reduce(corrected.amount) { $0 + ($1.summary.corrections[line.invoiceId] ?? 0) }
            if settled != line.settled {
                return "the correction of invoice \(line.invoiceId) starts from \(Money.format(line.settled)) settled, but \(Money.format(settled)) is; issue it again after a sync"
            }
        }
        return nil
    }

    // MARK: The document

    private enum CodingKeys: String, CodingKey {
        case id, number, providerId, kind, month, period, issuedAt, issuedBy, tariffVersion, invoice, corrections, total, inputs
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(number, forKey: .number)
        try container.encode(invoice.providerId, forKey: .providerId)
        try container.encode(invoice.kind, forKey: .kind)
        if let month = invoice.month { try container.encode(month.description, forKey: .month) }
        if let period = invoice.period { try container.encode(period, forKey: .period) }
        try container.encode(issuedAt, forKey: .issuedAt)
        try container.encode(issuedBy, forKey: .issuedBy)
        try container.encode(tariffVersion, forKey: .tariffVersion)
        try container.encode(invoice, forKey: .invoice)
        try container.encode(corrections, forKey: .corrections)
        try container.encode(Money.format(total), forKey: .total)
        try container.encode(Inputs(facts: inputs, audit: audit), forKey: .inputs)
    }

    /// The document as compact JSON with sorted keys: the bytes stored, and served unchanged.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The inputs part of the document: plain values, money and hours as the text they were.
    private struct Inputs: Encodable {
        let facts: InvoiceFacts
        let audit: AuditFindings?

        private enum Keys: String, CodingKey {
            case capitationBase, hourlyRate, referrals, contacts, hours, events, audit
            case id, clientId, riskGroup, state, start, end, endReason, date, month, kind, seed, rate, verifiedHours, auditedHours
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(facts.provider.capitationBase, forKey: .capitationBase)
            try container.encode(facts.provider.hourlyRate, forKey: .hourlyRate)
            var referrals = container.nestedUnkeyedContainer(forKey: .referrals)
            for referral in facts.referrals {
                var row = referrals.nestedContainer(keyedBy: Keys.self)
                try row.encode(referral.id, forKey: .id)
                try row.encode(referral.clientId, forKey: .clientId)
                try row.encode(referral.riskGroup, forKey: .riskGroup)
                try row.encode(referral.state, forKey: .state)
                try row.encode(referral.start.description, forKey: .start)
                try row.encodeIfPresent(referral.end?.description, forKey: .end)
                try row.encodeIfPresent(referral.endReason, forKey: .endReason)
            }
            var contacts = container.nestedUnkeyedContainer(forKey: .contacts)
            for contact in facts.contacts {
                var row = contacts.nestedContainer(keyedBy: Keys.self)
                try row.encode(contact.clientId, forKey: .clientId)
                try row.encode(contact.date.description, forKey: .date)
            }
            var hours = container.nestedUnkeyedContainer(forKey: .hours)
            for report in facts.hours {
                var row = hours.nestedContainer(keyedBy: Keys.self)
                try row.encode(report.id, forKey: .id)
                try row.encode(report.clientId, forKey: .clientId)
                try row.encode(report.month.description, forKey: .month)
                try row.encode(report.hours, forKey: .hours)
            }
            var events = container.nestedUnkeyedContainer(forKey: .events)
            for event in facts.events {
                var row = events.nestedContainer(keyedBy: Keys.self)
                try row.encode(event.clientId, forKey: .clientId)
                try row.encode(event.date.description, forKey: .date)
                try row.encode(event.kind, forKey: .kind)
            }
            if let audit {
                var row = container.nestedContainer(keyedBy: Keys.self, forKey: .audit)
                try row.encode(audit.seed, forKey: .seed)
                try row.encode(audit.rate, forKey: .rate)
                try row.encode(audit.verifiedHours, forKey: .verifiedHours)
                try row.encode(audit.auditedHours, forKey: .auditedHours)
            }
        }
    }

    /// What a stored document says that the next invoice's corrections need: the corrections
    /// it carried (invoice id → amount) and the audit it applied.
    public struct Summary: Sendable {
        public let corrections: [String: Decimal]
        /// Each correction line: the invoice it corrects and what it says was settled for it.
        public let lines: [(invoiceId: String, settled: Decimal)]
        public let auditSeed: String?
        public let auditRate: String?
        /// The provider's terms it was computed with: a recomputation keeps them, so that a
        /// rate agreed later does not reprice months invoiced before it.
        public let capitationBase: String
        public let hourlyRate: String

        public init(document: String) throws(KasvuError) {
            struct Document: Decodable {
                struct Line: Decodable { let invoiceId: String; let amount: String; let settled: String }
                struct Inputs: Decodable { let audit: Audit?; let capitationBase: String; let hourlyRate: String }
                struct Audit: Decodable { let seed: String; let rate: String }
                let corrections: [Line]
                let inputs: Inputs
            }
            let decoded: Document
            do {
                decoded = try JSONDecoder().decode(Document.self, from: Data(document.utf8))
            } catch {
                throw .validationFailed(field: "document", "is not an issued invoice document")
            }
            var corrections: [String: Decimal] = [:]
            var lines: [(invoiceId: String, settled: Decimal)] = []
            for line in decoded.corrections {
                do throws(FieldError) {
                    corrections[line.invoiceId, default: 0] += try Money.parse(line.amount, field: "document.corrections.amount", allowNegative: true)
                    lines.append((line.invoiceId, try Money.parse(line.settled, field: "document.corrections.settled", allowNegative: true)))
                } catch { throw .validationFailed([error]) }
            }
            self.corrections = corrections
            self.lines = lines
            auditSeed = decoded.inputs.audit?.seed
            auditRate = decoded.inputs.audit?.rate
            capitationBase = decoded.inputs.capitationBase
            hourlyRate = decoded.inputs.hourlyRate
        }
    }
}
