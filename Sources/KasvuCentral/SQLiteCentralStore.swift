import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// The central store on embedded SQLite (WAL): the default, needing nothing installed.
///
/// Every merged change gets a new sequence number; replicas pull `seq > cursor`. A sync
/// request is one write transaction: check the actor, merge the pushed states, advance the
/// actor's counter and read the pull batch, so a crash at any point leaves either all of it or
/// none of it, and a retried request merges as a no-op.
///
/// ```swift
/// let store = try SQLiteCentralStore(path: "central.sqlite")
/// let token = try await store.addReplica(id: "office-1", role: .office, scope: .municipalities(["749"]))
/// ```
public final class SQLiteCentralStore: CentralStore {
    let pool: DatabasePool
    let nowMillis: @Sendable () -> UInt64

    /// Today in Finland by the central store's clock: the day its decisions are dated and its
    /// time-driven scopes (the outcome window) are judged.
    public var today: CalendarDate { CalendarDate.today(now: Date(timeIntervalSince1970: TimeInterval(nowMillis()) / 1000)) }
    /// HLC timestamps further ahead of the central clock than this are refused (DESIGN: 2 minutes).
    public let maxClockSkewMillis: UInt64 = 120_000

    /// Runs inside every pull's read transaction: lets a test hold a pull open.
    let whilePulling: (@Sendable () -> Void)?

    public convenience init(path: String, nowMillis: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }) throws {
        try self.init(path: path, nowMillis: nowMillis, whilePulling: nil)
    }

    init(path: String, nowMillis: @escaping @Sendable () -> UInt64, whilePulling: (@Sendable () -> Void)?) throws {
        self.whilePulling = whilePulling
        if !FileManager.default.fileExists(atPath: path) {
            do { try PrivateFile.create(atPath: path) } catch { throw KasvuError(.storageFailed, "\(error)") }
        }
        // 64 MiB of page cache: the central file holds every replica's records.
        pool = try StorageConfiguration.openPool(at: path, label: "kasvu-central", cacheMiB: 64)
        self.nowMillis = nowMillis
        try Self.migrator.migrate(pool)
        // An erasure committed just before a crash is scrubbed before anything is served.
        try pool.writeWithoutTransaction { db in _ = try Scrub.runIfPending(db) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: replicas, actors, records") { db in
            try db.execute(sql: """
                CREATE TABLE replica (
                    id TEXT PRIMARY KEY NOT NULL,
                    role TEXT NOT NULL,
                    token_hash TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    revoked_at TEXT
                );
                -- The highest write counter seen from each actor, and the replica it belongs to.
                CREATE TABLE actor (
                    actor TEXT PRIMARY KEY NOT NULL,
                    replica_id TEXT NOT NULL REFERENCES replica(id),
                    max_counter INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE record (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (entity, id)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX record_by_seq ON record(seq);
                CREATE TABLE sequence (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), value INTEGER NOT NULL);
                INSERT INTO sequence VALUES (1, 0);
                """)
        }
        migrator.registerMigration("v2: central actor, referral columns") { db in
            try db.execute(sql: """
                -- The central store's own writer identity, for the referral decisions it makes.
                CREATE TABLE central_actor (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    actor TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    hlc INTEGER NOT NULL
                );
                ALTER TABLE record ADD COLUMN referral_provider GENERATED ALWAYS AS
                    (CASE WHEN entity = 'referral' THEN json_extract(state, '$.f.providerId[0][0]') END) VIRTUAL;
                ALTER TABLE record ADD COLUMN referral_client GENERATED ALWAYS AS
                    (CASE WHEN entity = 'referral' THEN json_extract(state, '$.f.clientId[0][0]') END) VIRTUAL;
                ALTER TABLE record ADD COLUMN referral_state GENERATED ALWAYS AS
                    (CASE WHEN entity = 'referral' THEN json_extract(state, '$.f.state[0][0]') END) VIRTUAL;
                CREATE INDEX record_referral_by_provider ON record(referral_provider, referral_state) WHERE entity = 'referral';
                CREATE INDEX record_referral_by_client ON record(referral_client, referral_state) WHERE entity = 'referral';
                """)
        }
        migrator.registerMigration("v3: scopes and deliveries") { db in
            try db.execute(sql: """
                ALTER TABLE replica ADD COLUMN municipalities TEXT;
                ALTER TABLE replica ADD COLUMN provider_id TEXT;
                -- Set when the scope changes: the next pull rescans from the start.
                ALTER TABLE replica ADD COLUMN rescan INTEGER NOT NULL DEFAULT 0;
                -- What each replica holds, so that records leaving its scope can be evicted.
                CREATE TABLE delivered (
                    replica_id TEXT NOT NULL,
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    PRIMARY KEY (replica_id, entity, id)
                ) WITHOUT ROWID;
                ALTER TABLE record ADD COLUMN client_ref GENERATED ALWAYS AS
                    (CASE WHEN entity = 'client' THEN id ELSE json_extract(state, '$.f.clientId[0][0]') END) VIRTUAL;
                CREATE INDEX record_by_client ON record(client_ref);
                """)
        }
        migrator.registerMigration("v4: audit trail") { db in
            try db.execute(sql: """
                -- Who changed which fields of which record, and when: one row per merged write.
                CREATE TABLE audit_trail (
                    entry INTEGER PRIMARY KEY AUTOINCREMENT,
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    at TEXT NOT NULL,
                    replica_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    user_name TEXT,
                    fields TEXT NOT NULL
                );
                CREATE INDEX audit_trail_by_record ON audit_trail(entity, id, entry);
                """)
        }
        migrator.registerMigration("v5: dot registry") { db in
            try db.execute(sql: """
                -- Every write of a replica, by its dot: a second, different write under the same
                -- dot (a restored or copied database) is refused on whatever record it lands.
                CREATE TABLE dot (
                    actor TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    PRIMARY KEY (actor, counter)
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO dot (actor, counter, hlc)
                    SELECT json_extract(w.value, '$[0]'), json_extract(w.value, '$[1]'), json_extract(w.value, '$[2]')
                    FROM record, json_each(record.state, '$.w') AS w
                    WHERE json_extract(w.value, '$[0]') <> coalesce((SELECT actor FROM central_actor), '');
                """)
        }
        migrator.registerMigration("v6: write authorship") { db in
            try db.execute(sql: """
                -- Each write as its replica noted it (WriteNote): the dot's counter, when it was
                -- written (HLC milliseconds) and the old and new values of non-personal fields.
                -- Rows without a counter are merges that came without notes.
                ALTER TABLE audit_trail ADD COLUMN counter INTEGER;
                ALTER TABLE audit_trail ADD COLUMN written_at INTEGER;
                ALTER TABLE audit_trail ADD COLUMN changes TEXT;
                -- A retried push notes the same writes again: once is enough.
                CREATE UNIQUE INDEX audit_trail_write ON audit_trail(entity, id, actor, counter, written_at) WHERE counter IS NOT NULL;
                """)
        }
        migrator.registerMigration("v7: incarnation, maintenance") { db in
            try db.execute(sql: """
                -- Facts about the store itself (name → value): its incarnation, and what the
                -- periodic jobs did last, so that each run does only what is new.
                CREATE TABLE central_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                -- Every sync answer carries the incarnation; a store restored from a backup has a
                -- new one, and replicas that see it change send again what it may have lost.
                INSERT INTO central_state (name, value) VALUES ('incarnation', lower(hex(randomblob(8))));
                -- The central store's actors before each restore: their lost decisions live on in
                -- replicas only, so no replica may ever write under them.
                CREATE TABLE former_central_actor (actor TEXT PRIMARY KEY) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v8: duplicate identities") { db in
            try db.execute(sql: """
                -- Clients by henkilötunnus and by the duplicate flag, for the duplicate check
                -- after every merge (DuplicateFlags.swift). Erasing a client nulls its henkilötunnus,
                -- which leaves the index (secure_delete overwrites the freed entry).
                ALTER TABLE record ADD COLUMN client_hetu GENERATED ALWAYS AS
                    (CASE WHEN entity = 'client' THEN json_extract(state, '$.f.hetu[0][0]') END) VIRTUAL;
                ALTER TABLE record ADD COLUMN client_duplicate_of GENERATED ALWAYS AS
                    (CASE WHEN entity = 'client' THEN json_extract(state, '$.f.duplicateOf[0][0]') END) VIRTUAL;
                CREATE INDEX record_client_hetu ON record(client_hetu) WHERE entity = 'client' AND client_hetu IS NOT NULL;
                CREATE INDEX record_client_duplicate_of ON record(client_duplicate_of) WHERE entity = 'client' AND client_duplicate_of IS NOT NULL;
                """)
        }
        migrator.registerMigration("v9: tombstone collection") { db in
            try db.execute(sql: """
                -- Each replica's settled cursor: the cursor of its latest request that pushed
                -- everything it had, and when that was. The lowest settled cursor of the replicas
                -- that settled lately is how far tombstones may be collected (TombstoneCollection.swift).
                ALTER TABLE replica ADD COLUMN settled_cursor INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE replica ADD COLUMN settled_ms INTEGER;
                ALTER TABLE record ADD COLUMN tombstone GENERATED ALWAYS AS (json_extract(state, '$.f.deleted[0][0]')) VIRTUAL;
                CREATE INDEX record_tombstones ON record(seq) WHERE tombstone = 1;
                -- Collected tombstones: the key only, for good, so that no push brings one back.
                -- `seq` numbers the collection, so that pulls pass it as an eviction; null once
                -- every replica in use has pulled past it.
                CREATE TABLE collected (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    seq INTEGER,
                    PRIMARY KEY (entity, id)
                ) WITHOUT ROWID;
                CREATE INDEX collected_by_seq ON collected(seq) WHERE seq IS NOT NULL;
                INSERT INTO central_state (name, value) VALUES ('tombstone_horizon', '0');
                """)
        }
        migrator.registerMigration("v10: scrub") { db in try Scrub.createTable(db) }
        migrator.registerMigration("v11: writes stamped again") { db in
            try db.execute(sql: """
                -- A write a recovered laptop stamped again under its new actor (an entry's origin),
                -- by its first dot and time, with the dot it now has: a second copy of the
                -- database sending the same write again lands nothing new (DotRegistry.swift).
                CREATE TABLE stamped_again (
                    actor TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    as_actor TEXT NOT NULL,
                    as_counter INTEGER NOT NULL,
                    PRIMARY KEY (actor, counter, hlc)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v12: a replica that never settled counts from its registration") { db in
            // Until now such a replica counted as away at once, and a collection could drop a
            // tombstone its first edits were concurrent with (simulation seed 2316).
            try db.execute(sql: "UPDATE replica SET settled_ms = CAST(strftime('%s', created_at) AS INTEGER) * 1000 WHERE settled_ms IS NULL")
        }
        return migrator
    }

    @discardableResult
    public func scrubErasedBytes() async throws -> Bool {
        try await pool.writeWithoutTransaction { db in try Scrub.runIfPending(db) }
    }

    // MARK: - Replicas and tokens

    public func addReplica(id: String, role: ReplicaRole, scope: ReplicaScope) async throws -> String {
        try Self.check(role: role, scope: scope)
        let token = Token.generate(replicaID: id)
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM replica WHERE id = ?", arguments: [id]) == true {
                throw KasvuError(.alreadyExists, "replica \(id) is already registered; revoke it or choose another id")
            }
            let (municipalities, provider) = Self.columns(scope)
            // Settled at cursor 0 from now: until it pushes everything it has, it holds tombstone collection back, for the usual limit.
            try db.execute(sql: """
                INSERT INTO replica (id, role, token_hash, created_at, municipalities, provider_id, settled_cursor, settled_ms) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                """, arguments: [id, role.rawValue, Token.hash(token.secret), ISO8601DateFormatter().string(from: Date()), municipalities, provider,
                                 Int64(self.nowMillis())])
        }
        return token.text
    }

    /// The role a replica was registered with, or nil when unknown.
    public func role(of id: String) async throws -> ReplicaRole? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT role FROM replica WHERE id = ?", arguments: [id]).flatMap(ReplicaRole.init(rawValue:)) }
    }

    public func setScope(id: String, scope: ReplicaScope) async throws {
        try await write { db in
            guard let role = try String.fetchOne(db, sql: "SELECT role FROM replica WHERE id = ?", arguments: [id]).flatMap(ReplicaRole.init(rawValue:)) else {
                throw KasvuError.notFound(entity: "replica", id: id)
            }
            try Self.check(role: role, scope: scope)
            let (municipalities, provider) = Self.columns(scope)
            try db.execute(sql: "UPDATE replica SET municipalities = ?, provider_id = ?, rescan = rescan + 1 WHERE id = ?",
                           arguments: [municipalities, provider, id])
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
            try db.execute(sql: "UPDATE replica SET token_hash = ?, revoked_at = NULL WHERE id = ?", arguments: [Token.hash(token.secret), id])
            if db.changesCount == 0 { throw KasvuError.notFound(entity: "replica", id: id) }
        }
        return token.text
    }

    public func revokeReplica(id: String) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE replica SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [ISO8601DateFormatter().string(from: Date()), id])
            if db.changesCount == 0 { throw KasvuError.notFound(entity: "active replica", id: id) }
        }
    }

    public func authenticate(token: String) async throws -> RegisteredReplica? {
        guard let parsed = Token(text: token) else { return nil }
        let found = try await pool.read { db -> (hash: String, replica: RegisteredReplica)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, role, token_hash, revoked_at, municipalities, provider_id FROM replica WHERE id = ?",
                                             arguments: [parsed.replicaID]) else { return nil }
            guard let role = ReplicaRole(rawValue: row["role"]) else { return nil }
            return (row["token_hash"], RegisteredReplica(id: row["id"], role: role, revoked: (row["revoked_at"] as String?) != nil,
                                                         scope: Self.scope(role: role, municipalities: row["municipalities"], provider: row["provider_id"])))
        }
        guard let found, Token.constantTimeEqual(found.hash, Token.hash(parsed.secret)), !found.replica.revoked else { return nil }
        return found.replica
    }

    public func statistics() async throws -> CentralStatistics {
        try await pool.read { db in
            CentralStatistics(records: try Int.fetchOne(db, sql: "SELECT count(*) FROM record") ?? 0,
                              replicas: try Int.fetchOne(db, sql: "SELECT count(*) FROM replica WHERE revoked_at IS NULL") ?? 0,
                              sequence: try Int64.fetchOne(db, sql: "SELECT value FROM sequence") ?? 0)
        }
    }

    /// Appends a merge that came without write notes (the central store's own decisions, or
    /// a replica of an earlier release) to the audit trail: the fields it changed, with the old
    /// and new winning values of those that are not personal data, dated by its newest entry.
    static func audit(_ db: Database, _ kind: EntityKind, _ id: String, before: RecordState?, after: RecordState, at: String,
                      replica: String, actor: String, user: String?) throws {
        let changed = after.fields.keys.filter { before?.fields[$0] != after.fields[$0] }.sorted()
        guard !changed.isEmpty else { return }
        let note = WriteNote.of(kind, before: before ?? RecordState(), changes: Dictionary(uniqueKeysWithValues: changed.map { ($0, after.value($0)) }),
                                counter: 0, hlc: changed.flatMap { after.fields[$0] ?? [] }.map(\.hlc).max() ?? .zero, user: user)
        try db.cachedStatement(sql: """
            INSERT INTO audit_trail (entity, id, at, replica_id, actor, user_name, fields, written_at, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [kind.rawValue, id, at, replica, actor, user, changed.joined(separator: ","),
                                     Int64(note.hlc.millis), WriteNote.changesText(note.changes)])
    }

    /// Appends the writes a replica noted (``WriteNote``) to the audit trail, once each.
    static func audit(_ db: Database, _ kind: EntityKind, _ id: String, notes: [WriteNote], at: String, replica: String, actor: String) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO audit_trail (entity, id, at, replica_id, actor, user_name, fields, counter, written_at, changes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for note in notes {
            try insert.execute(arguments: [kind.rawValue, id, at, replica, actor, note.user, note.changes.map(\.field).joined(separator: ","),
                                           Int64(note.counter), Int64(note.hlc.millis), WriteNote.changesText(note.changes)])
        }
    }

    public func auditTrail(entity: EntityKind, id: String) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT at, replica_id, actor, user_name, fields, counter, written_at, changes FROM audit_trail
                WHERE entity = ? AND id = ? ORDER BY entry
                """, arguments: [entity.rawValue, id]).map { row in
                let changes = try (row["changes"] as String?).map { try WriteNote.changes(json: $0.utf8) } ?? []
                return AuditEntry(at: row["at"], replicaID: row["replica_id"], actor: row["actor"], userName: row["user_name"],
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
        case .contact, .hours, .event: current.map { $0.value(.clientId) != merged.value(.clientId) } == true
        default: false
        }
    }

    static func canonical(_ id: String) throws(KasvuError) -> String {
        do throws(FieldError) { return try RecordID.validate(id) } catch { throw .validationFailed([error]) }
    }

    static func load(_ db: Database, _ kind: EntityKind, _ id: String) throws -> RecordState? {
        // Cached statements here and in `save`: they run once per pushed record.
        try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM record WHERE entity = ? AND id = ?"), arguments: [kind.rawValue, id]).map(decode)
    }

    /// Stores a state under a new sequence number.
    static func save(_ db: Database, _ kind: EntityKind, _ id: String, _ state: RecordState, sequence: Int64) throws {
        try save(db, kind, id, text: encode(state), sequence: sequence)
    }

    /// Stores an encoded state under a new sequence number.
    static func save(_ db: Database, _ kind: EntityKind, _ id: String, text: String, sequence: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO record (entity, id, state, seq) VALUES (?, ?, ?, ?)
            ON CONFLICT (entity, id) DO UPDATE SET state = excluded.state, seq = excluded.seq
            """).execute(arguments: [kind.rawValue, id, text, sequence])
    }

    static func encode(_ state: RecordState) -> String {
        state.jsonText
    }

    static func decode(_ text: String) throws -> RecordState {
        try RecordState(json: text.utf8)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let error as DatabaseError {
            throw KasvuError(storage: error, in: "central")
        }
    }
}
