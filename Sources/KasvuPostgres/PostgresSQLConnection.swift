import Dispatch
import KasvuSQL
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One PostgreSQL connection inside one transaction of ``PostgresDatabase``, as a
/// ``SQLConnection``: it lives on the database's worker thread and each statement blocks that
/// thread (never a cooperative or event-loop thread) until PostgreSQL answers.
final class PostgresSQLConnection: SQLConnection {
    let connection: PostgresConnection
    let url: PostgresURL
    let logger: Logger
    /// How long a statement may go unanswered before the connection is closed (nil: no limit).
    let answerDeadline: Duration?
    /// False once the transaction ended: a connection kept past its transaction refuses work.
    private var isActive = true

    var dialect: SQLDialect { .postgres }

    init(connection: PostgresConnection, url: PostgresURL, logger: Logger, answerDeadline: Duration?) {
        self.connection = connection
        self.url = url
        self.logger = logger
        self.answerDeadline = answerDeadline
    }

    /// Waits for `future`, under the answer deadline (``AnswerWatch``).
    private func answer<T: Sendable>(_ future: EventLoopFuture<T>, sql: String, arguments: [SQLValue]) throws(SQLError) -> T {
        let watch = AnswerWatch(future, connection: connection, deadline: answerDeadline)
        defer { watch.disarm() }
        do {
            return try future.wait()
        } catch {
            throw failure(error, watch: watch, sql: sql, arguments: arguments)
        }
    }

    private func failure(_ error: any Error, watch: AnswerWatch, sql: String, arguments: [SQLValue]) -> SQLError {
        guard watch.fired, let answerDeadline else { return PostgresErrors.sqlError(error, sql: sql, arguments: arguments, url: url) }
        return SQLError(code: "08006", message: "PostgreSQL at \(url.redacted) did not answer within \(answerDeadline); the connection was closed",
                        sql: sql, isTransient: true)
    }

    func invalidate() { isActive = false }

    /// Runs a statement; without arguments, also several separated by semicolons (a schema
    /// script, as SQLite runs them), one after the other: the rows they touched, added up.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int {
        if arguments.isEmpty {
            let statements = PostgresPlaceholders.statements(sql)
            if statements.count > 1 {
                return try statements.reduce(0) { total, statement in try total + executeOne(statement, []) }
            }
        }
        return try executeOne(sql, arguments.map(\.sqlValue))
    }

    private func executeOne(_ sql: String, _ values: [SQLValue]) throws -> Int {
        let query = try prepare(sql, values)
        // Rows of a statement run for its effect are dropped on the event loop as they come.
        let metadata = try answer(connection.query(query, logger: logger) { _ in }, sql: sql, arguments: values)
        return Self.affectedRows(metadata)
    }

    /// Streams the rows to `body` as they arrive: the event loop hands each row over to this
    /// thread through a ``RowHandoff`` and never waits for it. That leaves `body` free to run
    /// other statements on this connection between rows (they queue behind this one, which
    /// keeps arriving); the price is that rows `body` has not consumed yet wait in memory.
    /// After `body` returns false the remaining rows are dropped as they arrive, and the
    /// statement's end is still awaited so that an error of its later rows is reported.
    func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Bool) throws {
        let values = arguments.map(\.sqlValue)
        let query = try prepare(sql, values)
        let handoff = RowHandoff()
        let future = connection.query(query, logger: logger) { row in handoff.push(row) }
        future.whenComplete { result in handoff.finish(result.map { _ in () }) }
        // Armed before the first row is awaited: a silent server ends the rows through it.
        let watch = AnswerWatch(future, connection: connection, deadline: answerDeadline)
        defer { watch.disarm() }

        var columns: [String]?
        var bodyError: (any Error)?
        while true {
            // A failed statement ends the rows here; its error comes from `future` below.
            guard let row = try? handoff.next() else { break }
            do {
                let names = columns ?? row.map(\.columnName)
                columns = names
                var decoded: [SQLValue] = []
                decoded.reserveCapacity(names.count)
                for cell in row { decoded.append(try PostgresValues.decode(cell)) }
                guard try body(SQLRow(columns: names, values: decoded)) else { break }
            } catch {
                bodyError = error
                break
            }
        }
        handoff.stop()
        do {
            _ = try future.wait()
        } catch {
            if let bodyError { throw bodyError }
            throw failure(error, watch: watch, sql: sql, arguments: values)
        }
        if let bodyError { throw bodyError }
    }

    /// Runs a statement of the transaction's own (BEGIN, COMMIT, the write lock): its command
    /// tag, e.g. "COMMIT" or "ROLLBACK".
    func command(_ sql: String) throws(SQLError) -> String {
        try answer(connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) { _ in }, sql: sql, arguments: []).command
    }

    private func prepare(_ sql: String, _ values: [SQLValue]) throws(SQLError) -> PostgresQuery {
        guard isActive else {
            throw SQLError(code: "misuse", message: "a PostgreSQL connection was used after its transaction ended", sql: sql)
        }
        let (text, parameterCount) = PostgresPlaceholders.translate(sql)
        guard parameterCount == values.count else {
            throw SQLError(code: "arguments", message: "the statement takes \(parameterCount) argument(s) but \(values.count) were given", sql: sql)
        }
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()  // type left to PostgreSQL to infer
            case .integer(let number): bindings.append(number)  // int8
            case .text(let text): bindings.append(text)  // text
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: bindings)
    }

    /// The rows an INSERT, UPDATE, DELETE or MERGE touched, from its command tag; 0 for others.
    static func affectedRows(_ metadata: PostgresQueryMetadata) -> Int {
        switch metadata.command {
        case "INSERT", "UPDATE", "DELETE": return metadata.rows ?? 0
        default:
            // postgres-nio leaves "MERGE n" whole in `command`.
            let parts = metadata.command.split(separator: " ")
            if parts.count == 2, parts[0] == "MERGE", let rows = Int(parts[1]) { return rows }
            return 0
        }
    }
}

/// Closes the connection if PostgreSQL has not answered a statement by its deadline, which
/// fails the statement. The server's own `statement_timeout` ends every live statement before
/// that; what this catches is a server or network gone silent, which would otherwise hold the
/// worker thread (and, in a write, the process's write gate) for as long as TCP takes to
/// notice: many minutes.
final class AnswerWatch: Sendable {
    private let timedOut = Atomic(false)
    private let timer = Mutex<Scheduled<Void>?>(nil)

    init<T>(_ future: EventLoopFuture<T>, connection: PostgresConnection, deadline: Duration?) {
        guard let deadline else { return }
        let scheduled = future.eventLoop.scheduleTask(in: .nanoseconds(Int64(deadline / .nanoseconds(1)))) { [self] in
            timedOut.store(true, ordering: .sequentiallyConsistent)
            let _: EventLoopFuture<Void> = connection.close()
        }
        timer.withLock { $0 = scheduled }
    }

    /// Whether the deadline passed and closed the connection.
    var fired: Bool { timedOut.load(ordering: .sequentiallyConsistent) }

    func disarm() { timer.withLock { $0?.cancel() } }
}

/// Rows on their way from the event loop (``push(_:)``, ``finish(_:)``, never blocking) to
/// the worker thread (``next()``, blocking until a row or the end arrives).
final class RowHandoff: Sendable {
    private struct State {
        var rows: [PostgresRow] = []
        var head = 0
        var end: Result<Void, any Error>?
        var consumerWaiting = false
        var stopped = false

        /// Whether the consumer sleeps and must be woken; it is woken once.
        mutating func takeWaiter() -> Bool {
            defer { consumerWaiting = false }
            return consumerWaiting
        }
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    func push(_ row: PostgresRow) {
        let wake = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.rows.append(row)
            return state.takeWaiter()
        }
        if wake { wakeup.signal() }
    }

    func finish(_ result: Result<Void, any Error>) {
        let wake = state.withLock { state -> Bool in
            state.end = result
            return state.takeWaiter()
        }
        if wake { wakeup.signal() }
    }

    /// The body wants no more rows: drop the ones still to come.
    func stop() {
        state.withLock { state in
            state.stopped = true
            state.rows = []
            state.head = 0
        }
    }

    /// The next row, nil at the end of the rows, or the statement's error.
    func next() throws -> PostgresRow? {
        while true {
            let outcome = state.withLock { state -> Result<PostgresRow?, any Error>? in
                if state.head < state.rows.count {
                    let row = state.rows[state.head]
                    state.head += 1
                    if state.head == state.rows.count {
                        state.rows.removeAll(keepingCapacity: true)
                        state.head = 0
                    } else if state.head >= 1024, state.head * 2 >= state.rows.count {
                        state.rows.removeFirst(state.head)
                        state.head = 0
                    }
                    return .success(row)
                }
                if let end = state.end { return end.map { nil } }
                state.consumerWaiting = true
                return nil
            }
            if let outcome { return try outcome.get() }
            wakeup.wait()
        }
    }
}
