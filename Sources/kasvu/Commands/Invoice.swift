import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica

struct InvoiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice",
        abstract: "Compute a provider's capitation invoice (--month) or outcome invoice (--period).",
        discussion: "Amounts are exact decimals, each line and adjustment rounded half-up to cents. With --audit-seed and --audit-rate the outcome invoice carries the audit recovery from findings stored with `audit/record`."
    )

    @OptionGroup var replica: ReplicaOptions

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

    @Option(help: "json or csv.")
    var format: OutputFormat = .json

    func validate() throws {
        guard (month == nil) != (period == nil) else { throw ValidationError("give exactly one of --month or --period") }
        guard (auditSeed == nil) == (auditRate == nil) else { throw ValidationError("--audit-seed and --audit-rate go together") }
    }

    func run() async throws {
        let invoice: Invoice
        do {
            let opened = try replica.openAuthorized(for: "invoice/compute")
            if let month {
                invoice = try await opened.capitationInvoice(providerID: provider, month: try parse { () throws(FieldError) in try YearMonth(iso: month) })
            } else {
                let term = try parse { () throws(FieldError) in try BillingPeriod(iso: period ?? "") }
                invoice = try await opened.outcomeInvoice(providerID: provider, period: term,
                                                          audit: auditSeed.map { AuditRequest(seed: $0, rate: auditRate ?? "0") })
            }
        } catch let error as KasvuError {
            throw CLIError(error)
        }
        switch format {
        case .json:
            let object = try JSONSerialization.jsonObject(with: try invoice.jsonData())
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        case .csv:
            print(Self.csv(invoice))
        }
    }

    /// One row per line and adjustment, then subtotal and total, then any held-back hours
    /// reports: `type,id,clientId,detail,amount`.
    static func csv(_ invoice: Invoice) -> String {
        var rows = ["type,id,clientId,detail,amount"]
        for line in invoice.lines {
            switch line {
            case .capitation(let l):
                rows.append(["line", "", l.clientId, "group \(l.riskGroup), \(l.days)/\(l.daysInMonth) days", Money.format(l.amount)].map(CSV.field).joined(separator: ","))
            case .outcome(let l):
                rows.append(["line", l.id, l.clientId, "\(l.month) \(l.hours) h, group \(l.riskGroup)", Money.format(l.amount)].map(CSV.field).joined(separator: ","))
            }
        }
        for adjustment in invoice.adjustments {
            rows.append(["adjustment", "", "", adjustment.reason, Money.format(adjustment.amount)].map(CSV.field).joined(separator: ","))
        }
        rows.append("subtotal,,,,\(Money.format(invoice.subtotal))")
        rows.append("total,,,,\(Money.format(invoice.total))")
        for held in invoice.heldBack {
            rows.append(["held_back", held.id, held.clientId, "\(held.month): \(held.reason)", ""].map(CSV.field).joined(separator: ","))
        }
        return rows.joined(separator: "\n")
    }

    private func parse<T>(_ body: () throws(FieldError) -> T) throws -> T {
        do throws(FieldError) { return try body() } catch { throw CLIError(.validationFailed([error])) }
    }
}
