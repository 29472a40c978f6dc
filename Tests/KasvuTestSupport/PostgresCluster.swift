#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A throw-away PostgreSQL server for tests: its own data directory under `/tmp/kpg-XXXXXX`,
/// reachable only through a unix socket in that directory (no TCP listener), trust
/// authentication for the superuser `kasvu`, durability off. Stopped (`pg_ctl stop -m
/// immediate`) and deleted by ``stop()`` or when the value goes away; a watchdog process
/// does the same if the test process dies first, so no server outlives its tests.
///
/// ```swift
/// let cluster = try PostgresCluster.shared()
/// let url = try cluster.createDatabase()   // postgres://kasvu@/kasvu_…?host=/tmp/kpg-…&port=…
/// ```
///
/// As root (`getuid() == 0`) the server runs as the user `postgres` (`runuser -u postgres --`),
/// which the Debian package `postgresql` creates, because PostgreSQL refuses to run as root.
/// The directory is not a ``TemporaryDirectory``: that one lives under `$TMPDIR`, whose path
/// may push the socket past the ~107 bytes a unix socket path may have.
public final class PostgresCluster: Sendable {
    /// The cluster's directory: the socket, `data/` and `log`.
    public let directory: String
    /// The port; with no TCP listener it only names the socket file `.s.PGSQL.PORT`.
    public let port: Int
    /// Where `initdb`, `pg_ctl` and `createdb` were found.
    public let binDirectory: String
    private let asPostgresUser: Bool
    private let stopped = Mutex(false)
    private let databaseCounter = Mutex(0)

    /// The superuser the URLs connect as.
    public static let user = "kasvu"

    private init(directory: String, port: Int, binDirectory: String, asPostgresUser: Bool) {
        self.directory = directory
        self.port = port
        self.binDirectory = binDirectory
        self.asPostgresUser = asPostgresUser
    }

    deinit { stop() }

    private static let sharedCluster = Result<PostgresCluster, any Error> { try start() }

    /// One cluster for the whole test process, started on first use (one to two seconds,
    /// during which the callers wait); give each test its own database with
    /// ``createDatabase()``. It stops when the process ends.
    public static func shared() throws -> PostgresCluster { try sharedCluster.get() }

    /// Starts a new cluster (one to two seconds). Throws ``PostgresClusterError`` with the
    /// cause and the tail of the server's log when PostgreSQL is missing or does not start.
    ///
    /// - Parameters:
    ///   - tls: when given, the server also listens on 127.0.0.1 at ``port`` and speaks TLS
    ///     there with this certificate (for 127.0.0.1, signed by the given CA).
    ///   - settings: server settings (`-c NAME=VALUE`) over the defaults, for example
    ///     `["full_page_writes": "on"]`.
    public static func start(tls: TestCertificates? = nil, settings: [String: String] = [:]) throws -> PostgresCluster {
        let binDirectory = try findBinaries()
        var owner: (uid: uid_t, gid: gid_t)?
        if getuid() == 0 {
            guard let entry = getpwnam("postgres") else {
                throw PostgresClusterError("running as root, but there is no user postgres to run PostgreSQL as (PostgreSQL refuses root): install the Debian package postgresql (Tools/bootstrap)")
            }
            owner = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        }
        var template = Array("/tmp/kpg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PostgresClusterError("cannot create a directory under /tmp: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        let port = Int.random(in: 20_000..<60_000)
        do {
            if let owner, chown(directory, owner.uid, owner.gid) != 0 {
                throw PostgresClusterError("cannot hand \(directory) to the user postgres: \(String(cString: strerror(errno)))")
            }
            let asPostgres = owner != nil
            try run("\(binDirectory)/initdb", ["-D", "\(directory)/data", "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                    asPostgres: asPostgres, directory: directory, timeout: 120, what: "initdb")
            var options = "-k \(directory) -c listen_addresses=\(tls == nil ? "''" : "127.0.0.1") -c fsync=off -c synchronous_commit=off -c full_page_writes=off -p \(port)"
            for (name, value) in settings.sorted(by: { $0.key < $1.key }) { options += " -c \(name)=\(value)" }
            if let tls {
                // The server reads its key only if no one else may: copies of its own, mode 0600.
                for (source, name) in [(tls.server.cert, "server.pem"), (tls.server.key, "server.key")] {
                    let target = "\(directory)/\(name)"
                    try FileManager.default.copyItem(atPath: source.path, toPath: target)
                    guard chmod(target, 0o600) == 0, owner.map({ chown(target, $0.uid, $0.gid) == 0 }) ?? true else {
                        throw PostgresClusterError("cannot hand \(target) to the server: \(String(cString: strerror(errno)))")
                    }
                }
                options += " -c ssl=on -c ssl_cert_file=\(directory)/server.pem -c ssl_key_file=\(directory)/server.key"
            }
            do {
                try run("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/log", "-w", "-t", "60", "start", "-o", options],
                        asPostgres: asPostgres, directory: directory, timeout: 90, what: "pg_ctl start")
            } catch let error as PostgresClusterError {
                throw PostgresClusterError("\(error.message)\n--- server log (tail) ---\n\(logTail("\(directory)/log"))")
            }
            startWatchdog(directory: directory, binDirectory: binDirectory, asPostgres: asPostgres)
            return PostgresCluster(directory: directory, port: port, binDirectory: binDirectory, asPostgresUser: asPostgres)
        } catch {
            // A server that started late (pg_ctl gave up waiting) must not stay behind.
            if FileManager.default.fileExists(atPath: "\(directory)/data/postmaster.pid") {
                _ = try? run("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "-t", "60", "stop"],
                             asPostgres: owner != nil, directory: directory, timeout: 90, what: "pg_ctl stop")
            }
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// The URL of database `name` in this cluster, as `PostgresURL` reads it:
    /// `postgres://kasvu@/NAME?host=DIRECTORY&port=PORT`.
    public func url(database name: String) -> String {
        "postgres://\(Self.user)@/\(name)?host=\(directory)&port=\(port)"
    }

    /// Creates the database `name` (lower-case letters, digits, `_`) and returns its URL.
    @discardableResult
    public func createDatabase(named name: String) throws -> String {
        guard let first = name.first, first.isLetter || first == "_", name.count <= 63,
              name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }) else {
            throw PostgresClusterError("the database name \(name) is not a plain lower-case identifier")
        }
        try Self.run("\(binDirectory)/createdb", ["-h", directory, "-p", "\(port)", "-U", Self.user, name],
                     asPostgres: false, directory: directory, timeout: 60, what: "createdb \(name)")
        return url(database: name)
    }

    /// Runs `sql` in database `name` with `psql` as the superuser; returns what it printed
    /// (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String, database name: String) throws -> String {
        try client("psql", ["-d", name, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// Runs one of PostgreSQL's client programs (`pg_dump`, `pg_restore`, `psql`) against this
    /// cluster as the superuser; returns its output.
    @discardableResult
    public func client(_ program: String, _ arguments: [String]) throws -> String {
        try Self.run("\(binDirectory)/\(program)", ["-h", directory, "-p", "\(port)", "-U", Self.user] + arguments,
                     asPostgres: false, directory: directory, timeout: 120, what: program)
    }

    /// Creates a database of a fresh name and returns its URL.
    public func createDatabase() throws -> String {
        let number = databaseCounter.withLock { counter -> Int in
            counter += 1
            return counter
        }
        return try createDatabase(named: "kasvu_\(number)_\(UInt32.random(in: 0...UInt32.max))")
    }

    /// The server's log so far.
    public var serverLog: String {
        (try? String(contentsOfFile: "\(directory)/log", encoding: .utf8)) ?? ""
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`) and deletes its directory.
    /// Idempotent; also run when the value goes away.
    public func stop() {
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        _ = try? Self.run("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "-t", "60", "stop"],
                          asPostgres: asPostgresUser, directory: directory, timeout: 90, what: "pg_ctl stop")
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Helpers

    /// `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`; `KASVU_PG_BINDIR`
    /// overrides both.
    static func findBinaries() throws -> String {
        let fileManager = FileManager.default
        func hasInitdb(_ directory: String) -> Bool { fileManager.isExecutableFile(atPath: "\(directory)/initdb") }
        if let override = ProcessInfo.processInfo.environment["KASVU_PG_BINDIR"] {
            guard hasInitdb(override) else { throw PostgresClusterError("KASVU_PG_BINDIR=\(override) holds no initdb") }
            return override
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        if let pgConfig = path.split(separator: ":").map({ "\($0)/pg_config" }).first(where: fileManager.isExecutableFile(atPath:)),
           let output = try? run(pgConfig, ["--bindir"], asPostgres: false, directory: "/tmp", timeout: 30, what: "pg_config") {
            let directory = output.trimmingCharacters(in: .whitespacesAndNewlines)
            if hasInitdb(directory) { return directory }
        }
        let versions = ((try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .filter { hasInitdb("/usr/lib/postgresql/\($0)/bin") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        if let newest = versions.last { return "/usr/lib/postgresql/\(newest)/bin" }
        throw PostgresClusterError("PostgreSQL is not installed: no initdb in `pg_config --bindir` nor in /usr/lib/postgresql/*/bin (Tools/bootstrap installs the Debian package postgresql)")
    }

    /// Runs a command to its end within `timeout` seconds (as the user postgres when asked)
    /// and returns its output; throws with the output when it fails or overruns.
    ///
    /// Not Foundation's `Process`: on Linux it learns of a child's end through a socket the
    /// child inherits, so it waits for as long as any descendant keeps that socket, and the
    /// server `pg_ctl start` leaves behind would keep it for good. Here the child is spawned
    /// with every descriptor but 0, 1, 2 closed and reaped with `waitpid`.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool, directory: String, timeout: TimeInterval, what: String) throws -> String {
        let command = asPostgres ? [runuser(), "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        let outputPath = "/tmp/kpg-output-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw PostgresClusterError("\(what): cannot create \(outputPath): \(String(cString: strerror(errno)))") }
        defer { unlink(outputPath) }
        let spawned = spawn(command, directory: directory, output: output)
        close(output)
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error): throw PostgresClusterError("\(what): cannot run \(command[0]): \(error.message)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var overran = false
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR {
                throw PostgresClusterError("\(what): waitpid failed: \(String(cString: strerror(errno)))")
            }
            if Date() >= deadline {
                overran = true
                kill(pid, SIGTERM)
                let grace = Date().addingTimeInterval(5)
                while waitpid(pid, &status, WNOHANG) == 0 {
                    if Date() >= grace {
                        kill(pid, SIGKILL)
                        _ = waitpid(pid, &status, 0)
                        break
                    }
                    usleep(20_000)
                }
                break
            }
            usleep(20_000)
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if overran {
            throw PostgresClusterError("\(what) did not finish within \(Int(timeout)) s; its output:\n\(text)")
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        let signal = status & 0x7F
        let exitCode = (status >> 8) & 0xFF
        guard signal == 0, exitCode == 0 else {
            let how = signal == 0 ? "status \(exitCode)" : "signal \(signal)"
            throw PostgresClusterError("\(what) failed (\(how)); its output:\n\(text)")
        }
        return text
    }

    /// `posix_spawn` with stdin from /dev/null, stdout and stderr to `output` (or /dev/null),
    /// every other descriptor closed, the working directory `directory` and no PG* variables
    /// in the environment (the caller's PGHOST, PGPORT, PGDATA must not redirect the tools).
    private static func spawn(_ command: [String], directory: String, output: Int32?) -> Result<pid_t, PostgresClusterError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // glibc's _np extensions, which Swift's Glibc module does not declare.
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") {
            typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            _ = directory.withCString { unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, $0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }.map { "\($0.key)=\($0.value)" }
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else { return .failure(PostgresClusterError(String(cString: strerror(result)))) }
        return .success(pid)
    }

    private static func runuser() -> String {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first(where: FileManager.default.isExecutableFile(atPath:)) ?? "/usr/sbin/runuser"
    }

    /// A detached shell that waits for this process to end, then stops the server and deletes
    /// the directory: the cleanup of a test process that crashed or was killed. It also ends
    /// (within a second) once ``stop()`` has deleted the directory. Started through a shell
    /// that puts it in the background and exits, so that it belongs to init, not to us, and in
    /// a session of its own (`setsid`), so that a `timeout` killing the tests' process group
    /// spares it.
    private static func startWatchdog(directory: String, binDirectory: String, asPostgres: Bool) {
        let stopCommand = (asPostgres ? "\(runuser()) -u postgres -- " : "") + "'\(binDirectory)/pg_ctl' -D '\(directory)/data' -m immediate -w -t 60 stop"
        let loop = "while kill -0 \(getpid()) 2>/dev/null && [ -d '\(directory)' ]; do sleep 1; done; "
            + "if [ -d '\(directory)' ]; then \(stopCommand) >/dev/null 2>&1; rm -rf '\(directory)'; fi"
        let detach = FileManager.default.isExecutableFile(atPath: "/usr/bin/setsid") ? "/usr/bin/setsid " : ""
        let script = "\(detach)/bin/sh -c \"\(loop)\" </dev/null >/dev/null 2>&1 &"
        _ = try? run("/bin/sh", ["-c", script], asPostgres: false, directory: "/", timeout: 30, what: "watchdog")
    }

    private static func logTail(_ path: String, lines: Int = 30) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "(no log at \(path))" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// Why a ``PostgresCluster`` could not start or do what it was asked.
public struct PostgresClusterError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "PostgreSQL test cluster: \(message)" }
}
