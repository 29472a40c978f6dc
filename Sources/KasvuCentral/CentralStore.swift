import KasvuDomain
import KasvuSync

/// A replica registered with the central store, as authenticated for one request.
public struct RegisteredReplica: Sendable, Hashable {
    public let id: String
    public let role: String
    public let revoked: Bool
    public let scope: ReplicaScope
}

/// The authoritative merged store behind `POST /v1/sync`.
///
/// The embedded SQLite implementation (``SQLiteCentralStore``) is the default; the protocol
/// keeps the HTTP server independent of it so that a PostgreSQL backend can follow.
public protocol CentralStore: Sendable {
    /// Registers a replica and returns its bearer token (shown once; only its hash is kept).
    func addReplica(id: String, role: String, scope: ReplicaScope) async throws -> String
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

/// A ``SyncRequest`` as the server decodes it: each pushed record on its own, so that one
/// malformed record is rejected without losing the rest of the batch.
public struct CentralSyncRequest: Sendable, Decodable {
    public let header: SyncHeader
    public let push: [PushedRecord]

    public init(_ request: SyncRequest) {
        header = request.header
        push = request.push.map { PushedRecord(entity: $0.entity.rawValue, id: $0.id, result: .success($0)) }
    }
}

/// One element of a push: a decoded envelope, or why it could not be decoded.
public struct PushedRecord: Sendable, Decodable {
    public let entity: String
    public let id: String
    public let result: Result<RecordEnvelope, KasvuError>

    init(entity: String, id: String, result: Result<RecordEnvelope, KasvuError>) {
        self.entity = entity
        self.id = id
        self.result = result
    }

    enum CodingKeys: String, CodingKey { case entity, id }

    public init(from decoder: any Decoder) throws {
        let keys = try? decoder.container(keyedBy: CodingKeys.self)
        entity = (try? keys?.decode(String.self, forKey: .entity)) ?? ""
        id = (try? keys?.decode(String.self, forKey: .id)) ?? ""
        do {
            result = .success(try RecordEnvelope(from: decoder))
        } catch {
            result = .failure(.validationFailed(field: "push", "malformed record: \(Self.describe(error))"))
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

