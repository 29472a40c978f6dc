import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica

/// The central office's reports and the audit trail of a record.
enum ReportMethods {
    static var declarations: [MethodDeclaration] { [caseload, funnel, outcomes, overlaps, costs, baselineSet, auditTrail] }

    private static let caseload = MethodDeclaration(
        "report/caseload",
        summary: """
            Per provider: active, pending and waitlisted referrals against the cap, and active referrals by risk group \
            (from what this replica holds; the central office's admin replica holds everything).
            """,
        result: ("report", JSONSchema.items(JSONSchema.object([
            "providerId": JSONSchema.uuid, "name": JSONSchema.string(), "pilotArea": JSONSchema.string("region code, e.g. MK11"),
            "pilotAreaName": JSONSchema.string("the region's Finnish name"), "cap": JSONSchema.integer(),
            "active": JSONSchema.integer(), "pending": JSONSchema.integer(), "waitlisted": JSONSchema.integer(),
            "reserved": JSONSchema.integer("places offices' capacity leases hold, as of the last sync"),
            "free": JSONSchema.integer("cap less active and reserved"),
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
                "waitlisted": .int(Int64(row.waitlisted)), "reserved": .int(Int64(row.reserved)), "free": .int(row.free),
                "activeByRiskGroup": .object(Dictionary(uniqueKeysWithValues: (1...3).map { ("\($0)", JSONValue.int(Int64(row.activeByRiskGroup[$0] ?? 0))) })),
            ])
        })])
    }

    private static let funnel = MethodDeclaration(
        "report/funnel",
        summary: """
            The referral funnel: per pilot area and month a referral was made (its first write, Finnish time), how many \
            were made and where they stand now: pending, waitlisted, active, rejected, cancelled, ended (and ended by reason).
            """,
        result: ("report", JSONSchema.items(JSONSchema.object([
            "pilotArea": JSONSchema.string("region code, e.g. MK11"), "pilotAreaName": JSONSchema.string("the region's Finnish name"),
            "month": JSONSchema.month, "made": JSONSchema.integer(),
            "pending": JSONSchema.integer(), "waitlisted": JSONSchema.integer(), "active": JSONSchema.integer(),
            "rejected": JSONSchema.integer(), "cancelled": JSONSchema.integer(), "ended": JSONSchema.integer(),
            "endedByReason": ["type": "object", "additionalProperties": JSONSchema.integer()],
        ]))),
        errors: [.permissionDenied], roles: .centralOffice
    ) { call in
        try call.params.check()
        return .object(["items": .array(try await call.replica.funnelReport().map { row in
            var fields: [String: JSONValue] = [
                "pilotArea": .string(row.pilotArea), "pilotAreaName": .string(row.pilotAreaName), "month": .string(row.month.description),
                "made": .int(Int64(row.made)),
                "endedByReason": .object(row.endedByReason.mapValues { .int(Int64($0)) }),
            ]
            for state in ReferralState.allCases { fields[state.rawValue] = .int(Int64(row.count(state))) }
            return .object(fields)
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

    private static let overlaps = MethodDeclaration(
        "report/overlaps",
        summary: """
            Overlaps, from the catalogue and enrolments this replica holds: `clients`, a client in two started enrolments \
            of one category from different organisers at the same time; `catalogue`, services of different organisers in \
            one category offered at a common time to a common municipality and target group, with their combined monthly \
            cost (what buying only one could save each month); `retention`, per service, the enrolments started, the share \
            of ended ones interrupted, and the median months in service (to the end, or to today).
            """,
        result: ("report", JSONSchema.object([
            "clients": JSONSchema.array(JSONSchema.object([
                "clientId": JSONSchema.uuid, "category": JSONSchema.string(), "enrolmentIds": JSONSchema.array(JSONSchema.uuid),
                "serviceIds": JSONSchema.array(JSONSchema.uuid), "from": JSONSchema.date, "to": JSONSchema.nullable(JSONSchema.date),
            ])),
            "catalogue": JSONSchema.array(JSONSchema.object([
                "category": JSONSchema.string(), "serviceIds": JSONSchema.array(JSONSchema.uuid), "organisers": JSONSchema.array(JSONSchema.string()),
                "municipalities": JSONSchema.array(JSONSchema.string()), "combinedMonthlyCost": JSONSchema.nullable(JSONSchema.money),
            ])),
            "retention": JSONSchema.array(JSONSchema.object([
                "serviceId": JSONSchema.uuid, "name": JSONSchema.string(), "started": JSONSchema.integer(), "interrupted": JSONSchema.integer(),
                "interruptedShare": JSONSchema.nullable(JSONSchema.string("exact decimal, 4 places")),
                "medianMonths": JSONSchema.nullable(JSONSchema.string("exact decimal, 1 place")),
            ])),
        ], required: ["clients", "catalogue", "retention"])),
        errors: [.permissionDenied], roles: .publicSide
    ) { call in
        try call.params.check()
        let report = try await call.replica.overlapsReport()
        return .object([
            "clients": .array(report.clients.map { row in
                .object(["clientId": .string(row.clientID), "category": .string(row.category), "enrolmentIds": .array(row.enrolmentIDs.map(JSONValue.string)),
                         "serviceIds": .array(row.serviceIDs.map(JSONValue.string)), "from": .string(row.from.description),
                         "to": row.to.map { .string($0.description) } ?? .null])
            }),
            "catalogue": .array(report.catalogue.map { row in
                .object(["category": .string(row.category), "serviceIds": .array(row.serviceIDs.map(JSONValue.string)),
                         "organisers": .array(row.organisers.map(JSONValue.string)), "municipalities": .array(row.municipalities.map(JSONValue.string)),
                         "combinedMonthlyCost": row.combinedMonthlyCost.map { .string(Money.format($0)) } ?? .null])
            }),
            "retention": .array(report.retention.map { row in
                .object(["serviceId": .string(row.serviceID), "name": .string(row.name), "started": .int(Int64(row.started)),
                         "interrupted": .int(Int64(row.interrupted)),
                         "interruptedShare": row.interruptedShare.map { .string(Money.format($0, scale: 4)) } ?? .null,
                         "medianMonths": row.medianMonths.map { .string(Money.format($0, scale: 1)) } ?? .null])
            }),
        ])
    }

    private static let costs = MethodDeclaration(
        "report/costs",
        summary: """
            What the pilot cost in a four-month period, per pilot area and risk group: capitation and outcome fees as the \
            tariff invoices them (computed, with the minimum-service sanction and education bonus), the catalogue cost of \
            clients' enrolments (days in service x monthly cost / days in the month, to cents), clients, clients employed \
            (hours reported or an employed event), cost per client and per client employed; per area, the cost per client \
            against the baseline (baseline/set), the savings percentage and whether the 10 % goal is met.
            """,
        params: [.init("period", JSONSchema.period, required: true), .init("area", JSONSchema.string("one pilot area (region code or name); all when absent"))],
        result: ("report", JSONSchema.object([
            "period": JSONSchema.period,
            "rows": JSONSchema.array(JSONSchema.object([
                "area": JSONSchema.string("region code"), "riskGroup": JSONSchema.integer(), "capitation": JSONSchema.money, "outcome": JSONSchema.money,
                "services": JSONSchema.money, "total": JSONSchema.money, "clients": JSONSchema.integer(), "employed": JSONSchema.integer(),
                "costPerClient": JSONSchema.nullable(JSONSchema.money), "costPerEmployed": JSONSchema.nullable(JSONSchema.money),
            ])),
            "areas": JSONSchema.array(JSONSchema.object([
                "area": JSONSchema.string("region code"), "total": JSONSchema.money, "clients": JSONSchema.integer(),
                "costPerClient": JSONSchema.nullable(JSONSchema.money), "baseline": JSONSchema.nullable(JSONSchema.money),
                "savingsPercent": JSONSchema.nullable(JSONSchema.string("exact decimal, 2 places")), "goalMet": JSONSchema.nullable(JSONSchema.boolean),
            ])),
        ], required: ["period", "rows", "areas"])),
        errors: [.validationFailed, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let period = p.string("period")
        let area = p.optionalString("area")
        try p.check()
        let report = try await call.replica.costReport(period: try ParamParsing.period(period), area: area)
        func money(_ value: Decimal?) -> JSONValue { value.map { .string(Money.format($0)) } ?? .null }
        return .object([
            "period": .string(report.period.description),
            "rows": .array(report.rows.map { row in
                .object(["area": .string(row.area), "riskGroup": .int(Int64(row.riskGroup)), "capitation": money(row.capitation),
                         "outcome": money(row.outcome), "services": money(row.services), "total": money(row.total),
                         "clients": .int(Int64(row.clients)), "employed": .int(Int64(row.employed)),
                         "costPerClient": money(row.costPerClient), "costPerEmployed": money(row.costPerEmployed)])
            }),
            "areas": .array(report.areas.map { row in
                .object(["area": .string(row.area), "total": money(row.total), "clients": .int(Int64(row.clients)),
                         "costPerClient": money(row.costPerClient), "baseline": money(row.baseline),
                         "savingsPercent": row.savingsPercent.map { .string(Money.format($0)) } ?? .null,
                         "goalMet": row.goalMet.map(JSONValue.bool) ?? .null])
            }),
        ])
    }

    private static let baselineSet = MethodDeclaration(
        "baseline/set",
        summary: "Set an area's baseline cost per client for a four-month period (what report/costs measures savings against); setting it again corrects it.",
        params: [
            .init("area", JSONSchema.field(EntityKind.baseline.schema.field(.pilotArea)!), required: true),
            .init("period", JSONSchema.period, required: true),
            .init("costPerClient", JSONSchema.field(EntityKind.baseline.schema.field(.costPerClient)!), required: true),
        ],
        result: ("baseline", JSONSchema.ref(OpenRPCDocument.schemaName(.baseline))),
        errors: [.validationFailed, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let area = p.string("area"), period = p.string("period"), cost = p.string("costPerClient")
        try p.check()
        return try await call.replica.setBaseline(area: area, period: period, costPerClient: cost).json
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
