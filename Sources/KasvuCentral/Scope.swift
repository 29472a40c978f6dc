import GRDB
import KasvuDomain
import KasvuSync

/// Which records a replica may read and write (DESIGN section 4, "Scopes").
public enum ReplicaScope: Sendable, Hashable {
    /// The central office: everything.
    case all
    /// A TE office: clients of these municipalities and their records; every provider (read).
    case municipalities(Set<String>)
    /// A provider: itself, the clients with a pending or active referral to it and their
    /// records with it, without the profiling inputs and results.
    case provider(String)
}

/// Answers visibility and write questions inside one central transaction, with a cache of
/// client visibility (many records hang off one client).
struct ScopeResolver {
    let db: Database
    let scope: ReplicaScope
    private var clientCache: [String: Bool] = [:]

    init(db: Database, scope: ReplicaScope) {
        self.db = db
        self.scope = scope
    }

    mutating func isVisible(_ kind: EntityKind, _ id: String, _ state: RecordState) throws -> Bool {
        switch scope {
        case .all:
            return true
        case .municipalities(let codes):
            switch kind {
            case .provider: return true
            case .client: return codes.contains(state.value("municipality").stringValue ?? "")
            default: return try clientVisible(state.value("clientId").stringValue)
            }
        case .provider(let provider):
            switch kind {
            case .provider: return id == provider
            case .client: return try clientVisible(id)
            case .referral:
                return state.value("providerId").stringValue == provider
                    && ["pending", "active"].contains(state.value("state").stringValue ?? "")
            case .contact, .hours, .event:
                guard state.value("providerId").stringValue == provider else { return false }
                return try clientVisible(state.value("clientId").stringValue)
            }
        }
    }

    mutating func clientVisible(_ clientID: String?) throws -> Bool {
        guard let clientID else { return false }
        if let known = clientCache[clientID] { return known }
        let visible: Bool
        switch scope {
        case .all:
            visible = true
        case .municipalities(let codes):
            let state = try SQLiteCentralStore.load(db, .client, clientID)
            visible = codes.contains(state?.value("municipality").stringValue ?? "")
        case .provider(let provider):
            visible = try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT 1 FROM record WHERE entity = 'referral' AND referral_client = ? AND referral_provider = ?
                AND referral_state IN ('pending', 'active') LIMIT 1
                """), arguments: [clientID, provider]) ?? false
        }
        clientCache[clientID] = visible
        return visible
    }

    mutating func forgetClients() { clientCache = [:] }

    /// Why a pushed record may not be written by this replica, or nil when it may.
    /// `current` is the central state before the push, `merged` the state it would become.
    mutating func writeRefusal(_ kind: EntityKind, _ id: String, current: RecordState?, merged: RecordState) throws -> String? {
        switch scope {
        case .all:
            return nil
        case .municipalities(let codes):
            switch kind {
            case .provider:
                return "only the central office edits providers"
            case .client:
                for state in [current, merged].compactMap({ $0 }) {
                    let code = state.value("municipality").stringValue ?? ""
                    if !codes.contains(code) { return "client of municipality \(code) is outside this office's municipalities" }
                }
                return nil
            default:
                return try clientVisible(merged.value("clientId").stringValue) ? nil : "the record's client is outside this office's municipalities"
            }
        case .provider(let provider):
            guard [.contact, .hours, .event].contains(kind) else { return "a provider writes contacts, hours and events only" }
            guard merged.value("providerId").stringValue == provider else { return "the record belongs to another provider" }
            return try clientVisible(merged.value("clientId").stringValue) ? nil : "the client has no pending or active referral to this provider"
        }
    }

    /// The state a replica of this scope receives: providers never get profiling inputs or results.
    func projected(_ kind: EntityKind, _ state: RecordState) -> RecordState {
        guard case .provider = scope, kind == .client else { return state }
        return state.removingFields(Set(EntityKind.client.schema.fields.filter(\.confidential).map(\.name)))
    }
}
