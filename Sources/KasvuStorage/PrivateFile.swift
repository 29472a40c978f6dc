#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files only their owner may read: databases and tokens hold personal data and passwords.
///
/// The file is created by `open(2)` with mode 0600 in the same call, so there is no moment in
/// which it exists with wider permissions (FileManager writes a temporary file, renames it,
/// then changes its mode: another user could open it in between and keep reading).
///
/// ```swift
/// try PrivateFile.create(atPath: "central.sqlite")               // empty, for SQLite to fill
/// try PrivateFile.replace(atPath: "office.sqlite.token", with: Array(token.utf8))
/// ```
public enum PrivateFile {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let errno: Int32
        public var description: String { "cannot create \(path): \(String(cString: strerror(errno)))" }
    }

    /// Creates an empty file with mode 0600 unless one exists already.
    public static func create(atPath path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(path: path, errno: errno) }
        close(fd)
    }

    /// Writes `bytes` to a new file with mode 0600, replacing any earlier file at `path`. The
    /// new file is written beside it, synced, then renamed over it.
    public static func replace(atPath path: String, with bytes: [UInt8]) throws(Failure) {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(path: path, errno: errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                let error = errno
                close(fd)
                unlink(temporary)
                throw Failure(path: path, errno: error)
            }
            written += result
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw Failure(path: path, errno: error)
        }
    }
}
