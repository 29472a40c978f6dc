import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica

enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json, csv }

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports for the central office, from a replica's data.",
        discussion: """
            `--open-data` publishes aggregates ready to hand to bidders: no client identifiers, and every count from 1 to 4 \
            shown as <5, together with every figure from which such a count could be derived (README, "Open data").
            """,
        subcommands: [Caseload.self, Outcomes.self, Costs.self, Overlaps.self]
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
                print("providerId,name,pilotArea,pilotAreaName,cap,active,pending,waitlisted,reserved,free,activeGroup1,activeGroup2,activeGroup3")
                for row in rows {
                    let cells = [row.providerID, row.name, row.pilotArea, row.pilotAreaName, "\(row.cap)", "\(row.active)", "\(row.pending)", "\(row.waitlisted)",
                                 "\(row.reserved)", "\(row.free)"] + (1...3).map { "\(row.activeByRiskGroup[$0] ?? 0)" }
                    print(cells.map(CSV.field).joined(separator: ","))
                }
            case .json:
                let objects = rows.map { row -> [String: Any] in
                    ["providerId": row.providerID, "name": row.name, "pilotArea": row.pilotArea, "pilotAreaName": row.pilotAreaName, "cap": row.cap, "active": row.active,
                     "pending": row.pending, "waitlisted": row.waitlisted, "reserved": row.reserved, "free": row.free,
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

        @Flag(help: "Publishable aggregates with small-cell suppression.")
        var openData = false

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
            try OpenData.outcomes(rows, suppress: openData).print(format)
        }
    }

    struct Costs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per pilot area and risk group: what the pilot cost in a period, against the baseline and the 10 % goal.")

        @OptionGroup var replica: ReplicaOptions

        @Option(help: "The four-month period, YYYY-Tn.")
        var period: String

        @Option(help: "Only this pilot area (region code or name).")
        var area: String?

        @Flag(help: "Publishable aggregates with small-cell suppression.")
        var openData = false

        @Option(help: "json or csv.")
        var format: OutputFormat = .csv

        func run() async throws {
            let report: CostReport
            do {
                let term: BillingPeriod
                do throws(FieldError) { term = try BillingPeriod(iso: period) } catch { throw KasvuError.validationFailed([error]) }
                report = try await replica.openAuthorized(for: "report/costs").costReport(period: term, area: area)
            } catch let error as KasvuError {
                throw CLIError(error)
            }
            try OpenData.costs(report, suppress: openData).print(format)
        }
    }

    struct Overlaps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Catalogue overlaps with their monthly cost, clients in overlapping services, retention per service.")

        @OptionGroup var replica: ReplicaOptions

        @Flag(help: "Publishable aggregates with small-cell suppression.")
        var openData = false

        @Option(help: "json or csv.")
        var format: OutputFormat = .csv

        func run() async throws {
            let table: OpenData.Table
            do {
                table = OpenData.overlaps(try await replica.openAuthorized(for: "report/overlaps").overlapsReport(), suppress: openData)
            } catch let error as KasvuError {
                throw CLIError(error)
            }
            try table.print(format)
        }
    }
}

extension OpenData.Table {
    /// CSV, or JSON `{items: [{column: cell}]}`.
    func print(_ format: OutputFormat) throws {
        switch format {
        case .csv:
            Swift.print(csv)
        case .json:
            let objects = rows.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
            Swift.print(String(decoding: try JSONSerialization.data(withJSONObject: ["items": objects], options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        }
    }
}

/// RFC 4180 fields: quoted when they hold a comma, quote or line break.
enum CSV {
    static func field(_ text: String) -> String { OpenData.Table.field(text) }
}
