import Foundation
import GRDB
import KasvuDomain
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
/// let token = try await store.addReplica(id: "office-1", role: "office")
/// ```
public final class SQLiteCentralStore: CentralStore {
    let pool: DatabasePool
    let nowMillis: @Sendable () -> UInt64
    /// HLC timestamps further ahead of the central clock than this are refused (DESIGN: 2 minutes).
    public let maxClockSkewMillis: UInt64 = 120_000

    public init(path: String, nowMillis: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }) throws {
        var config = Configuration()
        config.label = "kasvu-central"
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let existed = FileManager.default.fileExists(atPath: path)
        if !existed, !FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) {
            throw KasvuError(.storageFailed, "cannot create \(path)")
        }
        pool = try DatabasePool(path: path, configuration: config)
        self.nowMillis = nowMillis
        try Self.migrator.migrate(pool)
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
        return migrator
    }

    // MARK: - Replicas and tokens

    public func addReplica(id: String, role: String) async throws -> String {
        let token = Token.generate(replicaID: id)
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM replica WHERE id = ?", arguments: [id]) == true {
                throw KasvuError(.alreadyExists, "replica \(id) is already registered; revoke it or choose another id")
            }
            try db.execute(sql: "INSERT INTO replica (id, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [id, role, Token.hash(token.secret), ISO8601DateFormatter().string(from: Date())])
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
            guard let row = try Row.fetchOne(db, sql: "SELECT id, role, token_hash, revoked_at FROM replica WHERE id = ?",
                                             arguments: [parsed.replicaID]) else { return nil }
            return (row["token_hash"], RegisteredReplica(id: row["id"], role: row["role"], revoked: (row["revoked_at"] as String?) != nil))
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

    // MARK: - Sync

    public func sync(_ request: CentralSyncRequest, from replica: RegisteredReplica) async throws -> SyncResponse {
        let header = request.header
        guard header.schemaVersion == SyncSchema.version else {
            throw KasvuError(.schemaMismatch, "replica speaks schema version \(header.schemaVersion), the central store \(SyncSchema.version); upgrade kasvu on the older side")
        }
        guard header.replicaID == replica.id else {
            throw KasvuError(.permissionDenied, "the token belongs to replica \(replica.id), not \(header.replicaID)")
        }
        let now = nowMillis()
        var newest = header.clock
        for record in request.push {
            if case .success(let envelope) = record.result {
                for entry in envelope.state.fields.values.joined() where entry.hlc > newest { newest = entry.hlc }
            }
        }
        if newest.millis > now + maxClockSkewMillis {
            let seconds = (newest.millis - now) / 1000
            throw KasvuError(.clockSkew, "the replica's clock is \(seconds) s ahead of the central clock (at most \(maxClockSkewMillis / 1000) s allowed); correct the laptop's date and time, then sync again")
        }
        var rejections: [SyncRejection] = []
        var valid: [RecordEnvelope] = []
        for record in request.push {
            switch record.result.flatMap(Self.validate) {
            case .success(let envelope): valid.append(envelope)
            case .failure(let error): rejections.append(SyncRejection(entity: record.entity, id: record.id, error: error))
            }
        }
        let pullLimit = min(max(header.pullLimit, 1), 5000)
        let accepted = valid.count
        let rejected = rejections
        let merging = valid
        let nowMillis = self.nowMillis
        return try await write { db in
            try Self.checkActor(db, header, replica: replica)
            var sequence = try Int64.fetchOne(db, sql: "SELECT value FROM sequence") ?? 0
            var delivered: [String: RecordState] = [:]
            for envelope in merging {
                let current = try Self.load(db, envelope.entity, envelope.id)
                if let current { try Self.checkDotsNotReused(envelope, current: current, header: header) }
                let merged = (current ?? RecordState()).merged(with: envelope.state)
                if merged != current {
                    sequence += 1
                    try Self.save(db, envelope.entity, envelope.id, merged, sequence: sequence)
                }
                if merged == envelope.state { delivered["\(envelope.entity.rawValue)/\(envelope.id)"] = merged }
            }
            // Caps hold in the merged state: decide the referrals of every provider touched.
            var touched: Set<String> = []
            for envelope in merging {
                if envelope.entity == .provider { touched.insert(envelope.id) }
                if envelope.entity == .referral, let provider = envelope.state.value("providerId").stringValue { touched.insert(provider) }
            }
            if !touched.isEmpty {
                var centralStamp = try CentralActor.load(db, nowMillis: nowMillis)
                let scheduler = ReferralScheduler(stamp: { centralStamp.next(nowMillis: nowMillis) }) { kind, id, state in
                    sequence += 1
                    try Self.save(db, kind, id, state, sequence: sequence)
                }
                for provider in touched.sorted() { try scheduler.schedule(db, provider: provider) }
                try centralStamp.save(db)
            }
            try db.execute(sql: "UPDATE sequence SET value = ?", arguments: [sequence])
            try db.execute(sql: """
                INSERT INTO actor (actor, replica_id, max_counter) VALUES (?, ?, ?)
                ON CONFLICT (actor) DO UPDATE SET max_counter = max(max_counter, excluded.max_counter)
                """, arguments: [header.actor.rawValue, replica.id, Int64(header.actorCounter)])

            let rows = try Row.fetchAll(db, sql: "SELECT entity, id, state, seq FROM record WHERE seq > ? ORDER BY seq LIMIT ?",
                                        arguments: [header.cursor, pullLimit + 1])
            let page = rows.prefix(pullLimit)
            var pull: [RecordEnvelope] = []
            for row in page {
                let entity: String = row["entity"], id: String = row["id"]
                let state = try Self.decode(row["state"])
                // The replica just sent exactly this state: do not send it back.
                if delivered["\(entity)/\(id)"] == state { continue }
                guard let kind = EntityKind(rawValue: entity) else { continue }
                pull.append(RecordEnvelope(entity: kind, id: id, state: state))
            }
            let cursor = page.last.map { $0["seq"] as Int64 } ?? header.cursor
            return SyncResponse(schemaVersion: SyncSchema.version, accepted: accepted, rejections: rejected, pull: pull,
                                cursor: cursor, more: rows.count > pullLimit, clock: HLC(millis: now))
        }
    }

    /// A replica whose counter went back (restored from a backup) or whose actor id belongs to
    /// another replica (a copied database) would reuse dots: refuse it before it merges anything.
    static func checkActor(_ db: Database, _ header: SyncHeader, replica: RegisteredReplica) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT replica_id, max_counter FROM actor WHERE actor = ?", arguments: [header.actor.rawValue]) else {
            return
        }
        let owner: String = row["replica_id"], seen: Int64 = row["max_counter"]
        let recovery = "keep this file, create a new replica with `kasvu init --db NEW.sqlite --replica-id ID --central URL --token TOKEN` (a fresh actor id), and sync; unsynced local edits must be re-entered"
        if owner != replica.id {
            throw KasvuError(.replicaRewound, "actor \(header.actor) belongs to replica \(owner): this database is a copy; \(recovery)")
        }
        if UInt64(seen) > header.actorCounter {
            throw KasvuError(.replicaRewound, "replica \(replica.id) went back from write \(seen) to \(header.actorCounter) (restored from a backup?); \(recovery)")
        }
    }

    /// The same dot with different content means two databases wrote under one actor id.
    static func checkDotsNotReused(_ envelope: RecordEnvelope, current: RecordState, header: SyncHeader) throws {
        for (field, entries) in envelope.state.fields {
            guard let known = current.fields[field] else { continue }
            for entry in entries {
                if let same = known.first(where: { $0.dot == entry.dot }), same != entry {
                    throw KasvuError(.replicaRewound, "write \(entry.dot) of \(envelope.entity.rawValue) \(envelope.id) arrived with different content: two databases share actor \(entry.dot.actor); re-initialise this replica with `kasvu init` under a new path")
                }
            }
        }
    }

    /// A pushed state must be well-formed: canonical id, known fields with valid values, and
    /// a version vector that covers its own entries.
    static func validate(_ envelope: RecordEnvelope) -> Result<RecordEnvelope, KasvuError> {
        do {
            let canonical = try Self.canonical(envelope.id)
            guard canonical == envelope.id else { throw KasvuError.validationFailed(field: "id", "must be a lowercase UUID") }
            for (field, entries) in envelope.state.fields {
                for entry in entries {
                    _ = try envelope.entity.schema.validateValue(field, entry.value)
                    guard envelope.state.vv.covers(entry.dot) else {
                        throw KasvuError.validationFailed(field: field, "entry \(entry.dot) is not covered by the record's version vector")
                    }
                }
            }
            return .success(envelope)
        } catch let error as KasvuError {
            return .failure(error)
        } catch {
            return .failure(.validationFailed(field: "push", "\(error)"))
        }
    }

    static func canonical(_ id: String) throws(KasvuError) -> String {
        do throws(FieldError) { return try RecordID.validate(id) } catch { throw .validationFailed([error]) }
    }

    static func load(_ db: Database, _ kind: EntityKind, _ id: String) throws -> RecordState? {
        try String.fetchOne(db, sql: "SELECT state FROM record WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id]).map(decode)
    }

    static func save(_ db: Database, _ kind: EntityKind, _ id: String, _ state: RecordState, sequence: Int64) throws {
        try db.execute(sql: """
            INSERT INTO record (entity, id, state, seq) VALUES (?, ?, ?, ?)
            ON CONFLICT (entity, id) DO UPDATE SET state = excluded.state, seq = excluded.seq
            """, arguments: [kind.rawValue, id, try encode(state), sequence])
    }

    static func encode(_ state: RecordState) throws -> String {
        String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> RecordState {
        try JSONDecoder().decode(RecordState.self, from: Data(text.utf8))
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let error as DatabaseError {
            throw KasvuError(.storageFailed, "central SQLite error \(error.resultCode.rawValue): \(error.message ?? "")")
        }
    }
}
