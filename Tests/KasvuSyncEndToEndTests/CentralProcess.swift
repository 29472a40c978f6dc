import Foundation
import GRDB
import KasvuCurl
import KasvuDomain
import KasvuPostgres
import KasvuReplica
import KasvuSQL
import KasvuStorage
import KasvuSync
import KasvuTestSupport
import Synchronization
import Testing



/// A running `kasvu central serve` on a free loopback port.
final class CentralProcess: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `restart()`, which tests call from one task.
    private(set) var process: Process
    /// `--db FILE` or `--store postgres://…`: where the store is, for `serve` and the administration commands.
    let storeArguments: [String]
    /// The SQLite file, for tests that look inside it ("" on PostgreSQL).
    let db: String
    /// The database's URL when the store is on PostgreSQL.
    private(set) var postgresURL: String?
    private(set) var port: Int
    private(set) var scheme = "http"
    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    init(db: String, port: Int = 0, extraArguments: [String] = []) throws {
        self.db = db
        storeArguments = ["--db", db]
        (process, self.port) = try Self.start(storeArguments, port: port, extraArguments: extraArguments)
        if extraArguments.contains("--tls-cert") { scheme = "https" }
    }

    /// A server on a PostgreSQL database, which several servers may share.
    init(postgres url: String, port: Int = 0, extraArguments: [String] = []) throws {
        db = ""
        postgresURL = url
        storeArguments = ["--store", url, "--store-connections", "4"]
        (process, self.port) = try Self.start(storeArguments, port: port, extraArguments: extraArguments)
    }

    /// A server on `backend`: a file in `directory`, or a new database of the shared cluster.
    convenience init(_ backend: CentralBackend, in directory: TemporaryDirectory, extraArguments: [String] = []) throws {
        switch backend {
        case .sqlite: try self.init(db: directory.path("central.sqlite"), extraArguments: extraArguments)
        case .postgres: try self.init(postgres: try PostgresCluster.shared().createDatabase(), extraArguments: extraArguments)
        }
    }

    private static func start(_ storeArguments: [String], port: Int, extraArguments: [String]) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: KasvuBinary.path)
        process.arguments = ["central", "serve"] + storeArguments + ["--listen", "127.0.0.1:\(port)", "--log-level", "warning"] + extraArguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Safety net against a hung server, never part of an assertion.
        DispatchQueue.global().asyncAfter(deadline: .now() + 300) { if process.isRunning { process.terminate() } }
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("listening on http"), let chosen = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw CentralFailure(message: "central did not start: \(text)")
        }
        return (process, chosen)
    }

    /// Registers a replica; an office covers the municipalities the tests use unless told otherwise.
    func addReplica(_ id: String, role: String = "office", scope: [String]? = nil) throws -> String {
        let defaultScope = role == "office" ? ["--municipalities", "749,402,091"] : []
        let result = try KasvuBinary.run(["central", "add-replica"] + storeArguments + ["--id", id, "--role", role] + (scope ?? defaultScope))
        guard result.status == 0, let token = result.stdout.split(separator: "\n").last else {
            throw CentralFailure(message: "add-replica failed: \(result.stderr)")
        }
        return String(token)
    }

    private let admin = Mutex<String?>(nil)

    /// The token of an admin replica `metrics-reader`, registered on first use (for `/metrics`).
    func adminToken() throws -> String {
        try admin.withLock { token in
            if let token { return token }
            let created = try addReplica("metrics-reader", role: "admin")
            token = created
            return created
        }
    }

    var isRunning: Bool { process.isRunning }

    /// Runs `kasvu central scrub` on the store, as tests do before they look for erased bytes
    /// in its files: the server scrubs only after the erasing sync has answered (SQLite) or in
    /// its maintenance round (PostgreSQL). The command waits for the writer, so for a scrub the
    /// server is running, and runs the one still owed. Returns what it printed.
    @discardableResult
    func scrub() throws -> String {
        let result = try KasvuBinary.run(["central", "scrub"] + storeArguments)
        guard result.status == 0 else { throw CentralFailure(message: "scrub failed: \(result.stderr)") }
        return result.stdout
    }

    /// The store's rows for `sql`, read from its file or database directly in one read-only
    /// snapshot: for checks against the store itself, on either backend.
    func rows(_ sql: String, _ arguments: [any SQLValueConvertible] = []) async throws -> [SQLRow] {
        guard let postgresURL else {
            var configuration = Configuration()
            configuration.readonly = true
            return try await DatabaseQueue(path: db, configuration: configuration).read { db in try SQLiteConnection(db).all(sql, arguments) }
        }
        let database = PostgresDatabase(url: try PostgresURL(postgresURL), maxConnections: 1)
        do {
            let rows = try await database.read { try $0.all(sql, arguments) }
            await database.close()
            return rows
        } catch {
            await database.close()
            throw error
        }
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Starts the server again on the same file and port, after a crash.
    func restart() throws {
        (process, port) = try Self.start(storeArguments, port: port, extraArguments: [])
    }

    func stop() -> Int32 {
        process.terminate()  // SIGTERM: graceful shutdown
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}

struct CentralFailure: Error { let message: String }

/// A replica in this test process, syncing through the real libcurl transport.
struct TestReplica {
    let replica: Replica
    let token: String
    let central: CentralProcess

    init(_ name: String, in directory: TemporaryDirectory, central: CentralProcess, role: String = "office", scope: [String]? = nil,
         nowMillis: @escaping @Sendable () -> UInt64 = Replica.systemMillis) throws {
        token = try central.addReplica(name, role: role, scope: scope)
        replica = try Replica.create(at: directory.path("\(name).sqlite"), replicaID: name, role: ReplicaRole(rawValue: role)!,
                                     centralURL: central.url, nowMillis: nowMillis)
        try replica.saveToken(token)
        self.central = central
    }

    /// One full sync, through `server` when given (another server on the same database).
    @discardableResult
    func sync(batchSize: Int = 100, cacert: String? = nil, through server: CentralProcess? = nil, maxAttempts: Int = 3) async throws -> SyncSummary {
        var options = HTTPClientOptions()
        options.caCertificatePath = cacert
        options.maxAttempts = maxAttempts
        options.initialBackoff = 0.01
        let transport = try CurlSyncTransport(centralURL: (server ?? central).url, token: token, options: options)
        return try await SyncClient(replica: replica, transport: transport, batchSize: batchSize, pullLimit: batchSize,
                                    userName: "worker@\(replica.path.split(separator: "/").last ?? "")").run()
    }

    /// Two providers of Pohjois-Savo (cap 10 each), created by this admin replica and synced.
    func createTwoProviders() async throws -> [String] {
        var ids: [String] = []
        for (name, businessID) in [("Työpolku Oy", "2077474-0"), ("Uraverkko ry", "0112038-9")] {
            ids.append(try await replica.create(.provider, fields: [
                "name": .string(name), "businessId": .string(businessID), "pilotArea": .string("Pohjois-Savo"),
                "cap": .int(10), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
            ]).id)
        }
        try await sync()
        return ids
    }

    /// Every record state, for comparing replicas.
    func everything() async throws -> [RecordEnvelope] {
        var all: [RecordEnvelope] = []
        for kind in EntityKind.allCases { all += try await replica.allStates(kind) }
        return all
    }
}
