import Foundation
import GRDB
import KasvuDomain
import KasvuStorage

/// Where and as whom a replica syncs: the central URL lives in the database, the bearer token
/// in `<db>.token`, a file only its owner can read (it is a password; keeping it out of the
/// database keeps it out of backups and copies of the data file).
extension Replica {
    public var tokenPath: String { path + ".token" }

    /// Stores the token with mode 0600, replacing an earlier one.
    public func saveToken(_ token: String) throws {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw KasvuError.validationFailed(field: "token", "is empty") }
        do { try PrivateFile.replace(atPath: tokenPath, with: Array(trimmed.utf8)) } catch {
            throw KasvuError(.storageFailed, "\(error)")
        }
    }

    /// The stored token, or nil when the replica has none.
    public func loadToken() -> String? {
        guard let data = FileManager.default.contents(atPath: tokenPath) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    public func setCentralURL(_ url: String) async throws {
        try await write { db in try db.execute(sql: "UPDATE replica SET central_url = ? WHERE singleton = 1", arguments: [url]) }
    }

    /// What `sync/status` reports.
    public func syncStatus() async throws -> SyncStatus {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT last_sync_at, last_sync_error, pull_cursor, central_url FROM replica")
            let pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox") ?? 0
            let rejections = try Row.fetchAll(db, sql: "SELECT entity, id, kind, message FROM sync_rejection ORDER BY at DESC LIMIT 100").map {
                SyncStatus.Rejection(entity: $0["entity"], id: $0["id"], kind: $0["kind"], message: $0["message"])
            }
            return SyncStatus(pendingChanges: pending, lastSyncAt: row?["last_sync_at"], lastError: row?["last_sync_error"],
                              cursor: row?["pull_cursor"] ?? 0, centralURL: row?["central_url"], rejections: rejections)
        }
    }
}

public struct SyncStatus: Sendable, Hashable {
    public struct Rejection: Sendable, Hashable {
        public let entity: String
        public let id: String
        public let kind: String
        public let message: String
    }

    public let pendingChanges: Int
    public let lastSyncAt: String?
    public let lastError: String?
    public let cursor: Int64
    public let centralURL: String?
    public let rejections: [Rejection]
}
