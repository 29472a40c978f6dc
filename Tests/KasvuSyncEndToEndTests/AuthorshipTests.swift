import Foundation
import GRDB
import JSONRPC
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Every write is credited to the person who made it (issue 12, item 4): the user it was made
/// under travels with its write note, the central audit trail keeps one entry per write with
/// its edit time and the old and new values of non-personal fields, and no replica receives
/// the names.
@Suite("Authorship", .serialized)
struct AuthorshipTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
    }

    @Test(arguments: CentralBackend.allCases) static func twoCaseWorkersOnOneReplicaAreTwoEntriesWithTheirNamesAndEditTimes(_ backend: CentralBackend) async throws { try await Self(backend).twoCaseWorkersOnOneReplicaAreTwoEntriesWithTheirNamesAndEditTimes() }
    func twoCaseWorkersOnOneReplicaAreTwoEntriesWithTheirNamesAndEditTimes() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        // One `kasvu rpc` serving two case workers: Liisa by default, Matti by meta.user.
        let rpc = try LineRPC(db: office.replica.path, arguments: ["--user", "Liisa"])
        let created = try await rpc.result("client/create", ["hetu": .string(testHetu(77)), "lastName": "Nieminen", "municipality": "749"])
        let id = try #require(created["id"]?.stringValue)
        _ = try await rpc.result("client/update", ["id": .string(id), "set": ["status": "assessment", "phone": "040 5550000"], "meta": ["user": "Matti"]])
        _ = try await rpc.result("sync/run")
        #expect(try await rpc.finish() == 0)

        let adminRPC = try LineRPC(db: admin.replica.path)
        let trail = try #require(try await adminRPC.result("audit/trail", ["entity": "client", "id": .string(id)])["items"]?.arrayValue)
        #expect(try await adminRPC.finish() == 0)
        try #require(trail.count == 2, "\(trail)")
        #expect(trail.map { $0["userName"] } == [.string("Liisa"), .string("Matti")])
        #expect(trail.allSatisfy { $0["replicaId"] == "office" && $0["write"]?.intValue != nil })
        let written = trail.compactMap { $0["writtenAt"]?.stringValue }
        #expect(written.count == 2 && written[0] <= written[1], "\(written)")
        // Old and new values of the status; the phone named without them.
        let changes = try #require(trail[1]["changes"]?.arrayValue)
        #expect(changes.contains(["field": "status", "old": "registered", "new": "assessment"]))
        #expect(changes.contains(["field": "phone"]))
        #expect(trail[1]["fields"] == ["phone", "status"])
        // The names stay at the central store: a replica that pulled the client never holds them.
        try await admin.sync()
        #expect(try await admin.replica.get(.client, id: id)["status"] == .string("assessment"))
        for name in ["Liisa", "Matti"] {
            #expect(try !databaseFilesContain(admin.replica.path, name), "\(name) reached the admin replica")
        }
    }

    @Test(arguments: CentralBackend.allCases) static func twoEditsOfOneFieldBetweenSyncsAreTwoEntries(_ backend: CentralBackend) async throws { try await Self(backend).twoEditsOfOneFieldBetweenSyncsAreTwoEntries() }
    func twoEditsOfOneFieldBetweenSyncsAreTwoEntries() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        let client = try await Replica.$author.withValue("Liisa") { try await office.replica.create(.client, fields: companyClient) }
        try await Replica.$author.withValue("Liisa") { _ = try await office.replica.update(.client, id: client.id, set: ["status": .string("assessment")]) }
        try await Replica.$author.withValue("Matti") { _ = try await office.replica.update(.client, id: client.id, set: ["status": .string("referred")]) }
        try await office.sync()
        let trail = try await CurlSyncTransport(centralURL: central.url, token: admin.token).auditTrail(entity: .client, id: client.id)
        #expect(trail.map(\.userName) == ["Liisa", "Liisa", "Matti"])
        #expect(trail.dropFirst().map(\.changes) == [
            [.init(field: "status", old: .string("registered"), new: .string("assessment"))],
            [.init(field: "status", old: .string("assessment"), new: .string("referred"))],
        ])
        #expect(trail.map(\.write) == [1, 2, 3])
        // Acknowledged notes leave the laptop with their outbox rows.
        #expect(try await office.replica.info().pendingChanges == 0)
        #expect(try await DatabaseQueue(path: office.replica.path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM write_log") } == 0)
    }

    @Test(arguments: CentralBackend.allCases) static func aRetriedPushNotesItsWritesOnce(_ backend: CentralBackend) async throws { try await Self(backend).aRetriedPushNotesItsWritesOnce() }
    func aRetriedPushNotesItsWritesOnce() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        let client = try await Replica.$author.withValue("Liisa") { try await office.replica.create(.client, fields: companyClient) }
        let transport = try CurlSyncTransport(centralURL: central.url, token: office.token)
        let request = SyncRequest(header: try await office.replica.syncHeader(pullLimit: 10, userName: nil),
                                  push: try await office.replica.pendingPush(limit: 10).map(\.envelope))
        #expect(request.push.first?.writes.map(\.user) == ["Liisa"])
        for _ in 0..<2 { #expect(try await transport.exchange(request).rejections.isEmpty) }
        let trail = try await CurlSyncTransport(centralURL: central.url, token: admin.token).auditTrail(entity: .client, id: client.id)
        #expect(trail.count == 1)
    }

    /// Notes are the pusher's word on who and when, never on what: a note that disagrees with
    /// the write it describes, describes another replica's or a future write, or carries
    /// personal values is refused with its record, which lands when pushed honestly.
    @Test(arguments: CentralBackend.allCases, ForgedNote.allCases)
    static func aForgedNoteIsRefusedWithItsRecord(_ backend: CentralBackend, _ forgery: ForgedNote) async throws {
        try await Self(backend).aForgedNoteIsRefusedWithItsRecord(forgery)
    }
    func aForgedNoteIsRefusedWithItsRecord(_ forgery: ForgedNote) async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let forger = Forger(office)
        let id = RecordID.random()
        let state = forger.state(companyClient.merging(["status": .string("registered")]) { $1 })
        let honest = WriteNote.of(.client, before: RecordState(), changes: companyClient.merging(["status": .string("registered")]) { $1 },
                                  counter: forger.counter, hlc: forger.hlc, user: "Liisa")
        let note = forgery.forge(honest)
        let answer = try await forger.post([RecordEnvelope(entity: .client, id: id, state: state, writes: [note])])
        #expect(answer.status == 200)
        #expect(answer.response?.rejections.map(\.kind) == ["validation_failed"], "\(forgery)")
        #expect(answer.response?.rejections.first?.message.contains("Erasmussen") == false)
        let honestAnswer = try await forger.post([RecordEnvelope(entity: .client, id: id, state: state, writes: [honest])])
        #expect(honestAnswer.response?.rejections == [])
    }

    @Test(arguments: CentralBackend.allCases) static func notesOfWritesStampedAgainByRecoveryKeepTheirAuthors(_ backend: CentralBackend) async throws { try await Self(backend).notesOfWritesStampedAgainByRecoveryKeepTheirAuthors() }
    func notesOfWritesStampedAgainByRecoveryKeepTheirAuthors() async throws {
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office", in: directory, central: central)
        try await office.sync()
        let backup = directory.path("backup.sqlite")
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: office.replica.path + suffix) {
            try FileManager.default.copyItem(atPath: office.replica.path + suffix, toPath: backup + suffix)
        }
        // The original writes and syncs; the restored copy writes too and is refused as rewound.
        _ = try await office.replica.create(.client, fields: companyClient)
        try await office.sync()
        let restored = try Replica.open(at: backup)
        let client = try await Replica.$author.withValue("Liisa") { try await restored.create(.client, fields: companyClient) }
        let transport = try CurlSyncTransport(centralURL: central.url, token: office.token)
        await #expect { try await SyncClient(replica: restored, transport: transport).run() } throws: { ($0 as? KasvuError)?.kind == .replicaRewound }
        _ = try Replica.recover(at: backup)
        _ = try await SyncClient(replica: try Replica.open(at: backup), transport: transport).run()
        let trail = try await CurlSyncTransport(centralURL: central.url, token: admin.token).auditTrail(entity: .client, id: client.id)
        #expect(trail.map(\.userName) == ["Liisa"])
        #expect(trail.first?.write == 1)
    }
}

/// Ways to lie in a write note.
enum ForgedNote: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case valueTheWriteDoesNotHold, fieldTheWriteSetLeftOut, personalValue, unknownField, futureCounter, futureTime, controlCharacterInName

    var testDescription: String { rawValue }

    func forge(_ honest: WriteNote) -> WriteNote {
        var note = honest
        switch self {
        case .valueTheWriteDoesNotHold:
            note.changes = note.changes.map { $0.field == "status" ? .init(field: "status", old: .null, new: .string("closed")) : $0 }
        case .fieldTheWriteSetLeftOut: note.changes.removeAll { $0.field == "status" }
        case .personalValue:
            note.changes = note.changes.map { $0.field == "name" ? .init(field: "name", old: .null, new: .string("Erasmussen")) : $0 }
        case .unknownField: note.changes.append(.init(field: "salary"))
        case .futureCounter: note.counter += 1
        case .futureTime: note.hlc = HLC(millis: honest.hlc.millis + 3_600_000)
        case .controlCharacterInName: note.user = "Liisa\u{1B}[2J"
        }
        return note
    }
}

/// `kasvu rpc` over real pipes, one newline-framed request at a time, as a script drives it.
final class LineRPC: @unchecked Sendable {
    // @unchecked: `buffer` and `nextID` are used by one test task at a time, and every read runs
    // on `queue`; the process handles are immutable after init.
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private let queue = DispatchQueue(label: "line-rpc")
    private var buffer: [UInt8] = []
    private var nextID: Int64 = 1

    init(db: String, arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: KasvuBinary.path)
        process.arguments = ["rpc", "--db", db] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Sends a request and returns its `result`, skipping notifications (`$/progress`).
    func result(_ method: String, _ params: JSONValue = [:]) async throws -> JSONValue {
        let id = nextID
        nextID += 1
        let request: JSONValue = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
        input.fileHandleForWriting.write(Data((request.jsonString + "\n").utf8))
        while true {
            let line = try await nextLine()
            let message = try JSONValue.parse(line)
            guard message["id"] == .int(id) else { continue }
            guard let result = message["result"] else { throw LineRPCError(response: String(decoding: line, as: UTF8.self)) }
            return result
        }
    }

    private func nextLine() async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                while true {
                    if let end = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = Array(self.buffer[..<end])
                        self.buffer.removeSubrange(...end)
                        continuation.resume(returning: line)
                        return
                    }
                    // read(2), retried on EINTR: FileHandle.availableData traps on it.
                    var chunk = [UInt8](repeating: 0, count: 65_536)
                    let count = chunk.withUnsafeMutableBytes { read(self.output.fileHandleForReading.fileDescriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { continuation.resume(throwing: LineRPCError(response: "end of output")); return }
                    self.buffer += chunk[..<count]
                }
            }
        }
    }

    /// Closes stdin and waits for the exit status.
    func finish() async throws -> Int32 {
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct LineRPCError: Error { let response: String }
