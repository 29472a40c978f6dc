import Foundation
import KasvuDomain
import KasvuSQL

/// What the central store knows about one registered replica's syncing, for the central
/// office (`kasvu central replicas`, `/metrics`): no personal data, only the replica's id and
/// role, times, an error kind and counts.
public struct ReplicaHealth: Sendable, Hashable, Encodable {
    public let id: String
    public let role: ReplicaRole
    /// When it was registered (`kasvu central add-replica`), ISO 8601.
    public let registeredAt: String
    /// Its last sync that merged, ISO 8601; nil: never synced.
    public let lastSyncAt: String?
    /// Its last sync that failed after the token was accepted, and the error's kind.
    public let lastFailureAt: String?
    public let lastErrorKind: String?
    /// The release (``KasvuSync/KasvuRelease``) and sync schema it last synced with.
    public let version: String?
    public let schemaVersion: Int?
    /// The records with local writes it said it still held after its last sync.
    public let pendingChanges: Int?
    /// The records it holds from the store: all of them for the central office's replicas,
    /// the ones delivered to it and not evicted for the others.
    public let recordsInScope: Int

    /// Seconds since its last sync (since its registration when it never synced), by `now`.
    public func secondsSinceSync(now: Date) -> Int {
        let since = ISO8601DateFormatter().date(from: lastSyncAt ?? registeredAt) ?? now
        return max(0, Int(now.timeIntervalSince(since)))
    }

    /// Whole days since its last sync (or registration).
    public func daysSinceSync(now: Date) -> Int { secondsSinceSync(now: now) / 86_400 }

    private enum CodingKeys: String, CodingKey {
        case id, role, registeredAt, lastSyncAt, lastFailureAt, lastErrorKind, version, schemaVersion, pendingChanges, recordsInScope
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null: a script reads every key of every replica.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(role, forKey: .role)
        try container.encode(registeredAt, forKey: .registeredAt)
        try container.encode(lastSyncAt, forKey: .lastSyncAt)
        try container.encode(lastFailureAt, forKey: .lastFailureAt)
        try container.encode(lastErrorKind, forKey: .lastErrorKind)
        try container.encode(version, forKey: .version)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(pendingChanges, forKey: .pendingChanges)
        try container.encode(recordsInScope, forKey: .recordsInScope)
    }
}

extension SQLCentralStore {
    /// Every replica not revoked, the stalest first: never synced (oldest registration
    /// first), then by the time of its last sync.
    public func replicaHealth() async throws -> [ReplicaHealth] {
        try await read { db in
            let all = try db.value(Int.self, "SELECT count(*) FROM record") ?? 0
            var held: [String: Int] = [:]
            for row in try db.all("SELECT replica_id, count(*) AS n FROM delivered GROUP BY replica_id") {
                held[try row["replica_id"] as String] = Int(try row["n"] as Int64)
            }
            return try db.all("""
                SELECT id, role, created_at, last_sync_at, last_failure_at, last_error_kind, app_version, schema_version, pending_changes
                FROM replica WHERE revoked_at IS NULL
                """).map { row in
                let id: String = try row["id"]
                let role = ReplicaRole(rawValue: try row["role"]) ?? .office
                return ReplicaHealth(
                    id: id, role: role, registeredAt: try row["created_at"], lastSyncAt: try row["last_sync_at"],
                    lastFailureAt: try row["last_failure_at"], lastErrorKind: try row["last_error_kind"], version: try row["app_version"],
                    schemaVersion: (try row["schema_version"] as Int64?).map(Int.init), pendingChanges: (try row["pending_changes"] as Int64?).map(Int.init),
                    recordsInScope: role == .admin ? all : held[id] ?? 0)
            }.sorted { a, b in
                switch (a.lastSyncAt, b.lastSyncAt) {
                case (nil, nil): (a.registeredAt, a.id) < (b.registeredAt, b.id)
                case (nil, _): true
                case (_, nil): false
                case (let x?, let y?): (x, a.id) < (y, b.id)
                }
            }
        }
    }

    /// Notes a sync of `replicaID` that failed after its token was accepted, with the error's
    /// kind (a stable snake_case word, never the message: it may quote what was sent).
    public func recordSyncFailure(replicaID: String, kind: KasvuError.Kind) async throws {
        let at = UTCTimestamp.string()
        try await write { db in
            _ = try db.execute("UPDATE replica SET last_failure_at = ?, last_error_kind = ? WHERE id = ?", [at, kind.rawValue, replicaID])
        }
    }
}
