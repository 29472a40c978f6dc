import Foundation
import KasvuDomain
import Testing

/// `report/overlaps` on a small case worked by hand (issue 15, item 4).
@Suite("Service overlaps and retention")
struct ServiceOverlapTests {
    static func service(_ organiserKind: String, _ organiser: String, _ category: String, _ municipalities: String, target: String = "{}",
                        from: String, to: String? = nil, cost: String? = nil, name: String) -> [String: FieldValue] {
        var values: [String: FieldValue] = [
            "name": .string(name), "organiserKind": .string(organiserKind), "organiserName": .string(organiser), "category": .string(category),
            "municipalities": .string(municipalities), "target": .string(target), "validFrom": .string(from),
        ]
        if let to { values["validTo"] = .string(to) }
        if let cost { values["unitCostPerMonth"] = .string(cost) }
        return values
    }

    static func enrolment(_ client: String, _ service: String, _ state: String, started: String? = nil, ended: String? = nil) -> [String: FieldValue] {
        var values: [String: FieldValue] = ["clientId": .string(client), "serviceId": .string(service), "state": .string(state), "startDate": .string("2026-01-01")]
        if let started { values["startedOn"] = .string(started) }
        if let ended { values["endedOn"] = .string(ended) }
        return values
    }

    static func day(_ text: String) -> CalendarDate { try! CalendarDate(iso: text) }

    static let services: [(id: String, values: [String: FieldValue])] = [
        ("a", service("kela", "Kela", "rehabilitation", #"["402","749"]"#, target: #"{"maxAge":29,"minAge":18}"#, from: "2026-01-01", to: "2026-12-31", cost: "850.00", name: "A")),
        ("b", service("municipality", "Siilinjärvi", "rehabilitation", #"["749"]"#, target: #"{"clientTypes":["person"],"riskGroups":[3]}"#, from: "2026-06-01", cost: "400.00", name: "B")),
        // Kela's own second course (same organiser as a); for companies only (no client of b).
        ("c", service("kela", "Kela", "rehabilitation", #"["749"]"#, target: #"{"clientTypes":["company"]}"#, from: "2026-01-01", name: "C")),
        // Offered only in 2025; and in Lapinlahti only, where b is not.
        ("d", service("ngo", "Nuorisoseura", "rehabilitation", #"["402"]"#, from: "2025-01-01", to: "2025-12-31", cost: "100.00", name: "D")),
        ("e", service("ngo", "Nuorisoseura", "coaching", #"["749"]"#, from: "2026-01-01", cost: "300.00", name: "E")),
    ]

    static let enrolments: [(id: String, values: [String: FieldValue])] = [
        ("e1", enrolment("x", "a", "started", started: "2026-03-01")),
        ("e2", enrolment("x", "b", "completed", started: "2026-06-15", ended: "2026-07-15")),
        ("e3", enrolment("x", "c", "interrupted", started: "2026-04-01", ended: "2026-05-01")),
        ("e4", enrolment("y", "a", "planned")),
        ("e5", enrolment("y", "a", "interrupted", started: "2026-01-10", ended: "2026-02-09")),
    ]

    @Test func aSmallCaseComesOutAsWorkedByHand() throws {
        let report = ServiceOverlaps(services: Self.services, enrolments: Self.enrolments, today: Self.day("2026-12-07"))
        // x was in a (Kela) and b (Siilinjärvi) from 15 June to 15 July; c is Kela's too, and ended before b began.
        let overlap = try #require(report.clients.first)
        #expect(report.clients.count == 1 && overlap.clientID == "x" && overlap.category == "rehabilitation")
        #expect(overlap.enrolmentIDs == ["e1", "e2"] && overlap.serviceIDs == ["a", "b"])
        #expect(overlap.from == Self.day("2026-06-15") && overlap.to == Self.day("2026-07-15"))
        // Only a and b: c is a's organiser or b's opposite target, d another year or municipality, e another category.
        let pair = try #require(report.catalogue.first)
        #expect(report.catalogue.count == 1 && pair.category == "rehabilitation" && pair.serviceIDs == ["a", "b"])
        #expect(pair.organisers == ["kela: Kela", "municipality: Siilinjärvi"] && pair.municipalities == ["749"])
        #expect(pair.combinedMonthlyCost == Decimal(string: "1250.00"))
        // a: e1 281 days to today (9.2320 months), e5 30 days (0.9856): median 5.1088 → 5.1; one of one ended interrupted.
        let retention = Dictionary(uniqueKeysWithValues: report.retention.map { ($0.serviceID, $0) })
        #expect(retention["a"]?.started == 2 && retention["a"]?.interrupted == 1 && retention["a"]?.interruptedShare == 1)
        #expect(retention["a"]?.medianMonths == Decimal(string: "5.1"))
        #expect(retention["b"]?.interruptedShare == 0 && retention["b"]?.medianMonths == Decimal(string: "1.0"))
        #expect(retention["c"]?.interruptedShare == 1 && retention["c"]?.medianMonths == Decimal(string: "1.0"))
        #expect(retention["d"]?.started == 0 && retention["d"]?.interruptedShare == nil && retention["d"]?.medianMonths == nil)
    }

    @Test(arguments: [("2026-03-01", "2026-12-07", 281), ("2024-02-28", "2024-03-01", 2), ("2025-12-31", "2026-01-01", 1), ("2000-01-01", "1999-12-31", -1)])
    func daysBetweenDates(_ from: String, _ to: String, _ days: Int) throws {
        #expect(try CalendarDate(iso: to).days(since: CalendarDate(iso: from)) == days)
    }
}
