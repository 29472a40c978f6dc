import KasvuDomain
import KasvuSync

/// A replica registered with the central store, as authenticated for one request.
public struct RegisteredReplica: Sendable, Hashable {
    public let id: String
    public let role: ReplicaRole
    public let revoked: Bool
    public let scope: ReplicaScope
}

/// The authoritative merged store behind `POST /v1/sync`.
///
/// The embedded SQLite implementation (``SQLiteCentralStore``) is the default; the protocol
/// keeps the HTTP server independent of it so that a PostgreSQL backend can follow.
public protocol CentralStore: Sendable {
    /// Registers a replica and returns its bearer token (shown once; only its hash is kept).
    func addReplica(id: String, role: ReplicaRole, scope: ReplicaScope) async throws -> String
    /// Changes what a replica may see; its next sync rescans and delivers or evicts accordingly.
    func setScope(id: String, scope: ReplicaScope) async throws
    /// Revokes a replica's token; its next sync gets 401.
    func revokeReplica(id: String) async throws
    /// The replica a bearer token belongs to, or nil when the token is unknown, forged or revoked.
    func authenticate(token: String) async throws -> RegisteredReplica?
    /// Merges the pushed batch and returns the next pull batch, all in one transaction.
    func sync(_ request: CentralSyncRequest, from replica: RegisteredReplica) async throws -> SyncResponse
    /// Every merged write of one record: who, when, which fields.
    func auditTrail(entity: EntityKind, id: String) async throws -> [AuditEntry]
    /// Counts for `/metrics`.
    func statistics() async throws -> CentralStatistics
}

public struct CentralStatistics: Sendable {
    public let records: Int
    public let replicas: Int
    public let sequence: Int64
}

/// A ``SyncRequest`` as the server reads it: each pushed record on its own, so that one
/// malformed record is rejected without losing the rest of the batch. Text that is not JSON
/// at all fails the whole request.
public struct CentralSyncRequest: Sendable {
    public let header: SyncHeader
    public let push: [PushedRecord]

    public init(_ request: SyncRequest) {
        header = request.header
        push = request.push.map { PushedRecord(entity: $0.entity.rawValue, id: $0.id, result: .success($0)) }
    }

    public init(json: some Collection<UInt8>) throws {
        (header, push) = try WireReader.read(json) { reader in
            var header: SyncHeader?, push: [PushedRecord] = []
            try reader.members { reader, name in
                switch name {
                case "header": header = try SyncHeader(reading: &reader)
                case "push": try reader.elements { push.append(try PushedRecord(reading: &$0)) }
                default: try reader.skipValue()
                }
            }
            guard let header else { throw reader.shape("a sync request needs a header") }
            return (header, push)
        }
    }
}

/// One element of a push: a decoded envelope, or why it could not be decoded.
public struct PushedRecord: Sendable {
    public let entity: String
    public let id: String
    public let result: Result<RecordEnvelope, KasvuError>

    init(entity: String, id: String, result: Result<RecordEnvelope, KasvuError>) {
        self.entity = entity
        self.id = id
        self.result = result
    }

    /// Reads one element; valid JSON of the wrong shape becomes a rejection of this record.
    init(reading reader: inout WireReader) throws {
        let start = reader.index
        do {
            let envelope = try RecordEnvelope(reading: &reader)
            self.init(entity: envelope.entity.rawValue, id: envelope.id, result: .success(envelope))
        } catch let error as WireFormatError where !error.isSyntax {
            // Read it again for its syntax and whatever names it carries.
            reader.rewind(to: start)
            var entity = "", id = ""
            if try reader.nextKind() == .object {
                try reader.members { reader, name in
                    switch (name, try reader.nextKind()) {
                    case ("entity", .string): entity = try reader.string()
                    case ("id", .string): id = try reader.string()
                    default: try reader.skipValue()
                    }
                }
            } else {
                try reader.skipValue()
            }
            self.init(entity: entity, id: id, result: .failure(.validationFailed(field: "push", "malformed record: \(error.message)")))
        }
    }
}
