import KasvuDomain
import KasvuSync

/// Which records a replica may read and write (DESIGN section 4, "Scopes").
public enum ReplicaScope: Sendable, Hashable {
    /// The central office: everything.
    case all
    /// A TE office: clients of these municipalities and their records; every provider, the
    /// service catalogue and the baselines (read).
    case municipalities(Set<String>)
    /// A provider: itself, the clients with a pending or active referral to it, or one that
    /// ended within the tariff's outcome window (it may still report hours for them), and
    /// their records with it, without the profiling inputs and results; of their assessments,
    /// the latest completed one, without its confidential fields; their enrolments; the
    /// service catalogue.
    case provider(String)
}

/// Answers visibility and write questions inside one central transaction, with a cache of
/// client visibility (many records hang off one client).
struct ScopeResolver {
    let reads: any CentralReads
    let scope: ReplicaScope
    /// The central store's today: an ended referral keeps its client visible to the provider
    /// until the outcome window after its end has passed.
    let today: CalendarDate
    private var clientCache: [String: Bool] = [:]

    init(reads: any CentralReads, scope: ReplicaScope, today: CalendarDate) {
        self.reads = reads
        self.scope = scope
        self.today = today
    }

    /// A referral a provider holds: open, or ended within the outcome window.
    func providerHolds(_ referral: RecordState, provider: String) -> Bool {
        guard referral.value(.providerId).stringValue == provider, !referral.isDeleted,
              let state = referral.value(.state).stringValue.flatMap(ReferralState.init(rawValue:)) else { return false }
        if ReferralState.open.contains(state) { return true }
        guard state == .ended, let end = referral.value(.endDate).stringValue.flatMap({ try? CalendarDate(iso: $0) }) else { return false }
        return WriteRules.keepsClientAfterEnd(endedOn: end, reason: referral.value(.endReason).stringValue, today: today)
    }

    mutating func isVisible(_ kind: EntityKind, _ id: String, _ state: RecordState) throws -> Bool {
        switch scope {
        case .all:
            return true
        case .municipalities(let codes):
            return try officeSees(kind, codes, municipality: state.value(.municipality).stringValue, clientID: state.value(.clientId).stringValue)
        case .provider(let provider):
            switch kind {
            case .provider: return id == provider
            case .service, .tariff: return true
            case .baseline, .invoice: return false
            case .client: return try clientVisible(id)
            case .enrolment: return try clientVisible(state.value(.clientId).stringValue)
            case .referral:
                return providerHolds(state, provider: provider)
            case .contact, .hours, .event:
                guard state.value(.providerId).stringValue == provider else { return false }
                return try clientVisible(state.value(.clientId).stringValue)
            case .assessment:
                guard let client = state.value(.clientId).stringValue, try clientVisible(client) else { return false }
                let all = try reads.assessments(ofClient: client).map { (id: $0.id, values: $0.state.values) }
                return AssessmentGate.latestCompleted(all)?.id == id
            }
        }
    }

    /// Whether an office replica sees a record, from the two winning values its scope rests on
    /// (a client's municipality, another record's clientId), or nil for other scopes. The pull
    /// reads these values beside the state (``SQLCentralStore/scopeValues(_:)``), so that the
    /// records of other offices are passed over without decoding their states.
    mutating func visibility(_ kind: EntityKind, municipality: String?, clientID: String?) throws -> Bool? {
        guard case .municipalities(let codes) = scope else { return nil }
        return try officeSees(kind, codes, municipality: municipality, clientID: clientID)
    }

    private mutating func officeSees(_ kind: EntityKind, _ codes: Set<String>, municipality: String?, clientID: String?) throws -> Bool {
        switch kind {
        case .provider, .service, .baseline, .tariff: return true
        case .invoice: return false
        case .client: return codes.contains(municipality ?? "")
        default: return try clientVisible(clientID)
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
            visible = codes.contains(try reads.record(.client, clientID)?.value(.municipality).stringValue ?? "")
        case .provider(let provider):
            visible = try reads.clientHasReferral(clientID, to: provider, in: ReferralState.open, except: nil)
                || reads.clientHasReferral(clientID, to: provider, in: [.ended], except: nil)
                && reads.referrals(ofClient: clientID).contains { providerHolds($0, provider: provider) }
        }
        clientCache[clientID] = visible
        return visible
    }

    mutating func forgetClients() { clientCache = [:] }

    /// Why a pushed record may not be written by this replica, or nil when it may. The central
    /// store asks this of the stored state before anything else (so that no later check can
    /// become an oracle on a record the replica may not see) and of the state the push would
    /// make, so that no push can move a record into or out of the scope. The messages say
    /// nothing of the stored record: not whether it exists, nor where it belongs.
    mutating func writeRefusal(_ kind: EntityKind, _ id: String, _ state: RecordState) throws -> String? {
        let outside = SyncRejection.outsideScope
        switch scope {
        case .all:
            return nil
        case .municipalities(let codes):
            switch kind {
            case .provider, .service, .baseline: return "only the central office writes providers, the service catalogue and baselines"
            case .client: return codes.contains(state.value(.municipality).stringValue ?? "") ? nil : outside
            default: return try clientVisible(state.value(.clientId).stringValue) ? nil : outside
            }
        case .provider(let provider):
            guard WriteRules.providerKinds.contains(kind) else { return WriteRules.providerKindsRefusal }
            guard state.value(.providerId).stringValue == provider else { return outside }
            if kind == .enrolment, try reads.record(.provider, provider)?.value(.contractKind).stringValue != "service_manager" {
                return "only a service-manager provider (contractKind service_manager) writes enrolments"
            }
            return try clientVisible(state.value(.clientId).stringValue) ? nil : outside
        }
    }

    /// The state a replica of this scope receives: providers never get confidential fields
    /// (profiling inputs and results, assessment notes, participants and recommendations).
    func projected(_ kind: EntityKind, _ state: RecordState) -> RecordState {
        guard case .provider = scope, let hidden = Self.confidentialFields[kind] else { return state }
        return state.removingFields(hidden)
    }

    private static let confidentialFields: [EntityKind: Set<String>] = EntityKind.allCases.reduce(into: [:]) { result, kind in
        let names = Set(kind.schema.fields.filter(\.confidential).map(\.name))
        if !names.isEmpty { result[kind] = names }
    }
}
