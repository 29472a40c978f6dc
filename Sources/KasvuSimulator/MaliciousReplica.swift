import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync

/// An office laptop (municipality 749) in the wrong hands, among the honest replicas: with a
/// valid token it pulls what its scope shows and pushes hand-made states that break a rule
/// (DESIGN section 4, "Trust"). Every forgery must be refused; the honest replicas' invariants
/// must hold whatever it sends. Its choices come from a generator of their own, so the honest
/// schedule of a seed is the same with or without it.
struct MaliciousReplica {
    static let scope = ReplicaScope.municipalities(["749"])

    enum Forgery: CaseIterable {
        /// Another actor's counter raised past what that actor wrote, beside a write of its own.
        case foreignCounter
        /// A field's values removed without a write.
        case vanishingField
        /// Another actor's entry with other content.
        case alteredForeignEntry
        /// Its own write beyond the counter its header claims.
        case beyondOwnCounter
        /// A client of its scope moved out of it.
        case movedOutOfScope
        /// A client created outside its scope.
        case createdOutOfScope
        /// A referral made active by the office itself (the central store's decision).
        case activatedReferral
        /// Hours beyond a month's 744, or audit findings.
        case illegalHours
        /// A provider's contract terms changed by an office.
        case providerEdited
        /// A client with no last name.
        case incompleteClient
        /// Two values of one actor in one field.
        case twoValuesOfOneActor
        /// A version vector of more actors than any record has.
        case hugeVector
    }

    let token: String
    let actor: ActorID
    var random: SplitMix64
    var forged = 0

    init(token: String, seed: UInt64) {
        self.token = token
        random = SplitMix64(seed: seed ^ 0xBAD_C0DE)
        actor = ActorID(hex: random.next())
    }

    /// Pulls its view, sends one forgery, and returns a violation when the forgery landed.
    mutating func act(_ store: CentralHandle, now: UInt64, provider: String) async -> String? {
        let counter = UInt64.random(in: 2...(1 << 40), using: &random)
        let header = SyncHeader(schemaVersion: SyncSchema.version, replicaID: "m", actor: actor, actorCounter: counter,
                                clock: HLC(millis: now), cursor: 0, pullLimit: 200)
        guard let first = try? await exchange(store, SyncRequest(header: header, push: [])) else { return nil }
        let view = first.pull
        // It claims to have pulled that far and to have nothing else to push: a lie about its
        // own outbox can cost only its own writes, never hold back or hide anyone else's.
        var forging = header
        forging.cursor = first.cursor
        forging.unpushed = 0
        let clients = view.filter { $0.entity == .client && !$0.state.isDeleted }
        let forgery = Forgery.allCases.randomElement(using: &random)!
        guard let push = forge(forgery, clients: clients, view: view, provider: provider, counter: counter, now: now) else { return nil }
        forged += 1
        do {
            let response = try await exchange(store, SyncRequest(header: forging, push: [push]))
            if response.rejections.isEmpty { return "forgery \(forgery) of \(push.entity.rawValue) \(push.id) was accepted" }
        } catch {
            // Refused as a whole (400 or 403 over HTTP): fine.
        }
        return nil
    }

    private mutating func forge(_ forgery: Forgery, clients: [RecordEnvelope], view: [RecordEnvelope], provider: String,
                                counter: UInt64, now: UInt64) -> RecordEnvelope? {
        let hlc = HLC(millis: now)
        let freshID = RecordID.derived(["forgery", String(random.next())])  // seeded: a seed replays exactly
        func own(_ fields: [String: FieldValue], on base: RecordState = RecordState(), at dot: UInt64 = counter) -> RecordState {
            var state = base
            state.write(fields, dot: Dot(actor, dot), hlc: hlc)
            return state
        }
        let newClient: [String: FieldValue] = ["clientType": .string("company"), "businessId": .string("2077474-0"),
                                               "name": .string("Oy Väärä"), "municipality": .string("749")]
        let target = clients.randomElement(using: &random)
        switch forgery {
        case .foreignCounter:
            guard let target, let other = target.state.vv.counters.keys.sorted().first else { return nil }
            let raised = VersionVector([other: target.state.vv[other] + UInt64.random(in: 1...(1 << 62), using: &random)])
            let written = own(["phone": .string("040 666 6666")], on: target.state)
            return RecordEnvelope(entity: .client, id: target.id, state: RecordState(vv: written.vv.merged(with: raised), fields: written.fields))
        case .vanishingField:
            guard let target, let field = target.state.fields.keys.sorted().randomElement(using: &random) else { return nil }
            return RecordEnvelope(entity: .client, id: target.id, state: RecordState(vv: target.state.vv, fields: target.state.fields.filter { $0.key != field }))
        case .alteredForeignEntry:
            guard let target, let entries = target.state.fields[FieldKey.lastName.rawValue] else { return nil }
            let altered = entries.map { FieldEntry(value: .string("Väärennetty"), dot: $0.dot, hlc: $0.hlc, context: $0.context) }
            return RecordEnvelope(entity: .client, id: target.id, state: RecordState(vv: target.state.vv, fields: target.state.fields.merging(["lastName": altered]) { $1 }))
        case .beyondOwnCounter:
            return RecordEnvelope(entity: .client, id: freshID, state: own(newClient, at: counter + 1))
        case .movedOutOfScope:
            guard let target else { return nil }
            return RecordEnvelope(entity: .client, id: target.id, state: own(["municipality": .string("402")], on: target.state))
        case .createdOutOfScope:
            return RecordEnvelope(entity: .client, id: freshID, state: own(newClient.merging(["municipality": .string("402")]) { $1 }))
        case .activatedReferral:
            guard let target else { return nil }
            let group = target.state.value(.riskGroup) == .null ? FieldValue.int(1) : target.state.value(.riskGroup)
            return RecordEnvelope(entity: .referral, id: freshID, state: own([
                "clientId": .string(target.id), "providerId": .string(provider), "chosenBy": .string("client"), "riskGroup": group,
                "state": .string("active"), "startDate": .string("2020-01-01"),
            ]))
        case .illegalHours:
            guard let target else { return nil }
            let month = "2026-01"
            let extra: [String: FieldValue] = Bool.random(using: &random) ? ["hours": .string("9999.99")] : ["verifiedHours": .string("1")]
            return RecordEnvelope(entity: .hours, id: WriteRules.hoursID(clientID: target.id, providerID: provider, month: month), state: own([
                "clientId": .string(target.id), "providerId": .string(provider), "month": .string(month), "hours": .string("10"),
            ].merging(extra) { $1 }))
        case .providerEdited:
            guard let known = view.first(where: { $0.entity == .provider }) else { return nil }
            return RecordEnvelope(entity: .provider, id: known.id, state: own(["cap": .int(100_000)], on: known.state))
        case .incompleteClient:
            return RecordEnvelope(entity: .client, id: freshID, state: own(["municipality": .string("749")]))
        case .twoValuesOfOneActor:
            let state = own(newClient)
            let second = FieldEntry(value: .string("Oy Toinen"), dot: Dot(actor, counter - 1), hlc: hlc)
            return RecordEnvelope(entity: .client, id: freshID,
                                  state: RecordState(vv: state.vv, fields: state.fields.merging(["name": state.entries(.name) + [second]]) { $1 }))
        case .hugeVector:
            let state = own(newClient)
            var vv = state.vv
            for _ in 0...SyncLimits.maxVersionVectorActors { vv = vv.merged(with: VersionVector([ActorID(hex: random.next()): 1])) }
            return RecordEnvelope(entity: .client, id: freshID, state: RecordState(vv: vv, fields: state.fields))
        }
    }

    /// Over the wire form, through the same authentication and decoding as the HTTP server.
    private func exchange(_ store: CentralHandle, _ request: SyncRequest) async throws -> SyncResponse {
        let central = store.current
        guard let replica = try await central.authenticate(token: token) else { throw KasvuError(.syncUnauthorized, "simulated: bad token") }
        return try await central.sync(CentralSyncRequest(json: request.jsonBytes), from: replica)
    }
}
