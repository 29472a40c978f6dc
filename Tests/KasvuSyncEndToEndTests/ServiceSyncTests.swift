import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// The service catalogue and enrolments across replicas (issue 15, items 1–3): the catalogue
/// reaches every replica, a service manager enrols its clients, enrolments follow the client's
/// scope, and the central store holds the rules itself against hand-made pushes.
@Suite("Service catalogue and enrolments across replicas", .serialized)
struct ServiceSyncTests {
    let directory: TemporaryDirectory
    let central: CentralProcess
    let admin: TestReplica
    let office: TestReplica
    let pilots: [String]
    let manager: String
    let service: String

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
        admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        pilots = try await admin.createTwoProviders()
        manager = try await admin.replica.create(.provider, fields: [
            "name": .string("Ohjaamo Palvelumanagerit Oy"), "businessId": .string("1572860-0"), "pilotArea": .string("MK11"), "cap": .int(10),
            "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"), "contractKind": .string("service_manager"),
        ]).id
        service = try await admin.replica.create(.service, fields: [
            "name": .string("Kuntouttava työtoiminta"), "organiserKind": .string("municipality"), "organiserName": .string("Siilinjärven kunta"),
            "category": .string("rehabilitative_work_activity"), "municipalities": .string(#"["749"]"#), "validFrom": .string("2026-01-01"),
            "validTo": .string("2027-12-31"), "unitCostPerMonth": .string("400.00"),
        ]).id
        try await admin.sync()
        try await office.sync()
    }

    func referred(_ n: Int, to provider: String) async throws -> String {
        let client = try await CapTests.referableClient(office.replica, n)
        _ = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(provider), "chosenBy": .string("client")])
        return client
    }

    func providerReplica(_ name: String, _ provider: String) throws -> TestReplica {
        try TestReplica(name, in: directory, central: central, role: "provider", scope: ["--provider", provider])
    }

    @Test(arguments: CentralBackend.allCases) static func aServiceManagerEnrolsItsClientsWhoseEnrolmentsFollowTheirScope(_ backend: CentralBackend) async throws {
        try await Self(backend).aServiceManagerEnrolsItsClientsWhoseEnrolmentsFollowTheirScope()
    }

    func aServiceManagerEnrolsItsClientsWhoseEnrolmentsFollowTheirScope() async throws {
        let client = try await referred(1, to: manager)
        let other = try await referred(2, to: pilots[0])
        try await office.sync()
        let managerReplica = try providerReplica("manager", manager)
        let pilotReplica = try providerReplica("pilot", pilots[0])
        try await managerReplica.sync()
        try await pilotReplica.sync()
        // The catalogue reaches every replica.
        for replica in [office, managerReplica, pilotReplica] {
            #expect(try await replica.replica.allStates(.service).map(\.id) == [service], "\(replica.replica.path)")
        }

        // The manager enrols its client through kasvu rpc, naming itself.
        let created = try KasvuBinary.run(["rpc", "--db", managerReplica.replica.path], input: """
            {"jsonrpc":"2.0","id":1,"method":"enrolment/create","params":{"clientId":"\(client)","serviceId":"\(service)","startDate":"2026-12-14","providerId":"\(manager)"}}

            """)
        #expect(created.stdout.contains(#""state":"planned""#), "\(created)")
        let enrolment = try #require(try await managerReplica.replica.allStates(.enrolment).first?.id)
        _ = try await managerReplica.replica.transitionEnrolment(id: enrolment, to: .started, date: try CalendarDate(iso: "2026-12-14"), reason: nil)
        #expect(try await managerReplica.sync().rejections.isEmpty)
        try await office.sync()
        #expect(try await office.replica.get(.enrolment, id: enrolment)["state"] == .string("started"))
        // Baselines are the public side's: the office has the central office's, the providers none.
        _ = try await admin.replica.setBaseline(area: "MK11", period: "2026-T3", costPerClient: "1200.00")
        try await admin.sync()
        try await office.sync()
        try await pilotReplica.sync()
        #expect(try await office.replica.allStates(.baseline).count == 1)
        #expect(try await pilotReplica.replica.allStates(.baseline).isEmpty)

        // A pilot provider enrols no one: its replica refuses, and so does the central store by hand.
        let refused = try KasvuBinary.run(["rpc", "--db", pilotReplica.replica.path], input: """
            {"jsonrpc":"2.0","id":1,"method":"enrolment/create","params":{"clientId":"\(other)","serviceId":"\(service)","startDate":"2026-12-14","providerId":"\(pilots[0])"}}

            """)
        #expect(refused.stdout.contains(#""kind":"permission_denied""#), "\(refused)")
        let forger = Forger(pilotReplica)
        let forged = forger.state(["clientId": .string(other), "serviceId": .string(service), "startDate": .string("2026-12-14"),
                                   "providerId": .string(pilots[0]), "state": .string("planned")])
        let answer = try await forger.post([RecordEnvelope(entity: .enrolment, id: RecordID.random(), state: forged)])
        #expect(answer.response?.rejections.map(\.kind) == ["permission_denied"])

        // The client moves to a pilot provider: the manager's laptop lets go of the client and its enrolment.
        _ = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(pilots[1]), "chosenBy": .string("client")],
                                                    switchProvider: true)
        try await office.sync()
        try await managerReplica.sync()
        #expect(try await managerReplica.replica.allStates(.enrolment).isEmpty)
        #expect(try await managerReplica.replica.allStates(.client).isEmpty)
        #expect(try await managerReplica.replica.allStates(.service).count == 1)
    }

    @Test(arguments: CentralBackend.allCases) static func theCentralStoreHoldsTheEnrolmentRules(_ backend: CentralBackend) async throws {
        try await Self(backend).theCentralStoreHoldsTheEnrolmentRules()
    }

    func theCentralStoreHoldsTheEnrolmentRules() async throws {
        let client = try await CapTests.referableClient(office.replica, 3)
        try await office.sync()
        let forger = Forger(office)
        func enrolment(_ fields: [String: FieldValue], counter: UInt64) -> [RecordEnvelope] {
            var state = RecordState()
            state.write(["clientId": .string(client), "serviceId": .string(service), "startDate": .string("2026-12-14"), "state": .string("planned")]
                .merging(fields) { $1 }, dot: Dot(forger.actor, counter), hlc: forger.hlc)
            return [RecordEnvelope(entity: .enrolment, id: RecordID.random(), state: state)]
        }
        // Not offered then; a service that does not exist; an unknown state.
        #expect(try await forger.post(enrolment(["startDate": .string("2025-06-01")], counter: 1_000), counter: 1_000).response?.rejections.map(\.kind) == ["validation_failed"])
        #expect(try await forger.post(enrolment(["serviceId": .string(RecordID.random())], counter: 1_001), counter: 1_001).response?.rejections.map(\.kind) == ["validation_failed"])
        #expect(try await forger.post(enrolment(["state": .string("paused")], counter: 1_002), counter: 1_002).response?.rejections.map(\.kind) == ["validation_failed"])
        // An office writes no catalogue.
        var entry = RecordState()
        entry.write(["name": .string("X"), "organiserKind": .string("ngo"), "organiserName": .string("Y"), "category": .string("coaching"),
                       "municipalities": .string(#"["749"]"#), "validFrom": .string("2026-01-01")], dot: Dot(forger.actor, 1_003), hlc: forger.hlc)
        #expect(try await forger.post([RecordEnvelope(entity: .service, id: RecordID.random(), state: entry)], counter: 1_003).response?.rejections.map(\.kind) == ["permission_denied"])
        // A planned enrolment's dates cannot move outside its service's either.
        let planned = enrolment([:], counter: 1_004)
        #expect(try await forger.post(planned, counter: 1_004).response?.rejections.isEmpty == true)
        var moved = planned[0].state
        moved.write(["startDate": .string("2025-06-01")], dot: Dot(forger.actor, 1_005), hlc: forger.hlc)
        #expect(try await forger.post([RecordEnvelope(entity: .enrolment, id: planned[0].id, state: moved)], counter: 1_005).response?.rejections.map(\.kind) == ["validation_failed"])
        // An interruption needs its reason.
        var unexplained = planned[0].state
        unexplained.write(["state": .string("interrupted"), "startedOn": .string("2026-12-14"), "endedOn": .string("2026-12-15")], dot: Dot(forger.actor, 1_006), hlc: forger.hlc)
        #expect(try await forger.post([RecordEnvelope(entity: .enrolment, id: planned[0].id, state: unexplained)], counter: 1_006).response?.rejections.map(\.kind) == ["validation_failed"])
        // A completed enrolment does not start again.
        let completed = enrolment(["state": .string("completed"), "startedOn": .string("2026-12-14"), "endedOn": .string("2026-12-20")], counter: 1_007)
        #expect(try await forger.post(completed, counter: 1_007).response?.rejections.isEmpty == true)
        var restarted = completed[0].state
        restarted.write(["state": .string("started")], dot: Dot(forger.actor, 1_008), hlc: forger.hlc)
        #expect(try await forger.post([RecordEnvelope(entity: .enrolment, id: completed[0].id, state: restarted)], counter: 1_008).response?.rejections.map(\.kind) == ["invalid_transition"])
        // Nor a baseline; the central office's reaches the offices, under the id its area and period make.
        var forgedBaseline = RecordState()
        forgedBaseline.write(["pilotArea": .string("MK11"), "period": .string("2026-T3"), "costPerClient": .string("1.00")], dot: Dot(forger.actor, 1_009), hlc: forger.hlc)
        #expect(try await forger.post([RecordEnvelope(entity: .baseline, id: WriteRules.baselineID(area: "MK11", period: "2026-T3"), state: forgedBaseline)],
                                      counter: 1_009).response?.rejections.map(\.kind) == ["permission_denied"])
        _ = try await admin.replica.setBaseline(area: "MK11", period: "2026-T3", costPerClient: "1200.00")
        try await admin.sync()
        #expect(Set(try await admin.replica.allStates(.enrolment).map(\.id)) == [completed[0].id, planned[0].id])
        let adminForger = Forger(admin)
        var misplaced = RecordState()
        misplaced.write(["pilotArea": .string("MK06"), "period": .string("2026-T3"), "costPerClient": .string("1.00")], dot: Dot(adminForger.actor, 1_000), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .baseline, id: RecordID.random(), state: misplaced)]).response?.rejections.map(\.kind) == ["validation_failed"])
    }
}
