import ArgumentParser
import Foundation
import KasvuCentral
import KasvuDomain
import Logging

struct Central: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run and administer the central store.",
        subcommands: [Serve.self, AddReplica.self, RevokeReplica.self]
    )

    struct StoreOptions: ParsableArguments {
        @Option(help: "Path of the central store's SQLite file (created if absent).")
        var db: String

        func open() throws -> SQLiteCentralStore {
            do { return try SQLiteCentralStore(path: db) } catch let error as KasvuError { throw CLIError(error) }
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve POST /v1/sync, GET /healthz and GET /metrics over HTTP.",
            discussion: "Prints `listening on http://HOST:PORT` once ready (port 0 picks a free port). Shuts down gracefully on SIGTERM or SIGINT."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "Address to listen on, HOST:PORT.")
        var listen: String = "127.0.0.1:8080"

        @Option(help: "Largest accepted request body in bytes.")
        var maxBodyBytes: Int = 32 << 20

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
            let app = CentralServer.application(store: try store.open(), host: host, port: port, limits: limits, logger: logger) { port in
                // Unbuffered: scripts and tests wait for this line to learn the port.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            }
            try await app.runService()
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
        var role: String

        func run() async throws {
            guard ["admin", "office", "provider"].contains(role) else { throw ValidationError("--role must be admin, office or provider") }
            do {
                let token = try await store.open().addReplica(id: id, role: role)
                print("Registered replica \(id) (\(role)). Its token, shown only now:")
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
                try await store.open().revokeReplica(id: id)
                print("Revoked replica \(id).")
            } catch let error as KasvuError { throw CLIError(error) }
        }
    }
}
