import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync
import Synchronization

/// A local replica: one SQLite file (WAL mode) holding the records a case worker may see,
/// their sync state and the outbox of unpushed writes.
///
/// Every write is one SQLite transaction that stamps a new dot, updates the record's sync
/// state and the outbox together, so an acknowledged write survives kill -9 (and power loss
/// with ``Durability/full``). All methods run their SQLite work on GRDB's own dispatch queues,
/// never on the cooperative thread pool.
///
/// ```swift
/// let replica = try Replica.create(at: "office.sqlite", replicaID: "siilinjarvi-1", role: .office)
/// let client = try await replica.create(.client, fields: [
///     "hetu": .string("131052-308T"), "lastName": .string("Virtanen"), "municipality": .string("749"),
/// ])
/// try await replica.update(.client, id: client.id, set: ["phone": .string("040 123 4567")])
/// ```
public final class Replica: Sendable {
    public let path: String
    public let actor: ActorID
    /// What the replica is for; the JSON-RPC layer refuses what the role may not do.
    public let role: ReplicaRole
    let pool: DatabasePool
    /// The write-ahead log whose directory entry ``syncWriteAheadLog()`` made durable.
    private let logDirectorySynced = Mutex<UInt64?>(nil)
    /// Source of wall-clock milliseconds for HLC stamps; replaceable in tests.
    let nowMillis: @Sendable () -> UInt64

    public static var schemaVersion: Int { ReplicaSchema.version }

    private init(path: String, pool: DatabasePool, actor: ActorID, role: ReplicaRole, nowMillis: @escaping @Sendable () -> UInt64) {
        self.path = path
        self.pool = pool
        self.actor = actor
        self.role = role
        self.nowMillis = nowMillis
    }

    /// Wall-clock milliseconds since 1970.
    public static func systemMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    private static func openPool(_ path: String, durability: Durability) throws -> DatabasePool {
        try StorageConfiguration.openPool(at: path, label: "kasvu-replica", durability: durability, cacheMiB: 16)
    }

    /// Creates a new replica database with a fresh random actor id.
    ///
    /// - Throws: ``KasvuError`` `already_exists` when `path` already holds a replica.
    public static func create(at path: String, replicaID: String, role: ReplicaRole, centralURL: String? = nil,
                              durability: Durability = .full,
                              nowMillis: @escaping @Sendable () -> UInt64 = Replica.systemMillis) throws -> Replica {
        guard !replicaID.isEmpty, replicaID.count <= 100,
              replicaID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw KasvuError.validationFailed(field: "replicaId", "1–100 characters of letters, digits, '-', '_' or '.'")
        }
        if FileManager.default.fileExists(atPath: path), (try? Data(contentsOf: URL(fileURLWithPath: path)).isEmpty) == false {
            throw KasvuError(.alreadyExists, "\(path) already exists; choose a new path (a replica is initialised once)")
        }
        // Personal data: readable by its owner only, from before SQLite writes anything to it
        // (SQLite gives the -wal and -shm files the database file's mode).
        do { try PrivateFile.create(atPath: path) } catch { throw KasvuError(.storageFailed, "\(error)") }
        let actor = ActorID.random()
        let pool = try storage { try openPool(path, durability: durability) }
        try storage {
            try ReplicaSchema.migrator().migrate(pool)
            try pool.write { db in
                try db.execute(sql: """
                    INSERT INTO replica (singleton, replica_id, actor, role, central_url, created_at)
                    VALUES (1, ?, ?, ?, ?, ?)
                    """, arguments: [replicaID, actor.rawValue, role.rawValue, centralURL, ISO8601DateFormatter().string(from: Date())])
                try ClientSearch.rebuildIfNeeded(db)
            }
        }
        return Replica(path: path, pool: pool, actor: actor, role: role, nowMillis: nowMillis)
    }

    /// Opens an existing replica, applying pending migrations.
    public static func open(at path: String, durability: Durability = .full,
                            nowMillis: @escaping @Sendable () -> UInt64 = Replica.systemMillis) throws -> Replica {
        guard FileManager.default.fileExists(atPath: path) else {
            throw KasvuError(.replicaNotInitialized, "no replica at \(path); create one with: kasvu init --db \(path) --replica-id ID")
        }
        let pool = try storage { try openPool(path, durability: durability) }
        // Check before migrating, so that opening some other SQLite file changes nothing in it.
        let actor = try storage {
            guard try pool.read({ try $0.tableExists("replica") }) else { return (String, String)?.none }
            try ReplicaSchema.migrator().migrate(pool)
            if try pool.read({ db in try ClientSearch.needsRebuild(db) }) { try pool.write { db in try ClientSearch.rebuildIfNeeded(db) } }
            // An erasure committed just before a crash is scrubbed now (owed still if another
            // process holds the file: the next erasure or start retries).
            try pool.writeWithoutTransaction { db in _ = try Scrub.runIfPending(db) }
            return try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT actor, role FROM replica WHERE singleton = 1").map { ($0["actor"] as String, $0["role"] as String) }
            }
        }
        guard let actor else {
            throw KasvuError(.replicaNotInitialized, "\(path) is not an initialised replica; create one with kasvu init")
        }
        return Replica(path: path, pool: pool, actor: ActorID(rawValue: actor.0), role: ReplicaRole(rawValue: actor.1) ?? .office,
                       nowMillis: nowMillis)
    }

    /// Identity, role and sync status.
    public func info() async throws -> ReplicaInfo {
        let leases = try await heldLeases()
        return try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM replica WHERE singleton = 1") else {
                throw KasvuError(.replicaNotInitialized, "replica row missing")
            }
            let pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox") ?? 0
            let role: String = row["role"]
            return ReplicaInfo(
                replicaID: row["replica_id"], actor: ActorID(rawValue: row["actor"]),
                role: ReplicaRole(rawValue: role) ?? .office, schemaVersion: ReplicaSchema.version,
                pendingChanges: pending, lastSyncAt: row["last_sync_at"], centralURL: row["central_url"], leases: leases)
        }
    }

    // MARK: - Storage access

    /// Who makes the writes of the current task: kept with each write's note for the central
    /// audit trail (`kasvu rpc --user`, or a request's `meta.user`).
    ///
    /// ```swift
    /// try await Replica.$author.withValue("Liisa") { try await replica.update(.client, id: id, set: changes) }
    /// ```
    @TaskLocal public static var author: String?

    /// Runs `body` in a write transaction, with storage errors turned into ``KasvuError``.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        // GRDB runs `body` on its writer queue, outside this task: carry the author along.
        let author = Self.author
        do { return try await pool.write { db in try Self.$author.withValue(author) { try body(db) } } } catch let error as DatabaseError {
            throw Self.storageError(error)
        }
    }

    /// Makes every commit so far durable against power loss, as `synchronous = FULL` makes each
    /// commit: syncs the write-ahead log (`fdatasync`). For a replica opened with `.normal`
    /// durability that answers its callers only after this (`kasvu rpc`'s group commit). On the
    /// writer's queue, so that no transaction is half written to the log meanwhile.
    ///
    /// ```swift
    /// let replica = try Replica.open(at: path, durability: .normal)
    /// _ = try await replica.update(.client, id: id, set: changes)
    /// try await replica.syncWriteAheadLog()   // now say it is saved
    /// ```
    public func syncWriteAheadLog() async throws {
        try await writeWithoutTransaction { _ in
            do throws(WriteAheadLog.SyncError) {
                let known = self.logDirectorySynced.withLock { $0 }
                let synced = try WriteAheadLog.sync(databaseAt: self.path, directorySyncedFor: known)
                self.logDirectorySynced.withLock { $0 = synced }
            } catch {
                throw KasvuError(.storageFailed, "replica: \(error.message)")
            }
        }
    }

    /// Runs `body` outside a transaction (for pragmas such as checkpoints).
    func writeWithoutTransaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.writeWithoutTransaction(body) } catch let error as DatabaseError { throw Self.storageError(error) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError { throw Self.storageError(error) }
    }

    private static func storage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError { throw storageError(error) }
    }

    static func storageError(_ error: DatabaseError) -> KasvuError {
        KasvuError(storage: error, in: "replica")
    }
}
