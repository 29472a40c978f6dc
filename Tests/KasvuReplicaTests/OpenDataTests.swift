import Foundation
@testable import KasvuReplica
import KasvuDomain
import Testing

/// Open data (issue 15, item 6): no published row can single out a client.
@Suite("Open data with small-cell suppression")
struct OpenDataTests {
    static func day(_ text: String) -> CalendarDate { try! CalendarDate(iso: text) }

    /// Every count a table publishes is none or at least 5, and so is the difference of every
    /// pair of counts of one row that measure the same people (all, and those with hours or employed).
    static func expectNothingSinglesOut(_ table: OpenData.Table, counts: [String], complements: [(String, String)],
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        for row in table.rows {
            let cell = Dictionary(uniqueKeysWithValues: zip(table.header, row))
            for column in counts {
                let text = cell[column] ?? ""
                #expect(text == OpenData.suppressed || text.isEmpty || (Int(text).map { $0 == 0 || $0 >= 5 } ?? false),
                        "\(column) = \(text) in \(row)", sourceLocation: sourceLocation)
            }
            for (whole, part) in complements {
                guard let all = cell[whole].flatMap({ Int($0) }), let some = cell[part].flatMap({ Int($0) }) else { continue }
                #expect(!OpenData.isSmall(all - some), "\(whole) − \(part) = \(all - some) in \(row)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func outcomesHideSmallGroupsAndTheirComplements() {
        let rows = [
            OutcomeRow(pilotArea: "MK11", riskGroup: 1, clients: 12, clientsWithHours: 10, totalHours: 800, fees: 3200),  // 2 without hours
            OutcomeRow(pilotArea: "MK11", riskGroup: 2, clients: 3, clientsWithHours: 1, totalHours: 40, fees: 320),
            OutcomeRow(pilotArea: "MK11", riskGroup: 3, clients: 20, clientsWithHours: 8, totalHours: 600, fees: 9000),
            OutcomeRow(pilotArea: "MK06", riskGroup: 3, clients: 9, clientsWithHours: 2, totalHours: 75, fees: 1125),
        ]
        let table = OpenData.outcomes(rows)
        Self.expectNothingSinglesOut(table, counts: ["clients", "clientsWithHours"], complements: [("clients", "clientsWithHours")])
        #expect(table.rows[0] == ["MK11", "Pohjois-Savo", "1", "12", "<5", "<5", "800.00", "3200.00"])
        #expect(table.rows[1] == ["MK11", "Pohjois-Savo", "2", "<5", "<5", "<5", "<5", "<5"])
        #expect(table.rows[2] == ["MK11", "Pohjois-Savo", "3", "20", "8", "0.4000", "600.00", "9000.00"])
        // Two clients' hours and fees would be theirs alone.
        #expect(table.rows[3] == ["MK06", "Pirkanmaa", "3", "9", "<5", "<5", "<5", "<5"])
        // The central office's own table keeps every figure.
        #expect(OpenData.outcomes(rows, suppress: false).rows[1][3] == "3")
    }

    @Test func costsHideSmallGroupsAndTheAreasTheyAreIn() throws {
        // Pohjois-Savo: 7 clients in group 2 (5 employed, so 2 not), 2 in group 3; Pirkanmaa: 6 in group 1.
        func facts(_ id: String, _ groups: [(client: String, group: Int, hours: Bool)]) -> InvoiceFacts {
            InvoiceFacts(
                provider: .init(id: id, capitationBase: "200.00", hourlyRate: "10.00"),
                referrals: groups.map { .init(id: "r-\($0.client)", clientId: $0.client, riskGroup: $0.group, state: "active", start: Self.day("2026-01-01")) },
                contacts: groups.flatMap { member in ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10"].map { .init(clientId: member.client, date: Self.day($0)) } },
                hours: groups.filter(\.hours).map { .init(id: "h-\($0.client)", clientId: $0.client, month: try! YearMonth(iso: "2026-02"), hours: "10") })
        }
        let savo = (1...7).map { (client: "s\($0)", group: 2, hours: $0 <= 5) } + (8...9).map { (client: "s\($0)", group: 3, hours: false) }
        let pirkanmaa = (1...6).map { (client: "p\($0)", group: 1, hours: $0 <= 6) }
        let report = try CostReport(period: try BillingPeriod(iso: "2026-T1"),
                                    providers: [.init(area: "MK11", facts: facts("a", savo)), .init(area: "MK06", facts: facts("b", pirkanmaa))],
                                    services: [:], enrolments: [], clients: [:], baselines: ["MK11": 1000, "MK06": 1000],
                                    today: Self.day("2026-12-07"))
        let table = OpenData.costs(report)
        Self.expectNothingSinglesOut(table, counts: ["clients", "employed"], complements: [("clients", "employed")])
        let rows = Dictionary(uniqueKeysWithValues: table.rows.map { ("\($0[1])/\($0[2])", $0) })
        #expect(rows["MK11/2"]?[3] == "7" && rows["MK11/2"]?[4] == "<5" && rows["MK11/2"]?[10] == "<5")  // 7 − 5 = 2 not employed
        #expect(rows["MK11/3"]?.dropFirst(3).prefix(8).allSatisfy { $0 == "<5" } == true)
        // Pohjois-Savo's totals would give its group 3 away by subtraction.
        #expect(rows["MK11/all"]?[3] == "<5" && rows["MK11/all"]?[8] == "<5" && rows["MK11/all"]?[12] == "<5" && rows["MK11/all"]?[11] == "1000.00")
        // Pirkanmaa: all six employed, none hidden.
        #expect(rows["MK06/1"]?[3] == "6" && rows["MK06/1"]?[4] == "6" && rows["MK06/all"]?[3] == "6" && rows["MK06/all"]?[12] != "<5")
        // No client identifier in any cell.
        #expect(!table.csv.contains("s1") && !table.csv.contains("p1") && !table.csv.contains("r-"))
    }

    @Test func overlapsPublishTheCatalogueAndCountClientsOnly() {
        let report = ServiceOverlaps(services: ServiceOverlapTestsData.services, enrolments: ServiceOverlapTestsData.enrolments, today: Self.day("2026-12-07"))
        let table = OpenData.overlaps(report)
        Self.expectNothingSinglesOut(table, counts: ["clients", "started"], complements: [])
        #expect(table.rows.first == ["catalogue_overlap", "rehabilitation", "A | B", "kela: Kela | municipality: Siilinjärvi", "749", "", "", "", "", "1250.00"])
        #expect(table.rows.contains(["client_overlaps", "rehabilitation", "", "", "", "<5", "", "", "", ""]))
        #expect(!table.csv.contains("x,") && !table.csv.contains("e1"))
    }
}

/// A catalogue of two overlapping services, and one client in both.
enum ServiceOverlapTestsData {
    static func strings(_ values: [String: String]) -> [String: FieldValue] { values.mapValues(FieldValue.string) }

    static let services: [(id: String, values: [String: FieldValue])] = [
        ("a", strings(["name": "A", "organiserKind": "kela", "organiserName": "Kela", "category": "rehabilitation", "municipalities": #"["749"]"#,
                       "validFrom": "2026-01-01", "unitCostPerMonth": "850.00"])),
        ("b", strings(["name": "B", "organiserKind": "municipality", "organiserName": "Siilinjärvi", "category": "rehabilitation",
                       "municipalities": #"["749"]"#, "validFrom": "2026-01-01", "unitCostPerMonth": "400.00"])),
    ]
    static let enrolments: [(id: String, values: [String: FieldValue])] = [
        ("e1", strings(["clientId": "x", "serviceId": "a", "state": "started", "startedOn": "2026-03-01"])),
        ("e2", strings(["clientId": "x", "serviceId": "b", "state": "started", "startedOn": "2026-04-01"])),
    ]
}
