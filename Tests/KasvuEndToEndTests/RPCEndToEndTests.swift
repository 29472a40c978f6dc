import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuRPC
import KasvuSync
import KasvuTestSupport
import Testing


let ainoParams: JSONValue = ["hetu": "131052-308T", "firstName": "Aino", "lastName": "Virtanen", "municipality": "749"]
let providerParams: JSONValue = [
    "name": "Työpolku Oy", "businessId": "2077474-0", "pilotArea": "Pohjois-Savo", "cap": 700,
    "capitationBase": "200.00", "hourlyRate": "10.00",
]

/// Every test starts a real `kasvu init` and `kasvu rpc` and talks to it over pipes.
@Suite("kasvu rpc end to end", .serialized)
struct RPCEndToEndTests {
    let directory: TemporaryDirectory
    let db: String

    init() throws {
        directory = try TemporaryDirectory()
        db = try initializedAdminReplica(in: directory)
    }

    /// Everything the replica holds, for "nothing changed" checks.
    func snapshot() async throws -> [RecordEnvelope] {
        let replica = try Replica.open(at: db)
        var all: [RecordEnvelope] = []
        for kind in EntityKind.allCases { all += try await replica.allStates(kind) }
        return all
    }

    @Test func answersEachFramingInKind() async throws {
        let rpc = try RPCProcess(db: db)
        rpc.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"replica/info"}"#)
        let line = try #require(await rpc.receive())
        #expect(line.framing == .newline)
        #expect(line.message["result"]?["replicaId"] == "office-1")

        rpc.sendFramed(#"{"jsonrpc":"2.0","id":"two","method":"replica/info"}"#)
        let framed = try #require(await rpc.receive())
        #expect(framed.framing == .contentLength)
        #expect(framed.message["id"] == "two")
        #expect(framed.message["result"]?["schemaVersion"] == .int(Int64(Replica.schemaVersion)))
        #expect(await rpc.finish() == 0)
    }

    @Test func registersProvidersClientsAndReferrals() async throws {
        let rpc = try RPCProcess(db: db)
        let provider = try await rpc.result("provider/create", providerParams)
        let client = try await rpc.result("client/create", ainoParams)
        #expect(client["clientType"] == "person" && client["riskGroup"] == .null)
        let clientID = try #require(client["id"]?.stringValue)
        let unprofiled = try await rpc.call("referral/create", ["clientId": .string(clientID), "providerId": provider["id"]!, "chosenBy": "client"])
        #expect(unprofiled["error"]?["data"]?["kind"] == "validation_failed")
        _ = try await rpc.result("client/update", ["id": .string(clientID), "set": [
            "monthsUnemployed": 14, "educationLevel": "basic", "monthsEmployedLast24": 3, "languageSkills": "good",
        ]])
        let proposal = try await rpc.result("client/profile", ["id": .string(clientID)])
        #expect(proposal["proposedGroup"] == 3 && proposal["explanation"]?.arrayValue?.count == 5)
        let override = try await rpc.call("client/confirmRiskGroup", ["id": .string(clientID), "group": 2])
        #expect(override["error"]?["data"]?["errors"]?.arrayValue?.first?["field"] == "reason")
        let confirmed = try await rpc.result("client/confirmRiskGroup", ["id": .string(clientID), "group": 3])
        #expect(confirmed["riskGroup"] == 3 && confirmed["riskGroupConfirmedBy"] != .null)
        let referral = try await rpc.result("referral/create", [
            "clientId": .string(clientID), "providerId": provider["id"]!, "chosenBy": "client",
        ])
        #expect(referral["state"] == "pending" && referral["riskGroup"] == 3)
        #expect(try await rpc.result("referral/get", ["id": referral["id"]!])["queuePosition"] == .null)  // not waitlisted
        let cancelled = try await rpc.result("referral/transition", ["id": referral["id"]!, "to": "cancelled", "date": "2026-01-05"])
        #expect(cancelled["state"] == "cancelled" && cancelled["endDate"] == "2026-01-05")
        let updated = try await rpc.result("client/update", ["id": .string(clientID), "set": ["phone": "040 123 4567"]])
        #expect(updated["phone"] == "040 123 4567")
        let page = try await rpc.result("client/list", ["where": ["municipality": "749"], "limit": 10])
        #expect(page["items"]?.arrayValue?.count == 1 && page["next"] == .null)
        let info = try await rpc.result("replica/info")
        #expect(info["pendingChanges"] == 3)  // provider, client, referral: coalesced per record
        #expect(await rpc.finish() == 0)
    }

    @Test func invoicesAuditsAndReportsOverRPCAndCLI() async throws {
        let rpc = try RPCProcess(db: db)
        let provider = try #require(try await rpc.result("provider/create", providerParams)["id"]?.stringValue)
        let capitation = try await rpc.result("invoice/compute", ["providerId": .string(provider), "kind": "capitation", "month": "2026-11"])
        #expect(capitation["kind"] == "capitation" && capitation["total"] == "0.00" && capitation["lines"] == .array([]))
        let outcome = try await rpc.result("invoice/compute", ["providerId": .string(provider), "kind": "outcome", "period": "2026-T3",
                                                               "audit": ["seed": "s", "rate": "0.4"]])
        #expect(outcome["period"] == "2026-T3")
        #expect(outcome["adjustments"]?.arrayValue?.first?["reason"] == "audit_recovery")
        let badPeriod = try await rpc.call("invoice/compute", ["providerId": .string(provider), "kind": "outcome", "period": "2026-T4"])
        #expect(badPeriod["error"]?["data"]?["kind"] == "validation_failed")
        #expect(try await rpc.result("audit/sample", ["providerId": .string(provider), "period": "2026-T3", "rate": "0.5", "seed": "x"])["sampled"] == .array([]))
        let caseload = try await rpc.result("report/caseload")
        #expect(caseload["items"]?.arrayValue?.first?["cap"] == 700)
        #expect(try await rpc.result("report/outcomes", ["period": "2026-T3"])["items"] == .array([]))
        #expect(await rpc.finish() == 0)

        let csv = try KasvuBinary.run(["invoice", "--db", db, "--provider", provider, "--month", "2026-11", "--format", "csv"])
        #expect(csv.status == 0)
        #expect(csv.stdout.hasPrefix("type,id,clientId,detail,amount") && csv.stdout.contains("total,,,,0.00"))
        let report = try KasvuBinary.run(["report", "caseload", "--db", db])
        #expect(report.stdout.contains("Työpolku Oy,MK11,Pohjois-Savo,700,0,0,0,0,700"))
        #expect(try KasvuBinary.run(["invoice", "--db", db, "--provider", provider]).status != 0)  // neither --month nor --period
    }

    @Test(arguments: ["office", "provider"])
    func rolesAreRefusedWhatTheyMayNotDo(role: String) async throws {
        let scoped = directory.path("\(role).sqlite")
        #expect(try KasvuBinary.run(["init", "--db", scoped, "--replica-id", role, "--role", role]).status == 0)
        let rpc = try RPCProcess(db: scoped)
        let refused = try await rpc.call("provider/create", providerParams)
        #expect(refused["error"]?["code"] == 1005 && refused["error"]?["data"]?["kind"] == "permission_denied")
        let client = try await rpc.call("client/create", ainoParams)
        #expect((client["error"]?["data"]?["kind"] == "permission_denied") == (role == "provider"))
        #expect(try await rpc.call("report/caseload")["error"]?["data"]?["kind"] == "permission_denied")
        #expect(try await rpc.call("client/list")["result"] != nil)
        #expect(await rpc.finish() == 0)
        let replica = try Replica.open(at: scoped)
        #expect(try await replica.allStates(.provider).isEmpty)
        // The CLI's reports and invoices follow the same role rules as the methods.
        for arguments in [["report", "caseload"], ["report", "outcomes"], ["invoice", "--provider", UUID().uuidString.lowercased(), "--month", "2026-11"]] {
            let refusedCLI = try KasvuBinary.run(arguments + ["--db", scoped])
            #expect(refusedCLI.status != 0 && refusedCLI.stderr.contains("permission_denied"), "\(arguments): \(refusedCLI.stderr)")
        }
    }

    @Test func batchMixesGoodAndBadRequests() async throws {
        let rpc = try RPCProcess(db: db)
        rpc.sendLine("""
            [{"jsonrpc":"2.0","id":1,"method":"client/create","params":\(ainoParams.jsonString)},
             {"jsonrpc":"2.0","id":2,"method":"no/such"},
             {"jsonrpc":"2.0","method":"replica/info"},
             {"jsonrpc":"1.0","id":3,"method":"replica/info"},
             42,
             {"jsonrpc":"2.0","id":4,"method":"client/create","params":{"hetu":"131052-308U","lastName":"X","municipality":"749"}}]
            """.replacingOccurrences(of: "\n", with: ""))
        let batch = try #require(await rpc.receive())
        let responses = try #require(batch.message.arrayValue)
        #expect(responses.count == 5)  // the notification gets no response
        #expect(responses[0]["result"]?["lastName"] == "Virtanen")
        #expect(responses[1]["error"]?["code"] == -32601)
        #expect(responses[2]["error"]?["code"] == -32600 && responses[2]["id"] == 3)
        #expect(responses[3]["error"]?["code"] == -32600 && responses[3]["id"] == .null)
        #expect(responses[4]["error"]?["code"] == 1001)
        #expect(responses[4]["error"]?["data"]?["kind"] == "validation_failed")
        #expect(await rpc.finish() == 0)
        #expect(try await snapshot().count == 1)
    }

    @Test func standardErrorCodes() async throws {
        let rpc = try RPCProcess(db: db)
        rpc.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"#)
        #expect(await rpc.receive()?.message["error"]?["code"] == -32700)
        rpc.sendLine(#"{"jsonrpc":"2.0","id":1,"method":7}"#)
        #expect(await rpc.receive()?.message["error"]?["code"] == -32600)
        #expect(try await rpc.call("client/frobnicate")["error"]?["code"] == -32601)

        let wrongTypes = try await rpc.call("client/create", ["hetu": 131052, "lastName": "Virtanen", "municipality": "749", "bogus": 1])
        #expect(wrongTypes["error"]?["code"] == -32602)
        let fields = wrongTypes["error"]?["data"]?["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue }
        #expect(Set(fields ?? []) == ["hetu", "bogus"])

        // -32603: stored data the code could not have written (a corrupted sync state).
        let client = try await rpc.result("client/create", ainoParams)
        let id = try #require(client["id"]?.stringValue)
        #expect(await rpc.finish() == 0)
        try corruptState(of: id)
        let second = try RPCProcess(db: db)
        #expect(try await second.call("client/get", ["id": .string(id)])["error"]?["code"] == -32603)
        #expect(await second.finish() == 0)
    }

    @Test func domainErrorsCarryKindAndFields() async throws {
        let rpc = try RPCProcess(db: db)
        let invalid = try await rpc.call("client/create", ["hetu": "131052-308U", "lastName": "Virtanen", "municipality": "999"])
        #expect(invalid["error"]?["code"] == 1001)
        let fields = invalid["error"]?["data"]?["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue }
        #expect(Set(fields ?? []) == ["hetu", "municipality"])
        let missing = try await rpc.call("client/get", ["id": .string(RecordID.random())])
        #expect(missing["error"]?["data"]?["kind"] == "not_found" && missing["error"]?["code"] == 1002)
        #expect(await rpc.finish() == 0)
        #expect(try await snapshot().isEmpty)
    }

    /// In both durability modes: a process crash loses nothing committed (only a power cut may
    /// roll back the last commits with `normal`).
    @Test(arguments: ["full", "normal"])
    func acknowledgedWriteSurvivesKill9(durability: String) async throws {
        let rpc = try RPCProcess(db: db, arguments: ["--durability", durability])
        let client = try await rpc.result("client/create", ainoParams)
        rpc.kill()
        #expect(rpc.process.terminationReason == .uncaughtSignal)
        let replica = try Replica.open(at: db)
        let reopened = try await replica.get(.client, id: try #require(client["id"]?.stringValue))
        #expect(reopened["hetu"] == .string("131052-308T"))
        #expect(try await replica.info().pendingChanges == 1)
    }

    /// Group commit at full durability: requests sent before their answers are read are
    /// answered after one sync of the write-ahead log for many; every answered one survives.
    @Test func pipelinedAcknowledgedWritesSurviveKill9() async throws {
        let rpc = try RPCProcess(db: db)
        let id = try #require(try await rpc.result("client/create", ainoParams)["id"])
        let count = 300
        rpc.send((1...count).map { n in
            JSONValue.object(["jsonrpc": "2.0", "id": .int(Int64(n)), "method": "client/update",
                              "params": ["id": id, "set": ["phone": .string("040 \(1000 + n)")]]]).jsonString + "\n"
        }.joined())
        var answered: [Int64] = []
        while answered.count < count, let message = await rpc.receive()?.message {
            #expect(message["error"] == nil)
            if let number = message["id"]?.intValue { answered.append(number) }
        }
        #expect(answered == (1...Int64(count)).map { $0 })
        rpc.kill()
        let replica = try Replica.open(at: db)
        #expect(try await replica.get(.client, id: try #require(id.stringValue))["phone"] == .string("040 \(1000 + count)"))
    }

    @Test func malformedInputChangesNothing() async throws {
        let setup = try RPCProcess(db: db)
        let client = try await setup.result("client/create", ainoParams)
        #expect(await setup.finish() == 0)
        let before = try await snapshot()

        let rpc = try RPCProcess(db: db)
        rpc.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"client/update","params":{"id":"#)
        #expect(await rpc.receive()?.message["error"]?["code"] == -32700)
        let wrongType = try await rpc.call("client/update", ["id": client["id"]!, "set": ["phone": 401234567]])
        #expect(wrongType["error"]?["code"] == -32602)
        let badHetu = try await rpc.call("client/create", ["hetu": "311299W222X", "lastName": "B", "municipality": "749"])
        #expect(badHetu["error"]?["data"]?["kind"] == "validation_failed")
        let badID = try await rpc.call("client/update", ["id": "not-a-uuid", "set": ["phone": "040 1"]])
        #expect(badID["error"]?["code"] == -32602)
        // Every method takes `meta: {user}`; anything else there, or a user that is no name, is refused.
        for (meta, field) in [(["user": 5], "meta.user"), (["user": "A\u{7}"], "meta.user"), (["user": ""], "meta.user"),
                              (["role": "admin"], "meta.role"), ("Matti", "meta")] as [(JSONValue, String)] {
            let badMeta = try await rpc.call("client/update", ["id": client["id"]!, "set": ["phone": "040 1"], "meta": meta])
            #expect(badMeta["error"]?["code"] == -32602)
            #expect(badMeta["error"]?["data"]?["errors"]?.arrayValue?.first?["field"] == .string(field))
        }
        // A Content-Length larger than the body, then end of input.
        rpc.send("Content-Length: 500\r\n\r\n" + #"{"jsonrpc":"2.0","id":9,"method":"client/delete","params":{"id":"\#(client["id"]!.stringValue!)"}}"#)
        rpc.closeInput()
        let truncated = await rpc.receive()
        #expect(truncated?.framing == .contentLength)
        #expect(truncated?.message["error"]?["code"] == -32700)
        #expect(await rpc.finish() == 0)
        #expect(try await snapshot() == before)
    }

    @Test func syncRunGivesUpOnACentralServerThatNeverAnswers() async throws {
        let silent = try SilentListener()
        let db = directory.path("hanging.sqlite")
        #expect(try KasvuBinary.run(["init", "--db", db, "--replica-id", "office-2", "--central", silent.url, "--token", "kasvu_x"]).status == 0)
        let rpc = try RPCProcess(db: db)
        let answer = try await rpc.call("sync/run", ["timeout": 1])
        #expect(answer["error"]?["code"] == 2008 && answer["error"]?["data"]?["kind"] == "sync_timeout", "\(answer)")
        #expect(try await rpc.call("sync/run", ["timeout": 0])["error"]?["code"] == -32602)
        #expect(await rpc.finish() == 0)
    }

    @Test func discoverListsExactlyTheServedMethods() async throws {
        let rpc = try RPCProcess(db: db)
        let document = try await rpc.result("rpc.discover")
        let documented = Set(document["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        let replica = try Replica.open(at: db)
        #expect(documented == Set(ReplicaMethods.dispatcher(for: replica).methodNames))
        #expect(documented.contains("conflict/resolve") && documented.contains("rpc.discover"))
        #expect(await rpc.finish() == 0)
    }

    @Test func conflictsFromAnotherReplicaAreListedAndResolved() async throws {
        let rpc = try RPCProcess(db: db)
        let client = try await rpc.result("client/create", ainoParams)
        #expect(await rpc.finish() == 0)
        // A second replica edits the same field concurrently; its state arrives as a sync would.
        let id = try #require(client["id"]?.stringValue)
        let office = try Replica.open(at: db)
        let other = try Replica.create(at: directory.path("other.sqlite"), replicaID: "office-2", role: .office)
        try await other.merge(try await office.allStates(.client))
        _ = try await other.update(.client, id: id, set: ["phone": .string("040 222 2222")])
        _ = try await office.update(.client, id: id, set: ["phone": .string("040 111 1111")])
        try await office.merge(try await other.allStates(.client))

        let second = try RPCProcess(db: db)
        let listed = try await second.result("conflict/list")
        #expect(listed["items"]?.arrayValue?.count == 1)
        #expect(listed["items"]?.arrayValue?.first?["field"] == "phone")
        let shown = try await second.result("client/get", ["id": .string(id)])
        #expect(shown["conflicts"]?.arrayValue?.first?["values"]?.arrayValue?.count == 2)
        let resolved = try await second.result("conflict/resolve", ["entity": "client", "id": .string(id), "field": "phone", "value": "040 333 3333"])
        #expect(resolved["phone"] == "040 333 3333" && resolved["conflicts"] == nil)
        #expect(try await second.result("conflict/list")["items"] == .array([]))
        #expect(await second.finish() == 0)
    }

    @Test func logsGoToStderrAndEOFExitsCleanly() async throws {
        let rpc = try RPCProcess(db: db, arguments: ["--log-level", "debug"])
        rpc.sendLine(#"{"jsonrpc":"2.0","method":"replica/info"}"#)  // a notification: no answer
        let missing = try await rpc.call("client/get", ["id": .string(RecordID.random())])  // logged at debug
        #expect(missing["error"]?["code"] == 1002)
        #expect(await rpc.finish() == 0)  // every frame on stdout was JSON (receive records any that is not)
        let logs = rpc.standardError
        #expect(logs.contains("serving replica"))
        #expect(logs.contains("JSON-RPC handler failed"))
    }

    /// Breaks one record's stored sync state behind the server's back.
    func corruptState(of id: String) throws {
        let result = try KasvuBinaryTools.sqlite(db, "UPDATE client SET sync_state = '{\"broken\":1}' WHERE id = '\(id)'")
        #expect(result == 0)
    }
}

enum KasvuBinaryTools {
    /// Runs SQL through Python's sqlite3 module: an outside program touching the file.
    static func sqlite(_ db: String, _ sql: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", db, sql]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
