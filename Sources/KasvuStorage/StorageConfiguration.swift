import GRDB

/// How long a commit must survive.
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous = FULL`: a commit survives kill -9 and power loss (the WAL is fsynced on
    /// every commit). The default.
    case full
    /// `synchronous = NORMAL`: a commit survives kill -9; the last commits before a power loss
    /// may be rolled back (never corrupted).
    case normal
}

/// How every Kasvu database is opened: the replica's and the central store's, so that a
/// setting that protects data (durability, erasure) cannot be missing from one of them.
///
/// ```swift
/// let pool = try StorageConfiguration.openPool(at: "central.sqlite", label: "kasvu-central", cacheMiB: 64)
/// ```
public enum StorageConfiguration {
    /// A WAL-mode pool (GRDB's default for `DatabasePool`) on `path`, which must exist (create it
    /// with ``PrivateFile`` first, so that it is owner-only from the first byte).
    ///
    /// - Parameter cacheMiB: page cache per connection. SQLite's default is 2 MiB; a sync batch
    ///   of 5,000 records touches index pages all over the file and should find them in memory.
    public static func openPool(at path: String, label: String, durability: Durability = .full, cacheMiB: Int) throws -> DatabasePool {
        var config = Configuration()
        config.label = label
        // A writer waits for another process's transaction (a second `kasvu rpc` on the same
        // file) instead of failing at once; busy after 10 s is `storage_failed`, retried.
        config.busyMode = .timeout(10)
        let synchronous = durability == .full ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Erased and evicted personal data must not linger in free pages (DESIGN: erase for real).
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheMiB * 1024)")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        // DatabasePool switches its writer to `synchronous = NORMAL` after `prepareDatabase`
        // when it sets up WAL mode (GRDB's `setUpWALMode`), which would silently turn `.full`
        // into `.normal`: set it again on the writer, the one connection that commits.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        return pool
    }
}
