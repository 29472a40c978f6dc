import JSONRPC
import KasvuDomain
import KasvuReplica

/// The central office's reports and the audit trail of a record.
enum ReportMethods {
    static var declarations: [MethodDeclaration] { [caseload, outcomes, auditTrail] }

    private static let caseload = MethodDeclaration(
        "report/caseload",
        summary: """
            Per provider: active, pending and waitlisted referrals against the cap, and active referrals by risk group \
            (from what this replica holds; the central office's admin replica holds everything).
            """,
        result: ("report", JSONSchema.items(JSONSchema.object([
            "providerId": JSONSchema.uuid, "name": JSONSchema.string(), "pilotArea": JSONSchema.string("region code, e.g. MK11"),
            "pilotAreaName": JSONSchema.string("the region's Finnish name"), "cap": JSONSchema.integer(),
            "active": JSONSchema.integer(), "pending": JSONSchema.integer(), "waitlisted": JSONSchema.integer(), "free": JSONSchema.integer(),
            "activeByRiskGroup": ["type": "object", "additionalProperties": JSONSchema.integer()],
        ]))),
        errors: [.permissionDenied], roles: .centralOffice
    ) { call in
        try call.params.check()
        let rows = try await call.replica.caseloadReport()
        return .object(["items": .array(rows.map { row in
            .object([
                "providerId": .string(row.providerID), "name": .string(row.name), "pilotArea": .string(row.pilotArea),
                "pilotAreaName": .string(row.pilotAreaName),
                "cap": .int(row.cap), "active": .int(Int64(row.active)), "pending": .int(Int64(row.pending)),
                "waitlisted": .int(Int64(row.waitlisted)), "free": .int(row.free),
                "activeByRiskGroup": .object(Dictionary(uniqueKeysWithValues: (1...3).map { ("\($0)", JSONValue.int(Int64(row.activeByRiskGroup[$0] ?? 0))) })),
            ])
        })])
    }

    private static let outcomes = MethodDeclaration(
        "report/outcomes",
        summary: """
            Per pilot area and risk group: clients with an active or ended referral, how many (and what share) have any \
            hours reported, total hours and outcome fees (hours x hourly rate x weight, each rounded to cents); optionally \
            for one period.
            """,
        params: [.init("period", JSONSchema.period)],
        result: ("report", JSONSchema.items(JSONSchema.object([
            "pilotArea": JSONSchema.string("region code, e.g. MK11"), "pilotAreaName": JSONSchema.string("the region's Finnish name"),
            "riskGroup": JSONSchema.integer(), "clients": JSONSchema.integer(),
            "clientsWithHours": JSONSchema.integer(), "shareWithHours": JSONSchema.string("exact decimal, 4 places"),
            "totalHours": JSONSchema.string("exact decimal, 2 places"), "fees": JSONSchema.money,
        ]))),
        errors: [.validationFailed, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let period = p.optionalString("period")
        try p.check()
        let term = try period.map(ParamParsing.period)
        let rows = try await call.replica.outcomesReport(period: term)
        return .object(["items": .array(rows.map { row in
            .object([
                "pilotArea": .string(row.pilotArea), "pilotAreaName": .string(row.pilotAreaName),
                "riskGroup": .int(Int64(row.riskGroup)), "clients": .int(Int64(row.clients)),
                "clientsWithHours": .int(Int64(row.clientsWithHours)), "shareWithHours": .string(Money.format(row.shareWithHours, scale: 4)),
                "totalHours": .string(Money.format(row.totalHours, scale: 2)), "fees": .string(Money.format(row.fees)),
            ])
        })])
    }

    private static let auditTrail = MethodDeclaration(
        "audit/trail",
        summary: """
            The central store's audit trail of one record (fetched from the central server), one item per write: the user \
            it was made under (kasvu rpc --user or the request's meta.user), the replica and actor, when it was written \
            (writtenAt, the write's clock) and merged (at), which fields it set, and the old and new value of every field \
            that is not personal data. Writes merged without a note (the central store's own decisions) name the fields \
            they changed, with `write` null.
            """,
        params: [.init("entity", JSONSchema.entity, required: true), .init("id", JSONSchema.uuid, required: true)],
        result: ("trail", JSONSchema.items(JSONSchema.object([
            "at": JSONSchema.string("when the central store merged the write (ISO 8601)"), "replicaId": JSONSchema.string(),
            "actor": JSONSchema.string(), "userName": JSONSchema.nullable(JSONSchema.string()),
            "writtenAt": JSONSchema.nullable(JSONSchema.string("when the write was made (ISO 8601, its HLC wall time)")),
            "write": JSONSchema.nullable(JSONSchema.integer("the counter of the write's dot")),
            "fields": JSONSchema.array(JSONSchema.string()),
            "changes": JSONSchema.array(JSONSchema.object([
                "field": JSONSchema.string(), "old": JSONSchema.any, "new": JSONSchema.any,
            ], required: ["field"], description: "old and new are present only for fields that are not personal data")),
        ], required: ["at", "replicaId", "actor", "userName", "writtenAt", "write", "fields", "changes"]))),
        errors: [.permissionDenied, .syncUnreachable, .syncUnauthorized], roles: .centralOffice
    ) { call in
        var p = call.params
        let entity = p.string("entity")
        let id = p.id()
        try p.check()
        let kind = try ParamParsing.entityKind(entity)
        guard let auditTrail = call.environment.auditTrail else {
            throw KasvuError(.syncUnreachable, "this server was started without a central connection")
        }
        return .object(["items": .array(try await auditTrail(kind, id).map { entry in
            .object([
                "at": .string(entry.at), "replicaId": .string(entry.replicaID), "actor": .string(entry.actor),
                "userName": entry.userName.map(JSONValue.string) ?? .null, "writtenAt": entry.writtenAt.map(JSONValue.string) ?? .null,
                "write": entry.write.map { .int(Int64($0)) } ?? .null,
                "fields": .array(entry.fields.map(JSONValue.string)),
                "changes": .array(entry.changes.map { change in
                    var object: [String: JSONValue] = ["field": .string(change.field)]
                    if let old = change.old { object["old"] = old.json }
                    if let new = change.new { object["new"] = new.json }
                    return .object(object)
                }),
            ])
        })])
    }
}
