import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing


/// Caps hold in the merged state: the central office confirms pending referrals in creation
/// order as its own actor, and every replica ends with the same decisions.
@Suite("Provider caps across replicas", .serialized)
struct CapTests {
    /// A person client with profiling inputs, profiled and confirmed.
    static func referableClient(_ replica: Replica, _ n: Int) async throws -> String {
        let client = try await replica.create(.client, fields: [
            "hetu": .string(testHetu(n)), "lastName": .string("Asiakas \(n)"), "municipality": .string("749"),
            "monthsUnemployed": .int(12), "educationLevel": .string("basic"), "monthsEmployedLast24": .int(2), "languageSkills": .string("good"),
        ])
        let proposal = try await replica.profile(clientID: client.id)
        _ = try await replica.confirmRiskGroup(clientID: client.id, group: proposal.group, reason: nil, confirmedBy: "tester")
        return client.id
    }

    /// A client cancelled offline while the central store promoted the referral does not hold
    /// the place: the cancellation stands and the place goes to the next in the queue.
    @Test(arguments: CentralBackend.allCases)
    func aCancellationIsNeverOverriddenByAPromotion(_ backend: CentralBackend) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(backend, in: directory)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        let provider = try await admin.replica.create(.provider, fields: [
            "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("MK11"),
            "cap": .int(1), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ])
        try await admin.sync()
        try await office.sync()
        var referrals: [String] = []  // the first takes the one place; the others wait
        for n in 0..<3 {
            let client = try await Self.referableClient(office.replica, n)
            referrals.append(try await office.replica.createReferral([
                "clientId": .string(client), "providerId": .string(provider.id), "chosenBy": .string("client"),
            ]).id)
        }
        try await office.sync()
        #expect(try await office.replica.get(.referral, id: referrals[1])["state"] == .string("waitlisted"))

        #expect(try await office.replica.queuePosition(ofReferral: referrals[1]) == 1)
        #expect(try await office.replica.queuePosition(ofReferral: referrals[2]) == 2)
        #expect(try await office.replica.queuePosition(ofReferral: referrals[0]) == nil)  // active

        // Offline, the office cancels the second; meanwhile a place opens and the central store promotes it.
        _ = try await office.replica.transitionReferral(id: referrals[1], to: .cancelled, date: nil, reason: "moved away")
        _ = try await admin.replica.update(.provider, id: provider.id, set: ["cap": .int(2)])
        try await admin.sync()
        try await admin.sync()
        #expect(try await admin.replica.get(.referral, id: referrals[1])["state"] == .string("active"))

        try await office.sync()
        for replica in [admin, office] {
            try await replica.sync()
            let cancelled = try await replica.replica.get(.referral, id: referrals[1])
            #expect(cancelled["state"] == .string("cancelled") && cancelled.conflicts.isEmpty)
            #expect(try await replica.replica.get(.referral, id: referrals[2])["state"] == .string("active"))
        }
    }

    @Test(arguments: CentralBackend.allCases, [false, true])
    func twoOfficesOverbookingOneProvider(_ backend: CentralBackend, officeBSyncsFirst: Bool) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(backend, in: directory)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let a = try TestReplica("office-a", in: directory, central: central)
        let b = try TestReplica("office-b", in: directory, central: central)
        let provider = try await admin.replica.create(.provider, fields: [
            "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("Pohjois-Savo"),
            "cap": .int(3), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ])
        try await admin.sync()
        try await a.sync()
        try await b.sync()

        // Offline, each office refers three clients to the same provider (cap 3).
        var created: [String] = []
        for (index, office) in [a, b, a, b, a, b].enumerated() {
            let client = try await Self.referableClient(office.replica, index)
            created.append(try await office.replica.createReferral([
                "clientId": .string(client), "providerId": .string(provider.id), "chosenBy": .string("client"),
            ]).id)
        }
        for office in officeBSyncsFirst ? [b, a] : [a, b] { try await office.sync() }
        for replica in [admin, a, b, admin, a, b] { try await replica.sync() }

        let reference = try await admin.replica.list(.referral, limit: 100).items
        for replica in [a, b] {
            #expect(try await replica.replica.list(.referral, limit: 100).items == reference)
        }
        let states = reference.map { $0["state"].stringValue ?? "?" }
        #expect(states.filter { $0 == "active" }.count == 3)
        #expect(states.filter { $0 == "waitlisted" }.count == 3)
        #expect(Set(reference.map(\.id)) == Set(created))

        // A place frees: the oldest waitlisted referral (by creation) becomes active.
        let waitlisted = try await waitlistedByCreation(admin.replica)
        let leaving = try #require(reference.first { $0["state"] == .string("active") })
        _ = try await a.replica.transitionReferral(id: leaving.id, to: .ended, date: nil, reason: "employed")
        for replica in [a, admin, b] { try await replica.sync() }
        let after = try await admin.replica.list(.referral, limit: 100).items
        #expect(after.filter { $0["state"] == .string("active") }.count == 3)
        #expect(after.first { $0.id == waitlisted[0] }?["state"] == .string("active"))
        #expect(after.first { $0.id == waitlisted[1] }?["state"] == .string("waitlisted"))
        for replica in [a, b] { #expect(try await replica.replica.list(.referral, limit: 100).items == after) }

        let caseload = try await admin.replica.caseloadReport()
        let row = try #require(caseload.first)
        #expect(caseload.count == 1)
        #expect(row.active == 3 && row.waitlisted == 2 && row.pending == 0 && row.free == 0)
        #expect(caseload.first?.activeByRiskGroup.values.reduce(0, +) == 3)
    }

    func waitlistedByCreation(_ replica: Replica) async throws -> [String] {
        try await replica.allStates(.referral)
            .filter { $0.state.value("state") == .string("waitlisted") }
            .sorted { ($0.state.fields["clientId"]![0].hlc, $0.id) < ($1.state.fields["clientId"]![0].hlc, $1.id) }
            .map(\.id)
    }
}
