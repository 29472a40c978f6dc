import Foundation
import KasvuDomain

/// The reports as tables to publish (issue 15, item 6): aggregates only, no identifiers of
/// clients, and small-cell suppression. A count from 1 to 4 is shown as `<5`; so is every count
/// or figure from which such a count could be derived: the complement of a published count
/// (clients with hours out of clients), the money and hours summed over a suppressed group, and
/// an area's totals when one of its groups is suppressed.
///
/// ```swift
/// let table = OpenData.outcomes(rows)
/// print(table.csv)
/// ```
public enum OpenData {
    /// Counts below this are suppressed.
    public static let threshold = 5
    public static let suppressed = "<\(threshold)"

    /// Whether a count would single out someone: 1…4 (none is no one).
    public static func isSmall(_ count: Int) -> Bool { (1..<threshold).contains(count) }

    public struct Table: Sendable, Hashable {
        public let header: [String]
        public let rows: [[String]]

        /// RFC 4180, one line per row after the header.
        public var csv: String {
            ([header] + rows).map { $0.map(Self.field).joined(separator: ",") }.joined(separator: "\n")
        }

        /// One RFC 4180 field: quoted when it holds a comma, quote or line break.
        public static func field(_ text: String) -> String {
            // Scalars, not Characters: "\r\n" is one Character, which `contains("\n")` misses.
            guard text.unicodeScalars.contains(where: { ",\"\n\r".unicodeScalars.contains($0) }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }

    static func count(_ value: Int, hidden: Bool = false) -> String { hidden || isSmall(value) ? suppressed : "\(value)" }
    static func money(_ value: Decimal?, hidden: Bool) -> String { hidden ? suppressed : value.map { Money.format($0) } ?? "" }

    /// `report/outcomes` per area and risk group. With `suppress` false, every figure as computed
    /// (for the central office's own use).
    public static func outcomes(_ rows: [OutcomeRow], suppress: Bool = true) -> Table {
        Table(header: ["pilotArea", "pilotAreaName", "riskGroup", "clients", "clientsWithHours", "shareWithHours", "totalHours", "fees"],
              rows: rows.map { row in
            let few = suppress && isSmall(row.clients)
            let fewWithHours = suppress && (few || isSmall(row.clientsWithHours) || isSmall(row.clients - row.clientsWithHours))
            let fewPaid = suppress && (few || isSmall(row.clientsWithHours))
            return [row.pilotArea, row.pilotAreaName, "\(row.riskGroup)",
                    suppress ? count(row.clients) : "\(row.clients)",
                    fewWithHours ? suppressed : "\(row.clientsWithHours)",
                    fewWithHours ? suppressed : Money.format(row.shareWithHours, scale: 4),
                    fewPaid ? suppressed : Money.format(row.totalHours), fewPaid ? suppressed : Money.format(row.fees)]
        })
    }

    /// `report/costs`: a row per area and risk group, then a row per area (`riskGroup` `all`).
    public static func costs(_ report: CostReport, suppress: Bool = true) -> Table {
        var rows: [[String]] = []
        var areaHidden: Set<String> = []
        // A client in two groups of an area in the period counts in each group but once in the
        // area: the difference would count such clients.
        for area in report.areas where isSmall(report.rows.filter { $0.area == area.area }.reduce(0) { $0 + $1.clients } - area.clients) {
            areaHidden.insert(area.area)
        }
        for row in report.rows {
            let few = suppress && isSmall(row.clients)
            let fewEmployed = suppress && (few || isSmall(row.employed) || isSmall(row.clients - row.employed))
            if few { areaHidden.insert(row.area) }
            rows.append([report.period.description, row.area, "\(row.riskGroup)", few ? suppressed : "\(row.clients)", fewEmployed ? suppressed : "\(row.employed)",
                         money(row.capitation, hidden: few), money(row.outcome, hidden: few || (suppress && isSmall(row.employed))),
                         money(row.services, hidden: few), money(row.total, hidden: few),
                         money(row.costPerClient, hidden: few), money(row.costPerEmployed, hidden: fewEmployed), "", "", ""])
        }
        for area in report.areas {
            let hidden = suppress && (areaHidden.contains(area.area) || isSmall(area.clients))
            rows.append([report.period.description, area.area, "all", hidden ? suppressed : "\(area.clients)", "", "", "", "",
                         money(area.total, hidden: hidden), money(area.costPerClient, hidden: hidden), "",
                         area.baseline.map { Money.format($0) } ?? "", hidden ? suppressed : area.savingsPercent.map { Money.format($0) } ?? "",
                         hidden ? suppressed : area.goalMet.map { $0 ? "yes" : "no" } ?? ""])
        }
        return Table(header: ["period", "pilotArea", "riskGroup", "clients", "employed", "capitation", "outcome", "services", "total",
                              "costPerClient", "costPerEmployed", "baseline", "savingsPercent", "goalMet"], rows: rows)
    }

    /// `report/overlaps`: catalogue overlaps (no personal data) as they are; clients in
    /// overlapping services counted per category, never listed; retention per service.
    public static func overlaps(_ report: ServiceOverlaps, suppress: Bool = true) -> Table {
        var rows: [[String]] = []
        for pair in report.catalogue {
            rows.append(["catalogue_overlap", pair.category, pair.names.joined(separator: " | "),
                         pair.organisers.joined(separator: " | "), pair.municipalities.joined(separator: " "), "", "", "", "",
                         pair.combinedMonthlyCost.map { Money.format($0) } ?? ""])
        }
        let byCategory = Dictionary(grouping: report.clients, by: \.category).mapValues { Set($0.map(\.clientID)).count }
        for (category, clients) in byCategory.sorted(by: { $0.key < $1.key }) {
            rows.append(["client_overlaps", category, "", "", "", suppress ? count(clients) : "\(clients)", "", "", "", ""])
        }
        for service in report.retention {
            // People, not enrolments: one client enrolled twice is one person.
            let few = suppress && (isSmall(service.started) || isSmall(service.clientsStarted))
            let fewEnded = suppress && (few || isSmall(service.ended) || isSmall(service.interrupted) || isSmall(service.ended - service.interrupted)
                                        || isSmall(service.clientsInterrupted) || isSmall(service.clientsCompleted))
            rows.append(["retention", "", service.name, "", "", "", few ? suppressed : "\(service.started)",
                         fewEnded ? suppressed : service.interruptedShare.map { Money.format($0, scale: 4) } ?? "",
                         few ? suppressed : service.medianMonths.map { Money.format($0, scale: 1) } ?? "", ""])
        }
        return Table(header: ["kind", "category", "services", "organisers", "municipalities", "clients", "started", "interruptedShare",
                              "medianMonths", "combinedMonthlyCost"], rows: rows)
    }
}
