import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica

/// The central office's billing: invoices and the random audit of reported hours.
enum BillingMethods {
    static var declarations: [MethodDeclaration] {
        [computeInvoice, issueInvoice, getInvoice, listInvoices, auditSample, auditRecord, setTariff, getTariff, listTariffs]
    }

    private static let invoiceSchema = JSONSchema.object([
        "providerId": JSONSchema.uuid, "kind": JSONSchema.string(allowed: ["capitation", "outcome"]),
        "month": JSONSchema.string(), "period": JSONSchema.string(),
        "lines": JSONSchema.array(["type": "object"]),
        "adjustments": JSONSchema.array(JSONSchema.object([
            "reason": JSONSchema.string("minimum_service_not_delivered, audit_recovery, bonus_education_started, or a bonus item's reason of the tariff (bonus_…)"),
            "amount": JSONSchema.money,
        ])),
        "subtotal": JSONSchema.money, "total": JSONSchema.money,
        "heldBack": JSONSchema.array(JSONSchema.object([
            "id": JSONSchema.uuid, "clientId": JSONSchema.uuid, "month": JSONSchema.string(), "reason": JSONSchema.string(),
        ]), description: "outcome invoices only, present when some hours reports of the period could not be priced: they are left out (not the whole period) with the reason"),
    ], required: ["providerId", "kind", "lines", "adjustments", "subtotal", "total"],
       description: "Lines and adjustments are rounded half-up to cents each; subtotal = sum of lines; total = subtotal + adjustments. Reproduces the worked tariff example exactly.")

    private static let computeInvoice = MethodDeclaration(
        "invoice/compute",
        summary: """
            A provider's capitation invoice for a month ({kind: capitation, month: YYYY-MM}: daily-prorated capitation per \
            active or ended referral, weighted by the referral's risk group, with the minimum-service sanction) or outcome \
            invoice for a four-month period ({kind: outcome, period: YYYY-Tn, audit?: {seed, rate}}: hours x hourly rate x \
            outcome weight, audit recovery from recorded findings, education bonus). The tariff is versioned data.
            """,
        params: [
            .init("providerId", JSONSchema.uuid, required: true),
            .init("kind", JSONSchema.string(allowed: ["capitation", "outcome"]), required: true),
            .init("month", JSONSchema.month, description: "required for a capitation invoice"),
            .init("period", JSONSchema.period, description: "required for an outcome invoice"),
            .init("audit", JSONSchema.object(["seed": JSONSchema.string(), "rate": JSONSchema.string("decimal in (0, 1]")], closed: true)),
        ],
        result: ("invoice", invoiceSchema),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .centralOffice
    ) { call in try await invoice(call) }

    /// Not optimised: Swift 6.3.1's optimizer crashed (LLVM coroutine splitting, signal 11) on
    /// this body in release builds; the work here is I/O-bound.
    @_optimize(none)
    private static func invoice(_ call: MethodCall) async throws -> JSONValue {
        var p = call.params
        let provider = p.id("providerId")
        let kind = p.string("kind")
        let month = p.optionalString("month"), period = p.optionalString("period")
        let audit = p.optionalObject("audit")
        try p.check()
        switch kind {
        case "capitation":
            guard let month else { throw ResponseError.invalidParams("invalid params: month is required", errors: [("month", "is required for a capitation invoice")]) }
            return try json(try await call.replica.capitationInvoice(providerID: provider, month: try ParamParsing.month(month)))
        case "outcome":
            guard let period else { throw ResponseError.invalidParams("invalid params: period is required", errors: [("period", "is required for an outcome invoice (YYYY-T1…T3)")]) }
            var auditParams = try Params(audit.map(JSONValue.object), allowed: ["seed", "rate"])
            let seed = auditParams.optionalString("seed"), rate = auditParams.optionalString("rate")
            try auditParams.check()
            let findings = audit == nil ? nil : AuditRequest(seed: seed ?? "", rate: rate ?? "0")
            return try json(try await call.replica.outcomeInvoice(providerID: provider, period: try ParamParsing.period(period), audit: findings))
        default:
            throw ResponseError.invalidParams("invalid params: kind", errors: [("kind", "must be capitation or outcome")])
        }
    }

    private static let issuedSchema = JSONSchema.object([
        "id": JSONSchema.uuid, "number": JSONSchema.string(), "providerId": JSONSchema.uuid,
        "kind": JSONSchema.string(allowed: ["capitation", "outcome"]), "month": JSONSchema.string(), "period": JSONSchema.string(),
        "issuedAt": JSONSchema.string(), "issuedBy": JSONSchema.string(), "tariffVersion": JSONSchema.string(),
        "invoice": invoiceSchema,
        "corrections": JSONSchema.array(JSONSchema.object([
            "invoiceId": JSONSchema.uuid, "invoiceNumber": JSONSchema.string(), "billed": JSONSchema.string(),
            "settled": JSONSchema.money, "recomputed": JSONSchema.money, "amount": JSONSchema.money,
        ])),
        "total": JSONSchema.money,
        "inputs": JSONSchema.object(["capitationBase": JSONSchema.string(), "hourlyRate": JSONSchema.string(),
                                     "referrals": JSONSchema.array(["type": "object"]), "contacts": JSONSchema.array(["type": "object"]),
                                     "hours": JSONSchema.array(["type": "object"]), "events": JSONSchema.array(["type": "object"]),
                                     "audit": ["type": "object"]]),
    ], required: ["id", "number", "providerId", "kind", "issuedAt", "issuedBy", "tariffVersion", "invoice", "corrections", "total", "inputs"],
       description: """
           An issued invoice, frozen: the computed invoice, correction lines for the provider's earlier issued invoices of \
           the same kind whose amount changed since (each names the invoice it corrects: settled = what was invoiced for it \
           so far, recomputed = its amount from today's data, amount = the difference), total = invoice.total + corrections, \
           and the inputs of its month or period.
           """)

    private static let issueInvoice = MethodDeclaration(
        "invoice/issue",
        summary: """
            Issue a provider's invoice for a month (capitation) or four-month period (outcome) that is over: computed as \
            invoice/compute does, numbered (CAP-YYYY-MM-xxxxxxxx, OUT-YYYY-Tn-xxxxxxxx: the last 8 hex digits of the provider's id) and frozen \
            with its inputs. It never changes; later changes to the data of earlier issued invoices of the provider and kind \
            appear on this one as correction lines. Issuing the same invoice again answers already_exists.
            """,
        params: [
            .init("providerId", JSONSchema.uuid, required: true),
            .init("kind", JSONSchema.string(allowed: ["capitation", "outcome"]), required: true),
            .init("month", JSONSchema.month, description: "required for a capitation invoice"),
            .init("period", JSONSchema.period, description: "required for an outcome invoice"),
            .init("audit", JSONSchema.object(["seed": JSONSchema.string(), "rate": JSONSchema.string("decimal in (0, 1]")], closed: true),
                  description: "outcome invoices: the audit to apply, applied again when the invoice is recomputed for a correction"),
        ],
        result: ("invoice", issuedSchema),
        errors: [.validationFailed, .notFound, .alreadyExists, .permissionDenied], roles: .centralOffice
    ) { call in try await issue(call) }

    @_optimize(none)  // as `invoice` above
    private static func issue(_ call: MethodCall) async throws -> JSONValue {
        var p = call.params
        let provider = p.id("providerId")
        let kind = p.string("kind")
        let month = p.optionalString("month"), period = p.optionalString("period")
        let audit = p.optionalObject("audit")
        try p.check()
        var auditParams = try Params(audit.map(JSONValue.object), allowed: ["seed", "rate"])
        let seed = auditParams.optionalString("seed"), rate = auditParams.optionalString("rate")
        try auditParams.check()
        let request = audit == nil ? nil : AuditRequest(seed: seed ?? "", rate: rate ?? "0")
        let issued: IssuedInvoiceRecord
        switch (kind, month, period) {
        case ("capitation", let month?, nil):
            issued = try await call.replica.issueInvoice(providerID: provider, kind: .capitation, billed: try ParamParsing.month(month).description,
                                                         audit: request, issuedBy: call.user)
        case ("outcome", nil, let period?):
            issued = try await call.replica.issueInvoice(providerID: provider, kind: .outcome, billed: try ParamParsing.period(period).description,
                                                         audit: request, issuedBy: call.user)
        case ("capitation", _, _):
            throw ResponseError.invalidParams("invalid params: month", errors: [("month", "a capitation invoice has a month and no period")])
        case ("outcome", _, _):
            throw ResponseError.invalidParams("invalid params: period", errors: [("period", "an outcome invoice has a period and no month")])
        default:
            throw ResponseError.invalidParams("invalid params: kind", errors: [("kind", "must be capitation or outcome")])
        }
        return try document(issued)
    }

    private static let getInvoice = MethodDeclaration(
        "invoice/get",
        summary: "An issued invoice by id or number, exactly as it was issued.",
        params: [.init("id", JSONSchema.string(), required: true, description: "the invoice's id or its number")],
        result: ("invoice", issuedSchema),
        errors: [.notFound, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let id = p.string("id")
        try p.check()
        return try document(try await call.replica.issuedInvoice(id))
    }

    private static let listInvoices = MethodDeclaration(
        "invoice/list",
        summary: "Issued invoices, by month or period then number; optionally of one provider and kind.",
        params: [
            .init("providerId", JSONSchema.uuid),
            .init("kind", JSONSchema.string(allowed: ["capitation", "outcome"])),
        ],
        result: ("invoices", JSONSchema.object(["invoices": JSONSchema.array(JSONSchema.object([
            "id": JSONSchema.uuid, "number": JSONSchema.string(), "providerId": JSONSchema.uuid,
            "kind": JSONSchema.string(allowed: ["capitation", "outcome"]), "month": JSONSchema.string(), "period": JSONSchema.string(),
            "issuedAt": JSONSchema.string(), "issuedBy": JSONSchema.string(), "amount": JSONSchema.money, "total": JSONSchema.money,
        ], required: ["id", "number", "providerId", "kind", "issuedAt", "issuedBy", "amount", "total"]))], required: ["invoices"])),
        errors: [.validationFailed, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let provider = p.optionalID("providerId")
        let kind = p.optionalString("kind")
        try p.check()
        var parsedKind: Invoice.Kind?
        if let kind {
            guard let known = Invoice.Kind(rawValue: kind) else {
                throw ResponseError.invalidParams("invalid params: kind", errors: [("kind", "must be capitation or outcome")])
            }
            parsedKind = known
        }
        let invoices = try await call.replica.issuedInvoices(providerID: provider, kind: parsedKind)
        return .object(["invoices": .array(invoices.map { invoice in
            .object([
                "id": .string(invoice.id), "number": .string(invoice.number), "providerId": .string(invoice.providerId),
                "kind": .string(invoice.kind.rawValue), invoice.kind == .capitation ? "month" : "period": .string(invoice.billed),
                "issuedAt": .string(invoice.issuedAt), "issuedBy": .string(invoice.issuedBy),
                "amount": .string(invoice.amount), "total": .string(invoice.total),
            ])
        })])
    }

    /// The stored document, parsed (its bytes are compact JSON with sorted keys).
    private static func document(_ issued: IssuedInvoiceRecord) throws -> JSONValue {
        do { return try JSONValue.parse(Data(issued.document.utf8)) } catch { throw ResponseError.internalError("invoice document: \(error.message)") }
    }

    private static let tariffSchema = JSONSchema.object([
        "version": JSONSchema.string(),
        "capitation": JSONSchema.object(["weights": ["type": "object"], "baseRange": ["type": "object"], "proration": JSONSchema.string(allowed: ["daily"]),
                                         "billing": JSONSchema.string(allowed: ["monthly"])]),
        "outcome": JSONSchema.object(["weights": ["type": "object"], "hourlyRange": ["type": "object"], "billing": JSONSchema.string(allowed: ["four-monthly"]),
                                      "windowMonthsAfterEnd": JSONSchema.integer()]),
        "sanctions": ["type": "object"],
        "bonus": JSONSchema.object(["educationStarted": ["type": "object"], "items": JSONSchema.array(JSONSchema.object([
            "reason": JSONSchema.string(pattern: "^bonus_[a-z_]+$"), "event": JSONSchema.string(), "amount": JSONSchema.money,
            "municipalities": JSONSchema.array(JSONSchema.string()),
        ], required: ["reason", "event", "amount"]))]),
    ], required: ["version", "capitation", "outcome", "sanctions", "bonus"],
       description: "A tariff document in the form of the built-in one (KasvuDomain/Resources/tariff.json); every number is decimal text.")

    private static func versionJSON(area: String, validFrom: CalendarDate?, tariff: Tariff) throws -> JSONValue {
        let document: JSONValue
        do { document = try JSONValue.parse(Data(tariff.jsonText().utf8)) } catch { throw ResponseError.internalError("tariff document: \(error.message)") }
        return .object(["area": .string(area), "validFrom": validFrom.map { .string($0.description) } ?? .null,
                        "version": .string(tariff.version), "builtIn": .bool(validFrom == nil), "tariff": document])
    }

    private static let versionSchema = JSONSchema.object([
        "area": JSONSchema.string(), "validFrom": JSONSchema.nullable(JSONSchema.date), "version": JSONSchema.string(),
        "builtIn": JSONSchema.boolean, "tariff": tariffSchema,
    ], required: ["area", "validFrom", "version", "builtIn", "tariff"])

    private static let setTariff = MethodDeclaration(
        "tariff/set",
        summary: """
            Set the version of a pilot area's tariff valid from a date (until the area's next version): weights, price \
            ranges, sanctions, bonuses (items such as business start-up and regional bonuses), the outcome window. Each \
            invoice uses the version valid in its provider's area on the first day of its month or period; the built-in \
            tariff holds before the first. Setting the same area and date again corrects that version; invoices issued \
            already keep theirs and the next ones carry the difference as corrections.
            """,
        params: [
            .init("area", JSONSchema.field(EntityKind.tariff.schema.field(.pilotArea)!), required: true),
            .init("validFrom", JSONSchema.date, required: true),
            .init("tariff", tariffSchema, required: true),
        ],
        result: ("version", versionSchema),
        errors: [.validationFailed, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let area = p.string("area"), validFrom = p.string("validFrom")
        let tariff = p.optionalObject("tariff")
        if tariff == nil { _ = p.string("tariff") }
        try p.check()
        let set = try await call.replica.setTariff(area: area, validFrom: validFrom, document: Data(JSONValue.object(tariff ?? [:]).serialized()))
        return try versionJSON(area: set.area, validFrom: set.validFrom, tariff: set.tariff)
    }

    private static let getTariff = MethodDeclaration(
        "tariff/get",
        summary: "The tariff valid in a pilot area on a date (today by default): the version set for it, or the built-in one (builtIn: true, validFrom: null).",
        params: [
            .init("area", JSONSchema.field(EntityKind.tariff.schema.field(.pilotArea)!), required: true),
            .init("date", JSONSchema.date, description: "default: today"),
        ],
        result: ("version", versionSchema),
        errors: [.validationFailed], roles: .everyone
    ) { call in
        var p = call.params
        let area = p.string("area"), date = p.optionalString("date")
        try p.check()
        let (code, version, tariff) = try await call.replica.tariff(area: area, on: try date.map(ParamParsing.date))
        return try versionJSON(area: code, validFrom: version, tariff: tariff)
    }

    private static let listTariffs = MethodDeclaration(
        "tariff/list",
        summary: "The tariff versions set, by area then first day; optionally of one area.",
        params: [.init("area", JSONSchema.field(EntityKind.tariff.schema.field(.pilotArea)!))],
        result: ("versions", JSONSchema.object(["versions": JSONSchema.array(JSONSchema.object([
            "area": JSONSchema.string(), "validFrom": JSONSchema.date, "version": JSONSchema.string(),
        ], required: ["area", "validFrom", "version"]))], required: ["versions"])),
        errors: [.validationFailed], roles: .everyone
    ) { call in
        var p = call.params
        let area = p.optionalString("area")
        try p.check()
        let code = try area.map { text throws(KasvuError) in try Replica.areaCode(text) }
        let versions = try await call.replica.tariffSchedule().versions.filter { code == nil || $0.area == code }
        return .object(["versions": .array(versions.map {
            .object(["area": .string($0.area), "validFrom": .string($0.validFrom.description), "version": .string($0.tariff.version)])
        })])
    }

    /// The invoice's canonical JSON (its own encoder decides the exact keys and money strings).
    private static func json(_ invoice: Invoice) throws -> JSONValue {
        let data = try invoice.jsonData()
        do { return try JSONValue.parse(data) } catch { throw ResponseError.internalError("invoice encoding: \(error.message)") }
    }

    private static let auditSample = MethodDeclaration(
        "audit/sample",
        summary: """
            The hours reports of a provider's period to verify against the registers: ranked by sha256("<seed>:<hours id>") \
            as lowercase hex ascending, the first ceil(rate x count).
            """,
        params: [
            .init("providerId", JSONSchema.uuid, required: true), .init("period", JSONSchema.period, required: true),
            .init("rate", JSONSchema.string("decimal in (0, 1]"), required: true), .init("seed", JSONSchema.string(), required: true),
        ],
        result: ("sample", JSONSchema.object(["sampled": JSONSchema.array(JSONSchema.uuid)], required: ["sampled"])),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let provider = p.id("providerId")
        let period = p.string("period"), rate = p.string("rate"), seed = p.string("seed")
        try p.check()
        let term = try ParamParsing.period(period)
        let sampled = try await call.replica.auditSample(providerID: provider, period: term, rate: rate, seed: seed)
        return .object(["sampled": .array(sampled.map(JSONValue.string))])
    }

    private static let auditRecord = MethodDeclaration(
        "audit/record",
        summary: "Store the register finding for one hours report (verified hours); the next outcome invoice with an audit carries the extrapolated recovery.",
        params: [
            .init("hoursId", JSONSchema.uuid, required: true),
            .init("verifiedHours", JSONSchema.field(EntityKind.hours.schema.field(.verifiedHours)!), required: true),
        ],
        result: ("hours", JSONSchema.ref("Hours")),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .centralOffice
    ) { call in
        var p = call.params
        let id = p.id("hoursId")
        let verified = p.string("verifiedHours")
        try p.check()
        return try await call.replica.recordAudit(hoursID: id, verifiedHours: verified, auditedBy: call.user).json
    }
}
