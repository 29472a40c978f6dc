import GRDB
import KasvuDomain
import KasvuSync

/// One provider's caseload against its cap.
public struct CaseloadRow: Sendable, Hashable {
    public let providerID: String
    public let name: String
    public let pilotArea: String
    public let cap: Int64
    public let active: Int
    public let pending: Int
    public let waitlisted: Int
    /// Active referrals by the risk group recorded on the referral (1, 2, 3).
    public let activeByRiskGroup: [Int: Int]

    public var free: Int64 { max(0, cap - Int64(active)) }
}

/// Reports for the central office, computed from what this replica holds.
extension Replica {
    /// Per provider: active, pending and waitlisted referrals against the cap, by risk group.
    public func caseloadReport() async throws -> [CaseloadRow] {
        try await read { db in
            let providers = try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider WHERE deleted IS NOT 1 ORDER BY id")
            var counts: [String: (active: Int, pending: Int, waitlisted: Int, groups: [Int: Int])] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT provider_id, state, json_extract(sync_state, '$.f.riskGroup[0][0]') AS risk_group
                FROM referral WHERE deleted IS NOT 1 AND state IN ('active', 'pending', 'waitlisted')
                """) {
                let provider: String = row["provider_id"], state: String = row["state"]
                var entry = counts[provider] ?? (0, 0, 0, [:])
                switch state {
                case "active":
                    entry.active += 1
                    if let group = row["risk_group"] as Int? { entry.groups[group, default: 0] += 1 }
                case "pending": entry.pending += 1
                default: entry.waitlisted += 1
                }
                counts[provider] = entry
            }
            return try providers.map { row in
                let id: String = row["id"]
                let state = try Self.decodeState(row["sync_state"])
                let entry = counts[id] ?? (0, 0, 0, [:])
                return CaseloadRow(providerID: id, name: state.value("name").stringValue ?? "", pilotArea: state.value("pilotArea").stringValue ?? "",
                                   cap: state.value("cap").intValue ?? 0, active: entry.active, pending: entry.pending,
                                   waitlisted: entry.waitlisted, activeByRiskGroup: entry.groups)
            }
        }
    }
}
