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
/// first page after a sign-in, so a server nobody signs in to holds no second copy. Once it
/// exists it is refreshed before each page and every minute (``DashboardService``): an erasure
/// at the central store reaches its file as it reaches any replica's, scrubbed. A mirror the
/// store no longer knows (revoked, or a store made anew) is deleted, file and token, and made
/// again: it would otherwise keep erased data it can no longer learn about.
actor DashboardMirror {
    let store: any CentralStore
    let path: String
    private var replica: Replica?
    private var token: String?
    /// The last pull scheduled; each waits for the one before, so pulls never overlap.
    private var tail: Task<Replica, any Error>?
    private var scheduled = 0
    private var started = 0

    init(store: any CentralStore, path: String) {
        self.store = store
        self.path = path
    }

    /// Whether the mirror has been created.
    nonisolated var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// The mirror after a pull that began after this call: whatever the store committed before
    /// it is in the mirror. Callers that arrive while a pull waits to begin share it.
    func refreshed() async throws -> Replica {
        if let tail, started < scheduled { return try await tail.value }
        scheduled += 1
        let generation = scheduled
        let previous = tail
        let task = Task {
            _ = try? await previous?.value
            self.begin(generation)  // the task runs on this actor
            return try await self.pull()
        }
        tail = task
        return try await task.value
    }

    private func begin(_ generation: Int) { started = max(started, generation) }

    private func pull() async throws -> Replica {
        let (replica, token) = try await opened()
        do {
            _ = try await SyncClient(replica: replica, transport: InProcessTransport(store: store, token: token)).run(timeout: .seconds(60))
        } catch let error as KasvuError where [.syncUnauthorized, .replicaRewound].contains(error.kind) {
            try await discard(replicaID: try await replica.info().replicaID)
            let (fresh, token) = try await opened()
            _ = try await SyncClient(replica: fresh, transport: InProcessTransport(store: store, token: token)).run(timeout: .seconds(60))
            return fresh
        }
        return replica
    }

    private func opened() async throws -> (Replica, String) {
        if let replica, let token { return (replica, token) }
        let path = self.path
        if FileManager.default.fileExists(atPath: path) {
            let opened = try? await Blocking.run { try Replica.open(at: path) }
            if let opened, let token = opened.loadToken() {
                (replica, self.token) = (opened, token)
                return (opened, token)
            }
            // Stopped between creating the file and saving its token (or inside creating it):
            // it never synced, so it holds nothing; its registration, if any, is revoked.
            try await discard(replicaID: try? await opened?.info().replicaID)
        }
        var bytes = [UInt8](repeating: 0, count: 4)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let id = "dashboard-" + bytes.map { String(format: "%02x", $0) }.joined()
        // The file first, so that a crash before the token is saved leaves the id to revoke.
        let created = try await Blocking.run { try Replica.create(at: path, replicaID: id, role: .admin) }
        let token = try await store.addReplica(id: id, role: .admin, scope: .all)
        try created.saveToken(token)
        (replica, self.token) = (created, token)
        return (created, token)
    }

    /// Deletes the mirror's files and revokes its registration.
    private func discard(replicaID: String?) async throws {
        replica = nil
        token = nil
        if let replicaID { try? await store.revokeReplica(id: replicaID) }
        for suffix in ["", "-wal", "-shm", ".token"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}

/// One sync round trip to the central store in this process: the same authentication and
/// request decoding as over HTTP, without the socket.
struct InProcessTransport: SyncTransport {
    let store: any CentralStore
    let token: String

    func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        guard let replica = try await store.authenticate(token: token) else {
            throw KasvuError(.syncUnauthorized, "the dashboard's replica is unknown to the store or revoked")
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
