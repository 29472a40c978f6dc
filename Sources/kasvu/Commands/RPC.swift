import Foundation
import ArgumentParser
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuRPC
import Logging

struct RPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve JSON-RPC 2.0 for one replica on stdin/stdout.",
        discussion: """
            Reads LSP framing (Content-Length: N, blank line, body) and newline-delimited JSON, and \
            answers each message in the framing it came in. Logs go to stderr. Exits at end of input \
            after answering every request. `rpc.discover` returns the OpenRPC catalogue.
            """
    )

    @OptionGroup var replica: ReplicaOptions

    @Option(help: "Who works on this replica, kept with risk-group confirmations (default: $USER).")
    var user: String?

    @Option(help: "CA certificate file for verifying the central server's TLS certificate (for sync/run).")
    var cacert: String?

    @Flag(help: "Allow plain http:// to a host other than loopback for sync/run (testing only).")
    var allowInsecureHTTP = false

    @Option(help: "Log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func run() async throws {
        // A client that goes away must end the server with EOF handling, not kill it mid-write.
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "kasvu.rpc")
        logger.logLevel = logLevel
        // Group commit: at full durability, requests committed one after another without a sync
        // each are answered after one sync of the write-ahead log, which makes them as durable
        // as `synchronous = FULL` makes each commit; no answer is written before it.
        let groupCommit = replica.durability == .full
        let opened: Replica
        do { opened = try Replica.open(at: replica.db, durability: groupCommit ? .normal : replica.durability) } catch let error as KasvuError {
            throw CLIError(error)
        }
        let connection = Connection(cacert: cacert, allowInsecureHTTP: allowInsecureHTTP)
        let userName = user ?? ProcessInfo.processInfo.environment["USER"] ?? "unknown"
        let makeSyncClient: @Sendable () async throws -> SyncClient = {
            // What a sync pushes is durable first: the central store keeps the counters it saw,
            // and a replica that lost writes it had pushed would be refused as rewound.
            if groupCommit { try await opened.syncWriteAheadLog() }
            return try await SyncRunner.client(opened, connection, batchSize: SyncClient.defaultBatchSize, userName: userName)
        }
        let durable = opened
        let barrier: (@Sendable () async throws -> Void)? = groupCommit ? { @Sendable in try await durable.syncWriteAheadLog() } : nil
        let server = JSONRPCServer(input: 0, output: 1, dispatcher: ReplicaMethods.dispatcher(
            for: opened, userName: userName, makeSyncClient: makeSyncClient,
            auditTrail: { entity, id in try await SyncRunner.transport(opened, connection).auditTrail(entity: entity, id: id) }),
                                   logger: logger, errorMapper: ReplicaMethods.responseError,
                                   commitBarrier: barrier)
        logger.info("serving replica", metadata: ["db": .string(replica.db)])
        await server.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
