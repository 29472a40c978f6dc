import Foundation
import KasvuDomain
import KasvuTestSupport
import Testing

/// The golden example `shared/domain/tariff-example.json`, read at test time: its queries are the
/// test arguments and its expected invoices are compared field for field (no numbers copied here).
enum TariffExample {
    static func load() -> [String: Any] { SharedData.json("tariff-example.json") }

    static func section(_ path: String...) -> Any? {
        path.reduce(load() as Any?) { ($0 as? [String: Any])?[$1] }
    }

    static func entries(_ path: String...) -> [[String: Any]] {
        path.reduce(load() as Any?) { ($0 as? [String: Any])?[$1] } as? [[String: Any]] ?? []
    }

    /// The facts of one provider, built from `input` (contacts, hours and events filtered to its own).
    static func facts(for providerId: String) throws -> InvoiceFacts {
        func own(_ name: String) -> [[String: Any]] {
            entries("input", name).filter { $0["providerId"] as? String == providerId }
        }
        let provider = try #require(entries("input", "providers").first { $0["id"] as? String == providerId }, "no provider \(providerId)")
        return InvoiceFacts(
            provider: .init(id: providerId, capitationBase: try text(provider, "capitationBase"), hourlyRate: try text(provider, "hourlyRate")),
            referrals: try own("referrals").map { referral in
                .init(id: try text(referral, "id"), clientId: try text(referral, "clientId"),
                      riskGroup: try #require(referral["riskGroup"] as? Int), state: try text(referral, "state"),
                      start: try CalendarDate(iso: try text(referral, "start")),
                      end: try (referral["end"] as? String).map { iso throws in try CalendarDate(iso: iso) })
            },
            contacts: try own("contacts").map { .init(clientId: try text($0, "clientId"), date: try CalendarDate(iso: try text($0, "date"))) },
            hours: try own("hours").map {
                .init(id: try text($0, "id"), clientId: try text($0, "clientId"), month: try YearMonth(iso: try text($0, "month")),
                      hours: try text($0, "hours"))
            },
            events: try own("events").map {
                .init(clientId: try text($0, "clientId"), date: try CalendarDate(iso: try text($0, "date")), kind: try text($0, "kind"))
            })
    }

    static func text(_ object: [String: Any], _ key: String) throws -> String {
        try #require(object[key] as? String, "missing string \(key) in \(object)")
    }

    /// Canonical JSON text (sorted keys) of a Foundation JSON object.
    static func canonical(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func jsonObject(_ invoice: Invoice) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(invoice)) as? [String: Any])
    }

    /// The expected invoice of `kind` whose `providerId` and `key` (month / period) match.
    static func expected(_ kind: String, providerId: String, key: String, value: String) -> [String: Any]? {
        entries("expected", kind).first { $0["providerId"] as? String == providerId && $0[key] as? String == value }
    }
}

struct CapitationQuery: Sendable, CustomTestStringConvertible {
    let providerId: String
    let month: String
    var testDescription: String { "\(providerId) \(month)" }

    static var all: [CapitationQuery] {
        TariffExample.entries("queries", "capitation").map {
            CapitationQuery(providerId: $0["providerId"] as? String ?? "?", month: $0["month"] as? String ?? "?")
        }
    }
}

struct OutcomeQuery: Sendable, CustomTestStringConvertible {
    let providerId: String
    let period: String
    let audit: AuditFindings?
    var testDescription: String { "\(providerId) \(period)\(audit == nil ? "" : " audited")" }

    static var all: [OutcomeQuery] {
        TariffExample.entries("queries", "outcome").map { query in
            let audit = (query["audit"] as? [String: Any]).map {
                AuditFindings(seed: $0["seed"] as? String ?? "?", rate: $0["rate"] as? String ?? "?",
                              verifiedHours: $0["verifiedHours"] as? [String: String] ?? [:])
            }
            return OutcomeQuery(providerId: query["providerId"] as? String ?? "?", period: query["period"] as? String ?? "?", audit: audit)
        }
    }
}

/// The example's tariff (`input.tariff`) with a version, decoded through `Tariff(json:)`.
func exampleTariff() throws -> Tariff {
    var object = try #require(TariffExample.section("input", "tariff") as? [String: Any])
    object["version"] = "example"
    return try Tariff(json: try JSONSerialization.data(withJSONObject: object))
}

@Suite struct TariffExampleTests {
    @Test(arguments: CapitationQuery.all)
    func capitationInvoiceMatchesExpected(_ query: CapitationQuery) throws {
        let facts = try TariffExample.facts(for: query.providerId)
        let invoice = try InvoiceCalculator.capitation(facts, month: try YearMonth(iso: query.month), tariff: try exampleTariff())
        let expected = try #require(TariffExample.expected("capitation", providerId: query.providerId, key: "month", value: query.month))
        let actual = try TariffExample.jsonObject(invoice)
        #expect(try TariffExample.canonical(actual) == TariffExample.canonical(expected))
        #expect(NSDictionary(dictionary: actual).isEqual(to: expected))
    }

    @Test(arguments: OutcomeQuery.all)
    func outcomeInvoiceMatchesExpected(_ query: OutcomeQuery) throws {
        let facts = try TariffExample.facts(for: query.providerId)
        let invoice = try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: query.period), audit: query.audit,
                                                    tariff: try exampleTariff())
        let expected = try #require(TariffExample.expected("outcome", providerId: query.providerId, key: "period", value: query.period))
        let actual = try TariffExample.jsonObject(invoice)
        #expect(try TariffExample.canonical(actual) == TariffExample.canonical(expected))
        #expect(NSDictionary(dictionary: actual).isEqual(to: expected))
    }

    @Test func everyExpectedInvoiceIsQueried() {
        #expect(!CapitationQuery.all.isEmpty && !OutcomeQuery.all.isEmpty)
        #expect(CapitationQuery.all.count == TariffExample.entries("expected", "capitation").count)
        #expect(OutcomeQuery.all.count == TariffExample.entries("expected", "outcome").count)
    }

    @Test(arguments: CapitationQuery.all)
    func capitationIgnoresFactOrder(_ query: CapitationQuery) throws {
        let facts = try TariffExample.facts(for: query.providerId)
        var reversed = facts
        reversed.referrals.reverse()
        reversed.contacts.reverse()
        let month = try YearMonth(iso: query.month)
        let tariff = try exampleTariff()
        #expect(try InvoiceCalculator.capitation(facts, month: month, tariff: tariff)
            == InvoiceCalculator.capitation(reversed, month: month, tariff: tariff))
    }

    @Test(arguments: OutcomeQuery.all)
    func outcomeIgnoresFactOrder(_ query: OutcomeQuery) throws {
        let facts = try TariffExample.facts(for: query.providerId)
        var reversed = facts
        reversed.referrals.reverse()
        reversed.hours.reverse()
        reversed.events.reverse()
        let period = try BillingPeriod(iso: query.period)
        let tariff = try exampleTariff()
        #expect(try InvoiceCalculator.outcome(facts, period: period, audit: query.audit, tariff: tariff)
            == InvoiceCalculator.outcome(reversed, period: period, audit: query.audit, tariff: tariff))
    }

    /// `Resources/tariff.json` is the example's `input.tariff` plus its version and the outcome
    /// window (months after a referral ends that still earn outcome fees), which the example
    /// does not state.
    @Test func shippedTariffIsTheExampleTariff() throws {
        let exampleTariff = try #require(TariffExample.section("input", "tariff") as? [String: Any])
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/KasvuDomain/Resources/tariff.json")
        /// The document without the parameters the example does not have.
        func withoutAdditions(_ document: [String: Any]) -> [String: Any] {
            var document = document
            document.removeValue(forKey: "version")
            var outcome = document["outcome"] as? [String: Any] ?? [:]
            #expect(outcome.removeValue(forKey: "windowMonthsAfterEnd") as? Int == 12)
            document["outcome"] = outcome
            return document
        }
        let shipped = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(shipped["version"] as? String == "pilot-2019-1")
        #expect(try TariffExample.canonical(withoutAdditions(shipped)) == TariffExample.canonical(exampleTariff))

        // Decoding loses nothing: the loaded tariff encodes back to the same document.
        #expect(Tariff.current.version == "pilot-2019-1" && Tariff.current.outcome.windowMonths == 12)
        let loaded = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(Tariff.current)) as? [String: Any])
        #expect(try TariffExample.canonical(withoutAdditions(loaded)) == TariffExample.canonical(exampleTariff))
    }
}

@Suite struct MoneyTests {
    @Test(arguments: [
        ("0.005", "0.01"), ("-0.005", "-0.01"), ("0.015", "0.02"), ("-0.015", "-0.02"), ("2.675", "2.68"), ("-2.675", "-2.68"),
        ("1.004", "1.00"), ("-1.004", "-1.00"), ("0.0049", "0.00"), ("-0.001", "0.00"), ("180", "180.00"), ("37.5", "37.50"),
        ("123456789012345.125", "123456789012345.13"), ("0", "0.00"),
    ])
    func roundsHalfAwayFromZeroToCents(_ input: String, _ expected: String) throws {
        let value = try Money.parse(input, field: "x", maxFractionDigits: 6, allowNegative: true)
        #expect(Money.format(value) == expected)
        #expect(Money.round(value) == (try Money.parse(expected, field: "x", allowNegative: true)))
    }

    @Test(arguments: [("0.04477611940298507", "0.044776"), ("0.0000005", "0.000001"), ("-0.0000005", "-0.000001"), ("1", "1.000000")])
    func formatsSixDecimals(_ input: String, _ expected: String) throws {
        #expect(Money.format(try Money.parse(input, field: "x", maxFractionDigits: 20, allowNegative: true), scale: 6) == expected)
    }

    @Test func negativeZeroPrintsAsZero() {
        #expect(Money.format(-Decimal(0)) == "0.00")
        #expect(Money.format(Decimal(string: "-0.004", locale: Locale(identifier: "en_US_POSIX"))!) == "0.00")
    }

    @Test(arguments: ["", "1e3", "1,5", " 1", "1.", ".5", "-1", "1.234", "NaN", "0x10", "1 000"])
    func rejectsNonDecimalText(_ text: String) {
        #expect(throws: FieldError.self) { try Money.parse(text, field: "amount") }
    }
}

/// A tariff written in the test, so that rounding cases do not depend on the shipped numbers.
private let roundingTariffJSON = """
{"version": "test", "capitation": {"weights": {"1": "0.9", "2": "1.0", "3": "1.2"}, "baseRange": {"min": "100.00", "max": "300.00"},
 "proration": "daily", "billing": "monthly"},
 "outcome": {"weights": {"1": "0.4", "2": "0.8", "3": "1.5"}, "hourlyRange": {"min": "5.00", "max": "15.00"}, "billing": "four-monthly"},
 "sanctions": {"minimumService": {"contactsPerMonth": 1, "minActiveDays": 14, "shareOfCapitation": "0.5"}},
 "bonus": {"educationStarted": {"amount": "300.00"}}}
"""

@Suite struct InvoiceCalculatorTests {
    let tariff: Tariff
    let provider = InvoiceFacts.Provider(id: "p", capitationBase: "200.01", hourlyRate: "11.00")

    init() throws { tariff = try Tariff(json: Data(roundingTariffJSON.utf8)) }

    func date(_ text: String) throws -> CalendarDate { try CalendarDate(iso: text) }

    @Test func outcomeLineRoundsHalfUp() throws {
        // 0.01 h × 11.00 × 1.5 = 0.165 → 0.17 (half-even would give 0.16).
        let facts = InvoiceFacts(provider: provider,
                                 referrals: [.init(id: "r", clientId: "c", riskGroup: 3, state: "active", start: try date("2019-01-01"))],
                                 hours: [.init(id: "h", clientId: "c", month: try YearMonth(iso: "2019-02"), hours: "0.01")])
        let invoice = try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: "2019-T1"), audit: nil, tariff: tariff)
        let object = try TariffExample.jsonObject(invoice)
        #expect(object["subtotal"] as? String == "0.17")
        #expect(((object["lines"] as? [[String: Any]])?.first?["hours"]) as? String == "0.01")
    }

    @Test func sanctionRoundsHalfAwayFromZero() throws {
        // 200.01 × 1.0 × 31/31 = 200.01; half of it is −100.005 → −100.01.
        let facts = InvoiceFacts(provider: provider,
                                 referrals: [.init(id: "r", clientId: "c", riskGroup: 2, state: "active", start: try date("2019-01-01"))])
        let invoice = try InvoiceCalculator.capitation(facts, month: try YearMonth(iso: "2019-03"), tariff: tariff)
        let object = try TariffExample.jsonObject(invoice)
        #expect(((object["adjustments"] as? [[String: Any]])?.first?["amount"]) as? String == "-100.01")
        #expect(object["total"] as? String == "100.00")
    }

    @Test func capitationCountsStartAndEndInclusively() throws {
        let facts = InvoiceFacts(provider: provider, referrals: [
            .init(id: "r1", clientId: "a", riskGroup: 2, state: "ended", start: try date("2019-02-28"), end: try date("2019-03-01")),
            .init(id: "r2", clientId: "b", riskGroup: 2, state: "ended", start: try date("2019-03-05"), end: try date("2019-03-05")),
            .init(id: "r3", clientId: "c", riskGroup: 2, state: "ended", start: try date("2019-01-05"), end: try date("2019-02-28")),
            .init(id: "r4", clientId: "d", riskGroup: 2, state: "pending", start: try date("2019-01-05")),
            .init(id: "r5", clientId: "e", riskGroup: 2, state: "active", start: try date("2019-04-01")),
        ])
        let invoice = try InvoiceCalculator.capitation(facts, month: try YearMonth(iso: "2019-03"), tariff: tariff)
        let lines = invoice.lines.compactMap { if case .capitation(let line) = $0 { line } else { nil } }
        #expect(lines.map(\.clientId) == ["a", "b"])
        #expect(lines.map(\.days) == [1, 1])
        #expect(invoice.adjustments.isEmpty)
    }

    @Test func auditWithoutVerifiedSampleRecoversNothing() throws {
        let facts = InvoiceFacts(provider: provider,
                                 referrals: [.init(id: "r", clientId: "c", riskGroup: 1, state: "active", start: try date("2019-01-01"))],
                                 hours: [.init(id: "h", clientId: "c", month: try YearMonth(iso: "2019-03"), hours: "10")])
        let invoice = try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: "2019-T1"),
                                                    audit: AuditFindings(seed: "s", rate: "1", verifiedHours: [:]), tariff: tariff)
        let adjustment = try #require((try TariffExample.jsonObject(invoice)["adjustments"] as? [[String: Any]])?.first)
        #expect(try TariffExample.canonical(adjustment)
            == TariffExample.canonical(["reason": "audit_recovery", "sampled": ["h"], "errorRate": "0.000000", "amount": "0.00"]))
    }

    /// One bad hours report holds back only itself: the rest of the period is invoiced.
    @Test func badHoursReportsAreHeldBackNotTheWholePeriod() throws {
        let facts = InvoiceFacts(provider: provider,
                                 referrals: [.init(id: "r", clientId: "c", riskGroup: 3, state: "active", start: try date("2019-01-01"))],
                                 hours: [.init(id: "h1", clientId: "c", month: try YearMonth(iso: "2019-02"), hours: "10"),
                                         .init(id: "h2", clientId: "x", month: try YearMonth(iso: "2019-03"), hours: "1"),
                                         .init(id: "h3", clientId: "c", month: try YearMonth(iso: "2019-03"), hours: "1e3")])
        let invoice = try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: "2019-T1"), audit: nil, tariff: tariff)
        #expect(invoice.lines.count == 1)
        #expect(Money.format(invoice.total) == "165.00")  // 10 h × 11.00 × 1.5
        #expect(invoice.heldBack.map(\.id) == ["h2", "h3"])
        let object = try TariffExample.jsonObject(invoice)
        #expect((object["heldBack"] as? [[String: Any]])?.first?["reason"] as? String == "the client has no started referral to this provider")
        // An invoice with nothing held back has no such key: the golden invoices stay as they are.
        let clean = InvoiceFacts(provider: provider, referrals: facts.referrals, hours: [facts.hours[0]])
        #expect(try TariffExample.jsonObject(InvoiceCalculator.outcome(clean, period: try BillingPeriod(iso: "2019-T1"), audit: nil, tariff: tariff))["heldBack"] == nil)
    }

    /// Hours after a referral ended earn fees within the tariff's outcome window only.
    @Test func hoursBeyondTheOutcomeWindowAreHeldBack() throws {
        let referral = InvoiceFacts.Referral(id: "r", clientId: "c", riskGroup: 2, state: "ended", start: try date("2018-01-01"), end: try date("2018-02-15"))
        let facts = InvoiceFacts(provider: provider, referrals: [referral],
                                 hours: [.init(id: "inside", clientId: "c", month: try YearMonth(iso: "2019-02"), hours: "10"),
                                         .init(id: "outside", clientId: "c", month: try YearMonth(iso: "2019-03"), hours: "10")])
        let invoice = try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: "2019-T1"), audit: nil, tariff: tariff)
        #expect(invoice.lines.count == 1)
        #expect(invoice.heldBack.map(\.id) == ["outside"])
        #expect(invoice.heldBack.first?.reason.contains("outcome window") == true)
    }

    @Test(arguments: [("2018-02", nil), ("2019-02", nil), ("2019-03", "the last month"), ("2017-12", "had started by")])
    func theOutcomeWindowRuleIsTheSameForReports(month: String, refusal: String?) throws {
        let referral: [String: FieldValue] = ["providerId": .string("p"), "state": .string("ended"), "startDate": .string("2018-01-01"), "endDate": .string("2018-02-15")]
        let answer = WriteRules.hoursReferralRefusal(try YearMonth(iso: month), providerID: "p", referrals: [referral], windowMonths: 12)
        #expect(refusal.map { answer?.contains($0) == true } ?? (answer == nil), "\(month): \(answer ?? "accepted")")
    }

    @Test func invalidFactsAreValidationErrors() throws {
        let ended = InvoiceFacts(provider: provider,
                                 referrals: [.init(id: "r", clientId: "c", riskGroup: 2, state: "ended", start: try date("2019-01-01"))])
        #expect(throws: KasvuError.self) { try InvoiceCalculator.capitation(ended, month: try YearMonth(iso: "2019-03"), tariff: tariff) }

        let unknownGroup = InvoiceFacts(provider: provider,
                                        referrals: [.init(id: "r", clientId: "c", riskGroup: 4, state: "active", start: try date("2019-01-01"))])
        let march = try YearMonth(iso: "2019-03")
        do {
            _ = try InvoiceCalculator.capitation(unknownGroup, month: march, tariff: tariff)
            Issue.record("an unknown risk group must be refused")
        } catch {
            #expect(error.kind == .validationFailed)
            #expect(error.fieldErrors.map(\.field) == ["referrals.r.riskGroup"])
        }


        let outOfRange = InvoiceFacts(provider: .init(id: "p", capitationBase: "99.99", hourlyRate: "15.01"))
        #expect(throws: KasvuError.self) { try InvoiceCalculator.capitation(outOfRange, month: try YearMonth(iso: "2019-03"), tariff: tariff) }
        #expect(throws: KasvuError.self) {
            try InvoiceCalculator.outcome(outOfRange, period: try BillingPeriod(iso: "2019-T1"), audit: nil, tariff: tariff)
        }
    }
}

@Suite struct BillingPeriodTests {
    @Test(arguments: [("2019-T1", ["2019-01", "2019-02", "2019-03", "2019-04"]),
                      ("2019-T2", ["2019-05", "2019-06", "2019-07", "2019-08"]),
                      ("2024-T3", ["2024-09", "2024-10", "2024-11", "2024-12"])])
    func parsesTerms(_ text: String, _ months: [String]) throws {
        let period = try BillingPeriod(iso: text)
        #expect(period.description == text)
        #expect(period.months.map(\.description) == months)
        for month in months { #expect(period.contains(try YearMonth(iso: month))) }
    }

    @Test(arguments: ["2019-T0", "2019-T4", "2019-t1", "2019T1", "19-T1", "2019-Q1", "2019-T1 ", "2019-T01", "0000-T1", ""])
    func rejectsMalformedPeriods(_ text: String) {
        #expect(throws: FieldError.self) { try BillingPeriod(iso: text) }
    }

    @Test func containsDatesOfItsMonthsOnly() throws {
        let period = try BillingPeriod(iso: "2019-T1")
        #expect(period.contains(try CalendarDate(iso: "2019-01-01")))
        #expect(period.contains(try CalendarDate(iso: "2019-04-30")))
        #expect(!period.contains(try CalendarDate(iso: "2019-05-01")))
        #expect(!period.contains(try CalendarDate(iso: "2018-04-01")))
        #expect(!period.contains(try YearMonth(iso: "2020-01")))
        #expect(try BillingPeriod(iso: "2019-T3") < BillingPeriod(iso: "2020-T1"))
    }
}

@Suite struct AuditSamplerTests {
    let ids = (1...12).map { "h\($0)" }

    @Test func ranksBySeededSHA256AndIsDeterministic() {
        let rate = Decimal(string: "0.5", locale: Locale(identifier: "en_US_POSIX"))!
        let sample = AuditSampler.sample(hoursIDs: ids, seed: "seed", rate: rate)
        #expect(sample == AuditSampler.sample(hoursIDs: ids.reversed(), seed: "seed", rate: rate))
        let ranked = ids.sorted { SHA256.hex(Array("seed:\($0)".utf8)) < SHA256.hex(Array("seed:\($1)".utf8)) }
        #expect(sample == Array(ranked.prefix(6)))
        #expect(sample != AuditSampler.sample(hoursIDs: ids, seed: "other", rate: rate))
    }

    @Test(arguments: [(5, "0.4", 2), (5, "0.41", 3), (5, "0", 0), (5, "1", 5), (1, "0.01", 1), (10, "0.25", 3), (3, "1.5", 3), (0, "0.5", 0)])
    func takesTheCeilingOfRateTimesCount(_ count: Int, _ rate: String, _ expected: Int) throws {
        let value = try Money.parse(rate, field: "rate", maxFractionDigits: 6)
        #expect(AuditSampler.sampleSize(count: count, rate: value) == expected)
        #expect(AuditSampler.sample(hoursIDs: Array(ids.prefix(count)), seed: "s", rate: value).count == expected)
    }
}

@Suite struct TariffTermsTests {
    let tariff = Tariff.current

    func shifted(_ text: String, by cents: String) throws -> String {
        Money.format(try Money.parse(text, field: "x") + (try Money.parse(cents, field: "x", allowNegative: true)))
    }

    @Test func boundsAreInclusive() {
        #expect(tariff.checkTerms(capitationBase: tariff.capitation.baseRange.min, hourlyRate: tariff.outcome.hourlyRange.max).isEmpty)
        #expect(tariff.checkTerms(capitationBase: tariff.capitation.baseRange.max, hourlyRate: tariff.outcome.hourlyRange.min).isEmpty)
    }

    @Test func outsideTheRangesIsReported() throws {
        let below = tariff.checkTerms(capitationBase: try shifted(tariff.capitation.baseRange.min, by: "-0.01"),
                                      hourlyRate: try shifted(tariff.outcome.hourlyRange.max, by: "0.01"))
        #expect(below.map(\.field) == ["capitationBase", "hourlyRate"])
        let above = tariff.checkTerms(capitationBase: try shifted(tariff.capitation.baseRange.max, by: "0.01"),
                                      hourlyRate: tariff.outcome.hourlyRange.min)
        #expect(above.map(\.field) == ["capitationBase"])
    }

    @Test(arguments: ["", "abc", "200,00", "1e2", "-200.00", "200.001"])
    func malformedAmountsAreReported(_ text: String) {
        #expect(tariff.checkTerms(capitationBase: text, hourlyRate: text).map(\.field) == ["capitationBase", "hourlyRate"])
    }

    @Test(arguments: [
        ("capitation.weights", #""weights": {"1": "0.9", "2": "1.0", "3": "1.2"}"#, #""weights": {"1": "0.9", "2": "1.0"}"#),
        ("capitation.weights.3", #""3": "1.2""#, #""3": "1,2""#),
        ("capitation.baseRange", #""min": "100.00""#, #""min": "400.00""#),
        ("capitation.proration", #""proration": "daily""#, #""proration": "none""#),
        ("sanctions.minimumService.shareOfCapitation", #""shareOfCapitation": "0.5""#, #""shareOfCapitation": "1.5""#),
    ])
    func invalidTariffsAreRefused(_ field: String, _ original: String, _ replacement: String) throws {
        let json = roundingTariffJSON.replacingOccurrences(of: original, with: replacement)
        #expect(json != roundingTariffJSON)
        do {
            _ = try Tariff(json: Data(json.utf8))
            Issue.record("\(field) must be refused")
        } catch {
            #expect(error.kind == .validationFailed)
            #expect(error.fieldErrors.map(\.field).contains(field), "\(error.fieldErrors)")
        }
    }
}
