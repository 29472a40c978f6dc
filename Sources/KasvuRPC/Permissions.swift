import KasvuDomain
import KasvuReplica

/// What each replica role may do, checked locally before anything is written (the central
/// store checks the same again with the replica's scope on every push).
enum Permissions {
    /// Methods every role may call.
    static let everyone: Set<String> = [
        "rpc.discover", "replica/info", "sync/run", "sync/status", "conflict/list", "conflict/resolve",
    ]
    /// What a provider replica may do besides reading: record its service and outcomes.
    static let provider: Set<String> = ["contact/record", "hours/report", "event/record"]
    /// The central office's own business: provider contracts, invoices, audits, reports.
    static let adminOnly: Set<String> = [
        "provider/create", "provider/update", "invoice/compute", "audit/sample", "audit/record", "report/caseload", "report/outcomes", "audit/trail",
    ]

    static func check(_ method: String, role: ReplicaRole) throws(KasvuError) {
        let reading = method.hasSuffix("/get") || method.hasSuffix("/list")
        let allowed = switch role {
        case .admin: true
        case .office: !adminOnly.contains(method)
        case .provider: everyone.contains(method) || reading || provider.contains(method)
        }
        guard allowed else {
            throw KasvuError(.permissionDenied, "a \(role.rawValue) replica may not call \(method)")
        }
    }

    /// A provider resolves conflicts only on the records it writes.
    static func checkResolve(_ entity: EntityKind, role: ReplicaRole) throws(KasvuError) {
        if role == .provider, ![EntityKind.contact, .hours, .event].contains(entity) {
            throw KasvuError(.permissionDenied, "a provider replica may not write \(entity.rawValue) records")
        }
    }
}
