import Foundation
import KasvuDomain

/// The body of `POST /v1/sync`: one round trip pushes a batch and asks for a pull batch.
///
/// Retrying a request is always safe: pushed states merge idempotently and the pull restarts
/// from `header.cursor`.
public struct SyncRequest: Sendable, Hashable {
    public var header: SyncHeader
    /// Whole record states with local writes not yet acknowledged.
    public var push: [RecordEnvelope]
    /// Records this replica holds back after a central restore, waiting for writes of others
    /// the store lost (`KasvuReplica/Resync.swift`). The store answers an eviction for each one
    /// it collected meanwhile, since no pull will ever bring those back.
    public var waiting: [RecordKey]

    public init(header: SyncHeader, push: [RecordEnvelope], waiting: [RecordKey] = []) {
        self.header = header
        self.push = push
        self.waiting = waiting
    }
}

/// Who is syncing and from where: everything in a ``SyncRequest`` but the pushed records.
public struct SyncHeader: Sendable, Hashable {
    /// The replica's schema version; an incompatible central store answers `schema_mismatch`.
    public var schemaVersion: Int
    public var replicaID: String
    public var actor: ActorID
    /// The replica's current write counter. The central store refuses a replica whose counter
    /// went below what it has already seen (a database restored from a backup).
    public var actorCounter: UInt64
    /// The replica's HLC now; refused when more than the allowed skew ahead of the central clock.
    public var clock: HLC
    /// The pull cursor: the highest central sequence number already merged.
    public var cursor: Int64
    public var pullLimit: Int
    /// Who is working on the replica (for the audit trail).
    public var userName: String?
    /// How many records hold local writes that neither this request nor an earlier one pushed
    /// (nil: not said). Zero means the push carries everything written before the header's
    /// cursor was pulled: only then does the central store count that cursor towards the
    /// tombstone horizon (`KasvuCentral/TombstoneCollection.swift`).
    public var unpushed: Int?
    /// The central store's incarnation this replica last synced with (nil: none yet). A store
    /// restored from a backup since merges nothing from this request: what the replica pushes
    /// was built on a history the store lost, so the answer only names the new incarnation, and
    /// the replica re-syncs before it pushes again (`KasvuReplica/Resync.swift`).
    public var incarnation: String?
    /// The replica's release (``KasvuRelease/version``), for the central office's list of
    /// replicas (`kasvu central replicas`); nil: not said.
    public var appVersion: String?
    /// An office replica that can spend capacity leases asks for them (``SyncResponse/leases``).
    public var leasesWanted: Bool
    /// Leases the replica gives back: it spends no more places of them, and every referral it
    /// activated under them is in this request's push or an earlier one.
    public var leasesReturned: [String]

    public init(schemaVersion: Int, replicaID: String, actor: ActorID, actorCounter: UInt64, clock: HLC, cursor: Int64,
                pullLimit: Int, userName: String? = nil, unpushed: Int? = nil, incarnation: String? = nil, appVersion: String? = nil,
                leasesWanted: Bool = false, leasesReturned: [String] = []) {
        self.schemaVersion = schemaVersion
        self.replicaID = replicaID
        self.actor = actor
        self.actorCounter = actorCounter
        self.clock = clock
        self.cursor = cursor
        self.pullLimit = pullLimit
        self.userName = userName
        self.unpushed = unpushed
        self.incarnation = incarnation
        self.appVersion = appVersion
        self.leasesWanted = leasesWanted
        self.leasesReturned = leasesReturned
    }
}

/// A pushed record the central store did not merge, and why. The rest of the batch landed.
public struct SyncRejection: Sendable, Hashable {
    /// The message of a push refused because the record, as the central store would hold it,
    /// is outside the pushing replica's scope. A restored replica's client refused so, and
    /// evicted, is held by the store where this replica may not see it.
    public static let outsideScope = "the record is outside this replica's scope"

    public var entity: String
    public var id: String
    public var code: Int
    public var kind: String
    public var message: String

    public init(entity: String, id: String, error: KasvuError) {
        self.init(entity: entity, id: id, code: error.code, kind: error.kind.rawValue, message: error.message)
    }

    public init(entity: String, id: String, code: Int, kind: String, message: String) {
        self.entity = entity
        self.id = id
        self.code = code
        self.kind = kind
        self.message = message
    }
}

/// The answer to a ``SyncRequest``.
public struct SyncResponse: Sendable, Hashable {
    public var schemaVersion: Int
    /// How many pushed records were merged (every pushed record not in `rejections`).
    public var accepted: Int
    public var rejections: [SyncRejection]
    /// Changed records with sequence numbers above the request's cursor, oldest first.
    public var pull: [RecordEnvelope]
    /// The cursor to send next time; covers everything in `pull`.
    public var cursor: Int64
    /// More pull batches are waiting.
    public var more: Bool
    /// The central clock, so replicas can report their skew.
    public var clock: HLC
    /// Records that left the replica's scope: purge them, with their sync metadata.
    public var evict: [RecordKey]
    /// Which life of the central store answered: a store restored from a backup has a new one,
    /// and a replica that sees it change re-syncs (``SyncClient``), sending again what it lost.
    public var incarnation: String?
    /// The tombstone horizon: collected tombstones up to this sequence number are forgotten,
    /// no longer sent as evictions. A replica that never pulled that far may still hold one, so
    /// it pulls everything again (`KasvuReplica/Resync.swift`) rather than keep or resurrect it.
    public var horizon: Int64
    /// Every capacity lease the replica holds, after this request's returns and grants; nil
    /// when it asked for none (``SyncHeader/leasesWanted``).
    public var leases: [CapacityLease]?
    /// For the central office's replica: the places live leases reserve, by provider id, for
    /// its caseload report; nil for other replicas.
    public var reservedPlaces: [String: Int]?

    public init(schemaVersion: Int, accepted: Int, rejections: [SyncRejection], pull: [RecordEnvelope], cursor: Int64,
                more: Bool, clock: HLC, evict: [RecordKey] = [], incarnation: String? = nil, horizon: Int64 = 0, leases: [CapacityLease]? = nil,
                reservedPlaces: [String: Int]? = nil) {
        self.schemaVersion = schemaVersion
        self.accepted = accepted
        self.rejections = rejections
        self.pull = pull
        self.cursor = cursor
        self.more = more
        self.clock = clock
        self.evict = evict
        self.incarnation = incarnation
        self.horizon = horizon
        self.leases = leases
        self.reservedPlaces = reservedPlaces
    }
}

/// Which record: entity and id.
public struct RecordKey: Sendable, Hashable {
    public let entity: EntityKind
    public let id: String

    public init(entity: EntityKind, id: String) {
        self.entity = entity
        self.id = id
    }
}

/// The JSON body of every HTTP error of the sync API.
public struct SyncErrorBody: Sendable, Hashable, Codable {
    public struct Detail: Sendable, Hashable, Codable {
        public var code: Int
        public var kind: String
        public var message: String
    }

    public var error: Detail

    public init(code: Int, kind: String, message: String) {
        error = Detail(code: code, kind: kind, message: message)
    }

    public init(_ error: KasvuError) {
        self.init(code: error.code, kind: error.kind.rawValue, message: error.message)
    }
}

/// Moves one sync round trip to the central store and back. The libcurl HTTP transport is the
/// real one; the protocol keeps the sync loop independent of it.
public protocol SyncTransport: Sendable {
    /// - Throws: ``KasvuError`` (`sync_unreachable`, `sync_unauthorized`, `replica_rewound`,
    ///   `clock_skew`, `schema_mismatch`, …) or ``SyncBatchTooLarge`` for HTTP 413.
    func exchange(_ request: SyncRequest) async throws -> SyncResponse
}

/// The central store refused the request body as too large: halve the batch and retry.
public struct SyncBatchTooLarge: Error, Sendable {
    public init() {}
}

/// The version of the record format and sync protocol, exchanged on every sync. Replicas and
/// central stores of different versions refuse each other with `schema_mismatch`.
/// This build of kasvu.
public enum KasvuRelease {
    /// Printed by `kasvu --version` and sent in every sync header.
    public static let version = "0.16.0"
}

public enum SyncSchema {
    /// 2: record states in the compact form with a write table (`RecordState+JSON.swift`).
    /// 3: assessments, a new record kind that replicas of version 2 cannot hold.
    /// 4: issued invoices, a record kind that central-office replicas of version 3 cannot hold.
    public static let version = 4
}

/// One write in the central store's audit trail: who made it, on which replica, when it was
/// written and merged, which fields it set, and the old and new values of those that are not
/// personal data.
public struct AuditEntry: Sendable, Hashable, Codable {
    /// When the central store merged it (ISO 8601).
    public let at: String
    public let replicaID: String
    public let actor: String
    /// The user the write was made under (`kasvu rpc --user`, `meta.user`); for a merge that came
    /// without write notes, the user the syncing replica was started with.
    public let userName: String?
    public let fields: [String]
    /// When it was written (its HLC wall time, ISO 8601).
    public let writtenAt: String?
    /// The counter of its dot; nil for a merge that came without write notes.
    public let write: UInt64?
    public let changes: [WriteNote.Change]

    public init(at: String, replicaID: String, actor: String, userName: String?, fields: [String], writtenAt: String? = nil,
                write: UInt64? = nil, changes: [WriteNote.Change] = []) {
        self.at = at
        self.replicaID = replicaID
        self.actor = actor
        self.userName = userName
        self.fields = fields
        self.writtenAt = writtenAt
        self.write = write
        self.changes = changes
    }

    enum CodingKeys: String, CodingKey { case at, replicaID = "replicaId", actor, userName, fields, writtenAt, write, changes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(at: try container.decode(String.self, forKey: .at), replicaID: try container.decode(String.self, forKey: .replicaID),
                  actor: try container.decode(String.self, forKey: .actor), userName: try container.decodeIfPresent(String.self, forKey: .userName),
                  fields: try container.decode([String].self, forKey: .fields), writtenAt: try container.decodeIfPresent(String.self, forKey: .writtenAt),
                  write: try container.decodeIfPresent(UInt64.self, forKey: .write),
                  changes: try container.decodeIfPresent([WriteNote.Change].self, forKey: .changes) ?? [])
    }

    /// Milliseconds since 1970 as ISO 8601 with milliseconds, in UTC.
    public static func timestamp(millis: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(millis) / 1000))
    }
}
