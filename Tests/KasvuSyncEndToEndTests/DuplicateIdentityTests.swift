import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// One person, one client, across replicas (issue 12, item 5): two offices that register the
/// same person offline each get the other's client flagged at their next sync.
@Suite("Duplicate identities across replicas", .serialized)
struct DuplicateIdentityTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    let backend: CentralBackend

    init(_ backend: CentralBackend = .sqlite) throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
        self.backend = backend
    }

    static func person(_ name: String) -> [String: FieldValue] {
        ["hetu": .string(testHetu(77)), "lastName": .string(name), "municipality": .string("749")]
    }

    @Test(arguments: CentralBackend.allCases) static func twoOfficesRegisteringOnePersonOfflineBothSeeTheDuplicate(_ backend: CentralBackend) async throws {
        try await Self(backend).twoOfficesRegisteringOnePersonOfflineBothSeeTheDuplicate()
    }

    func twoOfficesRegisteringOnePersonOfflineBothSeeTheDuplicate() async throws {
        let officeA = try TestReplica("office-a", in: directory, central: central)
        let officeB = try TestReplica("office-b", in: directory, central: central)
        let inA = try await officeA.replica.create(.client, fields: Self.person("Virtanen"))
        let inB = try await officeB.replica.create(.client, fields: Self.person("Virtasen"))
        for replica in [officeA, officeB, officeA] { try await replica.sync() }

        for office in [officeA, officeB] {
            let duplicates = try await office.replica.conflicts().filter { $0.conflict.kind == .duplicateIdentity }
            #expect(Set(duplicates.map(\.id)) == [inA.id, inB.id], "\(office.replica.path)")
            #expect(duplicates.first { $0.id == inA.id }?.duplicateOf == inB.id)
            #expect(duplicates.first { $0.id == inB.id }?.duplicateOf == inA.id)
        }
        // Deleting one of them (office A's mistake) clears the flag everywhere.
        try await officeA.replica.delete(.client, id: inA.id)
        for replica in [officeA, officeB, officeA] { try await replica.sync() }
        for office in [officeA, officeB] {
            #expect(try await office.replica.conflicts().isEmpty, "\(office.replica.path)")
            #expect(try await office.replica.get(.client, id: inB.id)["duplicateOf"] == .null)
        }
    }

    /// The duplicate is merged into the client kept: its records move, it is erased, the flag goes.
    @Test(arguments: CentralBackend.allCases) static func mergingMovesTheRecordsAndErasesTheDuplicate(_ backend: CentralBackend) async throws {
        try await Self(backend).mergingMovesTheRecordsAndErasesTheDuplicate()
    }

    func mergingMovesTheRecordsAndErasesTheDuplicate() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let providers = try await admin.createTwoProviders()
        let officeA = try TestReplica("office-a", in: directory, central: central)
        let officeB = try TestReplica("office-b", in: directory, central: central)
        for office in [officeA, officeB] { try await office.sync() }  // the providers
        let keep = try await CapTests.referableClient(officeA.replica, 77)
        let referral = try await officeA.replica.createReferral(["clientId": .string(keep), "providerId": .string(providers[0]), "chosenBy": .string("client")])
        // Office B registers the same person offline, under a name only it typed, with a contact and an event.
        let remove = try await officeB.replica.create(.client, fields: ["hetu": .string(testHetu(77)), "lastName": .string("Kaksoisnimi"),
                                                                        "municipality": .string("749")])
        let contact = try await officeB.replica.create(.contact, fields: ["clientId": .string(remove.id), "providerId": .string(providers[1]),
                                                                          "date": .string("2026-11-20"), "kind": .string("meeting"), "note": .string("tapaaminen")])
        let event = try await officeB.replica.create(.event, fields: ["clientId": .string(remove.id), "providerId": .string(providers[1]),
                                                                      "date": .string("2026-11-21"), "kind": .string("education_started")])
        for replica in [officeA, officeB, officeA, admin] { try await replica.sync() }
        #expect(try await admin.replica.conflicts().filter { $0.conflict.kind == .duplicateIdentity }.count == 2)

        let summary = try await officeB.replica.mergeClients(keep: keep, remove: remove.id)
        #expect(summary.moved == 2)
        for replica in [officeB, officeA, admin] { try await replica.sync() }
        for replica in [officeA, officeB, admin] {
            #expect(try await replica.replica.conflicts().isEmpty, "\(replica.replica.path)")
            #expect(try await replica.replica.get(.contact, id: contact.id)["clientId"] == .string(keep))
            #expect(try await replica.replica.get(.contact, id: contact.id)["note"] == .string("tapaaminen"))  // moved, not erased
            #expect(try await replica.replica.get(.event, id: event.id)["clientId"] == .string(keep))
            let removed = try #require(try await replica.replica.state(.client, id: remove.id))
            #expect(removed.isDeleted && removed.value(.mergedInto) == .string(keep) && removed.value(.lastName) == .null)
            #expect(try await replica.replica.get(.referral, id: referral.id)["state"] == .string("active"))
        }
        // PostgreSQL's files are scrubbed by its maintenance job: ErasureTests checks them.
        if backend == .sqlite { try central.scrub() }
        for path in [officeA.replica.path, officeB.replica.path, admin.replica.path] + (backend == .sqlite ? [central.db] : []) {
            #expect(try !databaseFilesContain(path, "Kaksoisnimi"), "\(path)")
        }
    }

    @Test func aMergeThatWouldLeaveTwoOpenReferralsIsRefusedAndChangesNothing() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let providers = try await admin.createTwoProviders()
        let office = try TestReplica("office-a", in: directory, central: central)
        try await office.sync()
        let first = try await CapTests.referableClient(office.replica, 78)
        let second = try await CapTests.referableClient(office.replica, 79)
        for (client, provider) in [(first, providers[0]), (second, providers[1])] {
            _ = try await office.replica.createReferral(["clientId": .string(client), "providerId": .string(provider), "chosenBy": .string("client")])
        }
        let before = try await office.everything()
        await #expect { try await office.replica.mergeClients(keep: first, remove: second) } throws: { error in
            (error as? KasvuError)?.fieldErrors.first?.message.contains("both clients have an open referral") == true
        }
        #expect(try await office.everything() == before)
    }

    @Test(arguments: CentralBackend.allCases) static func onlyTheCentralStoreSetsTheFlag(_ backend: CentralBackend) async throws {
        try await Self(backend).onlyTheCentralStoreSetsTheFlag()
    }

    func onlyTheCentralStoreSetsTheFlag() async throws {
        let office = try TestReplica("office-a", in: directory, central: central)
        let client = try await office.replica.create(.client, fields: Self.person("Virtanen"))
        await #expect(throws: KasvuError.self) { try await office.replica.update(.client, id: client.id, set: ["duplicateOf": .string(client.id)]) }
        let forger = Forger(office)
        var state = forger.state(Self.person("Virtanen").merging(["duplicateOf": .string(client.id)]) { $1 })
        state = state.merged(with: RecordState())
        let answer = try await forger.post([RecordEnvelope(entity: .client, id: RecordID.random(), state: state)])
        #expect(answer.response?.rejections.map(\.kind) == ["permission_denied"])
    }
}
