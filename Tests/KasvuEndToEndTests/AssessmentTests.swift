import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuTestSupport
import Testing

/// The multi-professional assessment and the assessment gate (issue 14, items 2 and 3),
/// through a real `kasvu rpc` over pipes, bad inputs included.
@Suite("Assessments and the assessment gate through kasvu rpc", .serialized)
struct AssessmentTests {
    let directory: TemporaryDirectory
    let db: String

    init() throws {
        directory = try TemporaryDirectory()
        db = try initializedAdminReplica(in: directory)
    }

    /// A provider of Pirkanmaa (MK06), whose pilot assesses risk group 3 and marked persons first.
    static let pirkanmaaProvider: JSONValue = [
        "name": "Polku Pirkanmaa Oy", "businessId": "0112038-9", "pilotArea": "MK06", "cap": 700,
        "capitationBase": "200.00", "hourlyRate": "10.00",
    ]
    static let tampereClient: JSONValue = ["hetu": "010190-123M", "firstName": "Eero", "lastName": "Mäkinen", "municipality": "837"]

    static func draft(_ clientID: JSONValue, _ changes: [String: JSONValue] = [:]) -> JSONValue {
        .object([
            "clientId": clientID, "date": "2026-11-20",
            "participants": [["role": "te_office", "name": "Kaisa Koski"], ["role": "health", "name": "Dr. Liisa Lehto"]],
            "needs": ["health", "employment"],
            "notes": "Selkävaiva rajoittaa fyysistä työtä; kuntoutusselvitys vireillä.",
            "recommendedServices": ["työkykykoordinaattori"],
        ].merging(changes) { $1 })
    }

    /// A person with a confirmed risk group (an override of the proposal, with its reason).
    static func person(_ rpc: RPCProcess, _ params: JSONValue, group: Int) async throws -> JSONValue {
        let inputs: [String: JSONValue] = ["monthsUnemployed": 14, "educationLevel": "basic", "monthsEmployedLast24": 3, "languageSkills": "native"]
        let client = try await rpc.result("client/create", .object((params.objectValue ?? [:]).merging(inputs) { $1 }))
        _ = try await rpc.result("client/profile", ["id": client["id"]!])
        _ = try await rpc.result("client/confirmRiskGroup", ["id": client["id"]!, "group": .int(Int64(group)), "reason": "case worker's assessment"])
        return client["id"]!
    }

    @Test func anAssessmentIsDraftedCompletedAndThenFixed() async throws {
        let rpc = try RPCProcess(db: db)
        let client = try await Self.person(rpc, Self.tampereClient, group: 2)
        let draft = try await rpc.result("assessment/create", Self.draft(client))
        #expect(draft["state"] == "draft" && draft["outcome"] == .null)
        // Needs come back as a set in the documented list's order; participants as given.
        #expect(draft["needs"] == ["employment", "health"])
        #expect(draft["participants"] == [["name": "Kaisa Koski", "role": "te_office"], ["name": "Dr. Liisa Lehto", "role": "health"]])
        let id = try #require(draft["id"])

        // Completing needs an outcome.
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("assessment/complete", ["id": id])) == ["outcome"])
        let updated = try await rpc.result("assessment/update", ["id": id, "set": ["outcome": "other_services", "needs": ["health"]]])
        #expect(updated["needs"] == ["health"])
        let done = try await rpc.result("assessment/complete", ["id": id])
        #expect(done["state"] == "completed" && done["completedBy"] != .null && done["completedAt"] != .null)

        // A completed assessment is fixed: a new one supersedes it.
        let changed = try await rpc.call("assessment/update", ["id": id, "set": ["notes": "toinen teksti"]])
        #expect(changed["error"]?["data"]?["kind"] == "invalid_transition", "\(changed)")
        #expect(try await rpc.call("assessment/complete", ["id": id])["error"]?["data"]?["kind"] == "invalid_transition")
        #expect(try await rpc.result("assessment/get", ["id": id])["notes"] == Self.draft(client)["notes"])
        let listed = try await rpc.result("assessment/list", ["where": ["clientId": client, "state": "completed"]])
        #expect(listed["items"]?.arrayValue?.count == 1)

        // The journey shows it, with who completed it, and never the notes.
        let journey = try await rpc.result("client/journey", ["id": client])
        let steps = journey["steps"]?.arrayValue ?? []
        let completed = try #require(steps.first { $0["event"] == "assessment_completed" })
        #expect(completed["details"]?["outcome"] == "other_services" && completed["details"]?["needs"] == "health")
        #expect(steps.contains { $0["event"] == "assessment" && $0["date"] == "2026-11-20" })
        #expect(!String(decoding: journey.serialized(), as: UTF8.self).contains("Selkävaiva"))
        #expect(await rpc.finish() == 0)
    }

    @Test func badAssessmentsAreRefusedNamingTheField() async throws {
        let rpc = try RPCProcess(db: db)
        let client = try await Self.person(rpc, Self.tampereClient, group: 2)
        let failed = { (params: JSONValue) async throws -> [String] in
            ClientTypeAndSearchTests.failedFields(try await rpc.call("assessment/create", params))
        }
        #expect(try await failed(Self.draft(client, ["needs": ["health", "astrology"]])) == ["needs[1]"])
        #expect(try await failed(Self.draft(client, ["needs": ["health", "health"]])) == ["needs[1]"])
        #expect(try await failed(Self.draft(client, ["participants": [["role": "shaman", "name": "X"]]])) == ["participants[0].role"])
        #expect(try await failed(Self.draft(client, ["participants": [["role": "kela"]]])) == ["participants[0].name"])
        #expect(try await failed(Self.draft(client, ["participants": [["role": "kela", "name": "A", "hetu": "010190-123M"]]])) == ["participants[0].hetu"])
        #expect(try await failed(Self.draft(client, ["outcome": "maybe"])) == ["outcome"])
        #expect(try await failed(Self.draft(client, ["date": "2026-13-01"])) == ["date"])
        #expect(try await failed(Self.draft(client, ["recommendedServices": ["  "]])) == ["recommendedServices[0]"])
        // Not an array at all is an invalid-params error of the JSON-RPC layer.
        let notArray = try await rpc.call("assessment/create", Self.draft(client, ["needs": "health"]))
        #expect(notArray["error"]?["code"] == -32602, "\(notArray)")
        // Assessments are for persons.
        let company = try await rpc.result("client/create", ClientTypeAndSearchTests.company)
        #expect(try await failed(Self.draft(company["id"]!)) == ["clientId"])
        #expect(try await rpc.call("assessment/create", Self.draft(.string(RecordID.random())))["error"]?["data"]?["kind"] == "validation_failed")
        #expect(try await rpc.result("assessment/list")["items"]?.arrayValue?.isEmpty == true)
        #expect(await rpc.finish() == 0)

        // A provider's replica neither writes nor may ask for assessments' notes.
        let scoped = directory.path("provider.sqlite")
        #expect(try KasvuBinary.run(["init", "--db", scoped, "--replica-id", "provider-1", "--role", "provider"]).status == 0)
        let provider = try RPCProcess(db: scoped)
        let refused = try await provider.call("assessment/create", Self.draft(client))
        #expect(refused["error"]?["data"]?["kind"] == "permission_denied")
        #expect(await provider.finish() == 0)
    }

    /// Pirkanmaa refers a person in risk group 3, or one marked for assessment, only after an
    /// assessment completed with outcome direct_referral or service_manager; Pohjois-Savo has no gate.
    @Test func theGateHoldsReferralsUntilAnAllowingAssessmentIsComplete() async throws {
        let rpc = try RPCProcess(db: db)
        let pirkanmaa = try await rpc.result("provider/create", Self.pirkanmaaProvider)["id"]!
        let pohjoisSavo = try await rpc.result("provider/create", providerParams)["id"]!
        let hard = try await Self.person(rpc, Self.tampereClient, group: 3)
        let refer = { (client: JSONValue, provider: JSONValue) async throws -> JSONValue in
            try await rpc.call("referral/create", ["clientId": client, "providerId": provider, "chosenBy": "client"])
        }

        let gated = try await refer(hard, pirkanmaa)
        #expect(gated["error"]?["code"] == 1011 && gated["error"]?["data"]?["kind"] == "assessment_required", "\(gated)")
        #expect(gated["error"]?["message"]?.stringValue?.contains("no assessment is complete") == true)
        #expect(gated["error"]?["message"]?.stringValue?.contains("Mäkinen") == false)
        // A draft does not open the gate, nor does a completed assessment that found other services fit.
        let first = try await rpc.result("assessment/create", Self.draft(hard, ["outcome": "direct_referral"]))
        #expect(try await refer(hard, pirkanmaa)["error"]?["data"]?["kind"] == "assessment_required")
        _ = try await rpc.result("assessment/update", ["id": first["id"]!, "set": ["outcome": "other_services"]])
        _ = try await rpc.result("assessment/complete", ["id": first["id"]!])
        let stillGated = try await refer(hard, pirkanmaa)
        #expect(stillGated["error"]?["message"]?.stringValue?.contains("outcome is other_services") == true, "\(stillGated)")
        // The other areas have no gate.
        let elsewhere = try await refer(hard, pohjoisSavo)
        #expect(elsewhere["result"]?["state"] == "pending", "\(elsewhere)")
        _ = try await rpc.result("referral/transition", ["id": elsewhere["result"]!["id"]!, "to": "cancelled"])

        // A later assessment with outcome direct_referral opens it.
        let second = try await rpc.result("assessment/create", Self.draft(hard, ["date": "2026-11-27", "outcome": "direct_referral"]))
        _ = try await rpc.result("assessment/complete", ["id": second["id"]!])
        #expect(try await refer(hard, pirkanmaa)["result"]?["state"] == "pending")

        // Risk group 1 passes, until the case worker marks the person for assessment.
        let easy = try await Self.person(rpc, ["hetu": "131052-308T", "firstName": "Aino", "lastName": "Virtanen", "municipality": "837"], group: 1)
        _ = try await rpc.result("client/update", ["id": easy, "set": ["needsAssessment": true]])
        let marked = try await refer(easy, pirkanmaa)
        #expect(marked["error"]?["message"]?.stringValue?.contains("is marked for assessment") == true, "\(marked)")
        _ = try await rpc.result("client/update", ["id": easy, "set": ["needsAssessment": false]])
        #expect(try await refer(easy, pirkanmaa)["result"]?["state"] == "pending")
        #expect(try await rpc.call("client/update", ["id": easy, "set": ["needsAssessment": "yes"]])["error"]?["code"] == -32602)
        #expect(await rpc.finish() == 0)
    }

    @Test func theShippedGateIsPirkanmaaFromTheStart() throws {
        let gate = AssessmentGate.shipped
        #expect(gate.rule(area: "MK06", on: try CalendarDate(iso: "2019-01-01"))?.rule.riskGroups == [3])
        #expect(gate.rule(area: "MK06", on: try CalendarDate(iso: "2026-12-07"))?.rule.whenMarked == true)
        #expect(gate.rule(area: "MK11", on: try CalendarDate(iso: "2026-12-07")) == nil)
        #expect(gate.rule(area: "MK06", on: try CalendarDate(iso: "2018-12-31")) == nil)
        // Versions must move forwards; areas are region codes.
        let backwards = #"{"versions":[{"version":2,"validFrom":"2020-01-01","areas":{}},{"version":1,"validFrom":"2021-01-01","areas":{}}]}"#
        #expect(throws: KasvuError.self) { try AssessmentGate(json: Data(backwards.utf8)) }
        let unknownArea = #"{"versions":[{"version":1,"validFrom":"2020-01-01","areas":{"Tampere":{"riskGroups":[3],"whenMarked":true}}}]}"#
        #expect(throws: KasvuError.self) { try AssessmentGate(json: Data(unknownArea.utf8)) }
    }
}
