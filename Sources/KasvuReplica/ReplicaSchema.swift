import GRDB
import KasvuStorage
import KasvuSync
import KasvuDomain

/// The replica's SQL schema and its migrations.
///
/// Each entity has one table whose `sync_state` column holds the record's full sync state as JSON
/// (``KasvuSync/RecordState``), the single source of truth. The columns list queries filter on
/// (``listColumns``) hold the winning values of some fields, written with the state by the one
/// statement that saves a record (`Replica.saveState`). Until v15 they were virtual generated
/// columns over the JSON: every index then parsed the whole state again on each insert, and
/// twice on each update.
enum ReplicaSchema {
    /// Exchanged with the central store on every sync; bump on incompatible changes.
    static let version = SyncSchema.version

    /// The fields each entity table keeps a column of (``column(_:)`` names it), in table order.
    static let listColumns: [EntityKind: [String]] = [
        .client: ["hetu", "businessId", "lastName", "municipality", "riskGroup", "status", "deleted", "duplicateOf", "clientType", "name",
                  "associationNumber"],
        .provider: ["name", "businessId", "pilotArea", "deleted"],
        .referral: ["clientId", "providerId", "state", "deleted"],
        .contact: ["clientId", "providerId", "date", "deleted"],
        .hours: ["clientId", "providerId", "month", "deleted"],
        .event: ["clientId", "providerId", "date", "kind", "deleted"],
        .assessment: ["clientId", "date", "outcome", "state", "deleted"],
        .service: ["name", "organiserKind", "category", "deleted"],
        .enrolment: ["clientId", "serviceId", "providerId", "state", "deleted"],
        .baseline: ["pilotArea", "period", "deleted"],
        .invoice: ["providerId", "kind", "month", "period", "number", "deleted"],
        .tariff: ["pilotArea", "validFrom", "deleted"],
    ]

    /// What a list column holds when the record has no value: a client without a type is a
    /// person (the schema's default since version 1).
    static let listColumnDefaults: [EntityKind: [String: String]] = [.client: ["clientType": "person"]]

    /// A list column's value for a state: the winning entry's, as `json_extract` reads it from
    /// the stored JSON (`true` as 1), or the column's default.
    static func listValue(_ kind: EntityKind, _ field: String, _ state: RecordState) -> (any DatabaseValueConvertible)? {
        switch state.fields[field]?.first?.value ?? .null {
        case .null: listColumnDefaults[kind]?[field]
        case .bool(let value): value ? 1 : 0
        case .int(let value): value
        case .string(let value): value
        }
    }

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
                -- One table per entity: the sync state is the record; the generated columns
                -- are the winning values list queries filter on.
                CREATE TABLE "client" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    hetu GENERATED ALWAYS AS (json_extract(sync_state, '$.f.hetu[0][0]')) VIRTUAL,
                    business_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.businessId[0][0]')) VIRTUAL,
                    last_name GENERATED ALWAYS AS (json_extract(sync_state, '$.f.lastName[0][0]')) VIRTUAL,
                    municipality GENERATED ALWAYS AS (json_extract(sync_state, '$.f.municipality[0][0]')) VIRTUAL,
                    risk_group GENERATED ALWAYS AS (json_extract(sync_state, '$.f.riskGroup[0][0]')) VIRTUAL,
                    status GENERATED ALWAYS AS (json_extract(sync_state, '$.f.status[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "client_by_hetu" ON "client"(hetu, id);
                CREATE INDEX "client_by_business_id" ON "client"(business_id, id);
                CREATE INDEX "client_by_last_name" ON "client"(last_name, id);
                CREATE INDEX "client_by_municipality" ON "client"(municipality, id);
                CREATE INDEX "client_by_risk_group" ON "client"(risk_group, id);
                CREATE INDEX "client_by_status" ON "client"(status, id);
                CREATE INDEX "client_conflicts" ON "client"(id) WHERE has_conflict = 1;
                CREATE TABLE "provider" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    name GENERATED ALWAYS AS (json_extract(sync_state, '$.f.name[0][0]')) VIRTUAL,
                    business_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.businessId[0][0]')) VIRTUAL,
                    pilot_area GENERATED ALWAYS AS (json_extract(sync_state, '$.f.pilotArea[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "provider_by_name" ON "provider"(name, id);
                CREATE INDEX "provider_by_business_id" ON "provider"(business_id, id);
                CREATE INDEX "provider_by_pilot_area" ON "provider"(pilot_area, id);
                CREATE INDEX "provider_conflicts" ON "provider"(id) WHERE has_conflict = 1;
                CREATE TABLE "referral" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    client_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.clientId[0][0]')) VIRTUAL,
                    provider_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.providerId[0][0]')) VIRTUAL,
                    state GENERATED ALWAYS AS (json_extract(sync_state, '$.f.state[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "referral_by_client_id" ON "referral"(client_id, id);
                CREATE INDEX "referral_by_provider_id" ON "referral"(provider_id, id);
                CREATE INDEX "referral_by_state" ON "referral"(state, id);
                CREATE INDEX "referral_conflicts" ON "referral"(id) WHERE has_conflict = 1;
                CREATE TABLE "contact" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    client_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.clientId[0][0]')) VIRTUAL,
                    provider_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.providerId[0][0]')) VIRTUAL,
                    date GENERATED ALWAYS AS (json_extract(sync_state, '$.f.date[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "contact_by_client_id" ON "contact"(client_id, id);
                CREATE INDEX "contact_by_provider_id" ON "contact"(provider_id, id);
                CREATE INDEX "contact_by_date" ON "contact"(date, id);
                CREATE INDEX "contact_conflicts" ON "contact"(id) WHERE has_conflict = 1;
                CREATE TABLE "hours" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    client_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.clientId[0][0]')) VIRTUAL,
                    provider_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.providerId[0][0]')) VIRTUAL,
                    month GENERATED ALWAYS AS (json_extract(sync_state, '$.f.month[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "hours_by_client_id" ON "hours"(client_id, id);
                CREATE INDEX "hours_by_provider_id" ON "hours"(provider_id, id);
                CREATE INDEX "hours_by_month" ON "hours"(month, id);
                CREATE INDEX "hours_conflicts" ON "hours"(id) WHERE has_conflict = 1;
                CREATE TABLE "event" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    client_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.clientId[0][0]')) VIRTUAL,
                    provider_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.providerId[0][0]')) VIRTUAL,
                    date GENERATED ALWAYS AS (json_extract(sync_state, '$.f.date[0][0]')) VIRTUAL,
                    kind GENERATED ALWAYS AS (json_extract(sync_state, '$.f.kind[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "event_by_client_id" ON "event"(client_id, id);
                CREATE INDEX "event_by_provider_id" ON "event"(provider_id, id);
                CREATE INDEX "event_by_date" ON "event"(date, id);
                CREATE INDEX "event_by_kind" ON "event"(kind, id);
                CREATE INDEX "event_conflicts" ON "event"(id) WHERE has_conflict = 1;
                """)
        }
        // Frozen: v1 is literal SQL and never changes (GRDB's guide: migrations must not depend
        // on application types). A new indexed field or table is a new migration registered
        // below; `MigrationTests` fails while an indexed field has no column in a migrated
        // database, and opens databases made by earlier releases (Tests/Fixtures/databases).
        migrator.registerMigration("v2: first unacknowledged write per outbox row") { db in
            try db.execute(sql: """
                -- The counter of the oldest write to the record the central store has not
                -- acknowledged: every write below the smallest one is held by the central store,
                -- and `kasvu recover` stamps again only what is not. Unknown for rows written
                -- before this column: 1, so that recovery stamps all of theirs again.
                ALTER TABLE outbox ADD COLUMN first_version INTEGER NOT NULL DEFAULT 1;
                """)
        }
        migrator.registerMigration("v3: write notes") { db in
            try db.execute(sql: """
                -- Who made each local write the central store has not acknowledged, and which
                -- fields it set (values only of fields that are not personal data): pushed with
                -- the record for the central audit trail, deleted when acknowledged.
                CREATE TABLE write_log (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    user_name TEXT,
                    changes TEXT NOT NULL
                );
                CREATE INDEX write_log_by_record ON write_log(entity, id, counter);
                """)
        }
        migrator.registerMigration("v4: central incarnation, re-sync") { db in
            try db.execute(sql: """
                -- The central store's incarnation this replica last synced with: a new one is a
                -- store restored from a backup, and the replica re-syncs (Resync.swift).
                ALTER TABLE replica ADD COLUMN central_incarnation TEXT;
                -- 1 while a re-sync pulls everything again; the records not yet pulled back.
                ALTER TABLE replica ADD COLUMN resync INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE resync_pending (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    PRIMARY KEY (entity, id)
                ) WITHOUT ROWID;
                -- Records a re-sync queued again, until the restored store takes them. `held`: not
                -- pushed now, because the store still lacks writes of others they rest on (it
                -- refused them, or another replica created the record and has not re-synced);
                -- released at the start of every sync, and when a pull completes the record.
                CREATE TABLE resync_waiting (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    held INTEGER NOT NULL DEFAULT 1,
                    PRIMARY KEY (entity, id)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v5: duplicate flags") { db in
            try db.execute(sql: """
                -- The central store's flag on a client whose henkilötunnus another live client has.
                ALTER TABLE "client" ADD COLUMN duplicate_of GENERATED ALWAYS AS (json_extract(sync_state, '$.f.duplicateOf[0][0]')) VIRTUAL;
                CREATE INDEX "client_duplicates" ON "client"(id) WHERE duplicate_of IS NOT NULL;
                """)
        }
        migrator.registerMigration("v6: pulled through") { db in
            try db.execute(sql: """
                -- The highest cursor this replica ever saved since it last pulled from scratch:
                -- a central store whose tombstone horizon is above it may have forgotten a
                -- tombstone this replica still needs, so the replica pulls everything again.
                ALTER TABLE replica ADD COLUMN pulled_through INTEGER NOT NULL DEFAULT 0;
                UPDATE replica SET pulled_through = pull_cursor;
                """)
        }
        migrator.registerMigration("v7: scrub") { db in
            try Scrub.createTable(db)
            // VACUUM (the scrub) may renumber implicit rowids; the notes' order of writing must
            // survive it, so it becomes an explicit key.
            try db.execute(sql: """
                CREATE TABLE write_log_new (
                    note INTEGER PRIMARY KEY,
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    user_name TEXT,
                    changes TEXT NOT NULL
                );
                INSERT INTO write_log_new (note, entity, id, counter, hlc, user_name, changes)
                    SELECT rowid, entity, id, counter, hlc, user_name, changes FROM write_log;
                DROP TABLE write_log;
                ALTER TABLE write_log_new RENAME TO write_log;
                CREATE INDEX write_log_by_record ON write_log(entity, id, counter);
                """)
        }
        migrator.registerMigration("v8: re-sync horizon") { db in
            try db.execute(sql: """
                -- The central store's tombstone horizon when the current re-sync began: should it
                -- rise past the re-sync's cursor, a tombstone pulled earlier in the re-sync may have
                -- been collected and forgotten unseen, and the re-sync starts over.
                ALTER TABLE replica ADD COLUMN resync_horizon INTEGER NOT NULL DEFAULT 0;
                """)
        }
        migrator.registerMigration("v9: client types") { db in
            try db.execute(sql: """
                -- Companies and communities are named and identified apart from persons (issue 14).
                -- A record with no type is a person (the schema's default since version 1).
                ALTER TABLE "client" ADD COLUMN client_type GENERATED ALWAYS AS (coalesce(json_extract(sync_state, '$.f.clientType[0][0]'), 'person')) VIRTUAL;
                ALTER TABLE "client" ADD COLUMN name GENERATED ALWAYS AS (json_extract(sync_state, '$.f.name[0][0]')) VIRTUAL;
                ALTER TABLE "client" ADD COLUMN association_number GENERATED ALWAYS AS (json_extract(sync_state, '$.f.associationNumber[0][0]')) VIRTUAL;
                CREATE INDEX "client_by_client_type" ON "client"(client_type, id);
                CREATE INDEX "client_by_name" ON "client"(name, id);
                CREATE INDEX "client_by_association_number" ON "client"(association_number, id);
                """)
        }
        migrator.registerMigration("v10: client search") { db in
            try db.execute(sql: """
                -- Normalised words of clients' names (KasvuReplica/ClientSearch.swift), built at
                -- open when search_version differs from the code's.
                CREATE TABLE client_search (
                    token TEXT NOT NULL,
                    id TEXT NOT NULL,
                    PRIMARY KEY (token, id)
                ) WITHOUT ROWID;
                CREATE INDEX client_search_by_id ON client_search(id);
                -- A client's row goes (eviction, re-sync): its words go in the same transaction.
                CREATE TRIGGER client_search_forget AFTER DELETE ON "client" BEGIN
                    DELETE FROM client_search WHERE id = old.id;
                END;
                ALTER TABLE replica ADD COLUMN search_version INTEGER NOT NULL DEFAULT 0;
                """)
        }
        migrator.registerMigration("v11: write history") { db in
            try db.execute(sql: """
                -- This replica's own writes, kept after they are acknowledged (write_log is the
                -- outbox's and goes then): who made each, for client/journey. Field names only,
                -- never values. A record's rows go with the record (eviction, re-sync).
                CREATE TABLE write_history (
                    entity TEXT NOT NULL,
                    id TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    counter INTEGER NOT NULL,
                    hlc INTEGER NOT NULL,
                    user_name TEXT,
                    fields TEXT NOT NULL,
                    PRIMARY KEY (entity, id, actor, counter)
                ) WITHOUT ROWID;
                """)
            // The entity tables of v1, spelled out: a migration never follows later code.
            for table in ["client", "provider", "referral", "contact", "hours", "event"] {
                try db.execute(sql: """
                    CREATE TRIGGER \(table)_history_forget AFTER DELETE ON "\(table)" BEGIN
                        DELETE FROM write_history WHERE entity = '\(table)' AND id = old.id;
                    END
                    """)
            }
        }
        migrator.registerMigration("v12: assessments") { db in
            try db.execute(sql: """
                -- Multi-professional service-need assessments (issue 14, item 2).
                CREATE TABLE "assessment" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    client_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.clientId[0][0]')) VIRTUAL,
                    date GENERATED ALWAYS AS (json_extract(sync_state, '$.f.date[0][0]')) VIRTUAL,
                    outcome GENERATED ALWAYS AS (json_extract(sync_state, '$.f.outcome[0][0]')) VIRTUAL,
                    state GENERATED ALWAYS AS (json_extract(sync_state, '$.f.state[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "assessment_by_client_id" ON "assessment"(client_id, id);
                CREATE INDEX "assessment_by_date" ON "assessment"(date, id);
                CREATE INDEX "assessment_by_outcome" ON "assessment"(outcome, id);
                CREATE INDEX "assessment_by_state" ON "assessment"(state, id);
                CREATE INDEX "assessment_conflicts" ON "assessment"(id) WHERE has_conflict = 1;
                CREATE TRIGGER assessment_history_forget AFTER DELETE ON "assessment" BEGIN
                    DELETE FROM write_history WHERE entity = 'assessment' AND id = old.id;
                END;
                """)
        }
        migrator.registerMigration("v13: service catalogue, enrolments, baselines") { db in
            try db.execute(sql: """
                -- The service catalogue, clients' enrolments in its services, and the areas'
                -- baseline costs (issue 15).
                CREATE TABLE "service" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    name GENERATED ALWAYS AS (json_extract(sync_state, '$.f.name[0][0]')) VIRTUAL,
                    organiser_kind GENERATED ALWAYS AS (json_extract(sync_state, '$.f.organiserKind[0][0]')) VIRTUAL,
                    category GENERATED ALWAYS AS (json_extract(sync_state, '$.f.category[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "service_by_name" ON "service"(name, id);
                CREATE INDEX "service_by_organiser_kind" ON "service"(organiser_kind, id);
                CREATE INDEX "service_by_category" ON "service"(category, id);
                CREATE INDEX "service_conflicts" ON "service"(id) WHERE has_conflict = 1;
                CREATE TABLE "enrolment" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    client_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.clientId[0][0]')) VIRTUAL,
                    service_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.serviceId[0][0]')) VIRTUAL,
                    provider_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.providerId[0][0]')) VIRTUAL,
                    state GENERATED ALWAYS AS (json_extract(sync_state, '$.f.state[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "enrolment_by_client_id" ON "enrolment"(client_id, id);
                CREATE INDEX "enrolment_by_service_id" ON "enrolment"(service_id, id);
                CREATE INDEX "enrolment_by_provider_id" ON "enrolment"(provider_id, id);
                CREATE INDEX "enrolment_by_state" ON "enrolment"(state, id);
                CREATE INDEX "enrolment_conflicts" ON "enrolment"(id) WHERE has_conflict = 1;
                CREATE TRIGGER service_history_forget AFTER DELETE ON "service" BEGIN
                    DELETE FROM write_history WHERE entity = 'service' AND id = old.id;
                END;
                CREATE TRIGGER enrolment_history_forget AFTER DELETE ON "enrolment" BEGIN
                    DELETE FROM write_history WHERE entity = 'enrolment' AND id = old.id;
                END;
                CREATE TABLE "baseline" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    pilot_area GENERATED ALWAYS AS (json_extract(sync_state, '$.f.pilotArea[0][0]')) VIRTUAL,
                    period GENERATED ALWAYS AS (json_extract(sync_state, '$.f.period[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "baseline_by_pilot_area" ON "baseline"(pilot_area, id);
                CREATE INDEX "baseline_by_period" ON "baseline"(period, id);
                CREATE INDEX "baseline_conflicts" ON "baseline"(id) WHERE has_conflict = 1;
                CREATE TRIGGER baseline_history_forget AFTER DELETE ON "baseline" BEGIN
                    DELETE FROM write_history WHERE entity = 'baseline' AND id = old.id;
                END;
                """)
        }
        migrator.registerMigration("v14: issued invoices, tariff versions") { db in
            try db.execute(sql: """
                -- Issued invoices (issue 16): written once, never changed; and the tariff's
                -- versions per pilot area.
                CREATE TABLE "invoice" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    provider_id GENERATED ALWAYS AS (json_extract(sync_state, '$.f.providerId[0][0]')) VIRTUAL,
                    kind GENERATED ALWAYS AS (json_extract(sync_state, '$.f.kind[0][0]')) VIRTUAL,
                    month GENERATED ALWAYS AS (json_extract(sync_state, '$.f.month[0][0]')) VIRTUAL,
                    period GENERATED ALWAYS AS (json_extract(sync_state, '$.f.period[0][0]')) VIRTUAL,
                    number GENERATED ALWAYS AS (json_extract(sync_state, '$.f.number[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "invoice_by_provider_id" ON "invoice"(provider_id, id);
                CREATE INDEX "invoice_by_kind" ON "invoice"(kind, id);
                CREATE INDEX "invoice_by_month" ON "invoice"(month, id);
                CREATE INDEX "invoice_by_period" ON "invoice"(period, id);
                CREATE INDEX "invoice_by_number" ON "invoice"(number, id);
                CREATE INDEX "invoice_conflicts" ON "invoice"(id) WHERE has_conflict = 1;
                CREATE TRIGGER invoice_history_forget AFTER DELETE ON "invoice" BEGIN
                    DELETE FROM write_history WHERE entity = 'invoice' AND id = old.id;
                END;
                CREATE TABLE "tariff" (
                    id TEXT PRIMARY KEY NOT NULL,
                    sync_state TEXT NOT NULL,
                    has_conflict INTEGER NOT NULL DEFAULT 0,
                    pilot_area GENERATED ALWAYS AS (json_extract(sync_state, '$.f.pilotArea[0][0]')) VIRTUAL,
                    valid_from GENERATED ALWAYS AS (json_extract(sync_state, '$.f.validFrom[0][0]')) VIRTUAL,
                    deleted GENERATED ALWAYS AS (json_extract(sync_state, '$.f.deleted[0][0]')) VIRTUAL
                ) WITHOUT ROWID;
                CREATE INDEX "tariff_by_pilot_area" ON "tariff"(pilot_area, id);
                CREATE INDEX "tariff_by_valid_from" ON "tariff"(valid_from, id);
                CREATE INDEX "tariff_conflicts" ON "tariff"(id) WHERE has_conflict = 1;
                CREATE TRIGGER tariff_history_forget AFTER DELETE ON "tariff" BEGIN
                    DELETE FROM write_history WHERE entity = 'tariff' AND id = old.id;
                END;
                """)
        }
        migrator.registerMigration("v15: ordinary list columns") { db in
            // The generated list columns become ordinary ones, filled once from the JSON here
            // and written with the state from now on. SQLite cannot change a column's kind, so
            // each table is made anew (its indexes and triggers dropped with it, then again).
            let triggers = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL")
            for name in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'") {
                try db.execute(sql: "DROP TRIGGER \"\(name)\"")
            }
            for kind in EntityKind.allCases {
                let table = kind.rawValue, fields = listColumns[kind] ?? []
                let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                                                  arguments: [table])
                let extracted = fields.map { field in
                    let value = "json_extract(sync_state, '$.f.\(field)[0][0]')"
                    return listColumnDefaults[kind]?[field].map { "coalesce(\(value), '\($0)')" } ?? value
                }
                try db.execute(sql: """
                    CREATE TABLE "\(table)_v15" (
                        id TEXT PRIMARY KEY NOT NULL,
                        sync_state TEXT NOT NULL,
                        has_conflict INTEGER NOT NULL DEFAULT 0\(fields.map { ",\n    \(column($0))" }.joined())
                    ) WITHOUT ROWID;
                    INSERT INTO "\(table)_v15" SELECT id, sync_state, has_conflict\(extracted.map { ", " + $0 }.joined()) FROM "\(table)";
                    DROP TABLE "\(table)";
                    ALTER TABLE "\(table)_v15" RENAME TO "\(table)";
                    """)
                for index in indexes { try db.execute(sql: index) }
            }
            for trigger in triggers { try db.execute(sql: trigger) }
        }
        migrator.registerMigration("v16: capacity leases") { db in try db.execute(sql: Replica.leaseSchema) }
        return migrator
    }
}
