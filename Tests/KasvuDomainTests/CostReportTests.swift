import Foundation
import KasvuDomain
import Testing

/// `report/costs` on a small case worked by hand (issue 15, item 5): period 2026-T1
/// (January–April), one provider of Pohjois-Savo (MK11), capitation base 200.00, 10.00 an hour.
@Suite("Costs against the baseline")
struct CostReportTests {
    static func day(_ text: String) -> CalendarDate { try! CalendarDate(iso: text) }

    @Test func aSmallCaseComesOutAsWorkedByHand() throws {
        let facts = InvoiceFacts(
            provider: .init(id: "p", capitationBase: "200.00", hourlyRate: "10.00"),
            referrals: [
                .init(id: "r1", clientId: "c1", riskGroup: 2, state: "active", start: Self.day("2026-01-01")),
                .init(id: "r2", clientId: "c2", riskGroup: 3, state: "active", start: Self.day("2026-03-17")),
            ],
            contacts: ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10"].map { .init(clientId: "c1", date: Self.day($0)) }
                + ["2026-03-20", "2026-04-10"].map { .init(clientId: "c2", date: Self.day($0)) },
            hours: [.init(id: "h1", clientId: "c1", month: try YearMonth(iso: "2026-02"), hours: "100")])
        let services: [String: [String: FieldValue]] = ["s": ["unitCostPerMonth": .string("400.00")]]
        let enrolments: [[String: FieldValue]] = [
            ["clientId": .string("c1"), "serviceId": .string("s"), "startedOn": .string("2026-01-01"), "endedOn": .string("2026-01-31")],
            ["clientId": .string("c3"), "serviceId": .string("s"), "startedOn": .string("2026-04-16")],
        ]
        // c3 has no referral: Siilinjärvi (MK11), confirmed group 3.
        let clients: [String: [String: FieldValue]] = ["c3": ["municipality": .string("749"), "riskGroup": .int(3)]]
        let report = try CostReport(period: try BillingPeriod(iso: "2026-T1"), providers: [.init(area: "MK11", facts: facts)], services: services,
                                    enrolments: enrolments, clients: clients, baselines: ["MK11": 1000, "MK06": 500],
                                    today: Self.day("2026-12-07"))
        #expect(report.rows.count == 2)
        // Group 2: c1's 4 months × 200.00 × 1.0; 100 h × 10.00 × 0.8; January in the service, 31/31 × 400.00.
        let second = try #require(report.rows.first { $0.riskGroup == 2 })
        #expect(second.capitation == 800 && second.outcome == 800 && second.services == 400 && second.total == 2000)
        #expect(second.clients == 1 && second.employed == 1 && second.costPerClient == 2000 && second.costPerEmployed == 2000)
        // Group 3: c2 from 17 March, 200.00 × 1.2 × 15/31 = 116.13, and April 240.00; c3 16–30 April, 400.00 × 15/30 = 200.00.
        let third = try #require(report.rows.first { $0.riskGroup == 3 })
        #expect(third.capitation == Decimal(string: "356.13") && third.outcome == 0 && third.services == 200)
        #expect(third.clients == 2 && third.employed == 0 && third.costPerClient == Decimal(string: "278.07") && third.costPerEmployed == nil)
        // The area: 2556.13 for 3 clients = 852.04 a client, 14.80 % below its baseline of 1000.00: the goal is met.
        let area = try #require(report.areas.first { $0.area == "MK11" })
        #expect(area.total == Decimal(string: "2556.13") && area.clients == 3 && area.costPerClient == Decimal(string: "852.04"))
        #expect(area.savingsPercent == Decimal(string: "14.80") && area.goalMet == true)
        // An area with a baseline and nothing spent has no figures to compare.
        let empty = try #require(report.areas.first { $0.area == "MK06" })
        #expect(empty.clients == 0 && empty.costPerClient == nil && empty.savingsPercent == nil && empty.goalMet == nil)
    }

    @Test func theGoalIsTenPercent() {
        let at = CostReport.Area(area: "MK11", total: 900, clients: 1, baseline: 1000)
        let short = CostReport.Area(area: "MK11", total: Decimal(string: "900.01")!, clients: 1, baseline: 1000)
        #expect(at.savingsPercent == 10 && at.goalMet == true)
        #expect(short.savingsPercent == Decimal(string: "10.00") && short.goalMet == false)  // 9.999 % shows as 10.00 but falls short
        let over = CostReport.Area(area: "MK11", total: 1100, clients: 1, baseline: 1000)
        #expect(over.savingsPercent == -10 && over.goalMet == false)
    }
}
