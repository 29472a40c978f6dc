import Foundation
import GRDB
import KasvuDomain

/// A consistent copy of a database into a new owner-only file, taken while it is in use: one
/// snapshot (`VACUUM INTO`) read on a reader, so writers go on. The central store's backup and
/// a laptop's copy of its replica both use it.
///
/// ```swift
/// try await Snapshot.write(pool, to: "/backups/central-2026-11-30.sqlite")
/// ```
public enum Snapshot {
    /// - Throws: `already_exists` when `path` exists, `storage_failed` when it cannot be
    ///   created, and SQLite's `DatabaseError` (for the caller to name its store) otherwise; a
    ///   failed copy leaves no file behind.
    public static func write(_ pool: DatabasePool, to path: String) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw KasvuError(.alreadyExists, "\(path) already exists; back up to a new file")
        }
        do { try PrivateFile.create(atPath: path) } catch { throw KasvuError(.storageFailed, "\(error)") }
        do {
            // Outside a transaction: VACUUM cannot run in one.
            try await pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }
}
