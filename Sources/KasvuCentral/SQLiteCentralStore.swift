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
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 64 MiB of page cache per connection instead of SQLite's 2 MiB: the central file
            // holds every replica's records, and each sync batch touches pages all over it.
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
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
        return migrator
    }

    // MARK: - Replicas and tokens

    public func addReplica(id: String, role: String, scope: ReplicaScope) async throws -> String {
        try Self.check(role: role, scope: scope)
        let token = Token.generate(replicaID: id)
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM replica WHERE id = ?", arguments: [id]) == true {
                throw KasvuError(.alreadyExists, "replica \(id) is already registered; revoke it or choose another id")
            }
            let (municipalities, provider) = Self.columns(scope)
            try db.execute(sql: "INSERT INTO replica (id, role, token_hash, created_at, municipalities, provider_id) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, role, Token.hash(token.secret), ISO8601DateFormatter().string(from: Date()), municipalities, provider])
        }
        return token.text
    }

    /// The role a replica was registered with, or nil when unknown.
    public func role(of id: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT role FROM replica WHERE id = ?", arguments: [id]) }
    }

    public func setScope(id: String, scope: ReplicaScope) async throws {
        try await write { db in
            guard let role = try String.fetchOne(db, sql: "SELECT role FROM replica WHERE id = ?", arguments: [id]) else {
                throw KasvuError.notFound(entity: "replica", id: id)
            }
            try Self.check(role: role, scope: scope)
            let (municipalities, provider) = Self.columns(scope)
            try db.execute(sql: "UPDATE replica SET municipalities = ?, provider_id = ?, rescan = 1 WHERE id = ?",
                           arguments: [municipalities, provider, id])
        }
    }

    static func check(role: String, scope: ReplicaScope) throws {
        switch (role, scope) {
        case ("admin", .all): return
        case ("office", .municipalities(let codes)) where !codes.isEmpty:
            for code in codes.sorted() {
                do throws(FieldError) { try Municipalities.shipped.validate(code, field: "municipalities") } catch {
                    throw KasvuError.validationFailed([error])
                }
            }
        case ("provider", .provider(let id)):
            do throws(FieldError) { _ = try RecordID.validate(id, field: "provider") } catch { throw KasvuError.validationFailed([error]) }
        case ("office", _): throw KasvuError.validationFailed(field: "municipalities", "an office replica needs its municipalities")
        case ("provider", _): throw KasvuError.validationFailed(field: "provider", "a provider replica needs its provider id")
        default: throw KasvuError.validationFailed(field: "role", "an admin replica sees everything; give no scope")
        }
    }

    static func columns(_ scope: ReplicaScope) -> (municipalities: String?, provider: String?) {
        switch scope {
        case .all: (nil, nil)
        case .municipalities(let codes): (codes.sorted().joined(separator: ","), nil)
        case .provider(let id): (nil, id)
        }
    }

    static func scope(role: String, municipalities: String?, provider: String?) -> ReplicaScope {
        switch role {
        case "office": .municipalities(Set((municipalities ?? "").split(separator: ",").map(String.init)))
        case "provider": .provider(provider ?? "")
        default: .all
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
            let role: String = row["role"]
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
            let at = ISO8601DateFormatter().string(from: Date())  // once: creating a formatter is costly
            var resolver = ScopeResolver(db: db, scope: replica.scope)
            var rejections = rejected
            let startSequence = try Int64.fetchOne(db, sql: "SELECT value FROM sequence") ?? 0
            var sequence = startSequence
            var delivered: [String: RecordState] = [:]
            // The stored text of what was saved exactly as the replica sent it: the pull skips
            // those rows without decoding them.
            var sentText: [String: String] = [:]
            var merged: [RecordEnvelope] = []
            // Clients whose visibility may have changed: their records get new sequence numbers,
            // so that they reach replicas they entered and leave replicas they left.
            var moved: Set<String> = []
            for envelope in merging {
                let current = try Self.load(db, envelope.entity, envelope.id)
                if let current { try Self.checkDotsNotReused(envelope, current: current, header: header) }
                let result = (current ?? RecordState()).merged(with: envelope.state)
                if let refusal = try resolver.writeRefusal(envelope.entity, envelope.id, current: current, merged: result) {
                    rejections.append(SyncRejection(entity: envelope.entity.rawValue, id: envelope.id, error: KasvuError(.permissionDenied, refusal)))
                    continue
                }
                if replica.scope != .all {
                    // The replica holds what it pushed, whether or not a pull ever delivers it
                    // (a sync cut short may never reach it): remember it, so that it is
                    // evicted when it leaves the replica's scope.
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO delivered (replica_id, entity, id) VALUES (?, ?, ?)")
                        .execute(arguments: [replica.id, envelope.entity.rawValue, envelope.id])
                }
                if result != current {
                    sequence += 1
                    let text = try Self.save(db, envelope.entity, envelope.id, result, sequence: sequence)
                    if result == envelope.state { sentText["\(envelope.entity.rawValue)/\(envelope.id)"] = text }
                    try Self.audit(db, envelope.entity, envelope.id, before: current, after: result, at: at,
                                   replica: replica.id, actor: header.actor.rawValue, user: header.userName)
                    merged.append(envelope)
                    if Self.movesScope(envelope.entity, current: current, merged: result) {
                        moved.insert(envelope.entity == .client ? envelope.id : result.value("clientId").stringValue ?? "")
                    }
                }
                if result == envelope.state { delivered["\(envelope.entity.rawValue)/\(envelope.id)"] = result }
            }
            // Caps hold in the merged state: decide the referrals of every provider touched.
            var touched: Set<String> = []
            for envelope in merged {
                if envelope.entity == .provider { touched.insert(envelope.id) }
                if envelope.entity == .referral, let provider = envelope.state.value("providerId").stringValue { touched.insert(provider) }
            }
            if !touched.isEmpty {
                var centralStamp = try CentralActor.load(db, nowMillis: nowMillis)
                let actor = centralStamp.actor.rawValue
                let scheduler = ReferralScheduler(stamp: { centralStamp.next(nowMillis: nowMillis) }) { kind, id, state in
                    sequence += 1
                    let before = try Self.load(db, kind, id)
                    try Self.save(db, kind, id, state, sequence: sequence)
                    try Self.audit(db, kind, id, before: before, after: state, at: at, replica: "central", actor: actor, user: "referral scheduler")
                    if let client = state.value("clientId").stringValue { moved.insert(client) }
                }
                for provider in touched.sorted() { try scheduler.schedule(db, provider: provider) }
                try centralStamp.save(db)
            }
            // Records already given a number in this transaction are past every cursor already.
            let related = try db.cachedStatement(sql: "SELECT entity, id FROM record WHERE client_ref = ? AND seq <= ? ORDER BY entity, id")
            let renumber = try db.cachedStatement(sql: "UPDATE record SET seq = ? WHERE entity = ? AND id = ?")
            for client in moved.sorted() where !client.isEmpty {
                for row in try Row.fetchAll(related, arguments: [client, startSequence]) {
                    sequence += 1
                    try renumber.execute(arguments: [sequence, row["entity"], row["id"]])
                }
            }
            try db.execute(sql: "UPDATE sequence SET value = ?", arguments: [sequence])
            try db.execute(sql: """
                INSERT INTO actor (actor, replica_id, max_counter) VALUES (?, ?, ?)
                ON CONFLICT (actor) DO UPDATE SET max_counter = max(max_counter, excluded.max_counter)
                """, arguments: [header.actor.rawValue, replica.id, Int64(header.actorCounter)])
            resolver.forgetClients()
            var pull = try Self.pull(db, replica: replica, cursor: header.cursor, limit: pullLimit, resolver: &resolver, skipping: sentText)
            // The replica just sent exactly these states: do not send them back.
            pull.records.removeAll { delivered["\($0.entity.rawValue)/\($0.id)"] == $0.state }
            return SyncResponse(schemaVersion: SyncSchema.version, accepted: accepted - (rejections.count - rejected.count),
                                rejections: rejections, pull: pull.records, cursor: pull.cursor, more: pull.more,
                                clock: HLC(millis: now), evict: pull.evict)
        }
    }

    /// Appends who changed which fields to the audit trail.
    static func audit(_ db: Database, _ kind: EntityKind, _ id: String, before: RecordState?, after: RecordState, at: String,
                      replica: String, actor: String, user: String?) throws {
        let changed = after.fields.keys.filter { before?.fields[$0] != after.fields[$0] }.sorted()
        guard !changed.isEmpty else { return }
        try db.cachedStatement(sql: "INSERT INTO audit_trail (entity, id, at, replica_id, actor, user_name, fields) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [kind.rawValue, id, at, replica, actor, user, changed.joined(separator: ",")])
    }

    public func auditTrail(entity: EntityKind, id: String) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT at, replica_id, actor, user_name, fields FROM audit_trail WHERE entity = ? AND id = ? ORDER BY entry",
                             arguments: [entity.rawValue, id]).map {
                AuditEntry(at: $0["at"], replicaID: $0["replica_id"], actor: $0["actor"], userName: $0["user_name"],
                           fields: ($0["fields"] as String).split(separator: ",").map(String.init))
            }
        }
    }

    /// Whether a change can move a client (and its records) into or out of some replica's scope.
    static func movesScope(_ kind: EntityKind, current: RecordState?, merged: RecordState) -> Bool {
        switch kind {
        case .client: current?.value("municipality") != merged.value("municipality")
        case .referral: current?.value("state") != merged.value("state")
        default: false
        }
    }

    /// The next pull batch for one replica: records changed after `cursor` that it may see
    /// (projected), and evictions for the ones it holds but may no longer see. Scans at most
    /// ten batches' worth of rows, so a replica that sees little still makes progress.
    /// `skipping`: stored texts (by `entity/id`) the replica already holds; a replica that sees
    /// everything is not sent them, and they are not even decoded.
    static func pull(_ db: Database, replica: RegisteredReplica, cursor requested: Int64, limit: Int,
                     resolver: inout ScopeResolver, skipping: [String: String] = [:]) throws -> (records: [RecordEnvelope], evict: [RecordKey], cursor: Int64, more: Bool) {
        var cursor = requested
        if try Bool.fetchOne(db, sql: "SELECT rescan FROM replica WHERE id = ?", arguments: [replica.id]) == true {
            cursor = 0
            try db.execute(sql: "UPDATE replica SET rescan = 0 WHERE id = ?", arguments: [replica.id])
        }
        let scanLimit = limit * 10
        // A cursor, not fetchAll: the loop stops as soon as the batch is full, so a replica
        // that sees everything reads `limit` rows, not `scanLimit`.
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT entity, id, state, seq FROM record WHERE seq > ? ORDER BY seq LIMIT ?"),
                                       arguments: [cursor, scanLimit + 1])
        var records: [RecordEnvelope] = [], evict: [RecordKey] = []
        var scanned = 0, more = false
        let tracks = replica.scope != .all
        while let row = try rows.next() {
            guard scanned < scanLimit, records.count < limit else {
                more = true
                break
            }
            scanned += 1
            cursor = row["seq"]
            guard let kind = EntityKind(rawValue: row["entity"]) else { continue }
            let id: String = row["id"]
            let text: String = row["state"]
            if !tracks, let sent = skipping["\(kind.rawValue)/\(id)"], sent == text { continue }
            let state = try decode(text)
            if try resolver.isVisible(kind, id, state) {
                records.append(RecordEnvelope(entity: kind, id: id, state: resolver.projected(kind, state)))
                if tracks {
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO delivered (replica_id, entity, id) VALUES (?, ?, ?)")
                        .execute(arguments: [replica.id, kind.rawValue, id])
                }
            } else if tracks {
                // The delivered row stays: should this answer be lost, or never applied, the
                // next pull from the replica's older cursor passes this row again and sends the
                // eviction again (evicting a record the replica no longer holds is a no-op).
                let held = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM delivered WHERE replica_id = ? AND entity = ? AND id = ?"),
                                             arguments: [replica.id, kind.rawValue, id]) ?? false
                if held { evict.append(RecordKey(entity: kind, id: id)) }
            }
        }
        return (records, evict, cursor, more)
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
        // Cached statements here and in `save`: they run once per pushed record.
        try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM record WHERE entity = ? AND id = ?"), arguments: [kind.rawValue, id]).map(decode)
    }

    /// Stores a state under a new sequence number; returns the stored text.
    @discardableResult
    static func save(_ db: Database, _ kind: EntityKind, _ id: String, _ state: RecordState, sequence: Int64) throws -> String {
        let text = encode(state)
        try db.cachedStatement(sql: """
            INSERT INTO record (entity, id, state, seq) VALUES (?, ?, ?, ?)
            ON CONFLICT (entity, id) DO UPDATE SET state = excluded.state, seq = excluded.seq
            """).execute(arguments: [kind.rawValue, id, text, sequence])
        return text
    }

    static func encode(_ state: RecordState) -> String {
        state.jsonText
    }

    static func decode(_ text: String) throws -> RecordState {
        try RecordState(json: text.utf8)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let error as DatabaseError {
            throw KasvuError(.storageFailed, "central SQLite error \(error.resultCode.rawValue): \(error.message ?? "")")
        }
    }
}
