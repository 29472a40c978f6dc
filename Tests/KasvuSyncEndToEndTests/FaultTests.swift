import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// A loopback proxy in front of the central server that loses or holds chosen responses
/// (`Fixtures/lossy_proxy.py`), so that crashes land at a known point of a sync.
final class FaultProxy {
    let process = Process()
    let port: Int
    private let output: FileHandle

    init(upstream: Int, mode: String, request: Int, releaseFile: String? = nil) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lossy_proxy.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, String(upstream), mode, String(request)] + (releaseFile.map { [$0] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        output = out.fileHandleForReading
        let first = FaultProxy.readLine(output)
        guard let port = Int(first) else { throw CentralFailure(message: "proxy did not start: \(first)") }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Blocks until the proxy says it holds a request (or exits).
    func waitUntilHeld() -> Bool { FaultProxy.readLine(output) == "held" }

    static func readLine(_ handle: FileHandle) -> String {
        var line = Data()
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Crashes and lost messages in the middle of a sync: after recovery and a re-sync every
/// acknowledged write is present and all replicas are equal.
@Suite("Faults during sync", .serialized)
struct FaultTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
    }

    func fill(_ replica: TestReplica, count: Int) async throws -> Set<String> {
        var ids: Set<String> = []
        for index in 0..<count {
            ids.insert(try await replica.replica.create(.client, fields: companyClient.merging(["name": .string("Asiakas \(index)")]) { $1 }).id)
        }
        return ids
    }

    /// A real `kasvu sync` of `replica` through `url`, in batches of 25.
    func startSync(_ replica: TestReplica, via url: String) async throws -> Process {
        try await replica.replica.setCentralURL(url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: KasvuBinary.path)
        process.arguments = ["sync", "--db", replica.replica.path, "--batch-size", "25"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func expectConverged(_ replicas: [TestReplica], clients: Set<String>) async throws {
        for replica in replicas { try await replica.replica.setCentralURL(central.url) }
        for _ in 0..<2 { for replica in replicas { try await replica.sync() } }
        let reference = try await replicas[0].everything()
        #expect(Set(reference.filter { $0.entity == .client }.map(\.id)) == clients)
        for replica in replicas {
            #expect(try await replica.everything() == reference)
            #expect(try await replica.replica.info().pendingChanges == 0)
        }
    }

    @Test(arguments: CentralBackend.allCases) static func replicaKilledMidSyncLosesNothing(_ backend: CentralBackend) async throws { try await Self(backend).replicaKilledMidSyncLosesNothing() }
    func replicaKilledMidSyncLosesNothing() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let provider = try TestReplica("provider", in: directory, central: central)
        let clients = try await fill(office, count: 400)
        // Batch 4 reaches the central store and commits; its acknowledgement never arrives.
        let proxy = try FaultProxy(upstream: central.port, mode: "hold-after", request: 4)
        let sync = try await startSync(office, via: proxy.url)
        #expect(proxy.waitUntilHeld())
        kill(sync.processIdentifier, SIGKILL)
        sync.waitUntilExit()
        #expect(sync.terminationReason == .uncaughtSignal)
        #expect(try await office.replica.info().pendingChanges == 400 - 3 * 25)
        try await expectConverged([office, provider], clients: clients)
    }

    @Test(arguments: CentralBackend.allCases) static func centralKilledMidSyncLosesNothing(_ backend: CentralBackend) async throws { try await Self(backend).centralKilledMidSyncLosesNothing() }
    func centralKilledMidSyncLosesNothing() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let provider = try TestReplica("provider", in: directory, central: central)
        let clients = try await fill(office, count: 400)
        // Batch 3 is in flight when the central server dies; it reaches a dead server.
        let release = directory.path("release")
        let proxy = try FaultProxy(upstream: central.port, mode: "hold-before", request: 3, releaseFile: release)
        let sync = try await startSync(office, via: proxy.url)
        #expect(proxy.waitUntilHeld())
        central.kill()
        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        sync.waitUntilExit()
        #expect(sync.terminationStatus != 0)  // the sync failed: its server died
        #expect(try await office.replica.info().pendingChanges == 400 - 2 * 25)
        try central.restart()
        try await expectConverged([office, provider], clients: clients)
    }

    @Test(arguments: CentralBackend.allCases) static func responseLostAfterCommitIsRetriedWithoutDuplicates(_ backend: CentralBackend) async throws { try await Self(backend).responseLostAfterCommitIsRetriedWithoutDuplicates() }
    func responseLostAfterCommitIsRetriedWithoutDuplicates() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let clients = try await fill(office, count: 30)
        let proxy = try FaultProxy(upstream: central.port, mode: "drop", request: 2)
        var options = HTTPClientOptions()
        options.initialBackoff = 0.01
        let lossy = try CurlSyncTransport(centralURL: proxy.url, token: office.token, options: options)
        // The first two responses vanish after the central store committed; the transport's
        // retries re-send the same states, which merge as no-ops: one sync succeeds.
        let summary = try await SyncClient(replica: office.replica, transport: lossy, batchSize: 10).run()
        #expect(summary.pushed == 30)
        #expect(try await office.replica.info().pendingChanges == 0)
        let provider = try TestReplica("provider", in: directory, central: central)
        try await provider.sync()
        let received = try await provider.replica.allStates(.client)
        #expect(Set(received.map(\.id)) == clients && received.count == 30)
        #expect(try await office.replica.allStates(.client) == received)
    }
}
