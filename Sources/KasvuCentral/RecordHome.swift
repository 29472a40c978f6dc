import KasvuDomain
import KasvuSQL
import KasvuSync

/// Where a record lives, for an office's pull: stored beside its state (`record.home`) and
/// indexed with its sequence number, so that an office reads the changes of its own
/// municipalities instead of every change since its cursor (the pull's cost no longer grows
/// with the number of offices). A record that leaves a home leaves a `departure` row there, at
/// its new sequence number, from which the office that held it learns to evict it.
///
/// - providers, the service catalogue, baselines and tariffs: ``everyOffice``;
/// - a client: its winning municipality (``RecordState/value(_:)`` as a string);
/// - a client's other records: the home of that client, kept up to date when the client moves
///   (``SQLCentralStore/renumber(_:clients:numberedBefore:sequence:)``);
/// - invoices, and anything else no office sees: null.
///
/// The pull still judges every row it reads by the replica's scope (``ScopeResolver``): the
/// home only narrows what it reads, so a wrong home can hide a record but never leak one.
/// `PullByHomeTests` checks that the narrowed pull gives what a full scan gives.
enum RecordHome {
    /// The home of the records every office sees. Not a municipality code (three digits).
    static let everyOffice = "*"

    /// Whether a kind's home is its client's.
    static func followsClient(_ kind: EntityKind) -> Bool {
        switch kind {
        case .provider, .service, .baseline, .tariff, .invoice, .client: false
        default: true
        }
    }

    /// The home of `state`; a client's other records read their client's stored home.
    static func of(_ db: any SQLConnection, _ kind: EntityKind, _ state: RecordState) throws -> String? {
        switch kind {
        case .provider, .service, .baseline, .tariff: return everyOffice
        case .invoice: return nil
        case .client: return state.value(.municipality).stringValue
        default:
            guard let client = state.value(.clientId).stringValue else { return nil }
            return try db.statement("SELECT home FROM record WHERE entity = 'client' AND id = ?").value(String.self, [client])
        }
    }

    /// Notes that a record left `home` at sequence number `seq`.
    static func depart(_ db: any SQLConnection, from home: String, _ kind: String, _ id: String, seq: Int64) throws {
        try db.statement("INSERT INTO departure (home, entity, id, seq) VALUES (?, ?, ?, ?)").execute([home, kind, id, seq])
    }

    /// The migration: the schema, every record's home, and every replica reading every record
    /// up to the current sequence (a client that moved before it left no departure).
    static func migrate(_ db: any SQLConnection) throws {
        try db.execute(schema)
        try fill(db)
        try db.execute("UPDATE replica SET scan_all_through = (SELECT value FROM sequence)")
    }

    /// Sets every record's home from the stored states (the migration). In SQL, with the same winning-string reading the pull
    /// uses (``SQLCentralStore/winningString(_:of:_:)``), clients before their records.
    static func fill(_ db: any SQLConnection) throws {
        let everyOfficeKinds = "'provider', 'service', 'baseline', 'tariff'"
        let dialect = db.dialect
        try db.execute("UPDATE record SET home = '\(everyOffice)' WHERE entity IN (\(everyOfficeKinds))")
        try db.execute("UPDATE record SET home = \(SQLCentralStore.winningString("municipality", of: "record", dialect)) WHERE entity = 'client'")
        try db.execute("""
            UPDATE record SET home = (SELECT c.home FROM record c WHERE c.entity = 'client'
                                      AND c.id = \(SQLCentralStore.winningString("clientId", of: "record", dialect)))
            WHERE entity NOT IN ('client', 'invoice', \(everyOfficeKinds))
            """)
    }

    /// The schema both backends share: the column, its index, the departures, and each
    /// replica's `scan_all_through`: a pull from below it reads every record (after a
    /// rescan, and over the records stored before homes, which left no departures).
    static let schema = """
        ALTER TABLE replica ADD COLUMN scan_all_through BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE record ADD COLUMN home TEXT;
        CREATE INDEX record_by_home ON record(home, seq);
        CREATE TABLE departure (
            home TEXT NOT NULL,
            entity TEXT NOT NULL,
            id TEXT NOT NULL,
            seq BIGINT NOT NULL
        );
        CREATE INDEX departure_by_home ON departure(home, seq);
        """
}
