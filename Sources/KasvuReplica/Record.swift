import KasvuDomain
import KasvuStorage
import KasvuSync

/// A record as the replica shows it: the winning value of every field, plus its conflicts.
public struct Record: Sendable, Hashable {
    public let kind: EntityKind
    public let id: String
    /// Winning values of the schema's fields (absent fields are not included).
    public let values: [String: FieldValue]
    public let conflicts: [FieldConflict]
    public let isDeleted: Bool

    init(kind: EntityKind, id: String, state: RecordState) {
        self.kind = kind
        self.id = id
        var values = state.values
        values[EntitySchema.deletedField] = nil
        self.values = values
        self.conflicts = state.conflicts
        self.isDeleted = state.isDeleted
    }

    public subscript(field: String) -> FieldValue { values[field] ?? .null }
}

/// One page of a list query.
public struct Page: Sendable {
    public let items: [Record]
    /// Pass as `after` to get the next page; nil on the last page.
    public let next: String?
}

/// A conflict on one record's field, as `conflict/list` reports it.
public struct ConflictReport: Sendable, Hashable {
    public let kind: EntityKind
    public let id: String
    public let conflict: FieldConflict
    /// For `duplicate_identity`: the other client with the same henkilötunnus.
    public var duplicateOf: String?
}

/// What `replica/info` reports.
public struct ReplicaInfo: Sendable, Hashable {
    public let replicaID: String
    public let actor: ActorID
    public let role: ReplicaRole
    public let schemaVersion: Int
    public let pendingChanges: Int
    public let lastSyncAt: String?
    public let centralURL: String?
    /// The capacity leases this office may spend (``Replica/heldLeases()``).
    public let leases: [Replica.HeldLease]
}

/// How long a commit must survive (defined with the storage configuration both stores share).
public typealias Durability = KasvuStorage.Durability

/// Stored data that this code could not have written: an invariant is broken, which is an
/// internal error (not a domain error a caller could fix). Restore the replica from the central
/// store with a fresh `kasvu init` and sync.
public struct CorruptReplicaError: Error, Sendable, CustomStringConvertible {
    public let detail: String
    public var description: String { "corrupt replica data: \(detail)" }
}
