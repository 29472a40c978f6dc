import KasvuDomain
import KasvuSQL
import KasvuStorage

/// Moves a central store to another database (`kasvu central migrate`): every table that
/// makes the store (replicas and token hashes, actors, records, the sequence, the dot
/// registry, the audit trail, deliveries, collected tombstones, the store's own actor and
/// incarnation), in one write transaction on the target, which must be empty. Before that
/// transaction commits, each table is counted and digested on both sides; any difference
/// rolls the copy back, so the target is either the whole store or untouched.
///
/// The copy begins a new incarnation: should a server still running on the source have
/// acknowledged writes after the copy, the replicas notice the new incarnation at their first
/// sync with the new store and send again what it lacks (``SQLCentralStore/backup(to:)``).
///
/// ```swift
/// let report = try await StoreCopy.copy(from: SQLCentralStore(path: "central.sqlite"), to: postgresStore)
/// print(report.tables.map { "\($0.name) \($0.rows)" })
/// ```
public enum StoreCopy {
    /// One table as copied: its rows and a digest of their content, equal on both sides.
    public struct Table: Sendable, Equatable {
        public let name: String
        public let rows: Int
        /// Hexadecimal; independent of row order (the two databases may sort text differently).
        public let digest: String
    }

    public struct Report: Sendable {
        public let tables: [Table]
    }

    /// The tables of a central store with the columns that are data (generated columns are
    /// computed again by the target) and their key, in an order that satisfies foreign keys.
    static let tables: [(name: String, columns: [String])] = [
        ("replica", ["id", "role", "token_hash", "created_at", "revoked_at", "municipalities", "provider_id", "rescan", "settled_cursor", "settled_ms",
                     "last_sync_at", "last_failure_at", "last_error_kind", "app_version", "schema_version", "pending_changes", "scan_all_through"]),
        ("actor", ["actor", "replica_id", "max_counter"]),
        ("record", ["entity", "id", "state", "seq", "home"]),
        ("sequence", ["singleton", "value"]),
        ("central_actor", ["singleton", "actor", "counter", "hlc"]),
        ("central_state", ["name", "value"]),
        ("former_central_actor", ["actor"]),
        ("delivered", ["replica_id", "entity", "id"]),
        // In the order it was written: its own numbering is the target's to give.
        ("audit_trail", ["entity", "id", "at", "replica_id", "actor", "user_name", "fields", "counter", "written_at", "changes"]),
        ("dot", ["actor", "counter", "hlc"]),
        ("collected", ["entity", "id", "seq"]),
        ("departure", ["home", "entity", "id", "seq"]),
        ("stamped_again", ["actor", "counter", "hlc", "as_actor", "as_counter"]),
        ("capacity_lease", ["id", "replica_id", "provider_id", "places", "spent", "expires_at"]),
        ("referral_demand", ["replica_id", "provider_id", "day", "referrals"]),
    ]

    /// Tables the target starts with a row in (its migrations write them): replaced, not added to.
    static let singletons: Set<String> = ["sequence", "central_actor", "central_state"]

    /// Copies `source` into `target`; refuses a target that holds anything of a store.
    public static func copy(from source: SQLCentralStore, to target: SQLCentralStore) async throws -> Report {
        guard let file = source.file else {
            throw KasvuError.validationFailed(field: "from", "the source must be a central store's SQLite file")
        }
        return try await target.write { targetConnection in
            try checkEmpty(targetConnection)
            // Under the source's write lock: a server still running on it merges nothing meanwhile.
            let report = try file.write { sourceDB in try copyTables(from: SQLiteConnection(sourceDB), to: targetConnection) }
            try target.beginIncarnation(targetConnection, .copy)
            return report
        }
    }

    /// Every table of the store behind `source` into `target` (a store's schema, empty), then
    /// each table's count and digest compared; throws, so that the caller's transaction rolls
    /// back, when any differs.
    static func copyTables(from source: any SQLConnection, to target: any SQLConnection) throws -> Report {
        var copied: [Table] = []
        for (name, columns) in tables {
            if singletons.contains(name) { try target.execute("DELETE FROM \(name)") }
            let insert = target.statement("INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))")
            let order = name == "audit_trail" ? " ORDER BY entry" : ""
            try source.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(name)\(order)", []) { row in
                try insert.execute(row.values)
                return true
            }
            let expected = try digest(source, name, columns), actual = try digest(target, name, columns)
            guard expected == actual else {
                throw KasvuError(.storageFault, "the copy of table \(name) differs: \(expected.rows) rows (digest \(expected.digest.prefix(16))) in the source, \(actual.rows) (\(actual.digest.prefix(16))) in the target; nothing was copied")
            }
            copied.append(actual)
        }
        return Report(tables: copied)
    }

    /// Empties every table of a store (in the caller's transaction), before a restore.
    static func wipe(_ connection: any SQLConnection) throws {
        for (name, _) in tables.reversed() { try connection.execute("DELETE FROM \(name)") }
        try connection.execute("DELETE FROM scrub_pending")
    }

    /// A target that already holds replicas, records or history is another store: refused.
    static func checkEmpty(_ connection: any SQLConnection) throws {
        for table in ["replica", "actor", "record", "dot", "audit_trail", "collected", "delivered"] {
            if try connection.exists("SELECT 1 FROM \(table) LIMIT 1") {
                throw KasvuError(.alreadyExists, "the target already holds a central store (its table \(table) is not empty); migrate into a new, empty database")
            }
        }
        if try connection.value(Int64.self, "SELECT value FROM sequence") ?? 0 != 0 {
            throw KasvuError(.alreadyExists, "the target already holds a central store (its sequence has started); migrate into a new, empty database")
        }
    }

    /// Row count and an order-independent digest of a table: the wrapping sum of each row's
    /// SHA-256 (of its values, typed and length-prefixed), as two 128-bit halves.
    static func digest(_ connection: any SQLConnection, _ name: String, _ columns: [String]) throws -> Table {
        var rows = 0
        var sum = [UInt64](repeating: 0, count: 4)
        try connection.forEachRow("SELECT \(columns.joined(separator: ", ")) FROM \(name)", []) { row in
            rows += 1
            var bytes: [UInt8] = []
            for value in row.values {
                switch value {
                case .null: bytes += [0]
                case .integer(let number): bytes += [1] + withUnsafeBytes(of: number.bigEndian, Array.init)
                case .text(let text): bytes += [2] + withUnsafeBytes(of: UInt64(text.utf8.count).bigEndian, Array.init) + Array(text.utf8)
                }
            }
            let hash = SHA256.hash(bytes)
            for lane in 0..<4 {
                let word = hash[lane * 8..<lane * 8 + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                sum[lane] &+= word
            }
            return true
        }
        return Table(name: name, rows: rows, digest: sum.map { String($0, radix: 16).leftPadded(to: 16) }.joined())
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
