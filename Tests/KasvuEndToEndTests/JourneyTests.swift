import Foundation
import JSONRPC
import KasvuDomain
import KasvuTestSupport
import Testing

/// `client/journey` (issue 14, item 4) through a real `kasvu rpc`, and `kasvu client journey`
/// printing the same for people.
@Suite("Client journey", .serialized)
struct JourneyTests {
    let directory: TemporaryDirectory
    let db: String

    init() throws {
        directory = try TemporaryDirectory()
        db = try initializedAdminReplica(in: directory)
    }

    @Test func oneTimelineOldestFirstWithWhoDidWhat() async throws {
        let rpc = try RPCProcess(db: db, arguments: ["--user", "Liisa"])
        let provider = try await rpc.result("provider/create", providerParams)
        let client = try await rpc.result("client/create", ["hetu": "131052-308T", "firstName": "Aino", "lastName": "Virtanen", "municipality": "749",
                                                            "monthsUnemployed": 14, "educationLevel": "basic", "monthsEmployedLast24": 3, "languageSkills": "native"])
        let id = try #require(client["id"])
        _ = try await rpc.result("client/profile", ["id": id])
        let proposal = try await rpc.result("client/get", ["id": id])["riskGroupProposal"]
        _ = try await rpc.result("client/confirmRiskGroup", ["id": id, "group": proposal ?? 2])
        let referral = try await rpc.result("referral/create", ["clientId": id, "providerId": provider["id"]!, "chosenBy": "client"])
        _ = try await rpc.result("client/update", ["id": id, "set": ["phone": "040 123 4567"], "meta": ["user": "Matti"]])
        _ = try await rpc.result("contact/record", ["clientId": id, "providerId": provider["id"]!, "date": "2026-11-30", "kind": "meeting"])
        _ = try await rpc.result("event/record", ["clientId": id, "providerId": provider["id"]!, "date": "2026-12-01", "kind": "education_started"])
        _ = try await rpc.result("referral/transition", ["id": referral["id"]!, "to": "cancelled", "date": "2026-12-02", "reason": "moved away"])

        let journey = try await rpc.result("client/journey", ["id": id])
        let steps = journey["steps"]?.arrayValue ?? []
        // Days the records name first (a contact, an event, the cancellation), then what was
        // written today in the order it was written.
        #expect(steps.map { $0["event"]?.stringValue ?? "" } == [
            "contact", "event", "referral_cancelled", "registered", "profiled", "risk_group_confirmed", "referred", "updated",
        ])
        let step = { (event: String) in steps.first { $0["event"]?.stringValue == event } }
        #expect(step("contact")?["date"] == "2026-11-30" && step("contact")?["details"]?["providerName"] == "Työpolku Oy")
        #expect(step("referral_cancelled")?["details"]?["endReason"] == "moved away")
        #expect(step("risk_group_confirmed")?["details"]?["riskGroup"] == proposal)
        #expect(step("profiled")?["details"]?["profilingModelVersion"]?.stringValue?.isEmpty == false)
        #expect(step("updated")?["by"]?["user"] == "Matti" && step("updated")?["details"]?["fields"] == "phone")
        #expect(step("registered")?["by"]?["user"] == "Liisa" && step("registered")?["by"]?["thisReplica"] == true)
        #expect(steps.allSatisfy { $0["at"]?.stringValue?.hasSuffix("Z") == true })
        #expect(journey["client"]?["id"] == id && journey["conflicts"] == [])

        #expect(try await rpc.call("client/journey", ["id": "00000000-0000-4000-8000-000000000000"])["error"]?["data"]?["kind"] == "not_found")
        #expect(await rpc.finish() == 0)

        // The command line prints the same answer, and a line per step for people.
        let json = try KasvuBinary.run(["client", "journey", "--db", db, "--id", try #require(id.stringValue), "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(try JSONValue.parse(Array(json.stdout.utf8)) == journey)
        let text = try KasvuBinary.run(["client", "journey", "--db", db, "--id", try #require(id.stringValue)])
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.first == "Aino Virtanen (person, \(id.stringValue!))")
        #expect(lines.count == 1 + steps.count)
        #expect(lines.contains { $0.hasPrefix("2026-11-30  contact: ") && $0.hasSuffix("— Liisa (this replica)") }, "\(text.stdout)")
    }
}
