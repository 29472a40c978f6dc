import ArgumentParser
import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync a replica with its central store: push local writes, pull everything new.",
        discussion: "Loops until nothing is left either way. Shows a progress bar on a terminal and plain lines otherwise. Safe to interrupt at any point: the next run resumes."
    )

    @OptionGroup var replica: ReplicaOptions

    @Option(help: "CA certificate file for verifying the central server's TLS certificate.")
    var cacert: String?

    @Option(help: "Records per round trip each way (the push batch halves automatically when the server says 413).")
    var batchSize: Int = SyncClient.defaultBatchSize

    @Flag(help: "Allow plain http:// to a host other than loopback (testing only: tokens and personal data travel unencrypted).")
    var allowInsecureHTTP = false

    @Option(help: "Give up with sync_timeout when no round trip completes within this many seconds (a long sync that keeps progressing is never cut).")
    var timeout: Int = SyncClient.defaultTimeoutSeconds

    func validate() throws {
        guard (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be 1–86400 seconds") }
    }

    func run() async throws {
        do {
            let opened = try Replica.open(at: replica.db, durability: replica.durability)
            let connection = Connection(cacert: cacert, allowInsecureHTTP: allowInsecureHTTP)
            let summary = try await SyncRunner.client(opened, connection, batchSize: batchSize).run(timeout: .seconds(timeout)) { progress in
                SyncRunner.show(progress)
            }
            if isatty(STDOUT_FILENO) == 1 { print("") }
            print("sync done: pushed \(summary.pushed), pulled \(summary.pulled), evicted \(summary.evicted), rejected \(summary.rejections.count), \(summary.roundTrips) round trips")
            for rejection in summary.rejections {
                print("rejected \(rejection.entity) \(rejection.id): \(rejection.kind): \(rejection.message)")
            }
        } catch let error as KasvuError {
            throw CLIError(error)
        }
    }
}

/// Builds the transport from the replica's stored credentials and runs one sync.
enum SyncRunner {
    /// - Parameter userName: who works on the replica, recorded in the central audit trail.
    static func client(_ replica: Replica, _ connection: Connection, batchSize: Int,
                       userName: String? = ProcessInfo.processInfo.environment["USER"]) async throws -> SyncClient {
        SyncClient(replica: replica, transport: try await transport(replica, connection), batchSize: batchSize, pullLimit: batchSize, userName: userName)
    }

    /// The libcurl transport to the replica's central store, with its stored credentials.
    static func transport(_ replica: Replica, _ connection: Connection) async throws -> CurlSyncTransport {
        let info = try await replica.info()
        guard let central = info.centralURL else {
            throw KasvuError(.syncUnreachable, "replica has no central URL; initialise it with --central URL --token TOKEN")
        }
        guard let token = ProcessInfo.processInfo.environment["KASVU_TOKEN"] ?? replica.loadToken() else {
            throw KasvuError(.syncUnauthorized, "no token: put it in \(replica.tokenPath) with kasvu init --token, or set KASVU_TOKEN")
        }
        var options = HTTPClientOptions()
        options.caCertificatePath = connection.cacert
        options.allowInsecureHTTP = connection.allowInsecureHTTP
        return try CurlSyncTransport(centralURL: central, token: token, options: options)
    }

    static func show(_ progress: SyncProgress) {
        let line = "\(progress.phase.rawValue): pushed \(progress.pushed), pulled \(progress.pulled)"
            + (progress.pendingPush.map { ", \($0) waiting" } ?? "")
        if isatty(STDOUT_FILENO) == 1 {
            let total = progress.pushed + (progress.pendingPush ?? 0)
            let filled = total == 0 ? 30 : 30 * progress.pushed / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            FileHandle.standardOutput.write(Data("\r[\(bar)] \(line)".utf8))
        } else {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
}

/// How to reach the central server, from the command line.
struct Connection: Sendable {
    var cacert: String?
    var allowInsecureHTTP = false
}
