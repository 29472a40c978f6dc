import Foundation
import KasvuDomain
import Testing

/// The tariff as data (issue 16, item 4): versions per pilot area valid from a date, and bonus
/// items (the Pohjois-Savo model's business start-up and regional bonuses) that are tariff
/// data, not code.
@Suite struct TariffVersionTests {
    /// The built-in tariff with `changes` applied to its JSON.
    static func tariff(_ changes: (inout [String: Any]) -> Void) throws -> Tariff {
        var document = try JSONSerialization.jsonObject(with: Data(Tariff.current.jsonText().utf8)) as! [String: Any]
        changes(&document)
        return try Tariff(json: try JSONSerialization.data(withJSONObject: document))
    }

    static func withItems(_ items: [[String: Any]], version: String = "savo-2027-1") throws -> Tariff {
        try tariff { document in
            document["version"] = version
            var bonus = document["bonus"] as! [String: Any]
            bonus["items"] = items
            document["bonus"] = bonus
        }
    }

    func day(_ text: String) throws -> CalendarDate { try CalendarDate(iso: text) }

    @Test func bonusItemsPayPerEventInThePeriodAndRegionalOnesOnlyInTheirMunicipalities() throws {
        let savo = try Self.withItems([
            ["reason": "bonus_business_started", "event": "business_started", "amount": "500.00"],
            ["reason": "bonus_regional_employment", "event": "employed", "amount": "200.00", "municipalities": ["402"]],
        ])
        let facts = InvoiceFacts(
            provider: .init(id: "p", capitationBase: "200.00", hourlyRate: "10.00"),
            events: [
                .init(clientId: "c2", date: try day("2027-02-01"), kind: "business_started", municipality: "749"),
                .init(clientId: "c1", date: try day("2027-01-15"), kind: "business_started", municipality: "402"),
                .init(clientId: "c3", date: try day("2027-05-02"), kind: "business_started", municipality: "402"),  // T2
                .init(clientId: "c1", date: try day("2027-03-01"), kind: "employed", municipality: "402"),
                .init(clientId: "c2", date: try day("2027-03-01"), kind: "employed", municipality: "749"),  // not the region
                .init(clientId: "c4", date: try day("2027-03-02"), kind: "employed"),  // municipality unknown
            ])
        let invoice = try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: "2027-T1"), audit: nil, tariff: savo)
        #expect(invoice.adjustments.map(\.reason) == ["bonus_business_started", "bonus_business_started", "bonus_regional_employment"])
        #expect(invoice.adjustments.map(\.clientId) == ["c1", "c2", "c1"])
        #expect(invoice.total == 1200)
        let json = String(decoding: try invoice.jsonData(), as: UTF8.self)
        #expect(json.contains(#"{"amount":"200.00","clientId":"c1","reason":"bonus_regional_employment"}"#))
        // The built-in tariff has no items: the same facts earn nothing.
        #expect(try InvoiceCalculator.outcome(facts, period: try BillingPeriod(iso: "2027-T1"), audit: nil, tariff: .current).adjustments.isEmpty)
    }

    @Test(arguments: [
        (#"{"reason": "business", "event": "business_started", "amount": "1.00"}"#, "bonus.items.0.reason"),
        (#"{"reason": "bonus_education_started", "event": "education_started", "amount": "1.00"}"#, "bonus.items.0.reason"),
        (#"{"reason": "bonus_x", "event": "Business Started", "amount": "1.00"}"#, "bonus.items.0.event"),
        (#"{"reason": "bonus_x", "event": "employed", "amount": "1.5.0"}"#, "bonus.items.0.amount"),
        (#"{"reason": "bonus_x", "event": "employed", "amount": "1.00", "municipalities": ["999"]}"#, "bonus.items.0.municipalities"),
    ])
    func aBadBonusItemIsRefusedNamingItsField(_ item: String, _ field: String) throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(item.utf8)) as! [String: Any]
        do {
            _ = try Self.withItems([parsed])
            Issue.record("accepted \(item)")
        } catch let error as KasvuError {
            #expect(error.fieldErrors.map(\.field).contains(field), "\(error.fieldErrors)")
        }
    }

    @Test func aReasonIsUsedOnce() throws {
        let item: [String: Any] = ["reason": "bonus_x", "event": "employed", "amount": "1.00"]
        #expect(throws: KasvuError.self) { _ = try Self.withItems([item, item]) }
    }

    @Test func eachAreaUsesTheVersionValidOnTheDayAndTheBuiltInOneBefore() throws {
        let first = try Self.withItems([], version: "savo-2027-1"), second = try Self.withItems([], version: "savo-2027-2")
        let schedule = TariffSchedule(versions: [
            .init(area: "MK11", validFrom: try day("2027-05-01"), tariff: second),
            .init(area: "MK11", validFrom: try day("2027-01-01"), tariff: first),
        ])
        #expect(schedule.tariff(area: "MK11", on: try day("2026-12-31")).version == Tariff.current.version)
        #expect(schedule.tariff(area: "MK11", on: try day("2027-01-01")).version == "savo-2027-1")
        #expect(schedule.tariff(area: "MK11", on: try day("2027-04-30")).version == "savo-2027-1")
        #expect(schedule.tariff(area: "MK11", on: try day("2027-05-01")).version == "savo-2027-2")
        #expect(schedule.tariff(area: "MK06", on: try day("2027-06-01")).version == Tariff.current.version)
        #expect(schedule.version(area: "MK06", on: try day("2027-06-01")) == nil)
    }

    @Test func theDocumentRoundTripsThroughItsJSON() throws {
        let savo = try Self.withItems([["reason": "bonus_regional_employment", "event": "employed", "amount": "200.00", "municipalities": ["402"]]])
        #expect(try Tariff(json: Data(savo.jsonText().utf8)) == savo)
        #expect(try Tariff(json: Data(Tariff.current.jsonText().utf8)) == .current)
    }
}
