/// A connection inside one transaction, as the central store's code sees either database.
///
/// Statements use `?` placeholders (or `?N` for the N-th argument), which both backends
/// accept; SQL that differs between them is asked of ``dialect``. A connection is used by one
/// thread at a time, inside ``SQLDatabase/read(_:)`` or ``SQLDatabase/write(_:)``, and never
/// outlives that call.
///
/// ```swift
/// try await database.write { connection in
///     try connection.execute("UPDATE sequence SET value = ?", [sequence])
/// }
/// ```
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs a statement; returns the number of rows it inserted, updated or deleted.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int
    /// Runs a query and hands its rows to `body` one by one until it returns false.
    func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Bool) throws
}

extension SQLConnection {
    @discardableResult
    public func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    public func all(_ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(sql, arguments) { rows.append($0); return true }
        return rows
    }

    public func one(_ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> SQLRow? {
        var first: SQLRow?
        try forEachRow(sql, arguments) { first = $0; return false }
        return first
    }

    /// The first column of the first row, or nil when there is no row or it is null.
    public func value<T: SQLValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> T? {
        guard let row = try one(sql, arguments), let first = row.values.first else { return nil }
        if case .null = first { return nil }
        return try row[0] as T
    }

    /// The first column of every row (null rows skipped).
    public func values<T: SQLValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> [T] {
        try all(sql, arguments).compactMap { row in
            if case .null = row.values.first ?? .null { return nil }
            return try row[0] as T
        }
    }

    /// Whether the query returns a row.
    public func exists(_ sql: String, _ arguments: [any SQLValueConvertible] = []) throws -> Bool {
        try one(sql, arguments) != nil
    }
}

/// A database the central store runs on: transactions that hand out a ``SQLConnection``.
///
/// Both run `body` on a thread of their own, never on Swift's cooperative pool, because the
/// statements inside block. A write transaction sees every write committed before it and no
/// other write transaction runs its statements at the same time (SQLite: its one writer;
/// PostgreSQL: a transaction-scoped advisory lock), so the store's read-check-write steps are
/// exact. A read transaction sees one consistent snapshot and waits for no writer.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    /// Runs `body` outside any transaction, each statement committing on its own: for what a
    /// transaction cannot hold (`VACUUM`). Not serialised with write transactions.
    func withoutTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T
    /// Closes the database's connections; nothing may use it after.
    func close() async
}

extension SQLDatabase {
    public func close() async {}
}

/// What differs between the SQL the two backends speak, where the store's statements meet it.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// A statement text bound to a connection, run many times with different arguments (the
/// SQLite backend keeps it compiled).
///
/// ```swift
/// let insert = connection.statement("INSERT INTO delivered (replica_id, entity, id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
/// for key in keys { try insert.execute([replica, key.entity, key.id]) }
/// ```
public struct SQLStatement {
    public let connection: any SQLConnection
    public let sql: String

    @discardableResult
    public func execute(_ arguments: [any SQLValueConvertible] = []) throws -> Int { try connection.execute(sql, arguments) }
    public func all(_ arguments: [any SQLValueConvertible] = []) throws -> [SQLRow] { try connection.all(sql, arguments) }
    public func one(_ arguments: [any SQLValueConvertible] = []) throws -> SQLRow? { try connection.one(sql, arguments) }
    public func value<T: SQLValueConvertible>(_ type: T.Type, _ arguments: [any SQLValueConvertible] = []) throws -> T? {
        try connection.value(type, sql, arguments)
    }
    public func values<T: SQLValueConvertible>(_ type: T.Type, _ arguments: [any SQLValueConvertible] = []) throws -> [T] {
        try connection.values(type, sql, arguments)
    }
    public func exists(_ arguments: [any SQLValueConvertible] = []) throws -> Bool { try connection.exists(sql, arguments) }
    public func forEachRow(_ arguments: [any SQLValueConvertible] = [], _ body: (SQLRow) throws -> Bool) throws {
        try connection.forEachRow(sql, arguments, body)
    }
}

extension SQLConnection {
    public func statement(_ sql: String) -> SQLStatement { SQLStatement(connection: self, sql: sql) }
}
