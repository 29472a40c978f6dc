import Foundation
import GRDB
import KasvuDomain
import KasvuSQL
import KasvuStorage

/// The central store's schema on SQLite (``SQLCentralStore/migrator``, the history of every
/// release's file) and on PostgreSQL (``CentralSchema``). Both end in the same tables and
/// columns, so that every statement of the store runs on either.
extension SQLCentralStore {
    /// The embedded store's schema, migration by migration: frozen, as files of every
    /// release must migrate.
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
        migrator.registerMigration("v13: replica health") { db in try db.execute(sql: CentralSchema.replicaHealthColumns) }
        migrator.registerMigration("v14: record homes and departures") { db in
            try db.execute(sql: RecordHome.schema)
            try RecordHome.fill(SQLiteConnection(db))
            try db.execute(sql: "UPDATE replica SET scan_all_through = (SELECT value FROM sequence)")
        }
        migrator.registerMigration("v15: capacity leases") { db in try db.execute(sql: LeaseLedger.schema) }
        return migrator
    }

}

/// The central store's schema on PostgreSQL: versioned migrations, frozen once released, each
/// applied once in the write transaction that opens the store (write transactions run one at
/// a time, so two servers starting together do not both apply one).
///
/// The derived columns SQLite computes as virtual generated columns are stored generated
/// columns here, from the state's JSON, under the same names.
public enum CentralSchema {
    /// A migration: its version (ascending, never reused) and what it does.
    struct Migration: Sendable {
        let version: Int
        let name: String
        let apply: @Sendable (any SQLConnection) throws -> Void
    }

    static let postgres: [Migration] = [
        Migration(version: 1, name: "central store") { connection in
            // One script: PostgreSQL runs its statements one by one (`PostgresSQLConnection`).
            try connection.execute("""
                CREATE TABLE replica (
                    id TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    token_hash TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    revoked_at TEXT,
                    municipalities TEXT,
                    provider_id TEXT,
                    rescan BIGINT NOT NULL DEFAULT 0,
                    settled_cursor BIGINT NOT NULL DEFAULT 0,
                    settled_ms BIGINT
                );
                CREATE TABLE actor (
                    actor TEXT PRIMARY KEY,
                    replica_id TEXT NOT NULL REFERENCES replica(id),
                    max_counter BIGINT NOT NULL
                );
                CREATE TABLE record (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    referral_provider TEXT GENERATED ALWAYS AS
                        (CASE WHEN entity = 'referral' THEN state::jsonb #>> '{f,providerId,0,0}' END) STORED,
                    referral_client TEXT GENERATED ALWAYS AS
                        (CASE WHEN entity = 'referral' THEN state::jsonb #>> '{f,clientId,0,0}' END) STORED,
                    referral_state TEXT GENERATED ALWAYS AS
                        (CASE WHEN entity = 'referral' THEN state::jsonb #>> '{f,state,0,0}' END) STORED,
                    client_ref TEXT GENERATED ALWAYS AS
                        (CASE WHEN entity = 'client' THEN id ELSE state::jsonb #>> '{f,clientId,0,0}' END) STORED,
                    client_hetu TEXT GENERATED ALWAYS AS
                        (CASE WHEN entity = 'client' THEN state::jsonb #>> '{f,hetu,0,0}' END) STORED,
                    client_duplicate_of TEXT GENERATED ALWAYS AS
                        (CASE WHEN entity = 'client' THEN state::jsonb #>> '{f,duplicateOf,0,0}' END) STORED,
                    -- 1 for a deleted record, as SQLite's json_extract gives for true.
                    tombstone INTEGER GENERATED ALWAYS AS
                        (CASE WHEN state::jsonb #> '{f,deleted,0,0}' = 'true'::jsonb THEN 1 ELSE 0 END) STORED,
                    PRIMARY KEY (entity, id)
                );
                CREATE UNIQUE INDEX record_by_seq ON record(seq);
                CREATE INDEX record_referral_by_provider ON record(referral_provider, referral_state) WHERE entity = 'referral';
                CREATE INDEX record_referral_by_client ON record(referral_client, referral_state) WHERE entity = 'referral';
                CREATE INDEX record_by_client ON record(client_ref);
                CREATE INDEX record_client_hetu ON record(client_hetu) WHERE entity = 'client' AND client_hetu IS NOT NULL;
                CREATE INDEX record_client_duplicate_of ON record(client_duplicate_of) WHERE entity = 'client' AND client_duplicate_of IS NOT NULL;
                CREATE INDEX record_tombstones ON record(seq) WHERE tombstone = 1;
                CREATE TABLE sequence (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), value BIGINT NOT NULL);
                INSERT INTO sequence VALUES (1, 0);
                CREATE TABLE central_actor (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    actor TEXT NOT NULL,
                    counter BIGINT NOT NULL,
                    hlc BIGINT NOT NULL
                );
                CREATE TABLE delivered (
                    replica_id TEXT NOT NULL,
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    PRIMARY KEY (replica_id, entity, id)
                );
                CREATE TABLE audit_trail (
                    entry BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    at TEXT NOT NULL,
                    replica_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    user_name TEXT,
                    fields TEXT NOT NULL,
                    counter BIGINT,
                    written_at BIGINT,
                    changes TEXT
                );
                CREATE INDEX audit_trail_by_record ON audit_trail(entity, id, entry);
                CREATE UNIQUE INDEX audit_trail_write ON audit_trail(entity, id, actor, counter, written_at) WHERE counter IS NOT NULL;
                CREATE TABLE dot (
                    actor TEXT NOT NULL,
                    counter BIGINT NOT NULL,
                    hlc BIGINT NOT NULL,
                    PRIMARY KEY (actor, counter)
                );
                CREATE TABLE central_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO central_state (name, value) VALUES ('tombstone_horizon', '0');
                CREATE TABLE former_central_actor (actor TEXT PRIMARY KEY);
                CREATE TABLE collected (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    seq BIGINT,
                    PRIMARY KEY (entity, id)
                );
                CREATE INDEX collected_by_seq ON collected(seq) WHERE seq IS NOT NULL;
                CREATE TABLE scrub_pending (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    generation BIGINT NOT NULL
                );
                CREATE TABLE stamped_again (
                    actor TEXT NOT NULL,
                    counter BIGINT NOT NULL,
                    hlc BIGINT NOT NULL,
                    as_actor TEXT NOT NULL,
                    as_counter BIGINT NOT NULL,
                    PRIMARY KEY (actor, counter, hlc)
                );
                """)
            try connection.execute("INSERT INTO central_state (name, value) VALUES ('incarnation', ?)", [newIncarnation()])
        },
        Migration(version: 2, name: "no statistics of personal values") { connection in
            // ANALYZE keeps sample values of each column (most common values, histogram bounds)
            // in pg_statistic, where no erasure reaches them: none of the columns that hold
            // personal data. Lookups by hetu go through its index and need no statistics.
            try connection.execute("""
                ALTER TABLE record ALTER COLUMN state SET STATISTICS 0;
                ALTER TABLE record ALTER COLUMN client_hetu SET STATISTICS 0;
                """)
        },
        Migration(version: 3, name: "replica health") { connection in try connection.execute(replicaHealthColumns) },
        Migration(version: 4, name: "record homes and departures") { connection in try RecordHome.migrate(connection) },
        Migration(version: 5, name: "capacity leases") { connection in try connection.execute(LeaseLedger.schema) },
    ]

    /// What `kasvu central replicas` lists about each replica: its last successful sync, its
    /// last failed one and why, the release and schema it last synced with, and the local
    /// changes it said it still held (the same statements on both databases).
    static let replicaHealthColumns = """
        ALTER TABLE replica ADD COLUMN last_sync_at TEXT;
        ALTER TABLE replica ADD COLUMN last_failure_at TEXT;
        ALTER TABLE replica ADD COLUMN last_error_kind TEXT;
        ALTER TABLE replica ADD COLUMN app_version TEXT;
        ALTER TABLE replica ADD COLUMN schema_version INTEGER;
        ALTER TABLE replica ADD COLUMN pending_changes INTEGER;
        """

    /// The newest schema version this build knows.
    public static var version: Int { postgres.last?.version ?? 0 }

    /// Applies the migrations the database lacks, in order, inside the caller's write
    /// transaction. A database migrated by a newer release is refused: its schema may hold
    /// what this build would misread.
    static func migrate(_ connection: any SQLConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS kasvu_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        let applied = try connection.value(Int.self, "SELECT max(version) FROM kasvu_migration") ?? 0
        guard applied <= version else {
            throw KasvuError(.schemaMismatch, "the central database has schema version \(applied), this kasvu knows up to \(version); upgrade kasvu")
        }
        for migration in postgres where migration.version > applied {
            try migration.apply(connection)
            try connection.execute("INSERT INTO kasvu_migration (version, name, applied_at) VALUES (?, ?, ?)",
                                   [migration.version, migration.name, ISO8601DateFormatter().string(from: Date())])
        }
    }

    /// A new incarnation id: 16 hexadecimal digits.
    static func newIncarnation() -> String {
        (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}
