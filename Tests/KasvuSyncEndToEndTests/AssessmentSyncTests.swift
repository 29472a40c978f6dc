import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Assessments across replicas (issue 14, items 2 and 3): what a provider receives, and the
/// assessment gate held by the central store itself against hand-made pushes.
@Suite("Assessments across replicas", .serialized)
struct AssessmentSyncTests {
    let directory: TemporaryDirectory
    let central: CentralProcess
    let admin: TestReplica
    let office: TestReplica
    let providers: [String]

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
        admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        providers = try await admin.createTwoProviders()
        try await office.sync()
    }

    static let confidential = ["arvio-salaisuus", "Osallistujanimi", "suositus-salaisuus"]

    /// A completed assessment by the office, with confidential notes, participants and recommendations.
    func completedAssessment(_ client: String, date: String, outcome: String, needs: String) async throws -> String {
        let assessment = try await office.replica.create(.assessment, fields: [
            "clientId": .string(client), "date": .string(date), "notes": .string("arvio-salaisuus \(date)"),
            "participants": .string(#"[{"role":"health","name":"Osallistujanimi"}]"#), "needs": .string(needs),
            "recommendedServices": .string(#"["suositus-salaisuus"]"#), "outcome": .string(outcome),
        ])
        return try await office.replica.completeAssessment(id: assessment.id, completedBy: "worker").id
    }

    @Test(arguments: CentralBackend.allCases) static func aProviderReceivesTheOutcomeAndNeedsOfTheLatestCompletedAssessmentOnly(_ backend: CentralBackend) async throws {
        try await Self(backend).aProviderReceivesTheOutcomeAndNeedsOfTheLatestCompletedAssessmentOnly()
    }

    func aProviderReceivesTheOutcomeAndNeedsOfTheLatestCompletedAssessmentOnly() async throws {
        let client = try await CapTests.referableClient(office.replica, 1)
        let first = try await completedAssessment(client, date: "2026-11-02", outcome: "direct_referral", needs: #"["employment","health"]"#)
        let draft = try await office.replica.create(.assessment, fields: ["clientId": .string(client), "date": .string("2026-11-20"), "notes": .string("arvio-salaisuus luonnos")])
        _ = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(providers[0]), "chosenBy": .string("client")])
        try await office.sync()
        let provider = try TestReplica("provider-0", in: directory, central: central, role: "provider", scope: ["--provider", providers[0]])
        try await provider.sync()

        let held = try await provider.replica.allStates(.assessment)
        #expect(held.map(\.id) == [first])
        let record = try await provider.replica.get(.assessment, id: first)
        #expect(record["outcome"] == .string("direct_referral") && record["needs"] == .string(#"["employment","health"]"#) && record["state"] == .string("completed"))
        for field in ["notes", "participants", "recommendedServices", "completedBy"] { #expect(record[field] == .null, "\(field)") }
        await #expect(throws: KasvuError.self) { try await provider.replica.get(.assessment, id: draft.id) }
        // Asked through kasvu rpc, as the provider's tools would: no notes, no names, no draft.
        let asked = try KasvuBinary.run(["rpc", "--db", provider.replica.path], input: """
            {"jsonrpc":"2.0","id":1,"method":"assessment/get","params":{"id":"\(first)"}}
            {"jsonrpc":"2.0","id":2,"method":"assessment/get","params":{"id":"\(draft.id)"}}
            {"jsonrpc":"2.0","id":3,"method":"client/journey","params":{"id":"\(client)"}}

            """)
        let answers = asked.stdout.split(separator: "\n")
        #expect(answers.count == 3 && answers[0].contains(#""notes":null"#) && answers[0].contains(#""participants":null"#), "\(asked)")
        #expect(answers.count == 3 && answers[1].contains(#""kind":"not_found""#) && answers[2].contains("assessment_completed"), "\(asked)")
        #expect(!asked.stdout.contains("salaisuus") && !asked.stdout.contains("Osallistujanimi"))
        #expect(try ErasureTests.leaks(files: Self.files(provider.replica.path), secrets: Self.confidential) == [])

        // A later completed assessment replaces the earlier one on the provider's laptop.
        let second = try await completedAssessment(client, date: "2026-11-25", outcome: "service_manager", needs: #"["housing"]"#)
        try await office.sync()
        try await provider.sync()
        #expect(try await provider.replica.allStates(.assessment).map(\.id) == [second])
        #expect(try await provider.replica.get(.assessment, id: second)["outcome"] == .string("service_manager"))
        #expect(try ErasureTests.leaks(files: Self.files(provider.replica.path), secrets: Self.confidential) == [])
        // The office holds all three, whole.
        #expect(try await office.replica.allStates(.assessment).count == 3)

        // A provider writes no assessment, even by hand.
        let forger = Forger(provider)
        let forged = forger.state(["clientId": .string(client), "date": .string("2026-11-26"), "state": .string("completed"), "outcome": .string("direct_referral")])
        let answer = try await forger.post([RecordEnvelope(entity: .assessment, id: RecordID.random(), state: forged)])
        #expect(answer.response?.rejections.map(\.kind) == ["permission_denied"])
    }

    static func files(_ path: String) -> [String] {
        [path, path + "-wal", path + "-shm"].filter { FileManager.default.fileExists(atPath: $0) }
    }

    @Test(arguments: CentralBackend.allCases) static func theCentralStoreHoldsTheGateAgainstHandMadePushes(_ backend: CentralBackend) async throws {
        try await Self(backend).theCentralStoreHoldsTheGateAgainstHandMadePushes()
    }

    func theCentralStoreHoldsTheGateAgainstHandMadePushes() async throws {
        let pirkanmaa = try await admin.replica.create(.provider, fields: [
            "name": .string("Polku Pirkanmaa Oy"), "businessId": .string("1572860-0"), "pilotArea": .string("MK06"),
            "cap": .int(10), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ]).id
        try await admin.sync()
        let client = try await CapTests.referableClient(office.replica, 2)
        _ = try await office.replica.confirmRiskGroup(clientID: client, group: 3, reason: "monta estettä", confirmedBy: "worker")
        let company = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()

        // From here on, hand-made pushes under counters past the laptop's own.
        let forger = Forger(office)
        func forged(_ fields: [String: FieldValue], counter: UInt64, after earlier: RecordState? = nil) -> RecordState {
            var state = earlier ?? RecordState()
            state.write(fields, dot: Dot(forger.actor, counter), hlc: forger.hlc)
            return state
        }
        let referral = { (counter: UInt64) in
            [RecordEnvelope(entity: .referral, id: RecordID.random(), state: forged([
                "clientId": .string(client), "providerId": .string(pirkanmaa), "chosenBy": .string("client"),
                "state": .string("pending"), "riskGroup": .int(3),
            ], counter: counter))]
        }
        // A replica that skips its own check is refused by the central store.
        #expect(try await forger.post(referral(1_000), counter: 1_000).response?.rejections.map(\.kind) == ["assessment_required"])

        // An assessment that found other services fit does not open the gate.
        let otherServices = forged(["clientId": .string(client), "date": .string("2026-11-10"), "state": .string("completed"),
                                    "outcome": .string("other_services"), "completedAt": .string("2026-11-10T10:00:00Z")], counter: 1_001)
        let assessmentID = RecordID.random()
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: assessmentID, state: otherServices)], counter: 1_001).response?.rejections.isEmpty == true)
        #expect(try await forger.post(referral(1_002), counter: 1_002).response?.rejections.map(\.kind) == ["assessment_required"])

        // A completed assessment does not change: not its outcome, nor back to a draft.
        let rewritten = forged(["outcome": .string("direct_referral")], counter: 1_003, after: otherServices)
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: assessmentID, state: rewritten)], counter: 1_003).response?.rejections.map(\.kind) == ["invalid_transition"])
        let reopened = forged(["state": .string("draft")], counter: 1_004, after: otherServices)
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: assessmentID, state: reopened)], counter: 1_004).response?.rejections.map(\.kind) == ["invalid_transition"])
        // Nor under a delete, to come alive with an undelete.
        var hidden = forged(["outcome": .string("direct_referral"), "deleted": .bool(true)], counter: 1_005, after: otherServices)
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: assessmentID, state: hidden)], counter: 1_005).response?.rejections.map(\.kind) == ["invalid_transition"])
        hidden = forged(["deleted": .bool(true)], counter: 1_006, after: otherServices)
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: assessmentID, state: hidden)], counter: 1_006).response?.rejections.isEmpty == true)
        // A referral made deleted meets the gate, and so does one undeleted.
        var buried = referral(1_007)
        buried[0] = RecordEnvelope(entity: .referral, id: buried[0].id, state: forged(["deleted": .bool(true)], counter: 1_008, after: buried[0].state))
        #expect(try await forger.post(buried, counter: 1_008).response?.rejections.map(\.kind) == ["assessment_required"])
        // Nor is an assessment completed without an outcome, or made of a company.
        let noOutcome = forged(["clientId": .string(client), "date": .string("2026-11-11"), "state": .string("completed")], counter: 1_009)
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: RecordID.random(), state: noOutcome)], counter: 1_009).response?.rejections.map(\.kind) == ["validation_failed"])
        let ofCompany = forged(["clientId": .string(company.id), "date": .string("2026-11-11")], counter: 1_010)
        #expect(try await forger.post([RecordEnvelope(entity: .assessment, id: RecordID.random(), state: ofCompany)], counter: 1_010).response?.rejections.map(\.kind) == ["validation_failed"])

        // A later assessment with outcome direct_referral opens it, in the same push as the referral.
        let allowing = forged(["clientId": .string(client), "date": .string("2026-11-20"), "state": .string("completed"),
                               "outcome": .string("direct_referral"), "completedAt": .string("2026-11-20T10:00:00Z")], counter: 1_011)
        let push = [RecordEnvelope(entity: .assessment, id: RecordID.random(), state: allowing)] + referral(1_012)
        #expect(try await forger.post(push, counter: 1_012).response?.rejections.isEmpty == true)
        try await admin.sync()
        #expect(try await admin.replica.list(.referral, where: ["providerId": .string(pirkanmaa)]).items.map { $0["state"] } == [.string("active")])
    }
}
