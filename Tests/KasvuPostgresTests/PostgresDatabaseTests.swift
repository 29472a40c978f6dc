#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import KasvuPostgres
import KasvuSQL
import KasvuTestSupport
import Synchronization
import Testing

/// `PostgresDatabase` against a real server: one throw-away cluster for the process
/// (`PostgresCluster.shared()`), one database per test.
@Suite struct PostgresDatabaseTests {
    let cluster: PostgresCluster
    let url: PostgresURL
    let database: PostgresDatabase

    init() async throws {
        // The cluster's calls block (starting it, createdb): off the cooperative pool.
        let cluster = try await Self.offPool { try PostgresCluster.shared() }
        self.cluster = cluster
        url = try PostgresURL(try await Self.offPool { try cluster.createDatabase() })
        database = PostgresDatabase(url: url, maxConnections: 4)
    }

    struct Failure: Error {}

    @Test func roundTripsEveryValueKind() async throws {
        let values: [SQLValue] = [.null, .integer(0), .integer(-1), .integer(.max), .integer(.min), .text(""), .text("ä ö 😀 'quoted' \"x\" ?"), .text("123")]
        let rows = try await database.write { db in
            try db.execute("CREATE TABLE v (n integer PRIMARY KEY, i bigint, t text)")
            for (n, value) in values.enumerated() {
                switch value {
                case .integer: try db.execute("INSERT INTO v (n, i) VALUES (?, ?)", [n, value])
                default: try db.execute("INSERT INTO v (n, t) VALUES (?, ?)", [n, value])
                }
            }
            return try db.all("SELECT n, i, t FROM v ORDER BY n")
        }
        #expect(rows.count == values.count)
        for (row, value) in zip(rows, values) {
            #expect(row.columns == ["n", "i", "t"])
            switch value {
            case .integer: #expect(row.values[1] == value)
            default: #expect(row.values[2] == value)
            }
        }
        // A bare argument comes back as it went, whatever its kind (a NULL's type is inferred).
        for value in values {
            let back = try await database.read { db in try db.one("SELECT ?", [value])?.values.first }
            #expect(back == value)
        }
        let typed = try await database.read { db in
            try db.one("SELECT true AS yes, false AS no, 7::int2 AS small, 8::int4 AS medium, 9::oid AS oid, 'x'::varchar AS v, 'ab'::char(3) AS c")
        }
        #expect(typed?.columns == ["yes", "no", "small", "medium", "oid", "v", "c"])
        #expect(typed?.values == [.integer(1), .integer(0), .integer(7), .integer(8), .integer(9), .text("x"), .text("ab ")])
        let other = try await database.read { db in
            try db.one("""
                SELECT 12.50::numeric, (-0.00012)::numeric, 123456789012345678901234567890::numeric, sum(x)
                     , 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid, '{"b": [1, 2], "a": null}'::jsonb, '{"b":1}'::json
                     , '2024-02-29'::date, '2024-02-29 13:04:05.25'::timestamp, '1999-12-31 23:59:59+00'::timestamptz
                     , 1.5::float8, 'hello'::bytea, 'x'::name
                FROM (VALUES (1::bigint), (2::bigint)) AS s(x)
                """)?.values
        }
        #expect(other == [
            .text("12.50"), .text("-0.00012"), .text("123456789012345678901234567890"), .text("3"),
            .text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), .text("{\"a\": null, \"b\": [1, 2]}"), .text("{\"b\":1}"),
            .text("2024-02-29"), .text("2024-02-29 13:04:05.25"), .text("1999-12-31 23:59:59+00"),
            .text("1.5"), .text("hello"), .text("x"),
        ])
        // SQLValueConvertible decodes as with SQLite.
        let count = try await database.read { db in try db.value(Int.self, "SELECT count(*) FROM v") }
        #expect(count == values.count)
        let flag = try await database.read { db in try db.value(Bool.self, "SELECT EXISTS (SELECT 1 FROM v WHERE n = ?)", [1]) }
        #expect(flag == true)
    }

    @Test func executeReturnsAffectedRows() async throws {
        let counts = try await database.write { db -> [Int] in
            [
                try db.execute("CREATE TABLE t (id bigint PRIMARY KEY, name text)"),
                try db.execute("INSERT INTO t (id, name) VALUES (?, ?), (?, ?), (?, ?)", [1, "a", 2, "b", 3, "c"]),
                try db.execute("INSERT INTO t (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", [1, "again"]),
                try db.execute("UPDATE t SET name = ? WHERE id >= ?2", ["z", 2]),
                try db.execute("DELETE FROM t WHERE id = ?", [3]),
                try db.execute("SELECT * FROM t"),
                try db.execute("UPDATE t SET name = 'none' WHERE false"),
            ]
        }
        #expect(counts == [0, 3, 0, 2, 1, 0, 0])
    }

    /// Without arguments, `execute` runs a script of several statements, as SQLite does.
    @Test func executeRunsAScript() async throws {
        let touched = try await database.write { db in
            try db.execute("""
                CREATE TABLE a (x text); -- a comment; with a semicolon
                INSERT INTO a VALUES ('1;2'), ('3');
                UPDATE a SET x = x || ';' WHERE x = '3';
                -- done;
                """)
        }
        #expect(touched == 3)
        let values = try await database.read { db in try db.values(String.self, "SELECT x FROM a ORDER BY x") }
        #expect(values == ["1;2", "3;"])
    }

    @Test func forEachRowStopsEarly() async throws {
        let (seen, after) = try await database.read { db -> ([Int], Int?) in
            var seen: [Int] = []
            try db.forEachRow("SELECT g FROM generate_series(1, 5000) AS g ORDER BY g", []) { row in
                seen.append(try row["g"])
                return seen.count < 3
            }
            // The connection goes on serving the transaction.
            return (seen, try db.value(Int.self, "SELECT ?::bigint + 1", [41]))
        }
        #expect(seen == [1, 2, 3])
        #expect(after == 42)
    }

    /// Statements run between the rows of a query still arriving, as SQLite allows.
    @Test func statementsBetweenRows() async throws {
        let total = try await database.write { db in
            try db.execute("CREATE TABLE copy (n bigint)")
            try db.forEachRow("SELECT g FROM generate_series(1, 300) AS g", []) { row in
                try db.execute("INSERT INTO copy (n) VALUES (?)", [try row[0] as Int])
                return true
            }
            return try db.value(Int.self, "SELECT sum(n) FROM copy")
        }
        #expect(total == 300 * 301 / 2)
    }

    @Test func readSeesOneSnapshot() async throws {
        try await database.write { db in
            try db.execute("CREATE TABLE counter (id integer PRIMARY KEY, value bigint NOT NULL)")
            try db.execute("INSERT INTO counter VALUES (1, 0)")
        }
        let started = DispatchSemaphore(value: 0)
        let written = DispatchSemaphore(value: 0)
        async let snapshot = database.read { db -> [Int?] in
            let before = try db.value(Int.self, "SELECT value FROM counter")
            started.signal()
            guard written.wait(timeout: .now() + 30) == .success else { throw Failure() }
            let after = try db.value(Int.self, "SELECT value FROM counter")
            let rows = try db.value(Int.self, "SELECT count(*) FROM counter")
            return [before, after, rows]
        }
        await Self.wait(for: started)
        // The write neither waits for the read nor shows in it.
        try await database.write { db in
            try db.execute("UPDATE counter SET value = 1")
            try db.execute("INSERT INTO counter VALUES (2, 5)")
        }
        written.signal()
        #expect(try await snapshot == [0, 0, 1])
        #expect(try await database.read { db in try db.value(Int.self, "SELECT sum(value) FROM counter") } == 6)
    }

    @Test func readIsReadOnly() async throws {
        let error = await #expect(throws: SQLError.self) {
            try await database.read { db in try db.execute("CREATE TABLE nope (n bigint)") }
        }
        #expect(error?.code == "25006")
    }

    /// Read-then-increment in two databases (as two processes would) at once: the advisory
    /// lock runs the writes one at a time, so no increment is lost.
    @Test func concurrentWritesAreSerialised() async throws {
        try await database.write { db in
            try db.execute("CREATE TABLE counter (id integer PRIMARY KEY, value bigint NOT NULL)")
            try db.execute("INSERT INTO counter VALUES (1, 0)")
        }
        let other = PostgresDatabase(url: url, maxConnections: 3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for database in [database, other] {
                for _ in 0..<50 {
                    group.addTask {
                        try await database.write { db in
                            let value = try db.value(Int.self, "SELECT value FROM counter WHERE id = 1") ?? -1
                            usleep(200)  // widen the window a lost update would need
                            try db.execute("UPDATE counter SET value = ? WHERE id = 1", [value + 1])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        await other.close()
        #expect(try await database.read { db in try db.value(Int.self, "SELECT value FROM counter") } == 100)
    }

    /// Another process holds the write lock; this one has writes waiting for it. A read still
    /// gets a connection and answers at once: pulls never queue behind pushes.
    @Test func aReadDoesNotWaitForWritesWaitingForTheLock() async throws {
        let small = PostgresDatabase(url: url, maxConnections: 2)
        let other = PostgresDatabase(url: url, maxConnections: 1)
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        async let held: Void = other.write { _ in
            holding.signal()
            _ = release.wait(timeout: .now() + 60)
        }
        await Self.wait(for: holding)
        final class Calls: Sendable { let count = Mutex(0) }
        let calls = Calls()
        let writes = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        calls.count.withLock { $0 += 1 }
                        _ = try await small.write { db in try db.execute("SELECT 1") }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Until the writes wait: one for the lock (more, were they not queued in this process).
        let waitingForLock = { try await database.read { db in
            try db.value(Int.self, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") ?? 0 } }
        for round in 0..<1_000 {
            let waiting = try await waitingForLock()
            if calls.count.withLock({ $0 }) == 3 && (waiting >= 2 || (waiting == 1 && round > 50)) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let answered = DispatchSemaphore(value: 0)
        let read = Task { try await small.read { db in try db.value(Int.self, "SELECT 1") } }
        Task { _ = try? await read.value; answered.signal() }
        let inTime = try await Self.offPool { answered.wait(timeout: .now() + 20) == .success }
        release.signal()
        try await held
        try await writes.value
        #expect(inTime)
        #expect(try await read.value == 1)
        await small.close()
        await other.close()
    }

    /// TLS to a real server on 127.0.0.1: `verify-full` with the server's CA connects; with
    /// another CA it is refused, and nothing is sent in the clear instead.
    @Test func verifyFullConnectsOnlyToTheServerItsCASigned() async throws {
        let directory = try TemporaryDirectory()
        let certificates = try TestCertificates.make(in: directory.url)
        let cluster = try await Self.offPool { try PostgresCluster.start(tls: certificates) }
        defer { cluster.stop() }
        let name = "tls_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await Self.offPool { try cluster.createDatabase(named: name) }
        let base = "postgres://\(PostgresCluster.user)@127.0.0.1:\(cluster.port)/\(name)?sslmode=verify-full&sslrootcert="
        let trusted = PostgresDatabase(url: try PostgresURL(base + certificates.ca.path), maxConnections: 1)
        let ssl = try await trusted.read { db in try db.value(Bool.self, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") }
        #expect(ssl == true)
        await trusted.close()
        let other = PostgresDatabase(url: try PostgresURL(base + certificates.otherCA.path), maxConnections: 1)
        await #expect(throws: SQLError.self) { try await other.read { db in try db.value(Int.self, "SELECT 1") } }
        await other.close()
    }

    /// No session may hold the write lock, or wait for it, for ever (`sessionLimits`).
    @Test func sessionsCarryTheirTimeouts() async throws {
        let settings = try await database.read { db in
            try ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"].map {
                try db.value(String.self, "SELECT current_setting(?)", [$0])
            }
        }
        #expect(settings == ["1min", "30s", "1min"])
    }

    @Test func errorInWriteRollsBack() async throws {
        _ = try await database.write { db in try db.execute("CREATE TABLE t (n bigint UNIQUE)") }
        await #expect(throws: Failure.self) {
            try await database.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                throw Failure()
            }
        }
        // A statement's error the body swallows still aborts the transaction: nothing commits.
        let error = await #expect(throws: SQLError.self) {
            try await database.write { db in
                try db.execute("INSERT INTO t VALUES (2)")
                _ = try? db.execute("INSERT INTO t VALUES (2)")
            }
        }
        #expect(error?.code == "25P02")
        #expect(try await database.read { db in try db.value(Int.self, "SELECT count(*) FROM t") } == 0)
        // The connections are fine afterwards.
        _ = try await database.write { db in try db.execute("INSERT INTO t VALUES (3)") }
        #expect(try await database.read { db in try db.values(Int.self, "SELECT n FROM t") } == [3])
    }

    @Test func sqlErrorsCarrySQLStateNotValues() async throws {
        let secret = "hetu-131052-308T"
        let missing = await #expect(throws: SQLError.self) {
            try await database.read { db in try db.all("SELECT * FROM missing_table WHERE name = ?", [secret]) }
        }
        #expect(missing?.code == "42P01")
        #expect(missing?.message.contains("missing_table") == true)
        #expect(missing?.sql == "SELECT * FROM missing_table WHERE name = ?")
        #expect(missing?.isTransient == false)
        #expect(!"\(String(describing: missing))".contains(secret))

        let syntax = await #expect(throws: SQLError.self) {
            try await database.read { db in try db.value(Int.self, "SELECT ?::bigint", [secret]) }
        }
        #expect(syntax?.code == "22P02")
        #expect(syntax.map { !"\($0)".contains(secret) } == true)

        _ = try await database.write { db in try db.execute("CREATE TABLE person (hetu text PRIMARY KEY)") }
        let duplicate = await #expect(throws: SQLError.self) {
            try await database.write { db in
                try db.execute("INSERT INTO person VALUES (?)", [secret])
                try db.execute("INSERT INTO person VALUES (?)", [secret])
            }
        }
        #expect(duplicate?.code == "23505")
        #expect(duplicate.map { !"\($0)".contains(secret) } == true)

        let arguments = await #expect(throws: SQLError.self) {
            try await database.read { db in try db.all("SELECT ?, ?", [1]) }
        }
        #expect(arguments?.code == "arguments")
    }

    @Test func aStoppedServerIsATransientConnectionError() async throws {
        let own = try await Self.offPool { try PostgresCluster.start() }
        let url = try PostgresURL(try await Self.offPool { try own.createDatabase() })
        let database = PostgresDatabase(url: url, maxConnections: 2)
        #expect(try await database.read { db in try db.value(Int.self, "SELECT 1") } == 1)
        try await Self.offPool { own.stop() }
        for _ in 0..<2 {
            let error = await #expect(throws: SQLError.self) {
                try await database.read { db in try db.value(Int.self, "SELECT 1") }
            }
            #expect(error?.code.hasPrefix("08") == true)
            #expect(error?.isTransient == true)
            #expect(error?.message.contains(url.redacted) == true)
        }
        await database.close()
    }

    /// A server that takes the TCP connection and never answers: `connect_timeout` ends the
    /// wait.
    @Test func silentServerTimesOut() async throws {
        let silent = try SilentListener()
        let url = try PostgresURL("postgres://kasvu@127.0.0.1:\(silent.port)/db?connect_timeout=1")
        let database = PostgresDatabase(url: url)
        let error = await #expect(throws: SQLError.self) {
            try await database.write { db in try db.execute("SELECT 1") }
        }
        #expect(error?.code == "08001")
        #expect(error?.isTransient == true)
        #expect(error?.message.contains(url.redacted) == true)
        await database.close()
    }

    /// A server that stops answering in the middle of a transaction (its backend stopped
    /// with SIGSTOP: the socket stays open and the kernel takes the bytes, as with a server
    /// or network gone silent): the answer deadline closes the connection, the transaction
    /// fails, transient, and the next one gets a new connection.
    @Test func aServerSilentMidTransactionFailsItAfterTheAnswerDeadline() async throws {
        let quick = PostgresDatabase(url: url, maxConnections: 1, answerDeadline: .seconds(2))
        let stopped = Atomic<Int32>(0)
        let error = await #expect(throws: SQLError.self) {
            try await quick.write { db in
                let backend = try #require(try db.value(Int.self, "SELECT pg_backend_pid()"))
                stopped.store(Int32(backend), ordering: .sequentiallyConsistent)
                guard kill(pid_t(backend), SIGSTOP) == 0 else { throw Failure() }
                return try db.value(Int.self, "SELECT 1")
            }
        }
        let backend = stopped.load(ordering: .sequentiallyConsistent)
        #expect(backend > 0)
        if backend > 0 { kill(pid_t(backend), SIGCONT) }
        #expect(error?.code == "08006" && error?.isTransient == true)
        #expect(error?.message.contains("did not answer within 2") == true, "\(String(describing: error?.message))")
        #expect(try await quick.read { db in try db.value(Int.self, "SELECT 3") } == 3)
        await quick.close()
    }

    /// Connections the server ended while they sat in the pool are replaced, unnoticed by
    /// the transactions.
    @Test func droppedConnectionsAreReplaced() async throws {
        #expect(try await database.read { db in try db.value(Int.self, "SELECT 1") } == 1)
        let killer = PostgresDatabase(url: url, maxConnections: 1)
        let killed = try await killer.write { db in
            try db.value(Int.self, """
                SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                """)
        }
        await killer.close()
        #expect(killed == 1)
        for _ in 0..<3 {
            #expect(try await database.read { db in try db.value(Int.self, "SELECT 2") } == 2)
        }
    }

    @Test func closedDatabaseRefusesWork() async throws {
        #expect(try await database.read { db in try db.value(Int.self, "SELECT 1") } == 1)
        await database.close()
        let error = await #expect(throws: SQLError.self) {
            try await database.write { db in try db.execute("SELECT 1") }
        }
        #expect(error?.code == "closed")
    }

    /// The bodies and their statements need no thread of Swift's cooperative pool: they
    /// finish while every one of those threads is blocked.
    @Test func statementsNeedNoCooperativeThread() async throws {
        let width = ProcessInfo.processInfo.activeProcessorCount
        let begun = DispatchSemaphore(value: 0)
        let occupied = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let threadName = Mutex<String?>(nil)
        let transaction = Task {
            try await database.write { db in
                let name = Thread.current.name
                threadName.withLock { $0 = name }
                begun.signal()
                for _ in 0..<width { _ = occupied.wait(timeout: .now() + 10) }
                try db.execute("CREATE TABLE t (n bigint)")
                try db.execute("INSERT INTO t VALUES (1)")
                let value = try db.value(Int.self, "SELECT n FROM t")
                finished.signal()
                return value
            }
        }
        await Self.wait(for: begun)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<width {
                group.addTask {
                    occupied.signal()
                    let done = finished.wait(timeout: .now() + 30) == .success
                    if done { finished.signal() }
                    return done
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 })
        #expect(try await transaction.value == 1)
        #expect(threadName.withLock { $0 } == "kasvu.postgres")
    }

    @Test func tlsRequiredButNotOffered() async throws {
        let server = try NoTLSServer()
        let database = PostgresDatabase(url: try PostgresURL("postgres://kasvu:pw@127.0.0.1:\(server.port)/db?sslmode=require&connect_timeout=5"))
        let error = await #expect(throws: SQLError.self) {
            try await database.read { db in try db.execute("SELECT 1") }
        }
        #expect(error?.message.contains("TLS") == true)
        #expect(error?.message.contains("pw") == false)
        #expect(error?.isTransient == false)
        await database.close()
    }

    /// Runs blocking `work` on a thread of its own, not on the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Waits for `semaphore` on a thread of its own (never blocking the cooperative pool).
    static func wait(for semaphore: DispatchSemaphore) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                _ = semaphore.wait(timeout: .now() + 30)
                continuation.resume()
            }
        }
    }
}

/// A TCP server on 127.0.0.1 that answers PostgreSQL's SSLRequest with "N" (no TLS here),
/// as a server without TLS does.
final class NoTLSServer: Sendable {
    let port: Int
    private let socketFD: Int32

    init() throws {
        let (fd, port) = try SilentListener.listeningSocket(backlog: 4)
        self.port = port
        socketFD = fd
        Thread.detachNewThread {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 30_000) == 1 else { return }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var request = [UInt8](repeating: 0, count: 8)
            _ = recv(client, &request, 8, Int32(MSG_WAITALL))
            _ = send(client, [UInt8(ascii: "N")], 1, 0)
            var reader = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            _ = poll(&reader, 1, 10_000)
            close(client)
        }
    }

    deinit { close(socketFD) }
}
