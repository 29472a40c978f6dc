import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica

struct InvoiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice",
        abstract: "Compute, issue, list and print a provider's invoices.",
        subcommands: [Compute.self, Issue.self, Show.self, List.self],
        defaultSubcommand: Compute.self
    )
}

extension InvoiceCommand {
struct Compute: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute a provider's capitation invoice (--month) or outcome invoice (--period).",
        discussion: "Amounts are exact decimals, each line and adjustment rounded half-up to cents. With --audit-seed and --audit-rate the outcome invoice carries the audit recovery from findings stored with `audit/record`. Nothing is stored: `invoice issue` freezes an invoice."
    )

    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var billed: Billed

    @Option(help: "json or csv.")
    var format: OutputFormat = .json

    func run() async throws {
        let invoice: Invoice
        do {
            let opened = try replica.openAuthorized(for: "invoice/compute")
            if let month = billed.month {
                invoice = try await opened.capitationInvoice(providerID: billed.provider, month: try parse { () throws(FieldError) in try YearMonth(iso: month) })
            } else {
                let term = try parse { () throws(FieldError) in try BillingPeriod(iso: billed.period ?? "") }
                invoice = try await opened.outcomeInvoice(providerID: billed.provider, period: term, audit: billed.audit)
            }
        } catch let error as KasvuError {
            throw CLIError(error)
        }
        switch format {
        case .json:
            let object = try JSONSerialization.jsonObject(with: try invoice.jsonData())
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        case .csv:
            print(try Self.csv(invoice))
        }
    }

    /// One row per line and adjustment, then subtotal and total, then any held-back hours
    /// reports: `type,id,clientId,detail,amount`.
    static func csv(_ invoice: Invoice) throws -> String {
        (["type,id,clientId,detail,amount"] + rows(try JSONDecoder().decode(Rows.self, from: try invoice.jsonData()))).joined(separator: "\n")
    }

    /// An invoice's JSON as the CSV needs it: computed now, or inside an issued document.
    struct Rows: Decodable {
        struct Line: Decodable {
            let id: String?, clientId: String, riskGroup: Int, days: Int?, daysInMonth: Int?, month: String?, hours: String?, amount: String
        }
        struct Adjustment: Decodable { let reason: String, amount: String }
        struct HeldBack: Decodable { let id: String, clientId: String, month: String, reason: String }
        let lines: [Line], adjustments: [Adjustment], subtotal: String, total: String, heldBack: [HeldBack]?
    }

    static func rows(_ invoice: Rows) -> [String] {
        var rows: [String] = []
        for line in invoice.lines {
            let detail = if let month = line.month, let hours = line.hours {
                "\(month) \(hours) h, group \(line.riskGroup)"
            } else {
                "group \(line.riskGroup), \(line.days ?? 0)/\(line.daysInMonth ?? 0) days"
            }
            rows.append(["line", line.id ?? "", line.clientId, detail, line.amount].map(CSV.field).joined(separator: ","))
        }
        for adjustment in invoice.adjustments {
            rows.append(["adjustment", "", "", adjustment.reason, adjustment.amount].map(CSV.field).joined(separator: ","))
        }
        rows.append("subtotal,,,,\(invoice.subtotal)")
        rows.append("total,,,,\(invoice.total)")
        for held in invoice.heldBack ?? [] {
            rows.append(["held_back", held.id, held.clientId, "\(held.month): \(held.reason)", ""].map(CSV.field).joined(separator: ","))
        }
        return rows
    }

    private func parse<T>(_ body: () throws(FieldError) -> T) throws -> T {
        do throws(FieldError) { return try body() } catch { throw CLIError(.validationFailed([error])) }
    }
}
}

extension InvoiceCommand {
    /// Options that name one month or period of one provider.
    struct Billed: ParsableArguments {
        @Option(help: "The provider's id.")
        var provider: String

        @Option(help: "Month of a capitation invoice, YYYY-MM.")
        var month: String?

        @Option(help: "Four-month period of an outcome invoice, YYYY-T1, -T2 or -T3.")
        var period: String?

        @Option(help: "Seed of the audit sample (outcome invoices).")
        var auditSeed: String?

        @Option(help: "Share of hours reports sampled, e.g. 0.4 (outcome invoices).")
        var auditRate: String?

        func validate() throws {
            guard (month == nil) != (period == nil) else { throw ValidationError("give exactly one of --month or --period") }
            guard (auditSeed == nil) == (auditRate == nil) else { throw ValidationError("--audit-seed and --audit-rate go together") }
        }

        var audit: AuditRequest? { auditSeed.map { AuditRequest(seed: $0, rate: auditRate ?? "0") } }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a provider's invoice for a month or period that is over: numbered, frozen with its inputs, never changed.",
            discussion: "Changes since to the data of the provider's earlier issued invoices of the same kind appear on it as correction lines. Prints the issued document."
        )

        @OptionGroup var replica: ReplicaOptions
        @OptionGroup var billed: Billed

        @Option(help: "json or csv.")
        var format: OutputFormat = .json

        func run() async throws {
            let issued: IssuedInvoiceRecord
            do {
                issued = try await replica.openAuthorized(for: "invoice/issue").issueInvoice(
                    providerID: billed.provider, kind: billed.month == nil ? .outcome : .capitation, billed: billed.month ?? billed.period ?? "",
                    audit: billed.audit,
                    issuedBy: ProcessInfo.processInfo.environment["USER"] ?? "kasvu")
            } catch let error as KasvuError {
                throw CLIError(error)
            }
            try Show.print(issued, format: format)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an issued invoice by number or id: its stored document byte for byte (json), or its lines (csv)."
        )

        @OptionGroup var replica: ReplicaOptions

        @Argument(help: "The invoice's number (CAP-2026-05-…) or id.")
        var invoice: String

        @Option(help: "json or csv.")
        var format: OutputFormat = .json

        func run() async throws {
            let issued: IssuedInvoiceRecord
            do {
                issued = try await replica.openAuthorized(for: "invoice/get").issuedInvoice(invoice)
            } catch let error as KasvuError {
                throw CLIError(error)
            }
            try Self.print(issued, format: format)
        }

        static func print(_ issued: IssuedInvoiceRecord, format: OutputFormat) throws {
            switch format {
            case .json:
                Swift.print(issued.document)
            case .csv:
                Swift.print(try csv(issued))
            }
        }

        /// The computed invoice's rows (``Compute/csv(_:)``), then one row per correction
        /// (`correction,<invoice number>,,<billed>: settled … recomputed …,amount`) and the payable total.
        static func csv(_ issued: IssuedInvoiceRecord) throws -> String {
            struct Document: Decodable {
                struct Correction: Decodable { let invoiceNumber: String, billed: String, settled: String, recomputed: String, amount: String }
                let invoice: Compute.Rows
                let corrections: [Correction]
            }
            let document = try JSONDecoder().decode(Document.self, from: Data(issued.document.utf8))
            var rows = [["number", issued.number, "", "\(issued.kind.rawValue) \(issued.billed), issued \(issued.issuedAt)", ""].map(CSV.field).joined(separator: ",")]
            rows += Compute.rows(document.invoice)
            for correction in document.corrections {
                rows.append(["correction", correction.invoiceNumber, "", "\(correction.billed): settled \(correction.settled), recomputed \(correction.recomputed)",
                             correction.amount].map(CSV.field).joined(separator: ","))
            }
            rows.append("payable,,,,\(issued.total)")
            return (["type,id,clientId,detail,amount"] + rows).joined(separator: "\n")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List issued invoices, by month or period then number.")

        @OptionGroup var replica: ReplicaOptions

        @Option(help: "Only this provider's invoices.")
        var provider: String?

        @Option(help: "json or csv.")
        var format: OutputFormat = .csv

        func run() async throws {
            let invoices: [IssuedInvoiceRecord]
            do {
                invoices = try await replica.openAuthorized(for: "invoice/list").issuedInvoices(providerID: provider)
            } catch let error as KasvuError {
                throw CLIError(error)
            }
            switch format {
            case .csv:
                print((["number,providerId,kind,billed,issuedAt,amount,total"] + invoices.map {
                    [$0.number, $0.providerId, $0.kind.rawValue, $0.billed, $0.issuedAt, $0.amount, $0.total].map(CSV.field).joined(separator: ",")
                }).joined(separator: "\n"))
            case .json:
                let rows: [[String: String]] = invoices.map {
                    ["id": $0.id, "number": $0.number, "providerId": $0.providerId, "kind": $0.kind.rawValue,
                     $0.kind == .capitation ? "month" : "period": $0.billed, "issuedAt": $0.issuedAt, "amount": $0.amount, "total": $0.total]
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            }
        }
    }
}
