import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuTestSupport
import Testing

/// The service catalogue and enrolments (issue 15, items 1–3), through a real `kasvu rpc` over
/// pipes, bad inputs included.
@Suite("Service catalogue and enrolments through kasvu rpc", .serialized)
struct ServiceCatalogueTests {
    let directory: TemporaryDirectory
    let db: String

    init() throws {
        directory = try TemporaryDirectory()
        db = try initializedAdminReplica(in: directory)
    }

    /// Kela's rehabilitation course for persons of risk groups 2–3 aged 18–29 in Siilinjärvi and Lapinlahti.
    static let course: JSONValue = [
        "name": "Nuorten kuntoutuskurssi", "organiserKind": "kela", "organiserName": "Kela", "category": "rehabilitation",
        "target": ["clientTypes": ["person"], "riskGroups": [3, 2], "minAge": 18, "maxAge": 29],
        "municipalities": ["749", "402"], "validFrom": "2026-01-01", "validTo": "2026-12-31", "capacity": 12,
        "unitCostPerMonth": "850.00",
    ]

    static func merged(_ base: JSONValue, _ changes: [String: JSONValue]) -> JSONValue {
        .object((base.objectValue ?? [:]).merging(changes) { $1 })
    }

    /// A person born in 2000 (26 in 2026) of Siilinjärvi in risk group 3.
    static func youngPerson(_ rpc: RPCProcess, municipality: JSONValue = "749", group: Int = 3) async throws -> JSONValue {
        let number = 234 + group, check = Array("0123456789ABCDEFHJKLMNPRSTUVWXY")[(150300 * 1000 + number) % 31]
        return try await AssessmentTests.person(rpc, ["hetu": .string("150300A\(number)\(check)"), "firstName": "Niko", "lastName": "Nuori",
                                                      "municipality": municipality], group: group)
    }

    @Test func theCatalogueValidatesEveryField() async throws {
        let rpc = try RPCProcess(db: db)
        let service = try await rpc.result("service/create", Self.course)
        // Sets come back in order; the target as an object with its members sorted.
        #expect(service["municipalities"] == ["402", "749"])
        #expect(service["target"] == ["clientTypes": ["person"], "maxAge": 29, "minAge": 18, "riskGroups": [2, 3]])
        #expect(service["unitCostPerMonth"] == "850.00" && service["capacity"] == 12)
        let failed = { (params: JSONValue) async throws -> [String] in
            ClientTypeAndSearchTests.failedFields(try await rpc.call("service/create", params))
        }
        #expect(try await failed(Self.merged(Self.course, ["category": "astrology"])) == ["category"])
        #expect(try await failed(Self.merged(Self.course, ["organiserKind": "church"])) == ["organiserKind"])
        #expect(try await failed(Self.merged(Self.course, ["target": ["gender": "any"]])) == ["target.gender"])
        #expect(try await failed(Self.merged(Self.course, ["target": ["riskGroups": [4]]])) == ["target.riskGroups[0]"])
        #expect(try await failed(Self.merged(Self.course, ["target": ["minAge": 30, "maxAge": 20]])) == ["target.maxAge"])
        #expect(try await failed(Self.merged(Self.course, ["target": ["clientTypes": ["platform"]]])) == ["target.clientTypes[0]"])
        #expect(try await failed(Self.merged(Self.course, ["municipalities": ["999"]])) == ["municipalities[0]"])
        #expect(try await failed(Self.merged(Self.course, ["municipalities": []])) == ["municipalities"])
        #expect(try await failed(Self.merged(Self.course, ["validTo": "2025-12-31"])) == ["validTo"])
        #expect(try await failed(Self.merged(Self.course, ["unitCostPerMonth": "850.001"])) == ["unitCostPerMonth"])
        #expect(try await failed(Self.merged(Self.course, ["organiserBusinessId": "1234567-2"])) == ["organiserBusinessId"])
        #expect(try await rpc.call("service/create", Self.merged(Self.course, ["target": "everyone"]))["error"]?["code"] == -32602)
        #expect(try await failed(Self.merged(Self.course, ["target": ["minAge": true]])) == ["target.minAge"])
        // Risk group 1 and age 0 are numbers like any other.
        let everyone = try await rpc.result("service/create", Self.merged(Self.course, ["category": "coaching", "target": ["riskGroups": [1], "minAge": 0, "maxAge": 1]]))
        #expect(everyone["target"] == ["maxAge": 1, "minAge": 0, "riskGroups": [1]])
        let listed = try await rpc.result("service/list", ["where": ["category": "rehabilitation"]])
        #expect(listed["items"]?.arrayValue?.map { $0["id"] } == [service["id"]])
        #expect(await rpc.finish() == 0)

        // Only the central office writes the catalogue.
        for role in ["office", "provider"] {
            let scoped = directory.path("\(role).sqlite")
            #expect(try KasvuBinary.run(["init", "--db", scoped, "--replica-id", role, "--role", role]).status == 0)
            let other = try RPCProcess(db: scoped)
            #expect(try await other.call("service/create", Self.course)["error"]?["data"]?["kind"] == "permission_denied")
            #expect(await other.finish() == 0)
        }
    }

    @Test func anEnrolmentMustFitItsServiceAndFollowsItsStates() async throws {
        let rpc = try RPCProcess(db: db)
        let service = try await rpc.result("service/create", Self.course)["id"]!
        let young = try await Self.youngPerson(rpc)
        let enrol = { (params: [String: JSONValue]) async throws -> JSONValue in
            try await rpc.call("enrolment/create", .object(["clientId": young, "serviceId": service, "startDate": "2026-12-14"].merging(params) { $1 }))
        }
        let failed = { (params: [String: JSONValue]) async throws -> [String] in ClientTypeAndSearchTests.failedFields(try await enrol(params)) }
        // Not offered on the dates; not the client's municipality, type, group or age.
        #expect(try await failed(["startDate": "2025-12-01"]) == ["startDate"])
        #expect(try await failed(["endDate": "2027-03-31"]) == ["endDate"])
        #expect(try await failed(["endDate": "2026-12-01"]) == ["endDate"])  // before the start
        let tampere = try await Self.youngPerson(rpc, municipality: "837", group: 2)
        let outside = try await enrol(["clientId": tampere])
        #expect(ClientTypeAndSearchTests.failedFields(outside) == ["clientId"])
        #expect(outside["error"]?["message"]?.stringValue?.contains("municipality 837") == true)
        let company = try await rpc.result("client/create", ClientTypeAndSearchTests.company)["id"]!
        #expect(Set(try await failed(["clientId": company])) == ["clientId"])
        let older = try await AssessmentTests.person(rpc, ["hetu": "131052-308T", "firstName": "Aino", "lastName": "Virtanen", "municipality": "749"], group: 3)
        let tooOld = try await enrol(["clientId": older])
        #expect(tooOld["error"]?["message"]?.stringValue?.contains("ages 18–29") == true, "\(tooOld)")
        #expect(try await failed(["serviceId": .string(RecordID.random())]) == ["serviceId"])

        let planned = try await rpc.result("enrolment/create", ["clientId": young, "serviceId": service, "startDate": "2026-12-14"])
        #expect(planned["state"] == "planned")
        let id = planned["id"]!
        // A start, then an interruption that needs its reason; a final state is final.
        #expect(try await rpc.call("enrolment/transition", ["id": id, "to": "completed"])["error"]?["data"]?["kind"] == "invalid_transition")
        #expect(try await rpc.result("enrolment/transition", ["id": id, "to": "started", "date": "2026-12-14"])["startedOn"] == "2026-12-14")
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("enrolment/transition", ["id": id, "to": "interrupted", "date": "2026-12-20"])) == ["reason"])
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("enrolment/transition", ["id": id, "to": "interrupted", "date": "2026-12-01", "reason": "x"])) == ["date"])
        let interrupted = try await rpc.result("enrolment/transition", ["id": id, "to": "interrupted", "date": "2026-12-20", "reason": "moved away"])
        #expect(interrupted["state"] == "interrupted" && interrupted["endedOn"] == "2026-12-20" && interrupted["endReason"] == "moved away")
        #expect(try await rpc.call("enrolment/transition", ["id": id, "to": "started"])["error"]?["data"]?["kind"] == "invalid_transition")
        #expect(try await rpc.call("enrolment/transition", ["id": id, "to": "paused"])["error"]?["code"] == -32602)
        let second = try await rpc.result("enrolment/create", ["clientId": young, "serviceId": service, "startDate": "2026-12-28"])["id"]!
        #expect(try await rpc.result("enrolment/transition", ["id": second, "to": "not_started", "date": "2026-12-28", "reason": "no place left"])["state"] == "not_started")

        // The journey tells it with the service's name.
        let steps = try await rpc.result("client/journey", ["id": young])["steps"]?.arrayValue ?? []
        #expect(steps.filter { $0["entity"] == "enrolment" }.map { $0["event"] }
            == ["enrolment_planned", "enrolment_started", "enrolment_interrupted", "enrolment_planned", "enrolment_not_started"])
        #expect(steps.first { $0["event"] == "enrolment_started" }?["details"]?["serviceName"] == "Nuorten kuntoutuskurssi")
        #expect(await rpc.finish() == 0)
    }

    /// The same case as the domain test, smaller, through kasvu rpc: two organisers' rehabilitation
    /// for one client at once, and their combined monthly cost.
    @Test func overlapsAreReportedThroughRPC() async throws {
        let rpc = try RPCProcess(db: db)
        let kela = try await rpc.result("service/create", Self.course)["id"]!
        let municipal = try await rpc.result("service/create", Self.merged(Self.course, [
            "name": "Kuntoutus", "organiserKind": "municipality", "organiserName": "Siilinjärven kunta", "target": [:],
            "municipalities": ["749"], "unitCostPerMonth": "400.00",
        ]))["id"]!
        let young = try await Self.youngPerson(rpc)
        for (service, day) in [(kela, "2026-03-01"), (municipal, "2026-06-15")] {
            let enrolment = try await rpc.result("enrolment/create", ["clientId": young, "serviceId": service, "startDate": .string(day)])["id"]!
            _ = try await rpc.result("enrolment/transition", ["id": enrolment, "to": "started", "date": .string(day)])
        }
        let report = try await rpc.result("report/overlaps")
        let overlap = try #require(report["clients"]?.arrayValue?.first)
        #expect(report["clients"]?.arrayValue?.count == 1)
        #expect(overlap["clientId"] == young && overlap["from"] == "2026-06-15" && overlap["to"] == .null)
        #expect(report["catalogue"]?.arrayValue?.map { $0["combinedMonthlyCost"] } == ["1250.00"])
        #expect(report["catalogue"]?.arrayValue?.first?["municipalities"] == ["749"])
        #expect(report["retention"]?.arrayValue?.map { $0["started"] } == [1, 1])
        // The client's journey carries the flag.
        let flagged = try await rpc.result("client/journey", ["id": young])["serviceOverlaps"]?.arrayValue ?? []
        #expect(flagged.count == 1 && flagged.first?["category"] == "rehabilitation" && flagged.first?["from"] == "2026-06-15")
        #expect(report["retention"]?.arrayValue?.allSatisfy { $0["interruptedShare"] == .null } == true)
        #expect(await rpc.finish() == 0)
    }

    /// Savings against the baseline through kasvu rpc: a client in a 400.00 a month service for May
    /// and June of 2026-T2, and nothing else, costs 800.00 against a baseline of 1000.00.
    @Test func costsAreMeasuredAgainstTheBaseline() async throws {
        let rpc = try RPCProcess(db: db)
        let service = try await rpc.result("service/create", Self.merged(Self.course, ["target": [:], "unitCostPerMonth": "400.00"]))["id"]!
        let young = try await Self.youngPerson(rpc)
        let enrolment = try await rpc.result("enrolment/create", ["clientId": young, "serviceId": service, "startDate": "2026-05-01"])["id"]!
        _ = try await rpc.result("enrolment/transition", ["id": enrolment, "to": "started", "date": "2026-05-01"])
        _ = try await rpc.result("enrolment/transition", ["id": enrolment, "to": "completed", "date": "2026-06-30"])

        let baseline = try await rpc.result("baseline/set", ["area": "Pohjois-Savo", "period": "2026-T2", "costPerClient": "900.00"])
        #expect(baseline["pilotArea"] == "MK11" && baseline["costPerClient"] == "900.00")
        let corrected = try await rpc.result("baseline/set", ["area": "MK11", "period": "2026-T2", "costPerClient": "1000.00"])
        #expect(corrected["id"] == baseline["id"] && corrected["costPerClient"] == "1000.00")
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("baseline/set", ["area": "MK11", "period": "2026-T4", "costPerClient": "1.00"])) == ["period"])
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("baseline/set", ["area": "Lappi-X", "period": "2026-T2", "costPerClient": "1.00"])) == ["pilotArea"])
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("baseline/set", ["area": "MK11", "period": "2026-T2", "costPerClient": "1,00"])) == ["costPerClient"])

        let report = try await rpc.result("report/costs", ["period": "2026-T2"])
        #expect(report["rows"] == [["area": "MK11", "riskGroup": 3, "capitation": "0.00", "outcome": "0.00", "services": "800.00", "total": "800.00",
                                    "clients": 1, "employed": 0, "costPerClient": "800.00", "costPerEmployed": .null]])
        #expect(report["areas"] == [["area": "MK11", "total": "800.00", "clients": 1, "costPerClient": "800.00", "baseline": "1000.00",
                                     "savingsPercent": "20.00", "goalMet": true]])
        #expect(try await rpc.result("report/costs", ["period": "2026-T2", "area": "MK06"])["rows"] == [])
        #expect(ClientTypeAndSearchTests.failedFields(try await rpc.call("report/costs", ["period": "2026-T2", "area": "Atlantis"])) == ["area"])
        #expect(await rpc.finish() == 0)

        // From the command line: the central office's own figures, and the open data, where one client is a small cell.
        let own = try KasvuBinary.run(["report", "costs", "--db", db, "--period", "2026-T2"])
        #expect(own.status == 0 && own.stdout.contains("2026-T2,MK11,3,1,0,0.00,0.00,800.00,800.00,800.00,,,,"), "\(own)")
        let published = try KasvuBinary.run(["report", "costs", "--db", db, "--period", "2026-T2", "--open-data"])
        #expect(published.stdout.split(separator: "\n").dropFirst().map(String.init) == [
            "2026-T2,MK11,3,<5,<5,<5,<5,<5,<5,<5,<5,,,", "2026-T2,MK11,all,<5,,,,,<5,<5,,1000.00,<5,<5",
        ], "\(published)")
        let overlaps = try KasvuBinary.run(["report", "overlaps", "--db", db, "--open-data", "--format", "json"])
        #expect(overlaps.status == 0 && overlaps.stdout.contains(#""kind" : "retention""#) && overlaps.stdout.contains(#""started" : "<5""#), "\(overlaps)")
    }
}
