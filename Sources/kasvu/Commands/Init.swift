import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica
import KasvuRPC

extension Durability: ExpressibleByArgument {}
extension ReplicaRole: ExpressibleByArgument {}

/// Options shared by every command that opens a replica.
struct ReplicaOptions: ParsableArguments {
    @Option(name: .long, help: "Path of the replica's SQLite file.")
    var db: String

    @Option(help: "full: every acknowledged write survives kill -9 and power loss (default). normal: survives kill -9; the last writes before a power loss may be lost.")
    var durability: Durability = .full

    /// Opens the replica for a command that does what the JSON-RPC method `method` does, under the
    /// same role rule (a provider replica may not print the central office's reports).
    func openAuthorized(for method: String) throws -> Replica {
        let opened = try Replica.open(at: db, durability: durability)
        try ReplicaMethods.authorize(method, role: opened.role)
        return opened
    }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a new replica database with a fresh actor id.",
        discussion: "Prints the new replica's identity as JSON. A path is initialised once; re-running fails without touching it."
    )

    @OptionGroup var replica: ReplicaOptions

    @Option(name: .customLong("replica-id"), help: "Name under which the central store knows this replica, e.g. siilinjarvi-office-1.")
    var replicaID: String

    @Option(help: "What the replica is for: admin (central office), office (TE office) or provider.")
    var role: ReplicaRole = .office

    @Option(help: "Base URL of the central server, e.g. https://kasvu.example.fi.")
    var central: String?

    @Option(help: "Bearer token from `kasvu central add-replica` (or set KASVU_TOKEN). Stored in DB.token, readable by its owner only.")
    var token: String?

    func run() async throws {
        do {
            let token = self.token ?? ProcessInfo.processInfo.environment["KASVU_TOKEN"]
            if token != nil && central == nil { throw ValidationError("--token needs --central URL") }
            let created = try Replica.create(at: replica.db, replicaID: replicaID, role: role, centralURL: central,
                                             durability: replica.durability)
            if let token { try created.saveToken(token) }
            let info = try await created.info()
            print(#"{"replicaId":"\#(info.replicaID)","actor":"\#(info.actor)","role":"\#(info.role.rawValue)","schemaVersion":\#(info.schemaVersion)}"#)
        } catch let error as KasvuError {
            throw CLIError(error)
        }
    }
}

/// A domain error shown on the command line as `error: kind: message` with a non-zero status.
struct CLIError: Error, CustomStringConvertible {
    let error: KasvuError
    init(_ error: KasvuError) { self.error = error }
    var description: String { "\(error.kind.rawValue): \(error.message)" }
}
