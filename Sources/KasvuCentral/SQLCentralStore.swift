import Foundation
import GRDB
import KasvuSQL
import KasvuDomain
import KasvuStorage
import KasvuSync

/// The central store on a SQL database: embedded SQLite (WAL), the default needing nothing
/// installed, or PostgreSQL, which several `kasvu central serve` processes share.
///
/// Every merged change gets a new sequence number; replicas pull `seq > cursor`. The merge of
/// a sync request is one write transaction: check the actor, merge the pushed states, decide
/// referrals, advance the actor's counter, so a crash at any point leaves either all of it or
/// none of it, and a retried request merges as a no-op. Write transactions run one at a time
/// (``KasvuSQL/SQLDatabase``), on either database; pulls read a snapshot and wait for none.
///
/// ```swift
/// let store = try SQLCentralStore(path: "central.sqlite")
/// let token = try await store.addReplica(id: "office-1", role: .office, scope: .municipalities(["749"]))
/// ```
public final class SQLCentralStore: CentralStore {
    let database: any SQLDatabase
    /// The embedded store's file, for what only a file has: copies made with `VACUUM INTO` and
    /// scrubbing freed pages. Nil on PostgreSQL.
    let file: DatabasePool?
    let nowMillis: @Sendable () -> UInt64

    /// Today in Finland by the central store's clock: the day its decisions are dated and its
    /// time-driven scopes (the outcome window) are judged.
    public var today: CalendarDate { CalendarDate.today(now: Date(timeIntervalSince1970: TimeInterval(nowMillis()) / 1000)) }
    /// HLC timestamps further ahead of the central clock than this are refused (DESIGN: 2 minutes).
    public let maxClockSkewMillis: UInt64 = 120_000

    /// Runs inside every pull's read transaction: lets a test hold a pull open.
    let whilePulling: (@Sendable () -> Void)?
    /// The embedded store's scrub after an erasing sync has answered; nil on PostgreSQL,
    /// whose rewrite locks national tables and is the maintenance job's.
    let backgroundScrub: BackgroundScrub?

    public convenience init(path: String, nowMillis: @escaping @Sendable () -> UInt64 = SQLCentralStore.systemMillis) throws {
        try self.init(path: path, nowMillis: nowMillis, whilePulling: nil)
    }

    init(path: String, nowMillis: @escaping @Sendable () -> UInt64, whilePulling: (@Sendable () -> Void)?,
         scrubGate: (@Sendable () async -> Void)? = nil) throws {
        self.whilePulling = whilePulling
        if !FileManager.default.fileExists(atPath: path) {
            do { try PrivateFile.create(atPath: path) } catch { throw KasvuError(.storageFailed, "\(error)") }
        }
        // 64 MiB of page cache: the central file holds every replica's records.
        let pool = try StorageConfiguration.openPool(at: path, label: "kasvu-central", cacheMiB: 64)
        file = pool
        database = SQLiteDatabase(pool)
        backgroundScrub = BackgroundScrub(gate: scrubGate) { try await pool.writeWithoutTransaction(Scrub.runIfPending) }
        self.nowMillis = nowMillis
        try Self.migrator.migrate(pool)
        // An erasure committed just before a crash is scrubbed before anything is served.
        try pool.writeWithoutTransaction { db in _ = try Scrub.runIfPending(db) }
    }

    /// The store on a database that is not a file of its own (PostgreSQL): brings its schema
    /// to the current version (``CentralSchema``) in one transaction first.
    public init(database: any SQLDatabase, nowMillis: @escaping @Sendable () -> UInt64 = SQLCentralStore.systemMillis,
                whilePulling: (@Sendable () -> Void)? = nil) async throws {
        self.database = database
        file = nil
        backgroundScrub = nil
        self.nowMillis = nowMillis
        self.whilePulling = whilePulling
        do { try await database.write { try CentralSchema.migrate($0) } } catch let error as SQLError { throw KasvuError(storage: error, in: "central") }
    }

    /// Closes the database's connections (PostgreSQL); the store is unusable after.
    public func close() async { await database.close() }

    public static let systemMillis: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }

    @discardableResult
    public func scrubErasedBytes() async throws -> Bool {
        if let file { return try await file.writeWithoutTransaction { db in try Scrub.runIfPending(db) } }
        do { return try await database.withoutTransaction { try PostgresScrub.runIfPending($0) } } catch let error as SQLError {
            throw KasvuError(storage: error, in: "central")
        }
    }

    // MARK: - Replicas and tokens

    public func addReplica(id: String, role: ReplicaRole, scope: ReplicaScope) async throws -> String {
        try Self.check(role: role, scope: scope)
        let token = Token.generate(replicaID: id)
        try await write { db in
            if try db.value(Bool.self, "SELECT 1 FROM replica WHERE id = ?", [id]) == true {
                throw KasvuError(.alreadyExists, "replica \(id) is already registered; revoke it or choose another id")
            }
            let (municipalities, provider) = Self.columns(scope)
            // Settled at cursor 0 from now: until it pushes everything it has, it holds tombstone collection back, for the usual limit.
            try db.execute("""
                INSERT INTO replica (id, role, token_hash, created_at, municipalities, provider_id, settled_cursor, settled_ms) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                """, [id, role.rawValue, Token.hash(token.secret), ISO8601DateFormatter().string(from: Date()), municipalities, provider,
                                 Int64(self.nowMillis())])
        }
        return token.text
    }

    /// The role a replica was registered with, or nil when unknown.
    public func role(of id: String) async throws -> ReplicaRole? {
        try await read { db in try db.value(String.self, "SELECT role FROM replica WHERE id = ?", [id]).flatMap(ReplicaRole.init(rawValue:)) }
    }

    public func setScope(id: String, scope: ReplicaScope) async throws {
        try await write { db in
            guard let role = try db.value(String.self, "SELECT role FROM replica WHERE id = ?", [id]).flatMap(ReplicaRole.init(rawValue:)) else {
                throw KasvuError.notFound(entity: "replica", id: id)
            }
            try Self.check(role: role, scope: scope)
            let (municipalities, provider) = Self.columns(scope)
            try db.execute("UPDATE replica SET municipalities = ?, provider_id = ?, rescan = rescan + 1 WHERE id = ?",
                           [municipalities, provider, id])
        }
    }

    static func check(role: ReplicaRole, scope: ReplicaScope) throws {
        switch (role, scope) {
        case (.admin, .all): return
        case (.office, .municipalities(let codes)) where !codes.isEmpty:
            for code in codes.sorted() {
                do throws(FieldError) { try Municipalities.shipped.validate(code, field: "municipalities") } catch {
                    throw KasvuError.validationFailed([error])
                }
            }
        case (.provider, .provider(let id)):
            do throws(FieldError) { _ = try RecordID.validate(id, field: "provider") } catch { throw KasvuError.validationFailed([error]) }
        case (.office, _): throw KasvuError.validationFailed(field: "municipalities", "an office replica needs its municipalities")
        case (.provider, _): throw KasvuError.validationFailed(field: "provider", "a provider replica needs its provider id")
        case (.admin, _): throw KasvuError.validationFailed(field: "role", "an admin replica sees everything; give no scope")
        }
    }

    static func columns(_ scope: ReplicaScope) -> (municipalities: String?, provider: String?) {
        switch scope {
        case .all: (nil, nil)
        case .municipalities(let codes): (codes.sorted().joined(separator: ","), nil)
        case .provider(let id): (nil, id)
        }
    }

    static func scope(role: ReplicaRole, municipalities: String?, provider: String?) -> ReplicaScope {
        switch role {
        case .office: .municipalities(Set((municipalities ?? "").split(separator: ",").map(String.init)))
        case .provider: .provider(provider ?? "")
        case .admin: .all
        }
    }

    /// Replaces a replica's token (for example after a laptop was lost): the old one stops
    /// working at once; the new one is returned, shown once.
    public func rotateToken(id: String) async throws -> String {
        let token = Token.generate(replicaID: id)
        try await write { db in
            if try db.execute("UPDATE replica SET token_hash = ?, revoked_at = NULL WHERE id = ?", [Token.hash(token.secret), id]) == 0 { throw KasvuError.notFound(entity: "replica", id: id) }
        }
        return token.text
    }

    /// Turns the granting of capacity leases on or off for every server of the store
    /// (``LeaseLedger``); returns whether it was on before.
    @discardableResult
    public func setCapacityLeases(_ on: Bool) async throws -> Bool {
        try await write { db in
            let before = try LeaseLedger.isGranting(db)
            try db.execute("""
                INSERT INTO central_state (name, value) VALUES ('capacity_leases', ?)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value
                """, [on ? "on" : "off"])
            return before
        }
    }

    /// Whether capacity leases are granted.
    public func grantsCapacityLeases() async throws -> Bool {
        try await read { try LeaseLedger.isGranting($0) }
    }

    public func revokeReplica(id: String) async throws {
        try await write { db in
            if try db.execute("UPDATE replica SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                              [ISO8601DateFormatter().string(from: Date()), id]) == 0 { throw KasvuError.notFound(entity: "active replica", id: id) }
            // A revoked laptop syncs no more: what its leases still reserve returns to the pool,
            // first to the referrals waiting for the provider.
            try self.schedule(db, providers: try LeaseLedger.release(db, replica: id))
        }
    }

    public func authenticate(token: String) async throws -> RegisteredReplica? {
        guard let parsed = Token(text: token) else { return nil }
        let found = try await read { db -> (hash: String, replica: RegisteredReplica)? in
            guard let hash = try db.value(String.self, "SELECT token_hash FROM replica WHERE id = ?", [parsed.replicaID]),
                  let replica = try Self.registered(db, id: parsed.replicaID) else { return nil }
            return (hash, replica)
        }
        guard let found, Token.constantTimeEqual(found.hash, Token.hash(parsed.secret)), !found.replica.revoked else { return nil }
        return found.replica
    }

    /// A replica as registered now: its role, scope and whether it is revoked.
    static func registered(_ db: any SQLConnection, id: String) throws -> RegisteredReplica? {
        guard let row = try db.one("SELECT id, role, revoked_at, municipalities, provider_id FROM replica WHERE id = ?", [id]),
              let role = try ReplicaRole(rawValue: row["role"]) else { return nil }
        return try RegisteredReplica(id: row["id"], role: role, revoked: (row["revoked_at"] as String?) != nil,
                                     scope: Self.scope(role: role, municipalities: row["municipalities"], provider: row["provider_id"]))
    }

    public func statistics() async throws -> CentralStatistics {
        try await read { db in
            CentralStatistics(records: try db.value(Int.self, "SELECT count(*) FROM record") ?? 0,
                              replicas: try db.value(Int.self, "SELECT count(*) FROM replica WHERE revoked_at IS NULL") ?? 0,
                              sequence: try db.value(Int64.self, "SELECT value FROM sequence") ?? 0)
        }
    }

    /// Appends a merge that came without write notes (the central store's own decisions, or
    /// a replica of an earlier release) to the audit trail: the fields it changed, with the old
    /// and new winning values of those that are not personal data, dated by its newest entry.
    static func audit(_ db: any SQLConnection, _ kind: EntityKind, _ id: String, before: RecordState?, after: RecordState, at: String,
                      replica: String, actor: String, user: String?) throws {
        let changed = after.fields.keys.filter { before?.fields[$0] != after.fields[$0] }.sorted()
        guard !changed.isEmpty else { return }
        let note = WriteNote.of(kind, before: before ?? RecordState(), changes: Dictionary(uniqueKeysWithValues: changed.map { ($0, after.value($0)) }),
                                counter: 0, hlc: changed.flatMap { after.fields[$0] ?? [] }.map(\.hlc).max() ?? .zero, user: user)
        try db.statement("""
            INSERT INTO audit_trail (entity, id, at, replica_id, actor, user_name, fields, written_at, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute([kind.rawValue, id, at, replica, actor, user, changed.joined(separator: ","),
                                     Int64(note.hlc.millis), WriteNote.changesText(note.changes)])
    }

    /// Appends the writes a replica noted (``WriteNote``) to the audit trail, once each.
    static func audit(_ db: any SQLConnection, _ kind: EntityKind, _ id: String, notes: [WriteNote], at: String, replica: String, actor: String) throws {
        let insert = db.statement("""
            INSERT INTO audit_trail (entity, id, at, replica_id, actor, user_name, fields, counter, written_at, changes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """)
        for note in notes {
            try insert.execute([kind.rawValue, id, at, replica, actor, note.user, note.changes.map(\.field).joined(separator: ","),
                                           Int64(note.counter), Int64(note.hlc.millis), WriteNote.changesText(note.changes)])
        }
    }

    public func auditTrail(entity: EntityKind, id: String) async throws -> [AuditEntry] {
        try await read { db in
            try db.all("""
                SELECT at, replica_id, actor, user_name, fields, counter, written_at, changes FROM audit_trail
                WHERE entity = ? AND id = ? ORDER BY entry
                """, [entity.rawValue, id]).map { row in
                let changes = try (row["changes"] as String?).map { try WriteNote.changes(json: $0.utf8) } ?? []
                return try AuditEntry(at: row["at"], replicaID: row["replica_id"], actor: row["actor"], userName: row["user_name"],
                                  fields: (row["fields"] as String).split(separator: ",").map(String.init),
                                  writtenAt: (row["written_at"] as Int64?).map { AuditEntry.timestamp(millis: UInt64($0)) },
                                  write: (row["counter"] as Int64?).map(UInt64.init), changes: changes)
            }
        }
    }

    /// Whether a change can move a client (and its records) into or out of some replica's scope.
    static func movesScope(_ kind: EntityKind, current: RecordState?, merged: RecordState) -> Bool {
        switch kind {
        case .client: current?.value(.municipality) != merged.value(.municipality)
        // A referral's state, or any record moving to another client (client/merge).
        case .referral: current?.value(.state) != merged.value(.state) || current.map { $0.value(.clientId) != merged.value(.clientId) } == true
        case .contact, .hours, .event, .enrolment: current.map { $0.value(.clientId) != merged.value(.clientId) } == true
        // Which assessment is a client's latest completed one (all a provider sees) may change.
        case .assessment: [FieldKey.clientId, .state, .date, .completedAt].contains { current?.value($0) != merged.value($0) } || current?.isDeleted != merged.isDeleted
        default: false
        }
    }

    static func canonical(_ id: String) throws(KasvuError) -> String {
        do throws(FieldError) { return try RecordID.validate(id) } catch { throw .validationFailed([error]) }
    }

    static func load(_ db: any SQLConnection, _ kind: EntityKind, _ id: String) throws -> RecordState? {
        // Kept compiled (SQLite) here and in `save`: they run once per pushed record.
        try db.value(String.self, "SELECT state FROM record WHERE entity = ? AND id = ?", [kind.rawValue, id]).map(decode)
    }

    /// Stores a state (encoded as `text`, when the caller has it) under a new sequence number,
    /// with its ``RecordHome``; a record that leaves its home departs from it. `new`: the store
    /// holds no state of it, so it has no home to leave.
    static func save(_ db: any SQLConnection, _ kind: EntityKind, _ id: String, _ state: RecordState, text: String? = nil,
                     sequence: Int64, new: Bool = false) throws {
        let home = try RecordHome.of(db, kind, state)
        if !new, kind == .client || RecordHome.followsClient(kind),
           let before = try db.statement("SELECT home FROM record WHERE entity = ? AND id = ?").value(String.self, [kind.rawValue, id]),
           before != home {
            try RecordHome.depart(db, from: before, kind.rawValue, id, seq: sequence)
        }
        try db.statement("""
            INSERT INTO record (entity, id, state, seq, home) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (entity, id) DO UPDATE SET state = excluded.state, seq = excluded.seq, home = excluded.home
            """).execute([kind.rawValue, id, text ?? encode(state), sequence, home])
    }

    static func encode(_ state: RecordState) -> String {
        state.jsonText
    }

    static func decode(_ text: String) throws -> RecordState {
        try RecordState(json: text.utf8)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do { return try await database.write(body) } catch let error as SQLError { throw KasvuError(storage: error, in: "central") } catch let error as DatabaseError {
            throw KasvuError(storage: SQLError(error), in: "central")  // an SQLite file read inside (copies, restores)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do { return try await database.read(body) } catch let error as SQLError { throw KasvuError(storage: error, in: "central") } catch let error as DatabaseError {
            throw KasvuError(storage: SQLError(error), in: "central")
        }
    }
}
