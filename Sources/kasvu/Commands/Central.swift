import ArgumentParser
import Foundation
import KasvuCentral
import KasvuDashboard
import KasvuPostgres
import KasvuSync
import KasvuDomain
import Logging

struct Central: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run and administer the central store.",
        subcommands: [Serve.self, AddReplica.self, SetScope.self, RotateToken.self, RevokeReplica.self, Replicas.self, Purge.self, Scrub.self, Leases.self, CollectTombstones.self, Backup.self, Restore.self, BeginIncarnation.self, Migrate.self]
    )

    /// Where the central store is: an SQLite file (`--db`) or a PostgreSQL database (`--store`).
    struct StoreOptions: ParsableArguments {
        @Option(help: "Path of the central store's SQLite file (created if absent).")
        var db: String?

        @Option(name: .customLong("store"), help: ArgumentHelp(
            "The central store on PostgreSQL, shared by several servers (or KASVU_CENTRAL_STORE): postgres://USER[:PASSWORD]@HOST[:PORT]/DB; add ?sslmode=require (or verify-full) for TLS, ?host=/DIR for a unix socket.",
            valueName: "url"))
        var storeURL: String?

        @Option(help: "Connections to PostgreSQL this process keeps at most.")
        var storeConnections: Int = 8

        /// `--store`, else KASVU_CENTRAL_STORE when no `--db` is given.
        var url: String? { storeURL ?? (db == nil ? ProcessInfo.processInfo.environment["KASVU_CENTRAL_STORE"].flatMap { $0.isEmpty ? nil : $0 } : nil) }

        func validate() throws {
            if db != nil && storeURL != nil { throw ValidationError("give either --db (SQLite) or --store (PostgreSQL), not both") }
            if db == nil && url == nil { throw ValidationError("give --db FILE (SQLite) or --store postgres://… (PostgreSQL, or KASVU_CENTRAL_STORE)") }
            if let url { do { _ = try PostgresURL(url) } catch { throw ValidationError("--store: \(error)") } }
            guard storeConnections > 0 else { throw ValidationError("--store-connections must be positive") }
        }

        /// The store's file, or its URL without the password: for messages.
        var location: String { db ?? url.flatMap { try? PostgresURL($0).redacted } ?? "" }

        /// Runs `body` on the opened store and closes it (its PostgreSQL connections) on every path.
        func withStore<T>(_ body: (SQLCentralStore) async throws -> T) async throws -> T {
            let opened = try await open()
            do {
                let value = try await body(opened)
                await opened.close()
                return value
            } catch {
                await opened.close()
                throw error
            }
        }

        func open() async throws -> SQLCentralStore {
            do {
                if let db { return try SQLCentralStore(path: db) }
                let database = PostgresDatabase(url: try PostgresURL(url ?? ""), maxConnections: storeConnections)
                do { return try await SQLCentralStore(database: database) } catch {
                    await database.close()
                    throw error
                }
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve POST /v1/sync, GET /healthz and GET /metrics over HTTP, and the central office's dashboard at /.",
            discussion: """
                Prints `listening on http://HOST:PORT` once ready (port 0 picks a free port). Shuts down gracefully on SIGTERM or SIGINT.
                The dashboard signs in with an admin replica's token. It keeps its own admin replica (--dashboard-db, by default the store's file + `.dashboard`), created when a page is first read and kept in step with the store.
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "Address to listen on, HOST:PORT.")
        var listen: String = "127.0.0.1:8080"

        @Option(help: "Largest accepted request body in bytes (413 above).")
        var maxBodyBytes: Int = 32 << 20

        @Option(help: "Seconds a request body may take to arrive (408 after).")
        var bodyTimeout: Int = 30

        @Option(help: "Syncs served at once; more wait for a slot (--sync-wait-ms), then get 503 with Retry-After.")
        var maxConcurrentSyncs: Int = SyncLimits.maxConcurrentSyncs

        @Option(help: "Milliseconds a sync waits for a free slot before it gets 503 (0: at once); at most 4 × --max-concurrent-syncs wait.")
        var syncWaitMs: Int = 500

        @Option(help: "PEM certificate chain: serve HTTPS (with --tls-key).")
        var tlsCert: String?

        @Option(help: "PEM private key of --tls-cert.")
        var tlsKey: String?

        @Option(help: "Days after it last pushed everything it had that a replica no longer holds back tombstone collection (run hourly).")
        var replicaInactiveAfterDays: Int = SQLCentralStore.defaultInactiveAfterDays

        @Option(help: "The dashboard's own admin replica file (default: --db + `.dashboard`; with --store, no dashboard unless given).")
        var dashboardDB: String?

        @Flag(help: "Serve no dashboard.")
        var noDashboard = false

        @Option(help: "Days without a sync after which the dashboard warns about a replica.")
        var staleAfterDays: Int = 7

        @Option(help: "Log level on stderr.")
        var logLevel: Logger.Level = .info

        func run() async throws {
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            var logger = Logger(label: "kasvu.central")
            logger.logLevel = logLevel
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080")
            }
            let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            var limits = CentralServer.Limits()
            limits.maxBodyBytes = maxBodyBytes
            guard bodyTimeout > 0, maxConcurrentSyncs > 0 else { throw ValidationError("--body-timeout and --max-concurrent-syncs must be positive") }
            limits.bodyTimeout = .seconds(bodyTimeout)
            limits.maxConcurrentSyncs = maxConcurrentSyncs
            guard syncWaitMs >= 0 else { throw ValidationError("--sync-wait-ms must not be negative") }
            limits.admissionPatience = .milliseconds(syncWaitMs)
            guard replicaInactiveAfterDays >= 0 else { throw ValidationError("--replica-inactive-after-days must not be negative") }
            limits.replicaInactiveAfterDays = replicaInactiveAfterDays
            guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
            let tls = tlsCert.map { CentralServer.TLSFiles(certificateChain: $0, privateKey: tlsKey ?? "") }
            let scheme = tls == nil ? "http" : "https"
            guard staleAfterDays > 0 else { throw ValidationError("--stale-after-days must be positive") }
            let mirror = noDashboard ? nil : dashboardDB ?? store.db.map { $0 + ".dashboard" }
            do {
                try await store.withStore { opened in
                    var extensions: [CentralServer.Extension] = []
                    if let mirror {
                        var options = Dashboard.Options()
                        options.staleAfterDays = staleAfterDays
                        options.secureCookies = tls != nil
                        extensions.append(try await Dashboard(store: opened, mirrorPath: mirror, options: options, logger: logger).serverExtension)
                    }
                    try await CentralServer.serve(store: opened, host: host, port: port, limits: limits, tls: tls, extensions: extensions,
                                                  logger: logger) { port in
                        // Unbuffered: scripts and tests wait for this line to learn the port.
                        FileHandle.standardOutput.write(Data("listening on \(scheme)://\(host):\(port)\n".utf8))
                    }
                }
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct AddReplica: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-replica",
            abstract: "Register a replica and print its bearer token once.",
            discussion: "The token is printed alone on the last line of output; the store keeps only its hash. Give it to `kasvu init --token` (or KASVU_TOKEN)."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The replica's id, as given to `kasvu init --replica-id`.")
        var id: String

        @Option(help: "admin (central office), office (TE office) or provider.")
        var role: ReplicaRole

        @OptionGroup var scope: ScopeOptions

        func run() async throws {
            do {
                let token = try await store.withStore { try await $0.addReplica(id: id, role: role, scope: scope.scope(role: role)) }
                print("Registered replica \(id) (\(role.rawValue)). Its token, shown only now:")
                print(token)
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    /// `--municipalities 749,402` for an office, `--provider ID` for a provider.
    struct ScopeOptions: ParsableArguments {
        @Option(help: "An office's municipality codes, comma-separated (e.g. 749,402).")
        var municipalities: String?

        @Option(help: "A provider replica's provider id.")
        var provider: String?

        func scope(role: ReplicaRole) -> ReplicaScope {
            switch role {
            case .office: .municipalities(Set((municipalities ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }))
            case .provider: .provider(provider ?? "")
            case .admin: municipalities != nil ? .municipalities([]) : provider != nil ? .provider("") : .all
            }
        }
    }

    struct SetScope: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-scope",
            abstract: "Change what a registered replica may see.",
            discussion: "Its next sync rescans: records that entered its scope are delivered, records that left it are evicted from the replica."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The replica's id.")
        var id: String

        @OptionGroup var scope: ScopeOptions

        func run() async throws {
            do {
                try await store.withStore { opened in
                    guard let role = try await opened.role(of: id) else { throw KasvuError.notFound(entity: "replica", id: id) }
                    try await opened.setScope(id: id, scope: scope.scope(role: role))
                }
                print("Scope of \(id) changed; its next sync delivers and evicts accordingly.")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase the clients whose referrals all ended before a date (the retention rule).",
            discussion: """
                Each such client is erased as `client/delete` erases on a replica: deleted, its personal fields and the \
                notes of its contacts and events and the personal fields of its assessments written null, as the central store's own write, which reaches every \
                replica that holds them at its next sync. Clients never referred are not touched. Safe while the server runs.
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "Erase clients whose every referral ended (ended, cancelled, rejected) before this day, YYYY-MM-DD.")
        var endedBefore: String

        func run() async throws {
            do {
                let day: CalendarDate
                do throws(FieldError) { day = try CalendarDate(iso: endedBefore, field: "ended-before") } catch { throw KasvuError.validationFailed([error]) }
                let count = try await store.withStore { try await $0.purge(endedBefore: day) }
                print("Erased \(count) clients whose referrals all ended before \(day); replicas erase them at their next sync.")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Scrub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite the store's files now if an erasure left old copies of erased values in them.",
            discussion: """
                On SQLite the server does this itself right after it answers each erasing sync (VACUUM, then an \
                emptied write-ahead log); this command waits for a scrub the server is running. On PostgreSQL \
                it rewrites the store's tables (VACUUM FULL, which locks each table while it runs) and ends and \
                checkpoints the write-ahead log; `kasvu central serve` does it every hour when an erasure owes it \
                (README, "Erasure on PostgreSQL"). Does nothing when nothing is owed. Safe while the server runs.
                """
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            do {
                let scrubbed = try await store.withStore { try await $0.scrubErasedBytes() }
                print(scrubbed ? "Scrubbed: no old copy of an erased value is left in the store's files." : "Nothing to scrub (or a scrub is running elsewhere).")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Leases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn offline capacity leases on or off, or show whether they are on.",
            discussion: """
                With leases on, every office replica is granted, at each sync, a share of each provider's free places \
                that it may fill offline: a referral made there is active at once (README, "Offline capacity leases"). \
                Off by default. Turning them off grants no more; places already leased stay reserved until the \
                offices return them. Takes effect at the next sync, on every server of the store.
                """
        )

        enum Setting: String, ExpressibleByArgument, CaseIterable { case on, off }

        @OptionGroup var store: StoreOptions

        @Argument(help: "on or off; absent: show the setting.")
        var setting: Setting?

        func run() async throws {
            do {
                let on = try await store.withStore { opened in
                    if let setting { try await opened.setCapacityLeases(setting == .on) }
                    return try await opened.grantsCapacityLeases()
                }
                print(on ? "Capacity leases are on: offices may fill leased places offline." : "Capacity leases are off.")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct CollectTombstones: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the tombstones of deleted clients that every replica in use has pulled.",
            discussion: """
                A tombstone with no conflict and nothing referring to it (no referral, contact, hours or event) goes \
                once every replica that pushed everything it had (settled) within --inactive-after-days has pulled past \
                it; replicas drop theirs as their next pull passes it. A replica away for longer pulls everything again \
                when it returns. `kasvu central serve` runs this every hour with the same default. Safe while the server runs.
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "Days after it last pushed everything it had that a replica no longer holds back collection.")
        var inactiveAfterDays: Int = SQLCentralStore.defaultInactiveAfterDays

        func run() async throws {
            guard inactiveAfterDays >= 0 else { throw ValidationError("--inactive-after-days must not be negative") }
            do {
                let run = try await store.withStore { try await $0.collectTombstones(inactiveAfterDays: inactiveAfterDays) }
                print("Collected \(run.collected) tombstones up to sequence number \(run.reach); \(run.retired) collected earlier are now forgotten (horizon \(run.horizon)).")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of the central store to a new file, while the server runs.",
            discussion: """
                The copy is one snapshot (SQLite VACUUM INTO; of a PostgreSQL store, an SQLite file of the same form \
                from one REPEATABLE READ snapshot), readable by its owner only, and begins a new incarnation \
                of the store: should it ever be restored, every replica notices at its next sync, pulls everything again \
                and sends back what the store lost since the backup (README, "Backup and restore").
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The backup file to create (must not exist).")
        var to: String

        func run() async throws {
            do {
                try await store.withStore { try await $0.backup(to: to) }
                print("Backed up \(store.location) to \(to).")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a backup in place of the central store (stop the server first).",
            discussion: """
                Replaces --db (and its -wal and -shm files) with the backup, or everything the --store database holds \
                (in one transaction; stop every server on it first), as a new incarnation. Replicas notice at their next \
                sync: each pulls everything again and pushes its writes the restored store lacks, so every write that had \
                been acknowledged comes back once every replica has synced.
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The backup made with kasvu central backup (from either kind of store).")
        var from: String

        func run() async throws {
            do {
                if let db = store.db {
                    try await SQLCentralStore.restore(from: from, to: db)
                } else {
                    try await store.withStore { try await SQLCentralStore.restore(from: from, into: $0) }
                }
                print("Restored \(store.location) from \(from); replicas re-sync at their next sync.")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct BeginIncarnation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tell every replica that the store was put back from a backup by other means.",
            discussion: """
                After a restore that `kasvu central restore` did not do (pg_restore, point-in-time recovery, a copied \
                file), run this before any server serves from the store: it begins a new incarnation, so every replica \
                re-syncs once and sends back what the store lost since its backup (README, "Backup and restore"). \
                Without it, replicas trust acknowledgements the restored store no longer holds.
                """
        )

        @OptionGroup var store: StoreOptions

        func run() async throws {
            do {
                try await store.withStore { try await $0.beginIncarnation() }
                print("Began a new incarnation of \(store.location); every replica re-syncs at its next sync.")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a central store from its SQLite file into an empty PostgreSQL database.",
            discussion: """
                Stop the server on the SQLite file first. Copies replicas and token hashes, records, the sequence, the dot \
                registry, deliveries, collected tombstones and the audit trail in one transaction, then compares every \
                table's row count and digest on both sides before it commits: the target is either the whole store or \
                untouched. A target that already holds a store is refused. Replicas keep their tokens and carry on; \
                point them (or the load balancer) at the servers on the new database.
                """
        )

        @Option(help: "The central store's SQLite file.")
        var from: String

        @Option(help: ArgumentHelp("The PostgreSQL database to copy into: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (empty).", valueName: "url"))
        var to: String

        func run() async throws {
            guard FileManager.default.fileExists(atPath: from) else { throw ValidationError("--from: no file at \(from)") }
            let url: PostgresURL
            do { url = try PostgresURL(to) } catch { throw ValidationError("--to: \(error)") }
            do {
                let source = try SQLCentralStore(path: from)
                let database = PostgresDatabase(url: url, maxConnections: 1)
                do {
                    let target = try await SQLCentralStore(database: database)
                    let report = try await StoreCopy.copy(from: source, to: target)
                    for table in report.tables { print("\(table.name): \(table.rows) rows, digest \(table.digest)") }
                    print("Copied \(from) to \(url.redacted); counts and digests match.")
                } catch {
                    await database.close()
                    throw error
                }
                await database.close()
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Give a replica a new token; the old one stops working at once.",
            discussion: "The new token is printed alone on the last line, once. Put it on the replica with `kasvu init`'s token file (DB.token) or KASVU_TOKEN."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The replica's id.")
        var id: String

        func run() async throws {
            do {
                let token = try await store.withStore { try await $0.rotateToken(id: id) }
                print("New token for replica \(id), shown only now:")
                print(token)
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct RevokeReplica: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-replica", abstract: "Revoke a replica's token: its next sync gets 401.")

        @OptionGroup var store: StoreOptions

        @Option(help: "The replica's id.")
        var id: String

        func run() async throws {
            do {
                try await store.withStore { try await $0.revokeReplica(id: id) }
                print("Revoked replica \(id).")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Replicas: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the replicas not revoked, the stalest first: last sync, last failure and its kind, version, pending changes, records held.",
            discussion: "A replica whose last sync (or registration, if it never synced) is --stale-after-days or more days ago is marked stale; the command exits 0 either way."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "table (for people) or json (one object per replica, every key present).")
        var format: ListFormat = .table

        @Option(help: "Days without a sync after which a replica is marked stale.")
        var staleAfterDays: Int = 7

        enum ListFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

        func validate() throws {
            guard staleAfterDays > 0 else { throw ValidationError("--stale-after-days must be positive") }
        }

        func run() async throws {
            let replicas: [ReplicaHealth]
            do { replicas = try await store.withStore { try await $0.replicaHealth() } } catch let error as KasvuError { throw CLIError(error) }
            switch format {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(replicas), as: UTF8.self))
            case .table:
                let now = Date()
                let rows = [["replica", "role", "last sync", "days", "last failure", "error", "version", "pending", "records", ""]] + replicas.map {
                    let days = $0.daysSinceSync(now: now), schema = $0.schemaVersion.map { " (schema \($0))" } ?? ""
                    return [$0.id, $0.role.rawValue, $0.lastSyncAt ?? "never", String(days), $0.lastFailureAt ?? "-", $0.lastErrorKind ?? "-",
                            ($0.version ?? "-") + schema, $0.pendingChanges.map(String.init) ?? "-", String($0.recordsInScope),
                            days >= staleAfterDays ? "STALE" : ""]
                }
                let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
                for row in rows {
                    print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
                }
            }
        }
    }
}
