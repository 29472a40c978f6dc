import Foundation
import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync

/// One page of the dashboard: warnings, charts and tables.
struct Page: Sendable {
    /// The path and the navigation label's key (`caseload`, …).
    let key: String
    var warnings: [String] = []
    var charts: [BarChart] = []
    var tables: [Table] = []

    /// The pages in navigation order.
    static let keys = ["caseload", "funnel", "outcomes", "invoices", "replicas", "conflicts"]
}

/// Builds each page from the mirror with the replica's report code, and the replica health
/// from the central store itself.
struct Pages {
    let replica: Replica
    let store: any CentralStore
    let language: Language
    let staleAfterDays: Int
    let now: Date

    private func t(_ key: String) -> String { language.text(key) }
    private func columns(_ keys: [String], numeric: Set<String>) -> [(key: String, label: String, numeric: Bool)] {
        keys.map { ($0, t($0), numeric.contains($0)) }
    }

    func page(_ key: String) async throws -> Page? {
        switch key {
        case "caseload": try await caseload()
        case "funnel": try await funnel()
        case "outcomes": try await outcomes()
        case "invoices": try await invoices()
        case "replicas": try await replicas()
        case "conflicts": try await conflicts()
        default: nil
        }
    }

    private func providerNames() async throws -> [String: String] {
        try await replica.caseloadReport().reduce(into: [:]) { $0[$1.providerID] = $1.name }
    }

    func caseload() async throws -> Page {
        let rows = try await replica.caseloadReport()
        var page = Page(key: "caseload")
        let full = rows.filter { $0.cap > 0 && Int64($0.active) >= $0.cap }
        if !full.isEmpty { page.warnings.append("\(t("overCap")): " + full.map(\.name).joined(separator: ", ")) }
        page.charts.append(BarChart(id: "caseload-chart", title: t("caseloadChart"), bars: rows.map { row in
            BarChart.Bar(label: row.name, value: Decimal(row.active), text: "\(row.active) / \(row.cap)", mark: row.cap > 0 ? Decimal(row.cap) : nil)
        }))
        page.tables.append(Table(
            id: "caseload", caption: t("caseloadTable"),
            columns: columns(["provider", "area", "cap", "active", "pending", "waitlisted", "reserved", "free", "group1", "group2", "group3"],
                             numeric: ["cap", "active", "pending", "waitlisted", "reserved", "free", "group1", "group2", "group3"]),
            rows: rows.map { row in
                [.text(row.name), .text(row.pilotAreaName.isEmpty ? row.pilotArea : row.pilotAreaName), .int(Int(row.cap)),
                 .int(row.active, flagged: row.cap > 0 && Int64(row.active) >= row.cap), .int(row.pending), .int(row.waitlisted),
                 .int(row.reserved), .int(Int(row.free))] + (1...3).map { .int(row.activeByRiskGroup[$0] ?? 0) }
            }))
        let names = Dictionary(uniqueKeysWithValues: rows.map { ($0.providerID, $0.name) })
        // In queue order, as `queuePosition` numbers it: by provider, then when each was queued.
        let waiting = try await replica.referralFacts().filter { $0.state == .waitlisted }
            .sorted { ($0.providerID, $0.queuedAt, $0.id) < ($1.providerID, $1.queuedAt, $1.id) }
        var position: [String: Int] = [:]
        page.tables.append(Table(
            id: "waitlist", caption: t("waitlist"),
            columns: columns(["provider", "position", "referral", "area", "riskGroup", "madeOn"], numeric: ["position", "riskGroup"]),
            rows: waiting.map { referral in
                position[referral.providerID, default: 0] += 1
                return [.text(names[referral.providerID] ?? referral.providerID), .int(position[referral.providerID]!), .text(referral.id),
                        .text(Self.areaName(referral.pilotArea)), referral.riskGroup.map { .int($0) } ?? .text(""), .text(referral.madeOn.description)]
            }))
        return page
    }

    func funnel() async throws -> Page {
        let rows = try await replica.funnelReport()
        var page = Page(key: "funnel")
        let states: [ReferralState] = [.pending, .waitlisted, .active, .rejected, .cancelled, .ended]
        page.charts.append(BarChart(id: "funnel-chart", title: t("funnelChart"), bars: states.map { state in
            let count = rows.reduce(0) { $0 + $1.count(state) }
            return BarChart.Bar(label: t(state.rawValue), value: Decimal(count), text: "\(count)")
        }))
        page.tables.append(Table(
            id: "funnel", caption: t("funnelTable"),
            columns: columns(["area", "month", "made"] + states.map(\.rawValue), numeric: Set(["made"] + states.map(\.rawValue))),
            rows: rows.map { row in
                [.text(Self.areaName(row.pilotArea)), .text(row.month.description), .int(row.made)] + states.map { .int(row.count($0)) }
            }))
        page.tables.append(Table(
            id: "endReasons", caption: t("endReasons"),
            columns: columns(["area", "month", "reason", "count"], numeric: ["count"]),
            rows: rows.flatMap { row in
                row.endedByReason.sorted { $0.key < $1.key }.map { reason, count in
                    [.text(Self.areaName(row.pilotArea)), .text(row.month.description), .text(reason), .int(count)]
                }
            }))
        return page
    }

    func outcomes() async throws -> Page {
        let rows = try await replica.outcomesReport()
        var page = Page(key: "outcomes")
        page.charts.append(BarChart(id: "outcomes-chart", title: t("outcomesChart"), bars: rows.map { row in
            BarChart.Bar(label: "\(Self.areaName(row.pilotArea)), \(t("riskGroup").lowercased()) \(row.riskGroup)",
                         value: row.shareWithHours, text: Money.format(row.shareWithHours * 100, scale: 1) + " %")
        }))
        page.tables.append(Table(
            id: "outcomes", caption: t("outcomesTable"),
            columns: columns(["area", "riskGroup", "clients", "clientsWithHours", "shareWithHours", "totalHours", "fees"],
                             numeric: ["riskGroup", "clients", "clientsWithHours", "shareWithHours", "totalHours", "fees"]),
            rows: rows.map { row in
                [.text(Self.areaName(row.pilotArea)), .int(row.riskGroup), .int(row.clients), .int(row.clientsWithHours),
                 .decimal(row.shareWithHours, scale: 4), .decimal(row.totalHours), .decimal(row.fees)]
            }))
        return page
    }

    func invoices() async throws -> Page {
        let invoices = try await replica.issuedInvoices()
        let names = try await providerNames()
        var page = Page(key: "invoices")
        var totals: [String: Decimal] = [:]
        for invoice in invoices { totals[invoice.providerId, default: 0] += Decimal(string: invoice.total) ?? 0 }
        page.charts.append(BarChart(id: "invoices-chart", title: t("invoicesChart"), bars: totals.sorted { $0.key < $1.key }.map { id, total in
            BarChart.Bar(label: names[id] ?? id, value: total, text: Money.format(total))
        }))
        page.tables.append(Table(
            id: "invoices", caption: t("invoicesTable"),
            columns: columns(["number", "provider", "kind", "billed", "issuedAt", "issuedBy", "amount", "total"], numeric: ["amount", "total"]),
            rows: invoices.map { invoice in
                [.text(invoice.number, link: "/invoices/\(invoice.id)"), .text(names[invoice.providerId] ?? invoice.providerId),
                 Table.Cell(text: t(invoice.kind.rawValue), value: invoice.kind.rawValue, number: nil), .text(invoice.billed), .text(invoice.issuedAt), .text(invoice.issuedBy),
                 .decimal(text: invoice.amount), .decimal(text: invoice.total)]
            }))
        return page
    }

    func replicas() async throws -> Page {
        let replicas = try await store.replicaHealth()
        var page = Page(key: "replicas")
        let stale = replicas.filter { $0.daysSinceSync(now: now) >= staleAfterDays }
        if !stale.isEmpty {
            page.warnings.append("\(stale.count) " + String(format: t("staleWarning"), staleAfterDays) + " " + stale.map(\.id).joined(separator: ", "))
        }
        page.charts.append(BarChart(id: "replicas-chart", title: t("replicasChart"), bars: replicas.map { replica in
            let days = replica.daysSinceSync(now: now)
            return BarChart.Bar(label: replica.id, value: Decimal(days), text: "\(days)", mark: Decimal(staleAfterDays))
        }))
        page.tables.append(Table(
            id: "replicas", caption: t("replicasTable"),
            columns: columns(["replica", "role", "lastSyncAt", "daysSinceSync", "lastFailureAt", "lastErrorKind", "version", "schemaVersion",
                              "pendingChanges", "recordsInScope"],
                             numeric: ["daysSinceSync", "schemaVersion", "pendingChanges", "recordsInScope"]),
            rows: replicas.map { replica in
                let days = replica.daysSinceSync(now: now)
                return [.text(replica.id), .text(replica.role.rawValue), .text(replica.lastSyncAt ?? ""),
                        .int(days, flagged: days >= staleAfterDays), .text(replica.lastFailureAt ?? ""), .text(replica.lastErrorKind ?? ""),
                        .text(replica.version ?? ""), replica.schemaVersion.map { .int($0) } ?? .text(""),
                        replica.pendingChanges.map { .int($0) } ?? .text(""), .int(replica.recordsInScope)]
            }))
        return page
    }

    func conflicts() async throws -> Page {
        let conflicts = try await replica.conflicts()
        var page = Page(key: "conflicts")
        var perEntity: [String: Int] = [:]
        for conflict in conflicts { perEntity[conflict.kind.rawValue, default: 0] += 1 }
        page.charts.append(BarChart(id: "conflicts-chart", title: t("conflictsChart"), bars: perEntity.sorted { $0.key < $1.key }.map {
            BarChart.Bar(label: $0.key, value: Decimal($0.value), text: "\($0.value)")
        }))
        // The competing values stay out of the page: they may be personal; conflict/resolve shows them to whoever resolves.
        page.tables.append(Table(
            id: "conflicts", caption: t("conflictsTable"),
            columns: columns(["entity", "record", "field", "conflictKind", "values", "duplicateOf"], numeric: ["values"]),
            rows: conflicts.map { report in
                [.text(report.kind.rawValue), .text(report.id), .text(report.conflict.field), .text(report.conflict.kind.rawValue),
                 .int(report.conflict.entries.count), .text(report.duplicateOf ?? "")]
            }))
        return page
    }

    static func areaName(_ code: String) -> String { Municipalities.shipped.regions[code]?.name ?? code }
}
