import GRDB
import KasvuSQL
import KasvuDomain

extension KasvuError {
    /// SQLite's answer as a Kasvu error that keeps its cause (the extended result code and
    /// SQLite's message, which names tables and constraints, never values). Busy and locked
    /// databases are `storage_failed`: retrying helps. Everything else (a constraint broken by
    /// a bug, corruption, a full disk, I/O) is `storage_fault`: retrying the same request will
    /// not, so it is answered as a server error, not as "busy".
    ///
    /// ```swift
    /// do { try await pool.write(body) } catch let error as DatabaseError { throw KasvuError(storage: error, in: "central") }
    /// ```
    public init(storage error: DatabaseError, in store: String) {
        let detail = "\(store) SQLite error \(error.extendedResultCode.rawValue) (\(error.extendedResultCode)): \(error.message ?? "no message")"
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: self.init(.storageFailed, detail + "; retry")
        default: self.init(.storageFault, detail)
        }
    }
}

extension KasvuError {
    /// A database's answer (SQLite or PostgreSQL) as a Kasvu error that keeps its cause:
    /// transient failures (busy, serialisation, a dropped connection) are `storage_failed`,
    /// worth retrying; the rest `storage_fault`.
    public init(storage error: SQLError, in store: String) {
        let detail = "\(store) \(error.message)"
        self.init(error.isTransient ? .storageFailed : .storageFault, error.isTransient ? detail + "; retry" : detail)
    }
}
