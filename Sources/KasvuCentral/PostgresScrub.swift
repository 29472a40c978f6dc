import KasvuSQL

/// Leaves no byte of erased data in a PostgreSQL store's files (README, "Erasure on
/// PostgreSQL"): the counterpart of ``KasvuStorage/Scrub`` there.
///
/// An `UPDATE` leaves the row's old version in its page until `VACUUM`, and a plain `VACUUM`
/// frees that space without overwriting it. `VACUUM (FULL)` writes every table and index
/// afresh from the live rows and drops the old files. The write-ahead log still holds the old
/// versions: ending its current segment and a checkpoint let PostgreSQL remove the segments
/// before it (it deletes them rather than reusing them with `wal_recycle = off`).
///
/// The rewrite locks each table while it runs, so on PostgreSQL the scrub is the maintenance
/// job's (hourly) and `kasvu central scrub`'s, never a sync's. The obligation is the same
/// `scrub_pending` row the erasing transaction wrote.
enum PostgresScrub {
    /// The session-level advisory lock that lets one server scrub at a time (distinct from
    /// `PostgresDatabase.writeLockKey`, which is transaction-scoped).
    static let lockKey: Int64 = 0x6B61_7376_7573_6372  // "kasvuscr"

    /// Runs the scrub when one is owed, in autocommit (`SQLDatabase.withoutTransaction`).
    ///
    /// - Returns: whether it ran; false when nothing was owed or another server is scrubbing.
    static func runIfPending(_ db: any SQLConnection) throws -> Bool {
        guard let generation = try db.value(Int64.self, "SELECT generation FROM scrub_pending") else { return false }
        guard try db.value(Int.self, "SELECT CASE WHEN pg_try_advisory_lock(?) THEN 1 ELSE 0 END", [lockKey]) == 1 else { return false }
        defer { _ = try? db.value(Int.self, "SELECT CASE WHEN pg_advisory_unlock(?) THEN 1 ELSE 0 END", [lockKey]) }
        // Rewriting a large table outlasts the session's statement limit; waiting for the table
        // lock must not (syncs queue behind the waiting rewrite).
        try db.execute("SET statement_timeout = 0")
        try db.execute("SET lock_timeout = '10s'")
        defer {
            _ = try? db.execute("RESET statement_timeout")
            _ = try? db.execute("RESET lock_timeout")
        }
        let tables = try db.values(String.self, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        try db.execute("VACUUM (FULL) " + tables.map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: ", "))
        do {
            _ = try db.value(String.self, "SELECT pg_switch_wal()::text")
            try db.execute("CHECKPOINT")
        } catch let error as SQLError where error.code == "42501" {
            // Not permitted to this user (README: the grants): PostgreSQL's own checkpoints
            // remove the old segments within `checkpoint_timeout` instead.
        }
        // An erasure committed since the scrub began owes another.
        try db.execute("DELETE FROM scrub_pending WHERE generation = ?", [generation])
        return true
    }
}
