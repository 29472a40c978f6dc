import Foundation
import GRDB
import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync
import Synchronization

/// Simulated wall-clock time shared by the central store and the replicas, so that HLC
/// stamps (and so conflict winners) do not depend on how fast the machine runs.
final class SimulatedTime: Sendable {
    private let millis = Mutex<UInt64>(1_800_000_000_000)

    func advance(by delta: UInt64) { millis.withLock { $0 += delta } }

    var now: @Sendable () -> UInt64 { { [self] in millis.withLock { $0 } } }

    /// A replica's clock: the simulated time plus its skew.
    func clock(_ skew: ClockSkew) -> @Sendable () -> UInt64 {
        { [self] in UInt64(max(0, Int64(millis.withLock { $0 }) + skew.value)) }
    }
}

/// A replica's clock error, changed by the simulation at random.
final class ClockSkew: Sendable {
    private let millis: Mutex<Int64>
    init(_ value: Int64) { millis = Mutex(value) }
    var value: Int64 { millis.withLock { $0 } }
    func set(_ value: Int64) { millis.withLock { $0 = value } }
}

struct SimulatedReplica {
    var replica: Replica
    let token: String
    /// Changes when the laptop is restored from a backup (the restored copy is a new file).
    var path: String
    let skew: ClockSkew
    let scope: ReplicaScope
    /// The laptop's last backup: its file.
    var backup: String?
}

/// The current central store instance; a restart replaces it with a fresh one on the same file.
final class CentralHandle: Sendable {
    private let store: Mutex<SQLCentralStore>
    init(_ store: SQLCentralStore) { self.store = Mutex(store) }
    var current: SQLCentralStore { store.withLock { $0 } }
    func replace(with fresh: SQLCentralStore) { store.withLock { $0 = fresh } }
}

/// Which fault strikes a round trip, decided from the seed.
final class FaultPlan: Sendable {
    enum Fault { case none, dropRequest, loseResponse, duplicate }
    private let state: Mutex<(random: SplitMix64, dropped: Int, lost: Int, duplicated: Int)>

    init(seed: UInt64) { state = Mutex((SplitMix64(seed: seed ^ 0xFA17), 0, 0, 0)) }

    func next() -> Fault {
        state.withLock { state in
            switch Int.random(in: 0..<10, using: &state.random) {
            case 0: state.dropped += 1; return .dropRequest
            case 1: state.lost += 1; return .loseResponse
            case 2: state.duplicated += 1; return .duplicate
            default: return .none
            }
        }
    }

    var counts: (dropped: Int, lost: Int, duplicated: Int) { state.withLock { ($0.dropped, $0.lost, $0.duplicated) } }
}

/// Calls the real central store in process, through the same authentication and request
/// decoding as the HTTP server, with injected faults.
struct InProcessTransport: SyncTransport {
    let store: CentralHandle
    let token: String
    let faults: FaultPlan?

    func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        let fault = faults?.next() ?? .none
        if fault == .dropRequest { throw KasvuError(.syncUnreachable, "simulated: request dropped") }
        let central = store.current
        guard let replica = try await central.authenticate(token: token) else { throw KasvuError(.syncUnauthorized, "simulated: bad token") }
        // The wire: encode and decode, as over HTTP.
        let decoded = try CentralSyncRequest(json: request.jsonBytes)
        var response = try await central.sync(decoded, from: replica)
        switch fault {
        case .loseResponse: throw KasvuError(.syncUnreachable, "simulated: response lost after commit")
        case .duplicate: response = try await central.sync(decoded, from: replica)
        default: break
        }
        return try SyncResponse(json: response.jsonBytes)
    }
}

/// Read-only looks into the central store's file, independent of its code.
/// Reads of the central store's file, read-only, for the simulation's checks.
enum CentralInspection {
    private static func read<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read(body)
    }

    /// Every replica write the store holds (its dot registry): dot → HLC.
    static func dots(_ path: String) throws -> [Dot: HLC] {
        try read(path) { db in
            var dots: [Dot: HLC] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT actor, counter, hlc FROM dot") {
                dots[Dot(ActorID(rawValue: row["actor"]), UInt64(row["counter"] as Int64))] = HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64))
            }
            return dots
        }
    }

    /// The record's state at the central store, nil when it holds none.
    static func state(_ path: String, _ kind: EntityKind, _ id: String) throws -> RecordState? {
        try read(path) { db in
            try String.fetchOne(db, sql: "SELECT state FROM record WHERE entity = ? AND id = ?", arguments: [kind.rawValue, id]).map { try RecordState(json: $0.utf8) }
        }
    }

    /// Dots that stand for two different writes in the store: entries of one dot with different
    /// timestamps, in any records, or another timestamp than the dot registry's.
    static func reusedDots(_ path: String) throws -> [Dot] {
        var seen = try dots(path)
        var reused: Set<Dot> = []
        for text in try read(path, { db in try String.fetchAll(db, sql: "SELECT state FROM record") }) {
            for entry in try RecordState(json: text.utf8).fields.values.joined() {
                if let hlc = seen[entry.dot], hlc != entry.hlc { reused.insert(entry.dot) }
                seen[entry.dot] = seen[entry.dot] ?? entry.hlc
            }
        }
        return reused.sorted()
    }

    /// The ids of the records whose tombstones the store collected.
    static func collected(_ path: String) throws -> Set<String> {
        try read(path) { db in Set(try String.fetchAll(db, sql: "SELECT id FROM collected")) }
    }

    /// Places the store's live capacity leases reserve for `provider` and have not spent.
    static func reservedPlaces(_ path: String, provider: String) throws -> Int {
        try read(path) { db in
            try Int.fetchOne(db, sql: "SELECT coalesce(sum(places - spent), 0) FROM capacity_lease WHERE provider_id = ?", arguments: [provider]) ?? 0
        }
    }

    /// Every live capacity lease's expiry and whether places of it are unspent, by id.
    static func leaseExpiries(_ path: String) throws -> [String: (expiresAt: UInt64, unspent: Bool)] {
        try read(path) { db in
            try Row.fetchAll(db, sql: "SELECT id, expires_at, spent < places AS unspent FROM capacity_lease").reduce(into: [:]) {
                $0[$1["id"]] = (UInt64($1["expires_at"] as Int64), $1["unspent"] as Bool)
            }
        }
    }

    /// The state of every referral made under a capacity lease, by id.
    static func leasedReferralStates(_ path: String) throws -> [String: String] {
        try read(path) { db in
            try Row.fetchAll(db, sql: """
                SELECT id, json_extract(state, '$.f.state[0][0]') AS state FROM record
                WHERE entity = 'referral' AND json_extract(state, '$.f.leaseId[0][0]') IS NOT NULL
                """).reduce(into: [:]) { $0[$1["id"]] = ($1["state"] as String?) ?? "" }
        }
    }

    static func activeReferrals(_ path: String, provider: String) throws -> Int {
        try read(path) { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM record WHERE entity = 'referral'
                AND json_extract(state, '$.f.providerId[0][0]') = ? AND json_extract(state, '$.f.state[0][0]') = 'active'
                AND coalesce(json_extract(state, '$.f.deleted[0][0]'), 0) = 0
                """, arguments: [provider]) ?? 0
        }
    }
}

/// What each replica has held of each record at some point, noted after each of its syncs. A
/// re-sync after a central restore narrows a replica's vector to what the restored store holds
/// (`RecordState.rebased`), yet the replica's later writes still supersede what it had seen:
/// it wrote those values again, or deleted the record it had held whole. A logged write has seen
/// what its replica's vector covers and what the replica held before (central-restore schedules;
/// a laptop restored from a backup forgets what it held, so those schedules do not use this).
final class Sightings {
    private var seen: [String: VersionVector] = [:]

    func note(_ slot: Int, _ records: [RecordEnvelope]) {
        for envelope in records {
            let key = "\(slot)/\(envelope.entity.rawValue)/\(envelope.id)"
            seen[key] = (seen[key] ?? VersionVector()).merged(with: envelope.state.vv)
        }
    }

    func seen(_ slot: Int, _ kind: EntityKind, _ id: String) -> VersionVector? { seen["\(slot)/\(kind.rawValue)/\(id)"] }
}
