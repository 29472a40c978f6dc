import Foundation

/// A computed invoice of one provider: a capitation invoice for a month or an outcome invoice
/// for a four-month period. Amounts are exact `Decimal`s already rounded to cents; the JSON
/// form (`Encodable`, see `jsonData()`) prints money as strings with two decimals.
///
/// JSON keys, exactly:
/// - capitation: `providerId, kind, month, lines[clientId, riskGroup, days, daysInMonth, amount],
///   adjustments[clientId, reason, amount], subtotal, total`
/// - outcome: `providerId, kind, period, lines[id, clientId, month, hours, riskGroup, amount],
///   adjustments[reason, sampled, errorRate, amount | reason, clientId, amount], subtotal, total`,
///   and `heldBack[id, clientId, month, reason]` when some hours reports could not be priced
public struct Invoice: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case capitation, outcome
    }

    /// One client's capitation for one referral in the month.
    public struct CapitationLine: Sendable, Hashable, Encodable {
        public let clientId: String
        public let riskGroup: Int
        /// Active days of the referral in the month, start and end inclusive.
        public let days: Int
        public let daysInMonth: Int
        public let amount: Decimal

        private enum CodingKeys: String, CodingKey { case clientId, riskGroup, days, daysInMonth, amount }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(clientId, forKey: .clientId)
            try container.encode(riskGroup, forKey: .riskGroup)
            try container.encode(days, forKey: .days)
            try container.encode(daysInMonth, forKey: .daysInMonth)
            try container.encode(Money.format(amount), forKey: .amount)
        }
    }

    /// One hours report priced for the outcome invoice.
    public struct OutcomeLine: Sendable, Hashable, Encodable {
        /// The hours report id.
        public let id: String
        public let clientId: String
        public let month: YearMonth
        /// The reported hours, as the original text.
        public let hours: String
        public let riskGroup: Int
        public let amount: Decimal

        private enum CodingKeys: String, CodingKey { case id, clientId, month, hours, riskGroup, amount }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(clientId, forKey: .clientId)
            try container.encode(month.description, forKey: .month)
            try container.encode(hours, forKey: .hours)
            try container.encode(riskGroup, forKey: .riskGroup)
            try container.encode(Money.format(amount), forKey: .amount)
        }
    }

    public enum Line: Sendable, Hashable, Encodable {
        case capitation(CapitationLine)
        case outcome(OutcomeLine)

        public var amount: Decimal {
            switch self {
            case .capitation(let line): line.amount
            case .outcome(let line): line.amount
            }
        }

        public var clientId: String {
            switch self {
            case .capitation(let line): line.clientId
            case .outcome(let line): line.clientId
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .capitation(let line): try line.encode(to: encoder)
            case .outcome(let line): try line.encode(to: encoder)
            }
        }
    }

    /// A bonus (positive) or sanction / recovery (negative), rounded to cents on its own.
    public enum Adjustment: Sendable, Hashable, Encodable {
        /// Reason `minimum_service_not_delivered`: the client-month lost the tariff's share of
        /// its capitation. `amount` is negative.
        case minimumServiceNotDelivered(clientId: String, amount: Decimal)
        /// Reason `audit_recovery`: `sampled` hours report ids in sampling order, `errorRate`
        /// = over-claimed / claimed value in the sample (rounded to 6 decimals), `amount` negative or zero.
        case auditRecovery(sampled: [String], errorRate: Decimal, amount: Decimal)
        /// Reason `bonus_education_started`.
        case educationStartedBonus(clientId: String, amount: Decimal)
        /// A tariff's bonus item (``Tariff/BonusItem``), under the item's reason.
        case bonus(reason: String, clientId: String, amount: Decimal)

        public var reason: String {
            switch self {
            case .minimumServiceNotDelivered: "minimum_service_not_delivered"
            case .auditRecovery: "audit_recovery"
            case .educationStartedBonus: "bonus_education_started"
            case .bonus(let reason, _, _): reason
            }
        }

        public var amount: Decimal {
            switch self {
            case .minimumServiceNotDelivered(_, let amount), .auditRecovery(_, _, let amount),
                 .educationStartedBonus(_, let amount), .bonus(_, _, let amount): amount
            }
        }

        /// The client a bonus or sanction is about (none for the audit recovery).
        public var clientId: String? {
            switch self {
            case .minimumServiceNotDelivered(let clientId, _), .educationStartedBonus(let clientId, _), .bonus(_, let clientId, _): clientId
            case .auditRecovery: nil
            }
        }

        private enum CodingKeys: String, CodingKey { case clientId, reason, sampled, errorRate, amount }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(reason, forKey: .reason)
            switch self {
            case .minimumServiceNotDelivered(let clientId, _), .educationStartedBonus(let clientId, _), .bonus(_, let clientId, _):
                try container.encode(clientId, forKey: .clientId)
            case .auditRecovery(let sampled, let errorRate, _):
                try container.encode(sampled, forKey: .sampled)
                try container.encode(Money.format(errorRate, scale: 6), forKey: .errorRate)
            }
            try container.encode(Money.format(amount), forKey: .amount)
        }
    }

    /// An hours report left out of an outcome invoice, and why (no started referral to this
    /// provider, an unreadable amount, an unknown risk group): one bad report holds back only
    /// itself, never the whole period. The central office sorts it out and invoices again.
    public struct HeldBack: Sendable, Hashable, Encodable {
        public let id: String
        public let clientId: String
        public let month: String
        public let reason: String
    }

    public let providerId: String
    public let kind: Kind
    /// Set for capitation invoices.
    public let month: YearMonth?
    /// Set for outcome invoices.
    public let period: BillingPeriod?
    public let lines: [Line]
    public let adjustments: [Adjustment]
    /// Sum of the (rounded) lines.
    public let subtotal: Decimal
    /// Subtotal plus the (rounded) adjustments.
    public let total: Decimal
    /// Hours reports the outcome invoice could not price, in id order.
    public let heldBack: [HeldBack]

    init(providerId: String, kind: Kind, month: YearMonth?, period: BillingPeriod?, lines: [Line], adjustments: [Adjustment],
         heldBack: [HeldBack] = []) {
        self.providerId = providerId
        self.kind = kind
        self.month = month
        self.period = period
        self.lines = lines
        self.adjustments = adjustments
        self.heldBack = heldBack
        subtotal = lines.reduce(Decimal(0)) { $0 + $1.amount }
        total = adjustments.reduce(subtotal) { $0 + $1.amount }
    }

    private enum CodingKeys: String, CodingKey { case providerId, kind, month, period, lines, adjustments, subtotal, total, heldBack }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(providerId, forKey: .providerId)
        try container.encode(kind, forKey: .kind)
        if let month { try container.encode(month.description, forKey: .month) }
        if let period { try container.encode(period, forKey: .period) }
        try container.encode(lines, forKey: .lines)
        try container.encode(adjustments, forKey: .adjustments)
        try container.encode(Money.format(subtotal), forKey: .subtotal)
        try container.encode(Money.format(total), forKey: .total)
        if !heldBack.isEmpty { try container.encode(heldBack, forKey: .heldBack) }
    }

    /// The invoice as JSON with sorted keys (deterministic bytes).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
