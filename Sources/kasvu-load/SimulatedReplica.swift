import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import Synchronization

/// One office laptop of the load: a real replica file, its own libcurl connection (kept alive,
/// as `kasvu rpc` keeps it between syncs), and the one client whose phone number it changes.
struct SimulatedReplica: Sendable {
    let replica: Replica
    let client: SyncClient
    let clientID: String

    static func create(index: Int, folder: String, municipality: String, centralURL: String, token: String,
                       recorder: Recorder) async throws -> SimulatedReplica {
        let replica = try Replica.create(at: "\(folder)/replica-\(index).sqlite", replicaID: "load-\(index)", role: .office,
                                         centralURL: centralURL, durability: .normal)
        let record = try await replica.create(.client, fields: [
            "clientType": .string("person"), "hetu": .string(syntheticHetu(index)),
            "firstName": .string("Etunimi\(index)"), "lastName": .string("Sukunimi\(index)"),
            "municipality": .string(municipality), "phone": .string("040 123 4567"), "language": .string("fi"),
        ])
        let transport = TimedTransport(inner: try CurlSyncTransport(centralURL: centralURL, token: token), recorder: recorder)
        return SimulatedReplica(replica: replica, client: SyncClient(replica: replica, transport: transport), clientID: record.id)
    }

    /// One change and one sync.
    func changeAndSync(_ round: Int) async throws -> SyncSummary {
        _ = try await replica.update(.client, id: clientID, set: ["phone": .string("040 \(100 + round % 900) \(1000 + round % 9000)")])
        return try await client.run(timeout: .seconds(SyncClient.defaultTimeoutSeconds))
    }

    /// Every replica's first sync, eight at a time: each pushes its client.
    static func firstSyncs(_ fleet: [SimulatedReplica]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, member) in fleet.enumerated() {
                if index >= 8 { try await group.next() }
                group.addTask { _ = try await member.client.run(timeout: .seconds(SyncClient.defaultTimeoutSeconds)) }
            }
            try await group.waitForAll()
        }
    }

    /// A valid synthetic henkilötunnus, distinct for each index below 28 × 12 × 700 (as `Tools/bench.py`).
    static func syntheticHetu(_ n: Int) -> String {
        let day = 1 + n % 28, month = 1 + (n / 28) % 12, individual = 100 + (n / 336) % 700
        let date = String(format: "%02d%02d%02d", day, month, 0)
        let check = Array("0123456789ABCDEFHJKLMNPRSTUVWXY")[(Int(date + String(individual)) ?? 0) % 31]
        return "\(date)-\(individual)\(check)"
    }
}

/// A sync transport that times each round trip of the one it wraps.
struct TimedTransport: SyncTransport {
    let inner: CurlSyncTransport
    let recorder: Recorder

    func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        let start = ContinuousClock.now
        defer { recorder.roundTrip(ContinuousClock.now - start) }
        return try await inner.exchange(request)
    }
}

/// What one level measured, collected from every replica's task.
final class Recorder: Sendable {
    struct Totals {
        var roundTrips: [Duration] = []
        var syncs: [Duration] = []
        var pulled = 0
        var failures: [String: Int] = [:]
    }

    private let totals = Mutex(Totals())

    func roundTrip(_ duration: Duration) { totals.withLock { $0.roundTrips.append(duration) } }
    func synced(_ duration: Duration, pulled: Int) { totals.withLock { $0.syncs.append(duration); $0.pulled += pulled } }
    func failed(_ kind: String) { totals.withLock { $0.failures[kind, default: 0] += 1 } }

    /// What was recorded since the last call.
    func take() -> Totals { totals.withLock { totals in defer { totals = Totals() }; return totals } }
}
