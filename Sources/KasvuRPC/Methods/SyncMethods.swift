import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuSync

/// The replica itself: who it is, its syncs with the central store, and the catalogue.
enum SyncMethods {
    static var declarations: [MethodDeclaration] { [discover, info, run, status] }

    private static let rejection = JSONSchema.object([
        "entity": JSONSchema.string(), "id": JSONSchema.string(), "code": JSONSchema.integer(),
        "kind": JSONSchema.string(), "message": JSONSchema.string(),
    ], required: ["entity", "id", "kind", "message"])

    private static let discover = MethodDeclaration(
        "rpc.discover", summary: "The OpenRPC catalogue of every method (this document).",
        result: ("openrpc", ["type": "object"]), roles: .everyone
    ) { call in
        try call.params.check()
        return ReplicaMethods.openRPCDocument
    }

    private static let info = MethodDeclaration(
        "replica/info", summary: "Identity, role and sync status of the replica.",
        result: ("info", JSONSchema.object([
            "replicaId": JSONSchema.string(), "actor": JSONSchema.string(),
            "role": JSONSchema.string(allowed: ReplicaRole.allCases.map(\.rawValue)), "schemaVersion": JSONSchema.integer(),
            "pendingChanges": JSONSchema.integer("records with local writes not yet acknowledged by the central store"),
            "lastSyncAt": JSONSchema.nullable(JSONSchema.string()), "centralUrl": JSONSchema.nullable(JSONSchema.string()),
            "leases": JSONSchema.array(JSONSchema.object([
                "providerId": JSONSchema.string(), "places": JSONSchema.integer("places still to spend: referral/create makes a referral to this provider active at once, offline"),
                "expiresAt": JSONSchema.string("ISO 8601, central clock"),
            ], required: ["providerId", "places", "expiresAt"])),
        ], required: ["replicaId", "actor", "role", "schemaVersion", "pendingChanges", "lastSyncAt", "centralUrl", "leases"])),
        roles: .everyone
    ) { call in
        try call.params.check()
        let info = try await call.replica.info()
        return .object([
            "replicaId": .string(info.replicaID), "actor": .string(info.actor.rawValue), "role": .string(info.role.rawValue),
            "schemaVersion": .int(Int64(info.schemaVersion)), "pendingChanges": .int(Int64(info.pendingChanges)),
            "lastSyncAt": info.lastSyncAt.map(JSONValue.string) ?? .null,
            "centralUrl": info.centralURL.map(JSONValue.string) ?? .null,
            "leases": .array(info.leases.map { lease in
                .object(["providerId": .string(lease.providerID), "places": .int(Int64(lease.placesLeft)),
                         "expiresAt": .string(AuditEntry.timestamp(millis: lease.expiresAt))])
            }),
        ])
    }

    private static let run = MethodDeclaration(
        "sync/run",
        summary: """
            One full sync with the central store: push local writes and pull everything new, looping until nothing is left \
            either way. Sends `$/progress` notifications {token: <request id>, value: {phase, pushed, pulled, pendingPush}} \
            before the response. Gives up with sync_timeout when no round trip completes within `timeout` seconds.
            """,
        params: [.init("timeout", JSONSchema.integer(minimum: 1, maximum: 86_400),
                       description: "seconds without a completed round trip before giving up; \(SyncClient.defaultTimeoutSeconds) when absent")],
        result: ("summary", JSONSchema.object([
            "pushed": JSONSchema.integer(), "pulled": JSONSchema.integer(), "roundTrips": JSONSchema.integer(),
            "cursor": JSONSchema.integer(), "rejections": JSONSchema.array(rejection),
        ], required: ["pushed", "pulled", "roundTrips", "cursor", "rejections"])),
        errors: [.syncUnreachable, .syncUnauthorized, .replicaRewound, .clockSkew, .schemaMismatch, .syncBusy, .syncTimeout],
        roles: .everyone
    ) { call in
        var p = call.params
        let timeout = p.optionalInt("timeout") ?? SyncClient.defaultTimeoutSeconds
        try p.check()
        guard (1...86_400).contains(timeout) else {
            throw ResponseError.invalidParams("invalid params: timeout", errors: [("timeout", "must be 1–86400 seconds")])
        }
        guard let makeSyncClient = call.environment.makeSyncClient else {
            throw KasvuError(.syncUnreachable, "this server was started without sync support")
        }
        let context = call.context
        let summary = try await makeSyncClient().run(timeout: .seconds(timeout)) { progress in
            var value: [String: JSONValue] = [
                "phase": .string(progress.phase.rawValue), "pushed": .int(Int64(progress.pushed)), "pulled": .int(Int64(progress.pulled)),
            ]
            if let pending = progress.pendingPush { value["pendingPush"] = .int(Int64(pending)) }
            let token: JSONValue = context.id.map(\.jsonValue) ?? .null
            await context.notify("$/progress", .object(["token": token, "value": .object(value)]))
        }
        return .object([
            "pushed": .int(Int64(summary.pushed)), "pulled": .int(Int64(summary.pulled)),
            "roundTrips": .int(Int64(summary.roundTrips)), "cursor": .int(summary.cursor),
            "rejections": .array(summary.rejections.map {
                .object(["entity": .string($0.entity), "id": .string($0.id), "code": .int(Int64($0.code)),
                         "kind": .string($0.kind), "message": .string($0.message)])
            }),
        ])
    }

    private static let status = MethodDeclaration(
        "sync/status", summary: "Pending changes, last successful sync, last error and the records the central store rejected.",
        result: ("status", JSONSchema.object([
            "pendingChanges": JSONSchema.integer(), "lastSyncAt": JSONSchema.nullable(JSONSchema.string()),
            "lastError": JSONSchema.nullable(JSONSchema.string()), "cursor": JSONSchema.integer(),
            "centralUrl": JSONSchema.nullable(JSONSchema.string()), "rejections": JSONSchema.array(rejection),
        ], required: ["pendingChanges", "lastSyncAt", "lastError", "cursor", "centralUrl", "rejections"])),
        roles: .everyone
    ) { call in
        try call.params.check()
        let status = try await call.replica.syncStatus()
        return .object([
            "pendingChanges": .int(Int64(status.pendingChanges)),
            "lastSyncAt": status.lastSyncAt.map(JSONValue.string) ?? .null,
            "lastError": status.lastError.map(JSONValue.string) ?? .null,
            "cursor": .int(status.cursor),
            "centralUrl": status.centralURL.map(JSONValue.string) ?? .null,
            "rejections": .array(status.rejections.map {
                .object(["entity": .string($0.entity), "id": .string($0.id), "kind": .string($0.kind), "message": .string($0.message)])
            }),
        ])
    }
}
