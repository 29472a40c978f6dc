import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuSync

/// A JSON-RPC method, declared once: its name, what it takes and returns, the errors it may
/// answer, the replica roles allowed to call it and its handler. The dispatcher, the
/// permission check and the OpenRPC catalogue (`kasvu openrpc`) are all built from these.
///
/// ```swift
/// MethodDeclaration("client/delete", summary: "Delete a client.",
///                   params: [.init("id", JSONSchema.uuid, required: true)],
///                   result: ("result", JSONSchema.object(["id": JSONSchema.uuid, "deleted": JSONSchema.boolean])),
///                   errors: [.notFound], roles: .publicSide) { call in
///     var p = call.params
///     let id = p.id()
///     try p.check()
///     try await call.replica.delete(.client, id: id)
///     return ["id": .string(id), "deleted": true]
/// }
/// ```
public struct MethodDeclaration: Sendable {
    /// One named parameter.
    struct Param: Sendable {
        let name: String
        let schema: JSONValue
        let required: Bool
        let description: String?

        init(_ name: String, _ schema: JSONValue, required: Bool = false, description: String? = nil) {
            self.name = name
            self.schema = schema
            self.required = required
            self.description = description
        }
    }

    typealias Handler = @Sendable (MethodCall) async throws -> JSONValue

    public let name: String
    let summary: String
    let params: [Param]
    let result: (name: String, schema: JSONValue)
    /// The domain errors a caller should expect besides the standard JSON-RPC ones.
    let errors: [KasvuError.Kind]
    /// The replica roles that may call the method; every other role gets `permission_denied`.
    public let roles: Set<ReplicaRole>
    let handler: Handler

    init(_ name: String, summary: String, params: [Param] = [], result: (name: String, schema: JSONValue),
         errors: [KasvuError.Kind] = [], roles: Set<ReplicaRole>, handler: @escaping Handler) {
        self.name = name
        self.summary = summary
        self.params = params
        self.result = result
        self.errors = errors
        self.roles = roles
        self.handler = handler
    }
}

extension Set<ReplicaRole> {
    /// Every replica: reading, syncing, conflicts, and what providers record.
    static let everyone: Self = [.admin, .office, .provider]
    /// The purchaser's side: the TE offices and the central office (registration, profiling, referrals).
    static let publicSide: Self = [.admin, .office]
    /// The central office's own business: provider contracts, invoices, audits, reports.
    static let centralOffice: Self = [.admin]
}

/// What a handler works with: the replica and what the executable gave the server.
struct MethodEnvironment: Sendable {
    let replica: Replica
    /// Who works on this replica (kept with risk-group confirmations and audit findings).
    let userName: String
    let makeSyncClient: (@Sendable () async throws -> SyncClient)?
    let auditTrail: (@Sendable (EntityKind, String) async throws -> [AuditEntry])?
}

/// One call of a declared method: its parameters (already checked against the declared names),
/// the raw `params` member, the environment and the request.
struct MethodCall: Sendable {
    let params: Params
    let raw: JSONValue?
    let environment: MethodEnvironment
    let context: RequestContext

    var replica: Replica { environment.replica }
    /// The members of the `params` object (empty when absent).
    var members: [String: JSONValue] { raw?.objectValue ?? [:] }
}
