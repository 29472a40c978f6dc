import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// The pilot's rules that need more than one record: profiling and its confirmation, the
/// choice of provider, one open referral per client, and caps as far as this replica knows.
extension Replica {
    // MARK: - Profiling

    /// Proposes a risk group from the client's profiling inputs and records the proposal
    /// (group, score, model version). The proposal is not a decision: see ``confirmRiskGroup``.
    public func profile(clientID: String, model: ProfilingModel = .current) async throws -> ProfilingModel.Proposal {
        let id = try Self.canonicalID(clientID)
        let today = self.today()
        return try await write { db in
            let state = try Self.liveState(db, .client, id)
            try Self.requirePerson(state, id, for: "profiling")
            var inputs = state.values
            guard let hetu = state.value(.hetu).stringValue, let code = try? PersonalIdentityCode(hetu, allowTemporary: true) else {
                throw KasvuError.validationFailed(field: "hetu", "profiling needs a person client with a henkilötunnus")
            }
            inputs["age"] = .int(Int64(Self.age(born: code.birthDate, on: today)))
            let proposal = try model.propose(inputs)
            _ = try self.commit(db, .client, id, state: state, changes: [
                "riskGroupProposal": .int(Int64(proposal.group)),
                "riskGroupScore": .string("\(proposal.score)"),
                "profilingModelVersion": .string(proposal.modelVersion),
            ])
            return proposal
        }
    }

    /// A person confirms the proposed group or overrides it; an override needs a reason.
    /// Who, when, the reason and the model version are kept with the group.
    public func confirmRiskGroup(clientID: String, group: Int, reason: String?, confirmedBy: String) async throws -> Record {
        let id = try Self.canonicalID(clientID)
        guard (1...3).contains(group) else { throw KasvuError.validationFailed(field: "group", "must be 1, 2 or 3") }
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = ISO8601DateFormatter().string(from: Date())
        return try await write { db in
            let state = try Self.liveState(db, .client, id)
            try Self.requirePerson(state, id, for: "a risk group")
            guard let proposed = state.value(.riskGroupProposal).intValue else {
                throw KasvuError.validationFailed(field: "id", "client \(id) has no proposal yet; call client/profile first")
            }
            if Int(proposed) != group && (reason ?? "").isEmpty {
                throw KasvuError.validationFailed(field: "reason", "is required to override the proposed group \(proposed) with \(group)")
            }
            var changes: [String: FieldValue] = [
                "riskGroup": .int(Int64(group)), "riskGroupConfirmedBy": .string(confirmedBy),
                "riskGroupConfirmedAt": .string(now), "riskGroupReason": reason.flatMap { $0.isEmpty ? nil : FieldValue.string($0) } ?? .null,
            ]
            changes[.profilingModelVersion] = state.value(.profilingModelVersion)
            return try self.commit(db, .client, id, state: state, changes: changes)
        }
    }

    /// Profiling, risk groups, assessments and pilot referrals are for persons; companies and
    /// communities receive contacts, events and services.
    static func requirePerson(_ client: RecordState, _ id: String, for what: String, field: String = "id") throws {
        let type = client.value(.clientType).stringValue ?? "person"
        guard type == "person" else {
            throw KasvuError.validationFailed(field: field, "\(what) applies to person clients; client \(id) is a \(type)")
        }
    }

    static func age(born: CalendarDate, on day: CalendarDate) -> Int {
        day.year - born.year - ((day.month, day.day) < (born.month, born.day) ? 1 : 0)
    }

    // MARK: - Referrals

    /// Refers a client to a provider. Without `providerId` (`chosenBy: assigned`) the documented
    /// rule picks the provider of the client's region with the most free places, ties broken
    /// by provider id. A client has at most one pending or active referral: with
    /// `switchProvider` the open one is closed in the same transaction; without it, refused.
    /// A provider this replica already knows to be full answers `capacity_exceeded`; a person
    /// the provider's pilot area assesses first (``AssessmentGate``) and who has no completed
    /// assessment allowing it answers `assessment_required`.
    public func createReferral(_ fields: [String: FieldValue], id: String? = nil, switchProvider: Bool = false) async throws -> Record {
        let id = try id.map { try Self.canonicalID($0) } ?? RecordID.random()
        var input = fields
        let assigned = input[.providerId] == nil || input[.providerId] == .null
        if assigned {
            guard input[.chosenBy] == .string("assigned") else {
                throw KasvuError.validationFailed(field: "providerId", "is required when the client chose (chosenBy: client)")
            }
            input[.providerId] = .string(RecordID.random())  // placeholder until the rule picks one
        }
        let validated = try EntityKind.referral.schema.validateCreate(input)
        let today = self.today()
        return try await write { db in
            var values = validated
            if try Self.loadState(db, .referral, id) != nil {
                throw KasvuError(.alreadyExists, "a referral with id \(id) already exists")
            }
            let clientID = values[.clientId]!.stringValue!
            let client = try Self.liveState(db, .client, clientID)
            try Self.requirePerson(client, clientID, for: "a pilot referral", field: "clientId")
            guard let group = client.value(.riskGroup).intValue else {
                throw KasvuError.validationFailed(field: "clientId", "client \(clientID) has no confirmed risk group; profile and confirm it first")
            }
            if assigned { values[.providerId] = .string(try Self.assignProvider(db, client: client)) }
            try Self.checkReferences(db, .referral, values)
            let providerID = values[.providerId]!.stringValue!
            let provider = try Self.liveState(db, .provider, providerID)
            if let area = provider.value(.pilotArea).stringValue,
               let refusal = AssessmentGate.shipped.refusal(area: area, on: today, clientID: clientID, client: client.values,
                                                            assessments: try Self.assessments(db, client: clientID)) {
                throw refusal
            }
            // A place of this office's capacity lease makes the referral active at once, offline
            // (Leases.swift); otherwise it waits as pending for the central store's confirmation.
            if let lease = try self.spendLease(db, provider: providerID) {
                values[.state] = .string(ReferralState.active.rawValue)
                values[.startDate] = .string(today.description)
                values[.leaseId] = .string(lease)
            } else {
                let cap = provider.value(.cap).intValue ?? 0
                if try Self.count(db, provider: providerID, states: [.active]) >= cap {
                    throw KasvuError(.capacityExceeded, "provider \(providerID) has all \(cap) places taken; choose another provider")
                }
            }
            values[.riskGroup] = .int(group)
            let stamp = try self.stamp(db, writing: "referral \(id) \(clientID) \(providerID)")
            for open in try Self.openReferrals(db, client: clientID) {
                guard switchProvider else {
                    throw KasvuError.validationFailed(field: "clientId", "client \(clientID) already has a \(open.state.rawValue) referral \(open.id); pass switch: true to move the client to another provider")
                }
                let state = try Self.liveState(db, .referral, open.id)
                let changes = try open.state.transition(to: open.state == .active ? .ended : .cancelled, date: today,
                                                        reason: WriteRules.providerSwitched, today: today, startDate: nil)
                _ = try self.apply(db, .referral, open.id, state: state, changes: changes, stamp: stamp)
            }
            return try self.apply(db, .referral, id, state: RecordState(), changes: values, stamp: stamp)
        }
    }

    /// The client's live assessments, for the assessment gate.
    static func assessments(_ db: Database, client: String) throws -> [(id: String, values: [String: FieldValue])] {
        try Row.fetchAll(db, sql: "SELECT id, sync_state FROM assessment WHERE client_id = ? AND deleted IS NOT 1", arguments: [client])
            .map { ($0["id"], try decodeState($0["sync_state"]).gateValues) }
    }

    static func count(_ db: Database, provider: String, states: Set<ReferralState>) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT count(*) FROM referral WHERE provider_id = ? AND state IN (\(StorageSQL.list(states))) AND deleted IS NOT 1",
                           arguments: [provider]) ?? 0
    }

    static func openReferrals(_ db: Database, client: String) throws -> [(id: String, state: ReferralState)] {
        try Row.fetchAll(db, sql: "SELECT id, state FROM referral WHERE client_id = ? AND state IN (\(StorageSQL.list(ReferralState.open))) AND deleted IS NOT 1 ORDER BY id",
                         arguments: [client]).map { ($0["id"], ReferralState(rawValue: $0["state"]) ?? .pending) }
    }

    /// The qualified provider (pilot area = the client's region) with the most free places.
    static func assignProvider(_ db: Database, client: RecordState) throws -> String {
        let municipality = client.value(.municipality).stringValue.flatMap { Municipalities.shipped[$0] }
        let region = municipality?.regionName ?? ""
        // Pilot areas are stored as region codes; providers written before that hold the name.
        let rows = try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider WHERE pilot_area IN (?, ?) AND deleted IS NOT 1 ORDER BY id",
                                    arguments: [municipality?.regionCode ?? "", region])
        var best: (id: String, free: Int64)?
        for row in rows {
            let id: String = row["id"]
            let cap = try decodeState(row["sync_state"]).value(.cap).intValue ?? 0
            let free = cap - (try count(db, provider: id, states: ReferralState.open))
            if free > 0 && free > (best?.free ?? 0) { best = (id, free) }
        }
        guard let best else {
            throw KasvuError(.capacityExceeded, "no provider of \(region.isEmpty ? "the client's region" : region) has a free place")
        }
        return best.id
    }
}

extension Replica {
    /// A waitlisted referral's place in its provider's queue (1 = next to get a place), in the
    /// order the central store promotes: creation time (the HLC of the write that created the
    /// referral), then id. Nil for a referral that is not waitlisted. Counted from what this
    /// replica holds, as of its last sync.
    public func queuePosition(ofReferral id: String) async throws -> Int? {
        let id = try Self.canonicalID(id)
        return try await read { db in
            guard let state = try Self.loadState(db, .referral, id), !state.isDeleted,
                  state.value(.state) == .string(ReferralState.waitlisted.rawValue),
                  let provider = state.value(.providerId).stringValue else { return nil }
            let queue = try Row.fetchAll(db, sql: "SELECT id, sync_state FROM referral WHERE provider_id = ? AND state = ? AND deleted IS NOT 1",
                                         arguments: [provider, ReferralState.waitlisted.rawValue])
                .map { (id: $0["id"] as String, created: try Self.decodeState($0["sync_state"]).creationHLC) }
                .sorted { ($0.created, $0.id) < ($1.created, $1.id) }
            return queue.firstIndex { $0.id == id }.map { $0 + 1 }
        }
    }
}
