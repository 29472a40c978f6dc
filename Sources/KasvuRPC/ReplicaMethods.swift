import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuSync

/// The JSON-RPC methods of a replica (DESIGN section 5), bound to one ``Replica``.
///
/// Every method is a ``MethodDeclaration`` in `Methods/`, grouped by namespace; the dispatcher,
/// the role check and the OpenRPC catalogue are built from the same declarations.
///
/// ```swift
/// let replica = try Replica.open(at: "office.sqlite")
/// let server = JSONRPCServer(input: 0, output: 1, dispatcher: ReplicaMethods.dispatcher(for: replica),
///                            logger: logger, errorMapper: ReplicaMethods.responseError)
/// await server.run()
/// ```
public enum ReplicaMethods {
    /// Every method, sorted by name.
    public static let declarations: [MethodDeclaration] = (
        RecordMethods.declarations + PilotRuleMethods.declarations + BillingMethods.declarations
            + ReportMethods.declarations + ConflictMethods.declarations + SyncMethods.declarations
    ).sorted { $0.name < $1.name }

    private static let byName = Dictionary(uniqueKeysWithValues: declarations.map { ($0.name, $0) })

    /// The OpenRPC catalogue (`rpc.discover`, `kasvu openrpc`, `Protocol/openrpc.json`).
    public static let openRPCDocument: JSONValue = OpenRPCDocument.generate(declarations)

    /// `openRPCDocument` as `Protocol/openrpc.json` holds it.
    public static func openRPCText() throws -> String { try OpenRPCDocument.text(openRPCDocument) }

    /// Refuses `method` to a replica of `role` unless its declaration allows that role. The CLI's
    /// `report` and `invoice` commands ask the same before reading.
    public static func authorize(_ method: String, role: ReplicaRole) throws(KasvuError) {
        guard let declaration = byName[method], declaration.roles.contains(role) else {
            throw KasvuError(.permissionDenied, "a \(role.rawValue) replica may not call \(method)")
        }
    }

    /// - Parameter makeSyncClient: builds the sync client for `sync/run` (the executable gives it
    ///   the libcurl transport); nil when the replica cannot sync from here.
    /// - Parameter userName: who works on this replica (kept with risk-group confirmations).
    /// - Parameter auditTrail: fetches a record's audit trail from the central store.
    public static func dispatcher(for replica: Replica, userName: String = "unknown",
                                  makeSyncClient: (@Sendable () async throws -> SyncClient)? = nil,
                                  auditTrail: (@Sendable (EntityKind, String) async throws -> [AuditEntry])? = nil) -> Dispatcher {
        let environment = MethodEnvironment(replica: replica, userName: userName, makeSyncClient: makeSyncClient, auditTrail: auditTrail)
        let role = replica.role
        var dispatcher = Dispatcher(authorize: { method in try authorize(method, role: role) })
        for declaration in declarations {
            let allowed = Set(declaration.params.map(\.name))
            let required = Set(declaration.params.filter(\.required).map(\.name))
            dispatcher.register(declaration.name) { params, context in
                let (params, user) = try RequestMeta.split(params)
                let checked = try Params(params, allowed: allowed, required: required)
                let call = MethodCall(params: checked, raw: params, environment: environment, context: context, user: user ?? environment.userName)
                // Every write this request makes is noted under its user (the central audit trail).
                return try await Replica.$author.withValue(call.user) { try await declaration.handler(call) }
            }
        }
        return dispatcher
    }

    /// Turns any error into a JSON-RPC error: domain errors keep their code and kind;
    /// anything unexpected is an internal error whose details go to the log, not the caller.
    @Sendable public static func responseError(_ error: any Error) -> ResponseError {
        switch error {
        case let error as ResponseError: error
        case let error as KasvuError: error.responseError
        case is CancellationError: .requestCancelled
        case let error as CorruptReplicaError: .internalError("internal error: \(error)")
        default: .internalError("internal error: \(type(of: error))")
        }
    }
}
