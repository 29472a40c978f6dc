import KasvuSQL
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// A PostgreSQL database as a ``SQLDatabase``: transactions over a small pool of connections.
///
/// ```swift
/// let database = PostgresDatabase(url: try PostgresURL("postgres://kasvu@db.example/central?sslmode=verify-full"))
///
/// let next = try await database.write { connection in
///     try connection.execute("UPDATE sequence SET value = value + 1")
///     return try connection.value(Int.self, "SELECT value FROM sequence") ?? 0
/// }
/// let count = try await database.read { connection in
///     try connection.value(Int.self, "SELECT count(*) FROM record WHERE entity = ?", ["client"]) ?? 0
/// }
/// await database.close()
/// ```
///
/// ## Transactions
///
/// - ``read(_:)`` runs `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`: the body sees one
///   snapshot of the database (taken at its first statement) and waits for no writer.
/// - ``write(_:)`` runs `BEGIN ISOLATION LEVEL READ COMMITTED` and then takes the
///   transaction-scoped advisory lock ``writeLockKey`` (`pg_advisory_xact_lock`), so write
///   transactions of every process on the same database run one after another, and each
///   statement after the lock sees every write committed before it. The lock is released by
///   `COMMIT` or `ROLLBACK`.
///
/// The body commits when it returns and rolls back when it throws. A body that catches a
/// statement's error and returns anyway does not commit: PostgreSQL has aborted the
/// transaction, and ``write(_:)`` throws `SQLError` `25P02`.
///
/// ## Threads and connections
///
/// The body is synchronous and each statement blocks until PostgreSQL answers, so bodies run
/// on threads of the database's own (at most `maxConnections`, each keeping one connection
/// between transactions), never on Swift's cooperative pool nor on a NIO event loop.
/// Transactions beyond `maxConnections` wait their turn in order. A transaction, once started,
/// runs to its end even if the calling task is cancelled.
///
/// ## Statements
///
/// Statements use SQLite's placeholders (`?`, `?N`), numbered as PostgreSQL wants them by
/// ``PostgresPlaceholders``. Arguments bind as `int8` (`.integer`), `text` (`.text`) or a
/// NULL whose type PostgreSQL infers (`.null`). Columns read as `.integer` when they are
/// int2, int4, int8, oid or bool (0 or 1), as `.null` when NULL, and as `.text` otherwise
/// (numeric, floats, dates and timestamps as PostgreSQL prints them). `execute` without
/// arguments also runs a script of statements separated by semicolons; `forEachRow` hands
/// over rows as they arrive and lets the body run other statements between them.
///
/// ## Errors
///
/// Every error is a ``SQLError``: a statement PostgreSQL refused carries its SQLSTATE and
/// primary message (never the bound values); a server that cannot be reached fails the
/// transaction promptly with `08001` and a message naming the redacted URL; `isTransient`
/// marks the errors worth retrying the transaction for (serialization failures, deadlocks,
/// lost connections, a server shutting down or starting up, too many connections).
public final class PostgresDatabase: SQLDatabase {
    /// The key of the advisory lock every write transaction takes: `0x4B61_7376_7553_514C`,
    /// the ASCII bytes of "KasvuSQL" as a big-endian Int64 (5431749578197258572). Other code
    /// on the same database must not use this key.
    public static let writeLockKey: Int64 = 0x4B61_7376_7553_514C

    public let url: PostgresURL
    public let maxConnections: Int
    /// How long a statement of a transaction may go unanswered before its connection is closed
    /// and the transaction fails, transient (``AnswerWatch``): above the session's
    /// `statement_timeout`, so only a silent server or network reaches it.
    public let answerDeadline: Duration
    public var dialect: SQLDialect { .postgres }

    private let workers: PostgresWorkers
    /// One write transaction of this process at a time holds a worker; the others wait here.
    /// Write transactions run one at a time anyway (the advisory lock), and waiting here rather
    /// than in the workers' queue keeps the other connections free for reads: a pull never
    /// queues behind pushes.
    private let writeGate = WriteGate()

    /// A database reached through `url`. No connection opens until the first transaction;
    /// TLS settings that cannot be loaded (a missing `sslrootcert`) fail every transaction.
    ///
    /// - Parameters:
    ///   - maxConnections: the most connections (and threads) the database uses at once.
    ///   - answerDeadline: how long a statement of a transaction may go unanswered.
    ///   - logger: where postgres-nio logs the connections' events.
    public init(url: PostgresURL, maxConnections: Int = 8, answerDeadline: Duration = .seconds(90), logger: Logger = Logger(label: "kasvu.postgres")) {
        var logger = logger
        logger[metadataKey: "postgres.url"] = "\(url.redacted)"
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.answerDeadline = answerDeadline
        self.workers = PostgresWorkers(limit: self.maxConnections, url: url, configuration: Self.configuration(url), logger: logger)
    }

    deinit { workers.shutdown() }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await transaction(.read, body)
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        await writeGate.enter()
        do {
            let value = try await transaction(.write, body)
            await writeGate.leave()
            return value
        } catch {
            await writeGate.leave()
            throw error
        }
    }

    /// `body` on a connection in autocommit: each statement is its own transaction. It takes no
    /// lock and does not pass the write gate.
    public func withoutTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await transaction(.none, body)
    }

    /// Fails the transactions still waiting for a connection, waits for the running ones to
    /// end and closes every connection. Later transactions fail with `SQLError` `closed`.
    public func close() async {
        await workers.close()
    }

    // MARK: Transactions

    enum Kind: Sendable {
        case read, write
        /// Autocommit.
        case none

        var begin: String {
            switch self {
            case .read: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            case .write: "BEGIN ISOLATION LEVEL READ COMMITTED"
            // Checks that a kept connection is still alive before the body runs on it.
            case .none: "SELECT 1"
            }
        }
    }

    private func transaction<T: Sendable>(_ kind: Kind, _ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            workers.submit(PostgresWorkers.Job(
                run: { [answerDeadline] worker in
                    // Autocommit runs maintenance (VACUUM FULL), which may rightly take long.
                    let deadline = kind == .none ? nil : answerDeadline
                    continuation.resume(with: Result { try Self.run(kind, on: worker, deadline: deadline, body) })
                },
                reject: { error in continuation.resume(throwing: error) }
            ))
        }
    }

    /// One transaction (or autocommit statements), on a worker thread: blocks until it is over.
    private static func run<T>(_ kind: Kind, on worker: Worker, deadline: Duration?, _ body: (any SQLConnection) throws -> T) throws -> T {
        let connection = try begin(kind, on: worker, deadline: deadline)
        defer { connection.invalidate() }
        if kind == .none {
            do { return try body(connection) } catch {
                if connection.connection.isClosed { worker.discardConnection() }
                throw error
            }
        }
        do {
            if kind == .write {
                _ = try connection.command("SELECT pg_advisory_xact_lock(\(writeLockKey))")
            }
            let value = try body(connection)
            let tag = try connection.command("COMMIT")
            guard tag == "COMMIT" else {
                // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK.
                throw SQLError(code: "25P02", message: "the transaction was rolled back: a statement in it failed earlier", sql: "COMMIT")
            }
            return value
        } catch {
            rollback(connection, on: worker)
            throw error
        }
    }

    /// BEGIN on the worker's connection; a kept connection that turns out closed by the
    /// server is replaced (nothing ran on it yet, so that is safe), once: a fresh connection
    /// that fails is the transaction's error.
    private static func begin(_ kind: Kind, on worker: Worker, deadline: Duration?) throws(SQLError) -> PostgresSQLConnection {
        var (connection, reused) = try worker.connection()
        while true {
            let sqlConnection = PostgresSQLConnection(connection: connection, url: worker.url, logger: worker.logger, answerDeadline: deadline)
            do {
                _ = try sqlConnection.command(kind.begin)
                return sqlConnection
            } catch {
                // 57P01: the server ended the connection (pg_terminate_backend, a shutdown).
                let lost = connection.isClosed || error.code.hasPrefix("08") || error.code == "57P01"
                if lost { worker.discardConnection() }
                guard reused, lost else { throw error }
                (connection, reused) = try worker.connection()
            }
        }
    }

    private static func rollback(_ connection: PostgresSQLConnection, on worker: Worker) {
        guard !connection.connection.isClosed, (try? connection.command("ROLLBACK")) != nil else {
            worker.discardConnection()
            return
        }
    }

    // MARK: Configuration

    /// Session settings sent at connection start (README, "The central store on PostgreSQL").
    static let sessionLimits: [(String, String)] = [
        ("statement_timeout", "60s"),
        ("lock_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "60s"),
        ("tcp_keepalives_idle", "30"),
        ("tcp_keepalives_interval", "10"),
        ("tcp_keepalives_count", "3"),
    ]

    static func configuration(_ url: PostgresURL) -> Result<PostgresConnection.Configuration, SQLError> {
        var configuration: PostgresConnection.Configuration
        switch url.endpoint {
        case .unixSocket(let path):
            // Like libpq, no TLS over a unix socket.
            configuration = .init(unixSocketPath: path, username: url.user, password: url.password, database: url.database)
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS
            switch url.sslMode {
            case .disable:
                tls = .disable
            case .require, .verifyFull:
                var settings = TLSConfiguration.makeClientConfiguration()
                if url.sslMode == .require {
                    settings.certificateVerification = .none
                } else {
                    settings.certificateVerification = .fullVerification
                    if let roots = url.sslRootCertificate { settings.trustRoots = .file(roots) }
                }
                do {
                    tls = .require(try NIOSSLContext(configuration: settings))
                } catch {
                    return .failure(SQLError(code: "08001", message: "cannot set up TLS for PostgreSQL at \(url.redacted): \(error)"))
                }
            }
            configuration = .init(host: host, port: port, username: url.user, password: url.password, database: url.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(Int64(url.connectTimeout ?? 10))
        // Nothing may hold the write lock, or a connection, for ever: a statement or a wait for
        // the lock that runs too long is cancelled (a transient error: the sync is retried),
        // a session idle inside a transaction (a client that froze) is ended, and the server
        // probes a silent TCP peer. Every server's writers wait behind the one holding the lock.
        configuration.options.additionalStartupParameters += Self.sessionLimits
        if let name = url.applicationName {
            configuration.options.additionalStartupParameters.append(("application_name", name))
        }
        return .success(configuration)
    }
}

/// A queue of one: ``PostgresDatabase/write(_:)``'s turn in this process, in arrival order.
actor WriteGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
