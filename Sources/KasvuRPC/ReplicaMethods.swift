import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuSync

/// The JSON-RPC methods of a replica (DESIGN section 5), bound to one ``Replica``.
///
/// ```swift
/// let replica = try Replica.open(at: "office.sqlite")
/// let server = JSONRPCServer(input: 0, output: 1, dispatcher: ReplicaMethods.dispatcher(for: replica),
///                            logger: logger, errorMapper: ReplicaMethods.responseError)
/// await server.run()
/// ```
public enum ReplicaMethods {
    /// - Parameter makeSyncClient: builds the sync client for `sync/run` (the executable gives it
    ///   the libcurl transport); nil when the replica cannot sync from here.
    /// - Parameter userName: who works on this replica (kept with risk-group confirmations).
    /// - Parameter auditTrail: fetches a record's audit trail from the central store.
    public static func dispatcher(for replica: Replica, userName: String = "unknown",
                                  makeSyncClient: (@Sendable () async throws -> SyncClient)? = nil,
                                  auditTrail: (@Sendable (EntityKind, String) async throws -> [AuditEntry])? = nil) -> Dispatcher {
        var dispatcher = Dispatcher(authorize: { method in try Permissions.check(method, role: replica.role) })
        dispatcher.register("rpc.discover") { params, _ in
            try Params(params, allowed: []).check()
            return try openRPCDocument()
        }
        dispatcher.register("replica/info") { params, _ in
            try Params(params, allowed: []).check()
            let info = try await replica.info()
            return .object([
                "replicaId": .string(info.replicaID), "actor": .string(info.actor.rawValue), "role": .string(info.role.rawValue),
                "schemaVersion": .int(Int64(info.schemaVersion)), "pendingChanges": .int(Int64(info.pendingChanges)),
                "lastSyncAt": info.lastSyncAt.map(JSONValue.string) ?? .null,
                "centralUrl": info.centralURL.map(JSONValue.string) ?? .null,
            ])
        }
        for kind in [EntityKind.client, .provider] {
            registerCreate(&dispatcher, "\(kind.rawValue)/create", kind, replica)
            registerUpdate(&dispatcher, kind, replica)
        }
        registerPilotRules(&dispatcher, replica, userName: userName)
        registerCreate(&dispatcher, "contact/record", .contact, replica)
        registerCreate(&dispatcher, "event/record", .event, replica)
        for kind in EntityKind.allCases {
            registerGet(&dispatcher, kind, replica)
            registerList(&dispatcher, kind, replica)
        }
        dispatcher.register("client/delete") { params, _ in
            var p = try Params(params, allowed: ["id"])
            let id = p.id()
            try p.check()
            try await replica.delete(.client, id: id)
            return .object(["id": .string(id), "deleted": true])
        }
        dispatcher.register("hours/report") { params, _ in
            let allowed = Set(EntityKind.hours.schema.fields.map(\.name))
            var p = try Params(params, allowed: allowed)
            let fields = p.fields(params?.objectValue ?? [:], of: .hours)
            try p.check()
            return try await replica.reportHours(fields).json
        }
        dispatcher.register("referral/transition") { params, _ in
            var p = try Params(params, allowed: ["id", "to", "date", "reason"])
            let id = p.id()
            let to = p.string("to")
            let date = p.optionalString("date")
            let reason = p.optionalString("reason")
            try p.check()
            guard let next = ReferralState(rawValue: to) else {
                throw ResponseError.invalidParams("invalid params: to must be a referral state",
                    errors: [("to", "must be one of \(ReferralState.allCases.map(\.rawValue).joined(separator: ", "))")])
            }
            let day = try date.map(parseDate)
            return try await replica.transitionReferral(id: id, to: next, date: day, reason: reason).json
        }
        dispatcher.register("conflict/list") { params, _ in
            var p = try Params(params, allowed: ["entity"])
            let entity = p.optionalString("entity")
            try p.check()
            let kind = try entity.map { try entityKind($0) }
            return .object(["items": .array(try await replica.conflicts(of: kind).map(\.json))])
        }
        dispatcher.register("conflict/resolve") { params, _ in
            var p = try Params(params, allowed: ["entity", "id", "field", "value"])
            let entity = p.string("entity")
            let id = p.id()
            let field = p.string("field")
            try p.check()
            let kind = try entityKind(entity)
            try Permissions.checkResolve(kind, role: replica.role)
            guard let json = p["value"] else {
                throw ResponseError.invalidParams("invalid params: value is required", errors: [("value", "is required")])
            }
            let value: FieldValue
            if field == EntitySchema.deletedField {
                guard case .bool(let flag) = json else {
                    throw ResponseError.invalidParams("invalid params: value must be a boolean", errors: [("value", "must be true or false for deleted")])
                }
                value = .bool(flag)
            } else {
                var fieldParams = try Params(.object([:]), allowed: [])
                let fields = fieldParams.fields([field: json], of: kind, path: "value")
                try fieldParams.check()
                value = fields[field] ?? .null
            }
            return try await replica.resolveConflict(kind, id: id, field: field, value: value).json
        }
        registerReports(&dispatcher, replica)
        registerInvoices(&dispatcher, replica, userName: userName)
        registerOutcomesReport(&dispatcher, replica)
        registerSync(&dispatcher, replica, makeSyncClient)
        dispatcher.register("audit/trail") { params, _ in
            var p = try Params(params, allowed: ["entity", "id"])
            let entity = p.string("entity")
            let id = p.id()
            try p.check()
            let kind = try entityKind(entity)
            guard let auditTrail else { throw KasvuError(.syncUnreachable, "this server was started without a central connection") }
            return .object(["items": .array(try await auditTrail(kind, id).map { entry in
                .object([
                    "at": .string(entry.at), "replicaId": .string(entry.replicaID), "actor": .string(entry.actor),
                    "userName": entry.userName.map(JSONValue.string) ?? .null, "fields": .array(entry.fields.map(JSONValue.string)),
                ])
            })])
        }
        return dispatcher
    }

    private static func registerPilotRules(_ dispatcher: inout Dispatcher, _ replica: Replica, userName: String) {
        dispatcher.register("client/profile") { params, _ in
            var p = try Params(params, allowed: ["id"])
            let id = p.id()
            try p.check()
            let proposal = try await replica.profile(clientID: id)
            return .object([
                "proposedGroup": .int(Int64(proposal.group)), "score": .string("\(proposal.score)"),
                "modelVersion": .string(proposal.modelVersion),
                "explanation": .array(proposal.explanation.map {
                    .object(["factor": .string($0.factor), "value": $0.value.json, "contribution": .string("\($0.contribution)")])
                }),
            ])
        }
        dispatcher.register("client/confirmRiskGroup") { params, _ in
            var p = try Params(params, allowed: ["id", "group", "reason"])
            let id = p.id()
            let group = p.optionalInt("group")
            let reason = p.optionalString("reason")
            if group == nil { _ = p.string("group") }
            try p.check()
            return try await replica.confirmRiskGroup(clientID: id, group: group ?? 0, reason: reason, confirmedBy: userName).json
        }
        dispatcher.register("referral/create") { params, _ in
            var p = try Params(params, allowed: ["id", "clientId", "providerId", "chosenBy", "switch"])
            var members = params?.objectValue ?? [:]
            let id = members.removeValue(forKey: "id") == nil ? nil : p.id()
            let switchProvider = members.removeValue(forKey: "switch")
            if let switchProvider, switchProvider.boolValue == nil {
                throw ResponseError.invalidParams("invalid params: switch must be a boolean", errors: [("switch", "must be true or false")])
            }
            let fields = p.fields(members, of: .referral)
            try p.check()
            return try await replica.createReferral(fields, id: id, switchProvider: switchProvider?.boolValue ?? false).json
        }
    }

    private static func registerInvoices(_ dispatcher: inout Dispatcher, _ replica: Replica, userName: String) {
        dispatcher.register("invoice/compute") { params, _ in try await computeInvoice(params, replica) }
        dispatcher.register("audit/sample") { params, _ in
            var p = try Params(params, allowed: ["providerId", "period", "rate", "seed"])
            let provider = p.id("providerId")
            let period = p.string("period"), rate = p.string("rate"), seed = p.string("seed")
            try p.check()
            let term = try parsePeriod(period)
            let sampled = try await replica.auditSample(providerID: provider, period: term, rate: rate, seed: seed)
            return .object(["sampled": .array(sampled.map(JSONValue.string))])
        }
        dispatcher.register("audit/record") { params, _ in
            var p = try Params(params, allowed: ["hoursId", "verifiedHours"])
            let id = p.id("hoursId")
            let verified = p.string("verifiedHours")
            try p.check()
            return try await replica.recordAudit(hoursID: id, verifiedHours: verified, auditedBy: userName).json
        }
    }

    /// `invoice/compute`. Not optimised: Swift 6.3.1's optimizer crashed (LLVM coroutine
    /// splitting, signal 11) on this body in release builds; the work here is I/O-bound.
    @_optimize(none)
    private static func computeInvoice(_ params: JSONValue?, _ replica: Replica) async throws -> JSONValue {
            var p = try Params(params, allowed: ["providerId", "kind", "month", "period", "audit"])
            let provider = p.id("providerId")
            let kind = p.string("kind")
            let month = p.optionalString("month"), period = p.optionalString("period")
            let audit = p.optionalObject("audit")
            try p.check()
            switch kind {
            case "capitation":
                guard let month else { throw ResponseError.invalidParams("invalid params: month is required", errors: [("month", "is required for a capitation invoice")]) }
                return try json(try await replica.capitationInvoice(providerID: provider, month: try parseMonth(month)))
            case "outcome":
                guard let period else { throw ResponseError.invalidParams("invalid params: period is required", errors: [("period", "is required for an outcome invoice (YYYY-T1…T3)")]) }
                var auditParams = try Params(audit.map(JSONValue.object), allowed: ["seed", "rate"])
                let seed = auditParams.optionalString("seed"), rate = auditParams.optionalString("rate")
                try auditParams.check()
                let findings = audit == nil ? nil : AuditRequest(seed: seed ?? "", rate: rate ?? "0")
                return try json(try await replica.outcomeInvoice(providerID: provider, period: try parsePeriod(period), audit: findings))
            default:
                throw ResponseError.invalidParams("invalid params: kind", errors: [("kind", "must be capitation or outcome")])
            }
        }

    // Plain functions rather than a generic typed-throws helper in these async closures: the
    // latter crashed the 6.3.1 optimizer (coroutine splitting) in release builds.
    private static func parseMonth(_ text: String) throws -> YearMonth {
        do { return try YearMonth(iso: text) } catch { throw KasvuError.validationFailed([error]) }
    }

    /// The invoice's canonical JSON (its own encoder decides the exact keys and money strings).
    private static func json(_ invoice: Invoice) throws -> JSONValue {
        let data = try invoice.jsonData()
        do { return try JSONValue.parse(data) } catch { throw ResponseError.internalError("invoice encoding: \(error.message)") }
    }

    private static func parseDate(_ text: String) throws -> CalendarDate {
        do { return try CalendarDate(iso: text) } catch { throw KasvuError.validationFailed([error]) }
    }

    private static func parsePeriod(_ text: String) throws -> BillingPeriod {
        do { return try BillingPeriod(iso: text) } catch { throw KasvuError.validationFailed([error]) }
    }

    private static func registerReports(_ dispatcher: inout Dispatcher, _ replica: Replica) {
        dispatcher.register("report/caseload") { params, _ in
            try Params(params, allowed: []).check()
            let rows = try await replica.caseloadReport()
            return .object(["items": .array(rows.map { row in
                .object([
                    "providerId": .string(row.providerID), "name": .string(row.name), "pilotArea": .string(row.pilotArea),
                    "cap": .int(row.cap), "active": .int(Int64(row.active)), "pending": .int(Int64(row.pending)),
                    "waitlisted": .int(Int64(row.waitlisted)), "free": .int(row.free),
                    "activeByRiskGroup": .object(Dictionary(uniqueKeysWithValues: (1...3).map { ("\($0)", JSONValue.int(Int64(row.activeByRiskGroup[$0] ?? 0))) })),
                ])
            })])
        }
    }

    private static func registerOutcomesReport(_ dispatcher: inout Dispatcher, _ replica: Replica) {
        dispatcher.register("report/outcomes") { params, _ in
            var p = try Params(params, allowed: ["period"])
            let period = p.optionalString("period")
            try p.check()
            let term = try period.map(parsePeriod)
            let rows = try await replica.outcomesReport(period: term)
            return .object(["items": .array(rows.map { row in
                .object([
                    "pilotArea": .string(row.pilotArea), "riskGroup": .int(Int64(row.riskGroup)), "clients": .int(Int64(row.clients)),
                    "clientsWithHours": .int(Int64(row.clientsWithHours)), "shareWithHours": .string(Money.format(row.shareWithHours, scale: 4)),
                    "totalHours": .string(Money.format(row.totalHours, scale: 2)), "fees": .string(Money.format(row.fees)),
                ])
            })])
        }
    }

    private static func registerSync(_ dispatcher: inout Dispatcher, _ replica: Replica,
                                     _ makeSyncClient: (@Sendable () async throws -> SyncClient)?) {
        dispatcher.register("sync/run") { params, context in
            try Params(params, allowed: []).check()
            guard let makeSyncClient else { throw KasvuError(.syncUnreachable, "this server was started without sync support") }
            let summary = try await makeSyncClient().run { progress in
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
        dispatcher.register("sync/status") { params, _ in
            try Params(params, allowed: []).check()
            let status = try await replica.syncStatus()
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

    // MARK: - Generic entity methods

    private static func registerCreate(_ dispatcher: inout Dispatcher, _ method: String, _ kind: EntityKind, _ replica: Replica) {
        dispatcher.register(method) { params, _ in
            let allowed = Set(kind.schema.fields.map(\.name)).union(["id"])
            var p = try Params(params, allowed: allowed)
            var members = params?.objectValue ?? [:]
            let id = members.removeValue(forKey: "id") == nil ? nil : p.id()
            let fields = p.fields(members, of: kind)
            try p.check()
            return try await replica.create(kind, fields: fields, id: id).json
        }
    }

    private static func registerUpdate(_ dispatcher: inout Dispatcher, _ kind: EntityKind, _ replica: Replica) {
        dispatcher.register("\(kind.rawValue)/update") { params, _ in
            var p = try Params(params, allowed: ["id", "set"])
            let id = p.id()
            let set = p.optionalObject("set")
            let fields = p.fields(set ?? [:], of: kind, path: "set")
            if set == nil { _ = p.string("set") }
            try p.check()
            return try await replica.update(kind, id: id, set: fields).json
        }
    }

    private static func registerGet(_ dispatcher: inout Dispatcher, _ kind: EntityKind, _ replica: Replica) {
        dispatcher.register("\(kind.rawValue)/get") { params, _ in
            var p = try Params(params, allowed: ["id"])
            let id = p.id()
            try p.check()
            return try await replica.get(kind, id: id).json
        }
    }

    private static func registerList(_ dispatcher: inout Dispatcher, _ kind: EntityKind, _ replica: Replica) {
        dispatcher.register("\(kind.rawValue)/list") { params, _ in
            var p = try Params(params, allowed: ["where", "limit", "after"])
            let filter = p.optionalObject("where") ?? [:]
            let limit = p.optionalInt("limit") ?? 100
            let after = p.optionalString("after")
            let fields = p.fields(filter, of: kind, path: "where")
            try p.check()
            let page = try await replica.list(kind, where: fields, limit: limit, after: after)
            return .object(["items": .array(page.items.map(\.json)), "next": page.next.map(JSONValue.string) ?? .null])
        }
    }

    private static func entityKind(_ name: String) throws(ResponseError) -> EntityKind {
        guard let kind = EntityKind(rawValue: name) else {
            throw .invalidParams("invalid params: unknown entity \(name)",
                                 errors: [("entity", "must be one of \(EntityKind.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        return kind
    }

    /// The OpenRPC catalogue shipped with the module (the same file as `Protocol/openrpc.json`).
    static func openRPCDocument() throws -> JSONValue {
        guard let url = Bundle.module.url(forResource: "openrpc", withExtension: "json") else {
            throw ResponseError.internalError("openrpc.json is missing from the installation")
        }
        return try JSONValue.parse(try Data(contentsOf: url), maxDepth: 256)
    }
}
