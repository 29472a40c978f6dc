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
    /// Who works on this replica, unless a request names its own user (`meta.user`).
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
    /// Who makes this request: its `meta.user`, else the user the server was started with.
    let user: String

    var replica: Replica { environment.replica }
    /// The members of the `params` object (empty when absent).
    var members: [String: JSONValue] { raw?.objectValue ?? [:] }
}

/// The `meta` member every method accepts beside its parameters: `{"user": NAME}` names the
/// person a front-end serving several people makes this request for. Each write the request
/// makes is noted under that name in the central audit trail.
enum RequestMeta {
    static let parameter = "meta"
    static let declaration = MethodDeclaration.Param(parameter, JSONSchema.ref("RequestMeta"))
    static let schema = JSONSchema.object(
        ["user": ["type": "string", "minLength": 1, "maxLength": .int(Int64(SyncLimits.maxUserNameLength))]], closed: true,
        description: "Accepted by every method: the user this request is made for, noted with each write it makes (default: kasvu rpc --user).")

    /// The params without `meta`, and the user it names.
    static func split(_ params: JSONValue?) throws(ResponseError) -> (JSONValue?, String?) {
        guard case .object(var members)? = params, let meta = members.removeValue(forKey: parameter) else { return (params, nil) }
        switch meta {
        case .null: return (.object(members), nil)
        case .object(let fields):
            for key in fields.keys where key != "user" {
                throw .invalidParams("meta takes only user", errors: [(field: "meta.\(key)", message: "unknown member; expected user")])
            }
            switch fields["user"] {
            case nil, .null?: return (.object(members), nil)
            case .string(let user)? where !user.isEmpty && SyncLimits.isAcceptableUserName(user): return (.object(members), user)
            default:
                throw .invalidParams("meta.user must be a name", errors: [(field: "meta.user", message:
                    "must be a non-empty string of at most \(SyncLimits.maxUserNameLength) characters, no control characters")])
            }
        default:
            throw .invalidParams("meta must be an object", errors: [(field: "meta", message: "must be an object such as {\"user\": \"Liisa\"}")])
        }
    }
}
