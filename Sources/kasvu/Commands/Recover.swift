import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync

struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a replica the central store refused as rewound, without losing local work.",
        discussion: """
            When `kasvu sync` answers replica_rewound (the database was restored from a backup, or copied to a \
            second laptop, and wrote before syncing), run this on that database, then sync. The replica gets a new \
            actor id; every write the central store does not hold is stamped again under it and pushed by the next \
            sync. It first asks the central store which of the database's writes it holds (GET /v1/writes): those \
            keep their numbers, so nothing the store holds comes back beside itself. Writes the other copy made \
            merge in beside the restamped ones; where both changed the same field, the conflict is shown \
            (`conflict/list`), never dropped. With --offline it asks nothing and stamps again every write the \
            replica has no acknowledgement of (values the store already holds may then show twice).
            """
    )

    @OptionGroup var replica: ReplicaOptions

    @Flag(help: "Do not ask the central store which writes it holds (when it cannot be reached).")
    var offline = false

    @Option(help: "CA certificate file for verifying the central server's TLS certificate.")
    var cacert: String?

    @Flag(help: "Allow plain http:// to a host other than loopback (testing only).")
    var allowInsecureHTTP = false

    func run() async throws {
        let summary: RecoverySummary
        do {
            var held: [UInt64: HLC] = [:]
            if !offline {
                let point = try Replica.recoveryPoint(at: replica.db)
                let opened = try Replica.open(at: replica.db, durability: replica.durability)
                let transport = try await SyncRunner.transport(opened, Connection(cacert: cacert, allowInsecureHTTP: allowInsecureHTTP))
                held = try await transport.heldWrites(of: point.actor, after: point.acknowledged)
            }
            summary = try Replica.recover(at: replica.db, durability: replica.durability, held: held)
        } catch let error as KasvuError {
            throw CLIError(error)
        }
        print("recovered: actor \(summary.formerActor) → \(summary.actor); writes up to \(summary.claimed) are known to the central store; \(summary.restamped) records stamped again; sync now")
    }
}
