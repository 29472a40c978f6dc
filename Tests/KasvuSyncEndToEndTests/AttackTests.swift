import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Hand-made `POST /v1/sync` requests from replicas with valid tokens, as a dishonest provider
/// or a misused office laptop would send them (issue 10). Each asserts the refusal and that
/// nobody else's data or ability to sync changed.
@Suite("Forged pushes", .serialized)
struct AttackTests {
    let directory: TemporaryDirectory
    let central: CentralProcess
    let admin: TestReplica
    let office: TestReplica
    let otherOffice: TestReplica
    let providers: [String]

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
        admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        otherOffice = try TestReplica("office-402", in: directory, central: central, scope: ["--municipalities", "402"])
        providers = try await admin.createTwoProviders()
        try await office.sync()
    }

    func provider(_ index: Int) throws -> TestReplica {
        try TestReplica("provider-\(index)", in: directory, central: central, role: "provider", scope: ["--provider", providers[index]])
    }

    /// An office client referred to provider 0 and confirmed by the central store; the provider synced.
    func referredClient(_ n: Int) async throws -> (client: String, referral: String, provider: TestReplica) {
        let client = try await CapTests.referableClient(office.replica, n)
        let referral = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(providers[0]), "chosenBy": .string("client")])
        try await office.sync()
        let provider = try provider(0)
        try await provider.sync()
        return (client, referral.id, provider)
    }

    // MARK: - Header

    @Test(arguments: CentralBackend.allCases) static func aCounterBeyondInt64IsA400AndTheCentralLives(_ backend: CentralBackend) async throws { try await Self(backend).aCounterBeyondInt64IsA400AndTheCentralLives() }
    func aCounterBeyondInt64IsA400AndTheCentralLives() async throws {
        let answer = try await Forger(office).post([]) { $0.actorCounter = UInt64(Int64.max) + 1 }
        #expect(answer.status == 400)
        #expect(answer.error?.kind == "validation_failed")
        for actor in ["", String(repeating: "a", count: 100_000), "ABCDEF0123456789"] {
            #expect(try await Forger(office).post([]) { $0.actor = ActorID(rawValue: actor) }.status == 400)
        }
        #expect(try await Forger(office).post([]) { $0.cursor = -1 }.status == 400)
        #expect(try await Forger(office).post([]) { $0.unpushed = -1 }.status == 400)
        // The central store still serves everyone.
        _ = try await office.replica.create(.client, fields: companyClient)
        #expect(try await office.sync().pushed == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func theCentralStoresOwnActorCannotBeClaimed(_ backend: CentralBackend) async throws { try await Self(backend).theCentralStoresOwnActorCannotBeClaimed() }
    func theCentralStoresOwnActorCannotBeClaimed() async throws {
        let referred = try await referredClient(1)
        let centralActor = try #require(try await office.replica.state(.referral, id: referred.referral)?.fields["state"]?.first?.dot.actor)
        #expect(centralActor != office.replica.actor)
        let answer = try await Forger(office).post([]) { $0.actor = centralActor }
        #expect(answer.status == 403)
    }

    /// The central store's decisions come after the writes they decide on in HLC order too,
    /// even from a laptop whose clock runs ahead (within the allowed skew).
    @Test(arguments: CentralBackend.allCases) static func centralDecisionsFollowTheWritesTheyDecideOn(_ backend: CentralBackend) async throws { try await Self(backend).centralDecisionsFollowTheWritesTheyDecideOn() }
    func centralDecisionsFollowTheWritesTheyDecideOn() async throws {
        let fast = try TestReplica("office-fast", in: directory, central: central, scope: ["--municipalities", "749"],
                                   nowMillis: { Replica.systemMillis() + 90_000 })
        try await fast.sync()
        let client = try await CapTests.referableClient(fast.replica, 9)
        let referral = try await fast.replica.createReferral(["clientId": .string(client), "providerId": .string(providers[0]), "chosenBy": .string("client")])
        try await fast.sync()
        let state = try #require(try await fast.replica.state(.referral, id: referral.id))
        let decision = try #require(state.fields["state"]?.first)
        #expect(decision.value == .string("active") && decision.dot.actor != fast.replica.actor)
        #expect(decision.hlc > (try #require(state.fields["clientId"]?.first)).hlc)
    }

    // MARK: - Ownership of dots

    @Test(arguments: CentralBackend.allCases) static func foreignCountersAreRefusedAndHideNoAcknowledgedWrite(_ backend: CentralBackend) async throws { try await Self(backend).foreignCountersAreRefusedAndHideNoAcknowledgedWrite() }
    func foreignCountersAreRefusedAndHideNoAcknowledgedWrite() async throws {
        let client = try await admin.replica.create(.client, fields: companyClient)
        try await admin.sync()
        try await office.sync()
        // A second laptop of the same office turns bad (a forger's own syncs are refused for good
        // once it claims counters it never wrote; the honest laptop goes on).
        let bad = try TestReplica("office-749-bad", in: directory, central: central, scope: ["--municipalities", "749"])
        try await bad.sync()
        let stored = try #require(try await bad.replica.state(.client, id: client.id))
        let forger = Forger(bad)
        // The central office's counter pushed to 2^62, with a write of the office's own.
        var inflated = stored.merged(with: forger.state(["phone": .string("040 666 6666")]))
        inflated = RecordState(vv: inflated.vv.merged(with: VersionVector([admin.replica.actor: 1 << 62])), fields: inflated.fields)
        // The register emptied without a write: the central office's name would vanish.
        let emptied = RecordState(vv: stored.vv, fields: stored.fields.filter { $0.key != "name" })
        // Another actor's entry with other content.
        var altered = stored.fields
        altered["name"] = altered["name"]!.map { FieldEntry(value: .string("Forged Oy"), dot: $0.dot, hlc: $0.hlc) }
        for forged in [inflated, emptied, RecordState(vv: stored.vv, fields: altered)] {
            let answer = try await forger.post([RecordEnvelope(entity: .client, id: client.id, state: forged)])
            #expect(answer.response?.rejections.map(\.kind) == ["permission_denied"])
        }
        // The central office writes on, acknowledged, and every replica shows its write.
        _ = try await admin.replica.update(.client, id: client.id, set: ["name": .string("Oy Oikea")])
        #expect(try await admin.sync().rejections.isEmpty)
        try await office.sync()
        #expect(try await office.replica.get(.client, id: client.id)["name"] == .string("Oy Oikea"))
        #expect(try await office.replica.get(.client, id: client.id)["phone"] == .null)
    }

    /// A restamped entry names the write it first was (`kasvu recover`), and the store then
    /// drops a second copy of that write. Only the pusher's own former actors count: a forger
    /// naming an honest laptop's write cannot make that write land as "already seen" and vanish.
    @Test(arguments: CentralBackend.allCases) static func anOriginNamingAnotherReplicasWriteHidesNothing(_ backend: CentralBackend) async throws { try await Self(backend).anOriginNamingAnotherReplicasWriteHidesNothing() }
    func anOriginNamingAnotherReplicasWriteHidesNothing() async throws {
        let bad = try TestReplica("office-749-bad", in: directory, central: central, scope: ["--municipalities", "749"])
        try await bad.sync()
        let created = try await office.replica.create(.client, fields: aino(municipality: "749"))  // not yet pushed
        let honest = try #require(try await office.replica.state(.client, id: created.id))
        let forger = Forger(bad)
        var fields: [String: [FieldEntry]] = [:]
        for (name, entries) in honest.fields {
            fields[name] = entries.map {
                FieldEntry(value: name == "lastName" ? .string("Väärä") : $0.value, dot: Dot(forger.actor, forger.counter), hlc: forger.hlc,
                           origin: FieldEntry.Write(dot: $0.dot, hlc: $0.hlc))
            }
        }
        let forged = RecordState(vv: VersionVector([forger.actor: forger.counter]), fields: fields)
        #expect(try await forger.post([RecordEnvelope(entity: .client, id: created.id, state: forged)]).response?.rejections.isEmpty == true)
        #expect(try await office.sync().rejections.isEmpty)
        try await admin.sync()
        // The honest write is held, beside the forged one: a conflict shown, nothing hidden.
        let names = try await admin.replica.get(.client, id: created.id).conflicts.first { $0.field == "lastName" }?.entries.map(\.value)
        #expect(Set(names ?? []) == [.string("Virtanen"), .string("Väärä")])
    }

    @Test(arguments: CentralBackend.allCases) static func aProviderCannotLockOutTheCentralOffice(_ backend: CentralBackend) async throws { try await Self(backend).aProviderCannotLockOutTheCentralOffice() }
    func aProviderCannotLockOutTheCentralOffice() async throws {
        let referred = try await referredClient(2)
        let forger = Forger(referred.provider)
        var entries: [FieldEntry] = []
        for n in 1...5_000 { entries.append(FieldEntry(value: .string("1"), dot: Dot(forger.actor, UInt64(n)), hlc: forger.hlc)) }
        let hoursID = WriteRules.hoursID(clientID: referred.client, providerID: providers[0], month: "2026-01")
        let flooded = forger.state(["clientId": .string(referred.client), "providerId": .string(providers[0]), "month": .string("2026-01"), "hours": .string("1")])
        let manyEntries = RecordState(vv: flooded.vv.merged(with: VersionVector([forger.actor: 5_000])), fields: flooded.fields.merging(["hours": entries]) { $1 })
        let adminCounter = RecordState(vv: flooded.vv.merged(with: VersionVector([admin.replica.actor: 1_000_000])), fields: flooded.fields)
        for forged in [manyEntries, adminCounter] {
            let answer = try await forger.post([RecordEnvelope(entity: .hours, id: hoursID, state: forged)], counter: 10_000)
            #expect(answer.response?.rejections.map(\.kind) == ["permission_denied"])
        }
        // The central office's next writes sync as ever: no "replica rewound".
        _ = try await admin.replica.update(.provider, id: providers[1], set: ["cap": .int(11)])
        #expect(try await admin.sync().rejections.isEmpty)
    }

    // MARK: - Rules on every pushed entry

    @Test(arguments: CentralBackend.allCases) static func hoursFollowTheRulesOfTheReplica(_ backend: CentralBackend) async throws { try await Self(backend).hoursFollowTheRulesOfTheReplica() }
    func hoursFollowTheRulesOfTheReplica() async throws {
        let referred = try await referredClient(3)
        let forger = Forger(referred.provider)
        let today = CalendarDate.today()
        let month = String(today.description.prefix(7))  // the referral started today
        let hoursID = WriteRules.hoursID(clientID: referred.client, providerID: providers[0], month: month)
        let valid: [String: FieldValue] = ["clientId": .string(referred.client), "providerId": .string(providers[0]), "month": .string(month), "hours": .string("80")]
        let next = today.year + 1
        let before = "\(today.year - 1)-12"
        let cases: [(id: String, fields: [String: FieldValue], kind: String)] = [
            (WriteRules.hoursID(clientID: referred.client, providerID: providers[0], month: before),
             valid.merging(["month": .string(before)]) { $1 }, "validation_failed"),  // before the referral
            (hoursID, valid.merging(["hours": .string("9999.99")]) { $1 }, "validation_failed"),
            (hoursID, valid.merging(["verifiedHours": .string("80")]) { $1 }, "permission_denied"),
            (hoursID, valid.merging(["auditedBy": .string("auditor")]) { $1 }, "permission_denied"),
            (hoursID, valid.filter { $0.key != "month" }, "validation_failed"),
            (RecordID.random(), valid, "validation_failed"),  // a second report for the month under another id
            (WriteRules.hoursID(clientID: referred.client, providerID: providers[0], month: "\(next)-01"),
             valid.merging(["month": .string("\(next)-01")]) { $1 }, "validation_failed"),
        ]
        for item in cases {
            let answer = try await forger.post([RecordEnvelope(entity: .hours, id: item.id, state: forger.state(item.fields))])
            #expect(answer.response?.rejections.map(\.kind) == [item.kind], "\(item.fields)")
        }
        // The honest report lands.
        let honest = try await forger.post([RecordEnvelope(entity: .hours, id: hoursID, state: forger.state(valid))])
        #expect(honest.response?.accepted == 1 && honest.response?.rejections.isEmpty == true)
    }

    @Test(arguments: CentralBackend.allCases) static func referralDecisionsAreTheCentralStores(_ backend: CentralBackend) async throws { try await Self(backend).referralDecisionsAreTheCentralStores() }
    func referralDecisionsAreTheCentralStores() async throws {
        let confirmed = try await CapTests.referableClient(office.replica, 4)
        let unconfirmed = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()
        let group = try #require(try await office.replica.get(.client, id: confirmed)["riskGroup"].intValue)
        let forger = Forger(office)
        func referral(_ client: String, _ extra: [String: FieldValue]) -> [RecordEnvelope] {
            [RecordEnvelope(entity: .referral, id: RecordID.random(), state: forger.state([
                "clientId": .string(client), "providerId": .string(providers[0]), "chosenBy": .string("client"),
                "state": .string("pending"), "riskGroup": .int(group),
            ].merging(extra) { $1 }))]
        }
        let cases: [([RecordEnvelope], String)] = [
            (referral(confirmed, ["state": .string("active")]), "permission_denied"),
            (referral(confirmed, ["state": .string("waitlisted")]), "permission_denied"),
            (referral(confirmed, ["startDate": .string("2020-01-01")]), "permission_denied"),
            (referral(confirmed, ["state": .string("ended"), "endDate": .string("2026-01-01"), "endReason": .string("x")]), "invalid_transition"),
            (referral(confirmed, ["riskGroup": .int(group == 3 ? 1 : 3)]), "validation_failed"),
            (referral(unconfirmed.id, ["riskGroup": .int(3)]), "validation_failed"),
        ]
        for (push, kind) in cases {
            #expect(try await forger.post(push).response?.rejections.map(\.kind) == [kind])
        }
        try await admin.sync()
        #expect(try await admin.replica.allStates(.referral).isEmpty)
        // The honest referral lands and the central store decides it.
        #expect(try await forger.post(referral(confirmed, [:])).response?.rejections.isEmpty == true)
        try await admin.sync()
        #expect(try await admin.replica.allStates(.referral).map { $0.state.value("state") } == [.string("active")])
    }

    @Test(arguments: CentralBackend.allCases) static func incompleteRecordsAreRefused(_ backend: CentralBackend) async throws { try await Self(backend).incompleteRecordsAreRefused() }
    func incompleteRecordsAreRefused() async throws {
        let forger = Forger(office)
        let nameless = forger.state(["municipality": .string("749")])
        let answer = try await forger.post([RecordEnvelope(entity: .client, id: RecordID.random(), state: nameless)])
        #expect(answer.response?.rejections.map(\.kind) == ["validation_failed"])
        try await admin.sync()
        #expect(try await admin.replica.allStates(.client).isEmpty)
    }

    // MARK: - Scope on both sides of the merge

    @Test(arguments: CentralBackend.allCases) static func aProviderCannotTakeOverAnotherProvidersHours(_ backend: CentralBackend) async throws { try await Self(backend).aProviderCannotTakeOverAnotherProvidersHours() }
    func aProviderCannotTakeOverAnotherProvidersHours() async throws {
        // The client was with provider 1, who reported hours this month; then it switched to
        // provider 0, so the client is in provider 0's scope and provider 1's hours id is
        // predictable (derived from client, provider 1 and month).
        let client = try await CapTests.referableClient(office.replica, 5)
        _ = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(providers[1]), "chosenBy": .string("client")])
        try await office.sync()  // the central office confirms it
        let month = String(CalendarDate.today().description.prefix(7))
        let theirs = try await office.replica.reportHours(["clientId": .string(client), "providerId": .string(providers[1]), "month": .string(month), "hours": .string("40")])
        _ = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(providers[0]), "chosenBy": .string("client")],
                                                    switchProvider: true)
        try await office.sync()
        let provider = try provider(0)
        try await provider.sync()
        #expect(try await provider.replica.state(.client, id: client) != nil)  // in its scope: the check below can fail
        #expect(theirs.id == WriteRules.hoursID(clientID: client, providerID: providers[1], month: month))
        let stored = try #require(try await office.replica.state(.hours, id: theirs.id))
        let forger = Forger(provider)
        let takeover = stored.merged(with: forger.state(["providerId": .string(providers[0]), "hours": .string("160")]))
        let answer = try await forger.post([RecordEnvelope(entity: .hours, id: theirs.id, state: takeover)])
        #expect(answer.response?.rejections.count == 1)
        try await admin.sync()
        #expect(try await admin.replica.get(.hours, id: theirs.id)["providerId"] == .string(providers[1]))
        #expect(try await admin.replica.get(.hours, id: theirs.id)["hours"] == .string("40"))
        #expect(try await admin.replica.state(.hours, id: theirs.id)?.conflicts.isEmpty == true)
    }

    @Test(arguments: CentralBackend.allCases) static func anOfficeCannotPullAnotherOfficesRecordIntoItsScope(_ backend: CentralBackend) async throws { try await Self(backend).anOfficeCannotPullAnotherOfficesRecordIntoItsScope() }
    func anOfficeCannotPullAnotherOfficesRecordIntoItsScope() async throws {
        try await otherOffice.sync()
        let theirClient = try await otherOffice.replica.create(.client, fields: companyClient.merging(["municipality": .string("402")]) { $1 })
        let contact = try await otherOffice.replica.create(.contact, fields: ["clientId": .string(theirClient.id), "providerId": .string(providers[0]),
                                                                            "date": .string("2026-11-20"), "kind": .string("meeting"), "note": .string("private note")])
        try await otherOffice.sync()
        let mine = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()
        let forger = Forger(office)
        // Re-parenting the contact to one of its own clients, and moving the client into 749.
        let stored = try #require(try await otherOffice.replica.state(.contact, id: contact.id))
        let reparented = RecordState(vv: stored.vv, fields: stored.fields).merged(with: forger.state(["clientId": .string(mine.id)]))
        let moved = forger.state(["municipality": .string("749"), "lastName": .string("X")])
        let answer = try await forger.post([RecordEnvelope(entity: .contact, id: contact.id, state: reparented),
                                            RecordEnvelope(entity: .client, id: theirClient.id, state: moved)])
        #expect(answer.response?.rejections.count == 2)
        // The refusals say nothing of the other office's record, and no pull delivers it.
        for rejection in answer.response?.rejections ?? [] {
            #expect(!rejection.message.contains("402") && !rejection.message.contains("private"))
        }
        let pulled = try await forger.post([]) { $0.cursor = 0 }
        #expect(pulled.response?.pull.map(\.id).contains(mine.id) == true)  // the check below can fail
        #expect(pulled.response?.pull.contains { $0.id == contact.id || $0.id == theirClient.id } == false)
        try await otherOffice.sync()
        #expect(try await otherOffice.replica.get(.client, id: theirClient.id)["municipality"] == .string("402"))
        #expect(try await otherOffice.replica.get(.contact, id: contact.id)["clientId"] == .string(theirClient.id))
    }

    /// Nothing in a refusal depends on a record outside the pusher's scope: a guessed
    /// henkilötunnus of another office's client is answered the same, right or wrong.
    @Test(arguments: CentralBackend.allCases) static func refusalsAreNoOracleOnRecordsOutsideTheScope(_ backend: CentralBackend) async throws { try await Self(backend).refusalsAreNoOracleOnRecordsOutsideTheScope() }
    func refusalsAreNoOracleOnRecordsOutsideTheScope() async throws {
        try await otherOffice.sync()
        let theirs = try await otherOffice.replica.create(.client, fields: aino(municipality: "402"))
        try await otherOffice.sync()
        let bad = try TestReplica("office-749-bad", in: directory, central: central, scope: ["--municipalities", "749"])
        let forger = Forger(bad)
        var answers: [String] = []
        for guess in ["131052-308T", "010101A123N"] {  // the right one, and another
            let probe = forger.state(["hetu": .string(guess), "lastName": .string("X"), "municipality": .string("749")])
            let answer = try await forger.post([RecordEnvelope(entity: .client, id: theirs.id, state: probe)])
            answers.append(answer.response?.rejections.map { "\($0.kind): \($0.message)" }.joined() ?? "no answer")
        }
        #expect(answers[0] == answers[1])
        #expect(answers[0] == "permission_denied: the record is outside this replica's scope")
    }

    // MARK: - Limits

    @Test(arguments: CentralBackend.allCases) static func sizesAreBounded(_ backend: CentralBackend) async throws { try await Self(backend).sizesAreBounded() }
    func sizesAreBounded() async throws {
        let forger = Forger(office)
        var vv: [ActorID: UInt64] = [:]
        for n in 1...(SyncLimits.maxVersionVectorActors + 1) { vv[ActorID(hex: UInt64(n))] = 1 }
        let client = forger.state(companyClient)
        let wide = RecordState(vv: client.vv.merged(with: VersionVector(vv)), fields: client.fields)
        #expect(try await forger.post([RecordEnvelope(entity: .client, id: RecordID.random(), state: wide)]).response?.rejections.count == 1)
        let many = (0...SyncLimits.maxPushRecords).map { _ in RecordEnvelope(entity: .client, id: RecordID.random(), state: client) }
        #expect(try await forger.post(many).status == 413)
        let name = String(repeating: "n", count: SyncLimits.maxUserNameLength + 1)
        #expect(try await forger.post([]) { $0.userName = name }.status == 400)
    }
}

func aino(municipality: String) -> [String: FieldValue] {
    ["hetu": .string("131052-308T"), "firstName": .string("Aino"), "lastName": .string("Virtanen"), "municipality": .string(municipality)]
}

/// Builds and sends hand-made sync requests with a replica's own token and identity.
struct Forger {
    let replica: TestReplica
    let actor: ActorID
    /// The counter of the forger's writes: above anything its database has used.
    let counter: UInt64 = 1_000
    let hlc = HLC(millis: Replica.systemMillis())

    init(_ replica: TestReplica) {
        self.replica = replica
        actor = replica.replica.actor
    }

    /// A state holding one write of the forger's own actor.
    func state(_ fields: [String: FieldValue]) -> RecordState {
        var state = RecordState()
        state.write(fields, dot: Dot(actor, counter), hlc: hlc)
        return state
    }

    func post(_ push: [RecordEnvelope], counter: UInt64? = nil, header change: (inout SyncHeader) -> Void = { _ in })
        async throws -> (status: Int, response: SyncResponse?, error: SyncErrorBody.Detail?) {
        var header = try await replica.replica.syncHeader(pullLimit: 100, userName: nil)
        header.actorCounter = counter ?? self.counter
        change(&header)
        let body = SyncRequest(header: header, push: push).jsonBytes
        var options = HTTPClientOptions()
        options.maxAttempts = 1
        let client = try CurlHTTPClient(options: options)
        let answer = try await client.send(HTTPRequest(method: "POST", url: replica.central.url + "/v1/sync",
                                                       headers: [(name: "Content-Type", value: "application/json"),
                                                                 (name: "Authorization", value: "Bearer \(replica.token)")], body: body))
        return (answer.status, try? SyncResponse(json: answer.body), try? JSONDecoder().decode(SyncErrorBody.self, from: Data(answer.body)).error)
    }
}
