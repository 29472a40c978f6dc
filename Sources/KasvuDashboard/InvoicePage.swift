import Foundation
import KasvuDomain
import KasvuReplica

/// An issued invoice as a printable page: read from its stored document, the bytes
/// `invoice/get` serves, so the page shows exactly what was frozen.
struct InvoicePage {
    struct Document: Decodable {
        struct Line: Decodable {
            let id: String?, clientId: String, riskGroup: Int, days: Int?, daysInMonth: Int?, month: String?, hours: String?, amount: String
        }
        struct Adjustment: Decodable { let reason: String, clientId: String?, sampled: [String]?, errorRate: String?, amount: String }
        struct HeldBack: Decodable { let id: String, clientId: String, month: String, reason: String }
        struct Computed: Decodable { let lines: [Line], adjustments: [Adjustment], subtotal: String, total: String, heldBack: [HeldBack]? }
        struct Correction: Decodable { let invoiceNumber: String, billed: String, settled: String, recomputed: String, amount: String }
        let number: String, providerId: String, kind: String, month: String?, period: String?
        let issuedAt: String, issuedBy: String, tariffVersion: String
        let invoice: Computed
        let corrections: [Correction]
        let total: String
    }

    let record: IssuedInvoiceRecord
    let document: Document
    let providerName: String
    let businessID: String
    let language: Language

    init(record: IssuedInvoiceRecord, providerName: String, businessID: String, language: Language) throws {
        self.record = record
        self.document = try JSONDecoder().decode(Document.self, from: Data(record.document.utf8))
        self.providerName = providerName
        self.businessID = businessID
        self.language = language
    }

    private func t(_ key: String) -> String { language.text(key) }

    /// The lines, the bonuses and sanctions, the corrections: each a table with its CSV.
    var tables: [Table] {
        [
            Table(id: "lines", caption: t("lines"),
                  columns: [("client", t("client"), false), ("riskGroup", t("riskGroup"), true), ("detail", t("detail"), false), ("amount", t("amount"), true)],
                  rows: document.invoice.lines.map { line in
                      let detail = if let month = line.month, let hours = line.hours { "\(month): \(hours) h" } else { "\(line.days ?? 0)/\(line.daysInMonth ?? 0)" }
                      return [.text(line.clientId), .int(line.riskGroup), .text(detail), .decimal(text: line.amount)]
                  }),
            Table(id: "adjustments", caption: t("adjustments"),
                  columns: [("reason", t("reason"), false), ("client", t("client"), false), ("detail", t("detail"), false), ("amount", t("amount"), true)],
                  rows: document.invoice.adjustments.map { adjustment in
                      // An audit recovery names the sampled reports and the error rate found.
                      let detail = adjustment.sampled.map { "\(t("audit")): \($0.count), \(adjustment.errorRate ?? "")" } ?? ""
                      return [.text(adjustment.reason), .text(adjustment.clientId ?? ""), .text(detail), .decimal(text: adjustment.amount)]
                  }),
            Table(id: "heldBack", caption: t("heldBack"),
                  columns: [("hours", t("detail"), false), ("client", t("client"), false), ("month", t("month"), false), ("reason", t("reason"), false)],
                  rows: (document.invoice.heldBack ?? []).map { [.text($0.id), .text($0.clientId), .text($0.month), .text($0.reason)] }),
            Table(id: "corrections", caption: t("corrections"),
                  columns: [("invoice", t("invoice"), false), ("billed", t("billed"), false), ("settled", t("settled"), true),
                            ("recomputed", t("recomputed"), true), ("amount", t("amount"), true)],
                  rows: document.corrections.map {
                      [.text($0.invoiceNumber), .text($0.billed), .decimal(text: $0.settled), .decimal(text: $0.recomputed), .decimal(text: $0.amount)]
                  }),
        ]
    }

    var facts: [[String: String]] {
        [
            ["label": t("number"), "value": document.number, "key": "number"],
            ["label": t("provider"), "value": providerName, "key": "provider"],
            ["label": t("businessId"), "value": businessID, "key": "businessId"],
            ["label": t("kind"), "value": t(document.kind), "key": "kind"],
            ["label": t("billed"), "value": document.month ?? document.period ?? "", "key": "billed"],
            ["label": t("issuedAt"), "value": document.issuedAt, "key": "issuedAt"],
            ["label": t("issuedBy"), "value": document.issuedBy, "key": "issuedBy"],
            ["label": t("tariffVersion"), "value": document.tariffVersion, "key": "tariffVersion"],
            ["label": t("subtotal"), "value": document.invoice.subtotal, "key": "subtotal"],
            ["label": t("amount"), "value": document.invoice.total, "key": "amount"],
            ["label": t("total"), "value": document.total, "key": "total"],
        ]
    }
}
