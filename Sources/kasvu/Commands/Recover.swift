import ArgumentParser
import Foundation
import KasvuDomain
import KasvuReplica

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a replica the central store refused as rewound, without losing local work.",
        discussion: """
            When `kasvu sync` answers replica_rewound (the database was restored from a backup, or copied to a \
            second laptop, and wrote before syncing), run this on that database, offline, then sync. The replica \
            gets a new actor id; every write the central store has not acknowledged is stamped again under it and \
            pushed by the next sync. Writes the other copy made merge in beside them; where both changed the same \
            field, the conflict is shown (`conflict/list`), never dropped.
            """
    )

    @OptionGroup var replica: ReplicaOptions

    func run() throws {
        let summary: RecoverySummary
        do { summary = try Replica.recover(at: replica.db, durability: replica.durability) } catch let error as KasvuError {
            throw CLIError(error)
        }
        print("recovered: actor \(summary.formerActor) → \(summary.actor); \(summary.restamped) records stamped again; sync now")
    }
}
