import Foundation
import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync

/// What the dashboard reads: an admin replica file that the server keeps in step with the
/// central store by syncing it in process. Every page is computed by the replica's own report
/// code, the code behind `report/caseload` and the other JSON-RPC reports, so the dashboard and
/// the reports cannot disagree.
///
/// The mirror is created and registered (as replica `dashboard-XXXXXXXX`, role admin) at the
/// first sign-in, so a server nobody signs in to holds no second copy. Once it exists it is
/// refreshed before each page and every minute (``DashboardService``): an erasure at the
/// central store reaches its file as it reaches any replica's, scrubbed.
actor DashboardMirror {
    let store: any CentralStore
    let path: String
    private var replica: Replica?
    private var token: String?
    private var running: Task<Replica, any Error>?

    init(store: any CentralStore, path: String) {
        self.store = store
        self.path = path
    }

    /// Whether the mirror has been created (by a first sign-in).
    nonisolated var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The mirror after pulling everything new from the central store. Concurrent callers share
    /// one sync.
    func refreshed() async throws -> Replica {
        if let running { return try await running.value }
        let task = Task { try await self.pull() }
        running = task
        defer { running = nil }
        return try await task.value
    }

    private func pull() async throws -> Replica {
        let (replica, token) = try await opened()
        _ = try await SyncClient(replica: replica, transport: InProcessTransport(store: store, token: token)).run(timeout: .seconds(60))
        return replica
    }

    private func opened() async throws -> (Replica, String) {
        if let replica, let token { return (replica, token) }
        let path = self.path
        if FileManager.default.fileExists(atPath: path) {
            let replica = try await Blocking.run { try Replica.open(at: path) }
            if let token = replica.loadToken() {
                self.replica = replica
                self.token = token
                return (replica, token)
            }
            // Created but stopped before its token was saved: it never synced, so it holds nothing.
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        var bytes = [UInt8](repeating: 0, count: 4)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let id = "dashboard-" + bytes.map { String(format: "%02x", $0) }.joined()
        let token = try await store.addReplica(id: id, role: .admin, scope: .all)
        let replica = try await Blocking.run { try Replica.create(at: path, replicaID: id, role: .admin) }
        try replica.saveToken(token)
        self.replica = replica
        self.token = token
        return (replica, token)
    }
}

/// One sync round trip to the central store in this process: the same authentication and
/// request decoding as over HTTP, without the socket.
struct InProcessTransport: SyncTransport {
    let store: any CentralStore
    let token: String

    func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        guard let replica = try await store.authenticate(token: token) else {
            throw KasvuError(.syncUnauthorized, "the dashboard's replica was revoked; remove the dashboard file to register a new one")
        }
        let response = try await store.sync(try CentralSyncRequest(json: request.jsonBytes), from: replica)
        return try SyncResponse(json: response.jsonBytes)
    }
}

/// Runs blocking work (opening a SQLite file, migrating it) on a thread of its own, off the
/// cooperative pool.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
