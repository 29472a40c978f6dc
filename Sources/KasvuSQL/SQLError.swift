/// A database's answer to a statement it refused or could not run.
///
/// `code` is the database's own (an SQLite extended result code as a number, a PostgreSQL
/// SQLSTATE); `message` is the database's message, which names tables, columns and
/// constraints, never bound values; `sql` is the statement, without its arguments.
public struct SQLError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    public let sql: String?
    /// Retrying the same transaction may succeed (busy, locked, serialisation failure,
    /// deadlock, a dropped connection).
    public let isTransient: Bool

    public init(code: String, message: String, sql: String? = nil, isTransient: Bool = false) {
        self.code = code
        self.message = message
        self.sql = sql
        self.isTransient = isTransient
    }

    public var description: String {
        "SQL error \(code): \(message)" + (sql.map { " (in \($0.prefix(200)))" } ?? "")
    }
}
