import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica

enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json, csv }

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports for the central office, from a replica's data.",
        subcommands: [Caseload.self, Outcomes.self]
    )

    struct Caseload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per provider: active, pending and waitlisted referrals against the cap, by risk group.")

        @OptionGroup var replica: ReplicaOptions

        @Option(help: "json or csv.")
        var format: OutputFormat = .csv

        func run() async throws {
            let rows: [CaseloadRow]
            do { rows = try await replica.openAuthorized(for: "report/caseload").caseloadReport() } catch let error as KasvuError {
                throw CLIError(error)
            }
            switch format {
            case .csv:
                print("providerId,name,pilotArea,pilotAreaName,cap,active,pending,waitlisted,free,activeGroup1,activeGroup2,activeGroup3")
                for row in rows {
                    let cells = [row.providerID, row.name, row.pilotArea, row.pilotAreaName, "\(row.cap)", "\(row.active)", "\(row.pending)", "\(row.waitlisted)",
                                 "\(row.free)"] + (1...3).map { "\(row.activeByRiskGroup[$0] ?? 0)" }
                    print(cells.map(CSV.field).joined(separator: ","))
                }
            case .json:
                let objects = rows.map { row -> [String: Any] in
                    ["providerId": row.providerID, "name": row.name, "pilotArea": row.pilotArea, "pilotAreaName": row.pilotAreaName, "cap": row.cap, "active": row.active,
                     "pending": row.pending, "waitlisted": row.waitlisted, "free": row.free,
                     "activeByRiskGroup": Dictionary(uniqueKeysWithValues: (1...3).map { ("\($0)", row.activeByRiskGroup[$0] ?? 0) })]
                }
                let data = try JSONSerialization.data(withJSONObject: ["items": objects], options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

extension Report {
    struct Outcomes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per pilot area and risk group: clients, share with any hours, total hours, outcome fees.")

        @OptionGroup var replica: ReplicaOptions

        @Option(help: "Only hours of this four-month period, YYYY-Tn.")
        var period: String?

        @Option(help: "json or csv.")
        var format: OutputFormat = .csv

        func run() async throws {
            let rows: [OutcomeRow]
            do {
                let term = try period.map { text throws(KasvuError) in
                    do throws(FieldError) { return try BillingPeriod(iso: text) } catch { throw .validationFailed([error]) }
                }
                rows = try await replica.openAuthorized(for: "report/outcomes").outcomesReport(period: term)
            } catch let error as KasvuError {
                throw CLIError(error)
            }
            let table = rows.map { row in
                [row.pilotArea, row.pilotAreaName, "\(row.riskGroup)", "\(row.clients)", "\(row.clientsWithHours)", Money.format(row.shareWithHours, scale: 4),
                 Money.format(row.totalHours), Money.format(row.fees)]
            }
            let header = ["pilotArea", "pilotAreaName", "riskGroup", "clients", "clientsWithHours", "shareWithHours", "totalHours", "fees"]
            switch format {
            case .csv:
                print(([header] + table).map { $0.map(CSV.field).joined(separator: ",") }.joined(separator: "\n"))
            case .json:
                let objects = table.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
                print(String(decoding: try JSONSerialization.data(withJSONObject: ["items": objects], options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            }
        }
    }
}

/// RFC 4180 fields: quoted when they hold a comma, quote or line break.
enum CSV {
    static func field(_ text: String) -> String {
        guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
