import GRDB
import KasvuSQL

/// KasvuSQL over a GRDB database pool: SQLite's one writer serialises write transactions, and
/// a read transaction is a WAL snapshot that never waits for the writer.
///
/// ```swift
/// let database = SQLiteDatabase(pool)
/// let count = try await database.read { try $0.value(Int.self, "SELECT count(*) FROM record") }
/// ```
public struct SQLiteDatabase: SQLDatabase {
    public let pool: DatabasePool
    public var dialect: SQLDialect { .sqlite }

    public init(_ pool: DatabasePool) { self.pool = pool }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do { return try await pool.read { db in try body(SQLiteConnection(db)) } } catch let error as DatabaseError { throw SQLError(error) }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do { return try await pool.write { db in try body(SQLiteConnection(db)) } } catch let error as DatabaseError { throw SQLError(error) }
    }

    public func withoutTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        do { return try await pool.writeWithoutTransaction { db in try body(SQLiteConnection(db)) } } catch let error as DatabaseError { throw SQLError(error) }
    }
}

/// One GRDB database access as a ``SQLConnection``. Statements are cached by their text:
/// the central store runs the same few statements once per pushed record.
public final class SQLiteConnection: SQLConnection {
    public let db: Database
    public var dialect: SQLDialect { .sqlite }

    public init(_ db: Database) { self.db = db }

    @discardableResult
    public func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    public func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Bool) throws {
        let statement = try db.cachedStatement(sql: sql)
        let columns = statement.columnNames
        let rows = try Row.fetchCursor(statement, arguments: Self.arguments(arguments))
        while let row = try rows.next() {
            let values = Array(row.databaseValues.map { value -> SQLValue in
                switch value.storage {
                case .null: .null
                case .int64(let number): .integer(number)
                case .string(let text): .text(text)
                // The central schema stores neither: a column of either is read as text.
                case .double(let number): .text(String(number))
                case .blob(let bytes): .text(String(decoding: bytes, as: UTF8.self))
                }
            })
            guard try body(SQLRow(columns: columns, values: values)) else { return }
        }
    }

    /// Through GRDB's initializer of optional existentials: its initializer of a sequence of
    /// values maps them with a key path, which unspecialized code instantiates at run time on
    /// every call (17 % of the central server's CPU in a push).
    static func arguments(_ values: [any SQLValueConvertible]) -> StatementArguments {
        var converted: [(any DatabaseValueConvertible)?] = []
        converted.reserveCapacity(values.count)
        for value in values {
            switch value.sqlValue {
            case .null: converted.append(nil)
            case .integer(let number): converted.append(number)
            case .text(let text): converted.append(text)
            }
        }
        return StatementArguments(converted)
    }
}

extension SQLError {
    /// SQLite's answer: the extended result code and SQLite's message (which names tables and
    /// constraints, never values). Busy and locked databases are transient.
    public init(_ error: DatabaseError) {
        self.init(code: "\(error.extendedResultCode.rawValue)", message: "SQLite error \(error.extendedResultCode.rawValue) (\(error.extendedResultCode)): \(error.message ?? "no message")",
                  sql: error.sql, isTransient: error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED)
    }
}
