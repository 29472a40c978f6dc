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

    init() throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(db: directory.path("central.sqlite"))
    }

    static func person(_ name: String) -> [String: FieldValue] {
        ["hetu": .string(testHetu(77)), "lastName": .string(name), "municipality": .string("749")]
    }

    @Test func twoOfficesRegisteringOnePersonOfflineBothSeeTheDuplicate() async throws {
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

    @Test func onlyTheCentralStoreSetsTheFlag() async throws {
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
