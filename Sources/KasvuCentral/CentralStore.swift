import KasvuDomain
import KasvuSync

/// A replica registered with the central store, as authenticated for one request.
public struct RegisteredReplica: Sendable, Hashable {
    public let id: String
    public let role: ReplicaRole
    public let revoked: Bool
    public let scope: ReplicaScope
}

/// The authoritative merged store behind `POST /v1/sync`.
///
/// The embedded SQLite implementation (``SQLCentralStore``) is the default; the protocol
/// keeps the HTTP server independent of it so that a PostgreSQL backend can follow.
public protocol CentralStore: Sendable {
    /// Registers a replica and returns its bearer token (shown once; only its hash is kept).
    func addReplica(id: String, role: ReplicaRole, scope: ReplicaScope) async throws -> String
    /// Changes what a replica may see; its next sync rescans and delivers or evicts accordingly.
    func setScope(id: String, scope: ReplicaScope) async throws
    /// Revokes a replica's token; its next sync gets 401.
    func revokeReplica(id: String) async throws
    /// The replica a bearer token belongs to, or nil when the token is unknown, forged or revoked.
    func authenticate(token: String) async throws -> RegisteredReplica?
    /// Merges the pushed batch and returns the next pull batch, all in one transaction.
    func sync(_ request: CentralSyncRequest, from replica: RegisteredReplica) async throws -> SyncResponse
    /// The writes of `actor` above counter `after` that the store holds, one page; the actor
    /// must be one of `replica`'s (`permission_denied` otherwise).
    func heldWrites(of actor: ActorID, after: UInt64, for replica: RegisteredReplica) async throws -> HeldWritesPage
    /// Every merged write of one record: who, when, which fields.
    func auditTrail(entity: EntityKind, id: String) async throws -> [AuditEntry]
    /// Counts for `/metrics`.
    func statistics() async throws -> CentralStatistics
    /// Each replica's syncing, the stalest first (``ReplicaHealth``).
    func replicaHealth() async throws -> [ReplicaHealth]
    /// Notes a failed sync of a replica whose token was accepted.
    func recordSyncFailure(replicaID: String, kind: KasvuError.Kind) async throws
    /// Makes time-driven scope changes reach replicas (``SQLCentralStore/expireOutcomeWindows(today:)``);
    /// returns how many clients it renumbered.
    func expireOutcomeWindows(today: CalendarDate) async throws -> Int
    /// Drops the tombstones every replica in use has pulled (``SQLCentralStore/collectTombstones(inactiveAfterDays:)``).
    func collectTombstones(inactiveAfterDays: Int) async throws -> TombstoneCollection
    /// Rewrites the store's files when an erasure owes it (``KasvuStorage/Scrub`` on SQLite,
    /// ``PostgresScrub``), so that no byte of an erased value stays; whether it did. A scrub
    /// that failed is owed still.
    func scrubErasedBytes() async throws -> Bool
    /// Today by the store's clock.
    var today: CalendarDate { get }
}

public struct CentralStatistics: Sendable {
    public let records: Int
    public let replicas: Int
    public let sequence: Int64
}
