import Foundation

/// The purchaser's pilot tariff as versioned data (`Resources/tariff.json`), never as code.
///
/// Three payment elements (DESIGN.md §2): monthly capitation weighted by risk group, outcome
/// fees per hour of employment weighted by risk group, and bonus / sanction adjustments.
/// All numbers are exact decimal text; decoding validates every one of them, so a `Tariff`
/// value is always usable by `InvoiceCalculator`.
///
/// ```swift
/// let tariff = Tariff.current                  // version "pilot-2019-1"
/// tariff.checkTerms(capitationBase: "320.00", hourlyRate: "10.00")
/// // [capitationBase: must be between 150.00 and 300.00, got '320.00']
/// ```
public struct Tariff: Sendable, Codable, Hashable {
    /// An inclusive range of money amounts, as decimal text.
    public struct Range: Sendable, Codable, Hashable {
        public let min: String
        public let max: String
    }

    public struct Capitation: Sendable, Codable, Hashable {
        /// Risk group (`"1"`, `"2"`, `"3"`) → weight.
        public let weights: [String: String]
        /// The range within which a provider bids its monthly capitation base.
        public let baseRange: Range
        /// Only `"daily"`: a month line is prorated by active days / days in the month.
        public let proration: String
        /// Only `"monthly"`.
        public let billing: String
    }

    public struct Outcome: Sendable, Codable, Hashable {
        /// Risk group (`"1"`, `"2"`, `"3"`) → weight.
        public let weights: [String: String]
        /// The range within which a provider bids its hourly rate.
        public let hourlyRange: Range
        /// Only `"four-monthly"` (periods `YYYY-T1…T3`).
        public let billing: String
        /// Months after a referral ends in which employment still earns outcome fees: the
        /// provider may report hours for them, and keeps the client for that long. Absent: 12.
        public let windowMonthsAfterEnd: Int?

        /// ``windowMonthsAfterEnd``, 12 when the tariff does not say.
        public var windowMonths: Int { windowMonthsAfterEnd ?? 12 }
    }

    public struct MinimumService: Sendable, Codable, Hashable {
        /// Contacts a client needs with the provider in a month.
        public let contactsPerMonth: Int
        /// The sanction applies only to client-months with at least this many active days.
        public let minActiveDays: Int
        /// The share of the month's capitation lost when the minimum is not met.
        public let shareOfCapitation: String
    }

    public struct Sanctions: Sendable, Codable, Hashable {
        public let minimumService: MinimumService
    }

    public struct Amount: Sendable, Codable, Hashable {
        public let amount: String
    }

    /// A bonus the outcome invoice pays per event of a kind dated within its period: the
    /// business start-up and regional bonuses of a pilot area's model are items, not code.
    ///
    /// ```json
    /// {"reason": "bonus_business_started", "event": "business_started", "amount": "500.00"}
    /// {"reason": "bonus_regional_employment", "event": "employed", "amount": "200.00", "municipalities": ["402"]}
    /// ```
    public struct BonusItem: Sendable, Codable, Hashable {
        /// The adjustment's reason on the invoice: `bonus_` and lowercase words, one per item.
        public let reason: String
        /// The event kind that earns it (`business_started`, `employed`, …).
        public let event: String
        public let amount: String
        /// Regional: only for clients whose home municipality is one of these (absent: all).
        public let municipalities: [String]?
    }

    public struct Bonus: Sendable, Codable, Hashable {
        /// Paid for each `education_started` event of the provider dated within the period.
        public let educationStarted: Amount
        /// Further bonuses (absent in the first version).
        public let items: [BonusItem]?
    }

    public let version: String
    public let capitation: Capitation
    public let outcome: Outcome
    public let sanctions: Sanctions
    public let bonus: Bonus

    /// The tariff shipped with the product (`Resources/tariff.json`).
    public static let current: Tariff = {
        guard let url = Bundle.module.url(forResource: "tariff", withExtension: "json"),
              let data = try? Data(contentsOf: url), let tariff = try? Tariff(json: data)
        else { fatalError("KasvuDomain resource tariff.json is missing or invalid") }
        return tariff
    }()

    /// Decodes and validates a tariff document.
    ///
    /// - Throws: `KasvuError` `validation_failed`, with one field error per problem
    ///   (dotted paths such as `capitation.weights.2`).
    public init(json: Data) throws(KasvuError) {
        do {
            self = try JSONDecoder().decode(Tariff.self, from: json)
        } catch let error as KasvuError {
            throw error
        } catch {
            throw .validationFailed(field: "tariff", "is not a valid tariff document: \(error)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case version, capitation, outcome, sanctions, bonus
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(String.self, forKey: .version)
        capitation = try container.decode(Capitation.self, forKey: .capitation)
        outcome = try container.decode(Outcome.self, forKey: .outcome)
        sanctions = try container.decode(Sanctions.self, forKey: .sanctions)
        bonus = try container.decode(Bonus.self, forKey: .bonus)
        let errors = validate()
        guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }
    }

    /// The longest tariff document a record holds.
    public static let maxDocumentLength = 65_536

    /// The tariff as compact JSON with sorted keys, as a record keeps it.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The one id of an area's tariff version valid from a date: setting it again corrects it.
    public static func recordID(area: String, validFrom: String) -> String {
        RecordID.derived(["tariff", area, validFrom])
    }

    // MARK: Values

    /// The risk groups this tariff prices.
    public static let riskGroups = 1...3

    /// The capitation weight of a risk group, or nil for an unknown group.
    public func capitationWeight(riskGroup: Int) -> Decimal? {
        capitation.weights[String(riskGroup)].flatMap(Self.number)
    }

    /// The outcome-fee weight of a risk group, or nil for an unknown group.
    public func outcomeWeight(riskGroup: Int) -> Decimal? {
        outcome.weights[String(riskGroup)].flatMap(Self.number)
    }

    /// The share of a month's capitation line lost under the minimum-service sanction.
    public var minimumServiceShare: Decimal { Self.number(sanctions.minimumService.shareOfCapitation) ?? 0 }

    /// The bonus paid per `education_started` event.
    public var educationStartedBonus: Decimal { Self.number(bonus.educationStarted.amount) ?? 0 }

    /// The bonus items, in the tariff's order.
    public var bonusItems: [BonusItem] { bonus.items ?? [] }

    /// Reports a provider's capitation base and hourly rate that are not money amounts or lie
    /// outside the purchaser's ranges (fields `capitationBase`, `hourlyRate`). Empty when both fit.
    public func checkTerms(capitationBase: String, hourlyRate: String) -> [FieldError] {
        [
            Self.check(capitationBase, field: "capitationBase", within: capitation.baseRange),
            Self.check(hourlyRate, field: "hourlyRate", within: outcome.hourlyRange),
        ].compactMap { $0 }
    }

    // MARK: Internals

    /// Validated text → Decimal; only used on text the decoder already validated.
    static func number(_ text: String) -> Decimal? {
        try? Money.parse(text, field: "", maxFractionDigits: 6)
    }

    static func check(_ text: String, field: String, within range: Range) -> FieldError? {
        let value: Decimal
        do {
            value = try Money.parse(text, field: field)
        } catch {
            return error
        }
        guard let min = number(range.min), let max = number(range.max), value >= min, value <= max else {
            return FieldError(field: field, message: "must be between \(range.min) and \(range.max), got '\(text)'")
        }
        return nil
    }

    private func validate() -> [FieldError] {
        var errors: [FieldError] = []
        func decimal(_ text: String, _ field: String, maxFractionDigits: Int = 6) -> Decimal? {
            do {
                return try Money.parse(text, field: field, maxFractionDigits: maxFractionDigits)
            } catch {
                errors.append(error)
                return nil
            }
        }
        func range(_ range: Range, _ field: String) {
            if let min = decimal(range.min, "\(field).min", maxFractionDigits: 2),
               let max = decimal(range.max, "\(field).max", maxFractionDigits: 2), min > max {
                errors.append(FieldError(field: field, message: "min \(range.min) is above max \(range.max)"))
            }
        }
        func weights(_ weights: [String: String], _ field: String) {
            let expected = Set(Self.riskGroups.map { "\($0)" })
            if Set(weights.keys) != expected {
                errors.append(FieldError(field: field, message: "must give a weight for exactly the risk groups 1, 2 and 3"))
            }
            for (group, weight) in weights.sorted(by: { $0.key < $1.key }) {
                _ = decimal(weight, "\(field).\(group)")
            }
        }
        func expect(_ value: String, _ allowed: String, _ field: String) {
            if value != allowed { errors.append(FieldError(field: field, message: "only '\(allowed)' is supported, got '\(value)'")) }
        }

        if version.trimmingCharacters(in: .whitespaces).isEmpty {
            errors.append(FieldError(field: "version", message: "must not be empty"))
        }
        weights(capitation.weights, "capitation.weights")
        range(capitation.baseRange, "capitation.baseRange")
        expect(capitation.proration, "daily", "capitation.proration")
        expect(capitation.billing, "monthly", "capitation.billing")
        weights(outcome.weights, "outcome.weights")
        range(outcome.hourlyRange, "outcome.hourlyRange")
        expect(outcome.billing, "four-monthly", "outcome.billing")
        let service = sanctions.minimumService
        if service.contactsPerMonth < 0 {
            errors.append(FieldError(field: "sanctions.minimumService.contactsPerMonth", message: "must not be negative"))
        }
        if !(0...31).contains(service.minActiveDays) {
            errors.append(FieldError(field: "sanctions.minimumService.minActiveDays", message: "must be between 0 and 31"))
        }
        if let share = decimal(service.shareOfCapitation, "sanctions.minimumService.shareOfCapitation"), share > 1 {
            errors.append(FieldError(field: "sanctions.minimumService.shareOfCapitation", message: "must be between 0 and 1"))
        }
        _ = decimal(bonus.educationStarted.amount, "bonus.educationStarted.amount", maxFractionDigits: 2)
        var reasons: Set<String> = ["bonus_education_started"]
        for (index, item) in bonusItems.enumerated() {
            let field = "bonus.items.\(index)"
            let word = item.reason.dropFirst("bonus_".count)
            if !item.reason.hasPrefix("bonus_") || word.isEmpty || !word.allSatisfy({ $0 == "_" || ($0.isASCII && $0.isLowercase) }) {
                errors.append(FieldError(field: "\(field).reason", message: "must be bonus_ followed by lowercase words joined by _, got '\(item.reason)'"))
            } else if !reasons.insert(item.reason).inserted {
                errors.append(FieldError(field: "\(field).reason", message: "\(item.reason) is used twice"))
            }
            if item.event.isEmpty || !item.event.allSatisfy({ $0 == "_" || ($0.isASCII && $0.isLowercase) }) {
                errors.append(FieldError(field: "\(field).event", message: "must be an event kind such as business_started"))
            }
            if let amount = decimal(item.amount, "\(field).amount", maxFractionDigits: 2), amount < 0 {
                errors.append(FieldError(field: "\(field).amount", message: "must not be negative"))
            }
            for code in item.municipalities ?? [] where Municipalities.shipped[code] == nil {
                errors.append(FieldError(field: "\(field).municipalities", message: "unknown municipality '\(code)'"))
            }
        }
        if outcome.windowMonths < 0 || outcome.windowMonths > 120 {
            errors.append(FieldError(field: "outcome.windowMonthsAfterEnd", message: "must be between 0 and 120"))
        }
        return errors
    }
}
