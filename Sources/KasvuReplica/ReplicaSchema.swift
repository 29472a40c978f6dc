import GRDB
import KasvuSync
import KasvuDomain

/// The replica's SQL schema and its migrations.
///
/// Each entity has one table whose `sync_state` column holds the record's full sync state as JSON
/// (``KasvuSync/RecordState``). The columns list queries filter on are *virtual generated
/// columns* extracted from the winning entries of that JSON, so the state is the single source
/// of truth: nothing can drift between "the data" and "the sync metadata", and indexes on the
/// generated columns make the list queries fast without storing values twice.
enum ReplicaSchema {
    /// Exchanged with the central store on every sync; bump on incompatible changes.
    static let version = SyncSchema.version

    static func column(_ field: String) -> String {
        var result = ""
        for character in field {
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
        return result
    }

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: replica, entities, outbox") { db in
            try db.execute(sql: """
                CREATE TABLE replica (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    replica_id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    role TEXT NOT NULL,
                    central_url TEXT,
                    counter INTEGER NOT NULL DEFAULT 0,
                    hlc INTEGER NOT NULL DEFAULT 0,
                    pull_cursor INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL,
                    last_sync_at TEXT,
                    last_sync_error TEXT
                );
                -- One row per record with local writes not yet acknowledged by the central store.
                -- `version` is the actor counter of the newest such write: an acknowledgement
                -- clears the row only if nothing was written since the pushed version.
                CREATE TABLE outbox (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY (entity, id)
                ) WITHOUT ROWID;
                -- Pushed records the central store refused, with its reason (shown by sync/status).
                CREATE TABLE sync_rejection (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    code INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    message TEXT NOT NULL,
                    at TEXT NOT NULL,
                    PRIMARY KEY (entity, id)
                ) WITHOUT ROWID;
                """)
            for kind in EntityKind.allCases {
                try createTable(db, kind)
            }
        }
        return migrator
    }

    private static func createTable(_ db: Database, _ kind: EntityKind) throws {
        let table = kind.rawValue
        let generated = (kind.schema.indexedFields + [EntitySchema.deletedField]).map { field in
            "\(column(field)) GENERATED ALWAYS AS (json_extract(sync_state, '$.f.\(field)[0][0]')) VIRTUAL"
        }
        try db.execute(sql: """
            CREATE TABLE "\(table)" (
                id TEXT PRIMARY KEY NOT NULL,
                sync_state TEXT NOT NULL,
                has_conflict INTEGER NOT NULL DEFAULT 0,
                \(generated.joined(separator: ",\n    "))
            ) WITHOUT ROWID
            """)
        for field in kind.schema.indexedFields {
            let name = column(field)
            try db.execute(sql: "CREATE INDEX \"\(table)_by_\(name)\" ON \"\(table)\"(\(name), id)")
        }
        try db.execute(sql: "CREATE INDEX \"\(table)_conflicts\" ON \"\(table)\"(id) WHERE has_conflict = 1")
    }
}
