import GRDB
import KasvuSQL

/// Leaves no byte of erased or evicted data in a database's files.
///
/// `secure_delete` zeroes a cell when it is deleted, but not the copies a cell leaves behind
/// when SQLite moves it between pages while balancing the b-tree: those stay in the unused
/// space of the pages it left, and an erasure later supersedes only the live copy. Measured
/// here: erasing 5,000 rows of a 2 MB table left 11 of the old values in the file. `VACUUM`
/// writes every page afresh from the live content, and truncating the write-ahead log after it
/// drops the old page images there too.
///
/// The obligation is recorded in the transaction that erases (``markPending(_:)``), so that a
/// crash between that commit and the scrub is caught up on at the next ``runIfPending(_:)``.
///
/// ```swift
/// try await pool.write { db in try erase(db); try Scrub.markPending(db) }
/// try await pool.writeWithoutTransaction { db in try Scrub.runIfPending(db) }
/// ```
public enum Scrub {
    /// The table both stores create in a migration: one row while a scrub is owed.
    public static func createTable(_ db: Database) throws {
        try db.execute(sql: """
            -- A scrub (VACUUM, then an emptied write-ahead log) owed since erased or evicted data
            -- was committed; generation counts the commits that owe it.
            CREATE TABLE scrub_pending (
                singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                generation INTEGER NOT NULL
            );
            """)
    }

    /// Records, in the caller's transaction, that it wrote away data that must leave the files.
    public static func markPending(_ db: Database) throws {
        try markPending(SQLiteConnection(db))
    }

    /// ``markPending(_:)`` on either database the central store runs on.
    public static func markPending(_ connection: any SQLConnection) throws {
        try connection.execute("""
            INSERT INTO scrub_pending (singleton, generation) VALUES (1, 1)
            ON CONFLICT (singleton) DO UPDATE SET generation = scrub_pending.generation + 1
            """)
    }

    /// Scrubs the file when a scrub is owed: `VACUUM`, then a checkpoint that empties the
    /// write-ahead log. Outside any transaction, on the writer. Cost: one rewrite of the file
    /// (BENCHMARKS.md), paid only after a commit that erased or evicted.
    ///
    /// - Returns: whether the file is scrubbed; false when nothing was owed, or when a reader in
    ///   another process kept the log from being emptied: the scrub then stays owed and runs
    ///   again at the next erasure, start or maintenance round.
    /// - Throws: SQLite's error.
    @discardableResult
    public static func runIfPending(_ db: Database) throws -> Bool {
        guard let generation = try Int64.fetchOne(db, sql: "SELECT generation FROM scrub_pending") else { return false }
        try db.execute(sql: "VACUUM")
        guard try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") == 0 else { return false }
        // Another process on the same file may have owed a new scrub since the VACUUM began.
        try db.execute(sql: "DELETE FROM scrub_pending WHERE generation = ?", arguments: [generation])
        return true
    }

    /// Whether a scrub is owed.
    public static func isPending(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM scrub_pending") ?? false
    }
}
