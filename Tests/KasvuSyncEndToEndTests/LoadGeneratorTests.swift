import Foundation
import KasvuReplica
import KasvuTestSupport
import Testing

/// The load generator of `Tools/bench` (issue 17) still does what its rows claim: it starts a
/// real `kasvu central serve`, its replicas sync over HTTP, and every change reaches the store.
@Suite("Load generator")
struct LoadGeneratorTests {
    @Test func itsReplicasSyncEveryChangeToARealCentralServer() async throws {
        let directory = try TemporaryDirectory()
        let load = URL(fileURLWithPath: KasvuBinary.path).deletingLastPathComponent().appendingPathComponent("kasvu-load").path
        let run = try Program.run(load, ["--replicas", "1,3", "--interval", "0.5", "--duration", "1.5",
                                         "--work", directory.path("load"), "--json", directory.path("load.json")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("| replicas (a change every 0.5 s) |"))
        let levels = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path("load.json")))) as? [[String: Any]])
        #expect(levels.map { $0["replicas"] as? Int } == [1, 3])
        for level in levels {
            #expect((level["syncs"] as? Int ?? 0) > 0 && (level["failures"] as? [String: Int]) == [:], "\(level)")
        }

        // The central store heard from each replica, and no replica owes it a change.
        let listed = try KasvuBinary.run(["central", "replicas", "--db", directory.path("load/central.sqlite"), "--format", "json"])
        let replicas = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(replicas.compactMap { $0["id"] as? String }.sorted() == ["load-0", "load-1", "load-2"])
        for replica in replicas {
            #expect(replica["lastSyncAt"] is String && replica["recordsInScope"] as? Int == 1, "\(replica)")
        }
        for index in 0..<3 {
            #expect(try await Replica.open(at: directory.path("load/replica-\(index).sqlite")).info().pendingChanges == 0)
        }
    }
}
