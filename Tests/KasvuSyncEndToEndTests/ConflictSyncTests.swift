import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Conflicts across replicas through the real central server, and `sync/run` over JSON-RPC.
@Suite("Conflicts across replicas", .serialized)
struct ConflictSyncTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
    }

    @Test(arguments: CentralBackend.allCases) static func aResolutionOnOneReplicaClearsTheConflictEverywhere(_ backend: CentralBackend) async throws { try await Self(backend).aResolutionOnOneReplicaClearsTheConflictEverywhere() }
    func aResolutionOnOneReplicaClearsTheConflictEverywhere() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let provider = try TestReplica("provider", in: directory, central: central)
        let client = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()
        try await provider.sync()
        _ = try await office.replica.update(.client, id: client.id, set: ["phone": .string("040 111 1111"), "language": .string("sv")])
        _ = try await provider.replica.update(.client, id: client.id, set: ["phone": .string("050 222 2222"), "email": .string("a@example.fi")])
        for replica in [office, provider, office] { try await replica.sync() }

        for replica in [office, provider] {
            let seen = try await replica.replica.get(.client, id: client.id)
            #expect(seen["language"] == .string("sv") && seen["email"] == .string("a@example.fi"))
            #expect(seen.conflicts.map(\.field) == ["phone"])
            #expect(seen.conflicts.first?.entries.count == 2)
        }
        #expect(try await office.replica.get(.client, id: client.id) == (try await provider.replica.get(.client, id: client.id)))

        _ = try await provider.replica.resolveConflict(.client, id: client.id, field: "phone", value: .string("040 333 3333"))
        for replica in [provider, office] { try await replica.sync() }
        for replica in [office, provider] {
            #expect(try await replica.replica.conflicts().isEmpty)
            #expect(try await replica.replica.get(.client, id: client.id)["phone"] == .string("040 333 3333"))
        }
    }

    @Test(arguments: CentralBackend.allCases) static func deleteVersusEditSurfacesOnEveryReplica(_ backend: CentralBackend) async throws { try await Self(backend).deleteVersusEditSurfacesOnEveryReplica() }
    func deleteVersusEditSurfacesOnEveryReplica() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let provider = try TestReplica("provider", in: directory, central: central)
        let client = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()
        try await provider.sync()
        try await office.replica.delete(.client, id: client.id)
        _ = try await provider.replica.update(.client, id: client.id, set: ["phone": .string("050 222 2222")])
        for replica in [office, provider, office] { try await replica.sync() }
        for replica in [office, provider] {
            let conflicts = try await replica.replica.conflicts()
            #expect(conflicts.map(\.conflict.kind) == [.deleteVsEdit])
            #expect(conflicts.first?.conflict.editedFields == ["phone"])
        }
        // The office keeps the delete, having now seen the edit.
        _ = try await office.replica.resolveConflict(.client, id: client.id, field: "deleted", value: .bool(true))
        for replica in [office, provider] { try await replica.sync() }
        for replica in [office, provider] {
            #expect(try await replica.replica.conflicts().isEmpty)
            await #expect(throws: KasvuError.self) { try await replica.replica.get(.client, id: client.id) }
        }
    }

    @Test(arguments: CentralBackend.allCases) static func theAuditTrailRecordsWhoChangedWhichFields(_ backend: CentralBackend) async throws { try await Self(backend).theAuditTrailRecordsWhoChangedWhichFields() }
    func theAuditTrailRecordsWhoChangedWhichFields() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        let client = try await Replica.$author.withValue("Liisa") { try await office.replica.create(.client, fields: companyClient) }
        try await office.sync()
        _ = try await Replica.$author.withValue("Matti") { try await office.replica.update(.client, id: client.id, set: ["phone": .string("040 111 1111")]) }
        try await office.sync()
        let adminTransport = try CurlSyncTransport(centralURL: central.url, token: admin.token)
        let trail = try await adminTransport.auditTrail(entity: .client, id: client.id)
        #expect(trail.count == 2)
        #expect(trail.allSatisfy { $0.replicaID == "office" && $0.actor == office.replica.actor.rawValue })
        #expect(trail.map(\.userName) == ["Liisa", "Matti"])
        #expect(trail.first?.fields.contains("name") == true && trail.last?.fields == ["phone"])
        do {
            _ = try await CurlSyncTransport(centralURL: central.url, token: office.token).auditTrail(entity: .client, id: client.id)
            Issue.record("an office read the audit trail")
        } catch let error as KasvuError {
            #expect(error.kind == .permissionDenied)
        }
    }

    @Test(arguments: CentralBackend.allCases) static func syncRunOverJSONRPCReportsProgress(_ backend: CentralBackend) async throws { try await Self(backend).syncRunOverJSONRPCReportsProgress() }
    func syncRunOverJSONRPCReportsProgress() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        for index in 0..<30 {
            _ = try await office.replica.create(.client, fields: companyClient.merging(["name": .string("Asiakas \(index)")]) { $1 })
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: KasvuBinary.path)
        process.arguments = ["rpc", "--db", office.replica.path]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(#"{"jsonrpc":"2.0","id":7,"method":"sync/run"}"#.utf8 + [UInt8(ascii: "\n")]))
        try input.fileHandleForWriting.close()
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        process.waitUntilExit()
        let messages = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let progress = messages.filter { $0["method"] as? String == "$/progress" }
        #expect(progress.count >= 2)
        #expect((progress.first?["params"] as? [String: Any])?["token"] as? Int == 7)
        let last = try #require(messages.last)
        #expect(last["id"] as? Int == 7)
        #expect((last["result"] as? [String: Any])?["pushed"] as? Int == 30)
        #expect(process.terminationStatus == 0)
        #expect(try await office.replica.info().pendingChanges == 0)
        #expect(try await office.replica.syncStatus().lastSyncAt != nil)
    }
}
