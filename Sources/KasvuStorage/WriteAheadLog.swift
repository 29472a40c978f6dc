import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Syncing a WAL-mode database's write-ahead log by hand, for group commit: commits made at
/// `synchronous = NORMAL` become as durable as `FULL` makes each one.
///
/// ```swift
/// var synced: UInt64? = nil
/// synced = try WriteAheadLog.sync(databaseAt: "replica.sqlite", directorySyncedFor: synced)
/// ```
public enum WriteAheadLog {
    public struct SyncError: Error {
        public let message: String
    }

    /// Syncs the log of the database at `path` (its data, `fdatasync`; `F_FULLFSYNC` on Darwin)
    /// and, the first time it sees a log file, the directory that names it, as SQLite does
    /// for a new log at `FULL`. Call it on the connection's writer queue, so that no commit is
    /// half written meanwhile.
    ///
    /// - Parameter knownLog: the inode returned by the previous call: that log's directory
    ///   entry is already durable.
    /// - Returns: the log's inode, or nil when there is no log (every commit is in the database
    ///   file, which SQLite syncs when it checkpoints).
    public static func sync(databaseAt path: String, directorySyncedFor knownLog: UInt64?) throws(SyncError) -> UInt64? {
        let log = path + "-wal"
        let descriptor = open(log, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw failure("cannot open the write-ahead log")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("cannot inspect the write-ahead log") }
        #if canImport(Darwin)
        guard fcntl(descriptor, F_FULLFSYNC) == 0 else { throw failure("cannot sync the write-ahead log") }
        #else
        guard fdatasync(descriptor) == 0 else { throw failure("cannot sync the write-ahead log") }
        #endif
        let inode = UInt64(status.st_ino)
        if inode != knownLog {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { throw failure("cannot open the database's folder") }
            defer { close(directory) }
            guard fsync(directory) == 0 else { throw failure("cannot sync the database's folder") }
        }
        return inode
    }

    private static func failure(_ what: String) -> SyncError {
        SyncError(message: "\(what): \(String(cString: strerror(errno)))")
    }
}
