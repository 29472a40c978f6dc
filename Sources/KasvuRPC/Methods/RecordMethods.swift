import JSONRPC
import KasvuDomain
import KasvuReplica

/// Registry records: create, get, update, delete and list for every entity, and the provider's
/// records of its service (contacts, events, hours).
enum RecordMethods {
    static var declarations: [MethodDeclaration] {
        var methods = [
            create("client/create", .client, roles: .publicSide,
                   summary: "Register a client. All fields are validated; every problem is reported in data.errors."),
            update(.client, roles: .publicSide),
            create("provider/create", .provider, roles: .centralOffice,
                   summary: "Register a provider and its contract terms (within the tariff's ranges)."),
            update(.provider, roles: .centralOffice),
            create("contact/record", .contact, roles: .everyone, summary: "Record a service contact with a client."),
            create("event/record", .event, roles: .everyone, summary: "Record an outcome event for a client."),
            create("assessment/create", .assessment, roles: .publicSide, summary: """
                Record a multi-professional service-need assessment of a person client, as a draft: date, participants \
                [{role, name}], needs, outcome, recommendedServices, notes. Complete it with assessment/complete.
                """),
            update(.assessment, roles: .publicSide),
            assessmentComplete,
            create("service/create", .service, roles: .centralOffice, summary: """
                Add a service to the catalogue: what the TE office, municipalities, Kela and others already offer (category, \
                organiser, target group, municipalities served, validity, capacity, monthly cost). Every replica receives it.
                """),
            update(.service, roles: .centralOffice),
            create("enrolment/create", .enrolment, roles: .everyone, summary: """
                Enrol a client in a catalogue service, planned. The service must be offered on the dates and serve the client's \
                municipality, type, risk group and age (validation_failed names each problem). Offices and the central office \
                enrol; a provider's replica only if it is a service manager (contractKind service_manager), naming itself in providerId.
                """),
            enrolmentTransition,
            clientDelete, clientMerge, clientSearch, clientJourney, hoursReport,
        ]
        // Issued invoices and tariff versions have their own get and list (BillingMethods),
        // which serve the documents.
        for kind in EntityKind.allCases where kind != .invoice && kind != .tariff {
            methods += [get(kind), list(kind)]
        }
        return methods
    }

    private static func create(_ name: String, _ kind: EntityKind, roles: Set<ReplicaRole>, summary: String) -> MethodDeclaration {
        let writable = kind.schema.fields.filter { $0.access != .system }
        return MethodDeclaration(
            name, summary: summary,
            params: [.init("id", JSONSchema.uuid, description: "optional caller-chosen id (idempotent imports)")]
                + writable.map { .init($0.name, JSONSchema.field($0), required: $0.required) },
            result: (kind.rawValue, JSONSchema.ref(OpenRPCDocument.schemaName(kind))),
            errors: [.validationFailed, .alreadyExists, .permissionDenied] + (kind == .client ? [.duplicateIdentity] : []), roles: roles
        ) { call in
            var p = call.params
            var members = call.members
            let id = members.removeValue(forKey: "id") == nil ? nil : p.id()
            let fields = p.fields(members, of: kind)
            try p.check()
            return try await call.replica.create(kind, fields: fields, id: id).json
        }
    }

    private static func update(_ kind: EntityKind, roles: Set<ReplicaRole>) -> MethodDeclaration {
        let name = OpenRPCDocument.schemaName(kind)
        return MethodDeclaration(
            "\(kind.rawValue)/update", summary: "Change some fields of a \(kind.rawValue); null clears an optional field.",
            params: [.init("id", JSONSchema.uuid, required: true), .init("set", JSONSchema.ref(name + "Changes"), required: true)],
            result: (kind.rawValue, JSONSchema.ref(name)),
            errors: [.validationFailed, .notFound, .permissionDenied], roles: roles
        ) { call in
            var p = call.params
            let id = p.id()
            let set = p.optionalObject("set")
            let fields = p.fields(set ?? [:], of: kind, path: "set")
            if set == nil { _ = p.string("set") }
            try p.check()
            return try await call.replica.update(kind, id: id, set: fields).json
        }
    }

    private static func get(_ kind: EntityKind) -> MethodDeclaration {
        let record = JSONSchema.ref(OpenRPCDocument.schemaName(kind))
        let queued: JSONValue = ["allOf": [record, JSONSchema.object([
            "queuePosition": JSONSchema.nullable(JSONSchema.integer("place in the provider's queue, 1 = next; only for a waitlisted referral", minimum: 1)),
        ], required: ["queuePosition"])]]
        return MethodDeclaration(
            "\(kind.rawValue)/get",
            summary: "One \(kind.rawValue); includes `conflicts` when a field has several values"
                + (kind == .referral ? "; a waitlisted referral shows its `queuePosition` (creation order, as the central store promotes)." : "."),
            params: [.init("id", JSONSchema.uuid, required: true)],
            result: (kind.rawValue, kind == .referral ? queued : record),
            errors: [.notFound], roles: .everyone
        ) { call in
            var p = call.params
            if kind == .client, let key = ["hetu", "businessId", "associationNumber", "lastName", "name"].first(where: { call.members[$0] != nil }) {
                throw ResponseError.invalidParams("client/get takes the client's id", errors: [(field: key, message:
                    "client/get finds a client by id only; to find one by \(key) call client/search {\"text\": …}")])
            }
            let id = p.id()
            try p.check()
            let found = try await call.replica.get(kind, id: id).json
            guard kind == .referral, case .object(var object) = found else { return found }
            object["queuePosition"] = try await call.replica.queuePosition(ofReferral: id).map { .int(Int64($0)) } ?? .null
            return .object(object)
        }
    }

    private static func list(_ kind: EntityKind) -> MethodDeclaration {
        let filters = kind.schema.fields.filter(\.indexed)
        return MethodDeclaration(
            "\(kind.rawValue)/list", summary: "Live \(kind.rawValue) records ordered by id, one page at a time.",
            params: [
                .init("where", JSONSchema.object(Dictionary(uniqueKeysWithValues: filters.map { ($0.name, JSONSchema.field($0)) }), closed: true,
                                                 description: "equality filters on the indexed fields")),
                .init("limit", JSONSchema.integer(minimum: 1, maximum: 1000), description: "page size, 100 when absent"),
                .init("after", JSONSchema.string("the `next` of the previous page")),
            ],
            result: ("page", JSONSchema.object([
                "items": JSONSchema.array(JSONSchema.ref(OpenRPCDocument.schemaName(kind))),
                "next": JSONSchema.nullable(JSONSchema.string()),
            ], required: ["items", "next"])),
            errors: [.validationFailed], roles: .everyone
        ) { call in
            var p = call.params
            let filter = p.optionalObject("where") ?? [:]
            let limit = p.optionalInt("limit") ?? 100
            let after = p.optionalString("after")
            let fields = p.fields(filter, of: kind, path: "where")
            try p.check()
            let page = try await call.replica.list(kind, where: fields, limit: limit, after: after)
            return .object(["items": .array(page.items.map(\.json)), "next": page.next.map(JSONValue.string) ?? .null])
        }
    }

    private static let clientSearch = MethodDeclaration(
        "client/search",
        summary: """
            Find this replica's clients (its scope) by the beginning of their first, last, company or community names \
            (every word given must begin one; any case; composed or decomposed Unicode), or by a whole henkilötunnus, \
            Y-tunnus or association number. Best matches first: more whole-word matches, then by name, then by id.
            """,
        params: [
            .init("text", JSONSchema.string("words, or an identifier"), required: true),
            .init("limit", JSONSchema.integer(minimum: 1, maximum: 100), description: "page size, 20 when absent"),
            .init("after", JSONSchema.string("the `next` of the previous page")),
        ],
        result: ("page", JSONSchema.object([
            "items": JSONSchema.array(JSONSchema.ref(OpenRPCDocument.schemaName(.client))),
            "next": JSONSchema.nullable(JSONSchema.string()),
        ], required: ["items", "next"])),
        errors: [.validationFailed], roles: .everyone
    ) { call in
        var p = call.params
        let text = p.string("text")
        let limit = p.optionalInt("limit") ?? 20
        let after = p.optionalString("after")
        try p.check()
        let page = try await call.replica.search(text, limit: limit, after: after)
        return .object(["items": .array(page.items.map(\.json)), "next": page.next.map(JSONValue.string) ?? .null])
    }

    private static let clientJourney = MethodDeclaration(
        "client/journey",
        summary: """
            One timeline of everything this replica knows about a client, oldest first (by the day each step is about or, \
            where the record names none, was written; then by when it was written): registration, profiling proposal and confirmation (with the model version and \
            who confirmed), assessments (needs, and the outcome with who completed it), referrals and the transitions their states show (dates, who), contacts, hours, events, \
            enrolments in catalogue services (planned, started, ended, with the service), this \
            replica's own other writes with the user who made them, and the conflicts open on any of them. `by.user` is \
            known for this replica's own writes; other replicas' users are in audit/trail (central office).
            """,
        params: [.init("id", JSONSchema.uuid, required: true)],
        result: ("journey", JSONSchema.object([
            "client": JSONSchema.ref(OpenRPCDocument.schemaName(.client)),
            "steps": JSONSchema.array(JSONSchema.object([
                "event": JSONSchema.string(allowed: ["registered", "profiled", "risk_group_confirmed", "assessment", "assessment_completed", "referred", "referral_activated",
                                                 "referral_waitlisted", "referral_ended", "referral_cancelled", "referral_rejected",
                                                 "contact", "hours_reported", "event", "enrolment_planned", "enrolment_started", "enrolment_completed",
                                                 "enrolment_interrupted", "enrolment_not_started", "updated", "deleted"]),
                "entity": JSONSchema.entity, "id": JSONSchema.uuid,
                "at": JSONSchema.string("when the write was made, ISO 8601 UTC"),
                "date": JSONSchema.string("the day the step is about (a contact's date, a referral's start or end, the first of an hours report's month), else the day it was written, in Finland (YYYY-MM-DD)"),
                "by": JSONSchema.object(["actor": JSONSchema.string(), "thisReplica": JSONSchema.boolean,
                                         "user": JSONSchema.nullable(JSONSchema.string())], required: ["actor", "thisReplica", "user"]),
                "details": JSONSchema.object([:], description: "the step's field values (provider, kind, dates, group, fields changed…)"),
            ], required: ["event", "entity", "id", "at", "date", "by", "details"])),
            "conflicts": JSONSchema.array(JSONSchema.ref("Conflict")),
            "serviceOverlaps": JSONSchema.array(JSONSchema.object([
                "category": JSONSchema.string(), "enrolmentIds": JSONSchema.array(JSONSchema.uuid), "serviceIds": JSONSchema.array(JSONSchema.uuid),
                "from": JSONSchema.date, "to": JSONSchema.nullable(JSONSchema.date),
            ], required: ["category", "enrolmentIds", "serviceIds", "from", "to"],
               description: "the client in two started enrolments of one category from different organisers at the same time (report/overlaps)")),
        ], required: ["client", "steps", "conflicts", "serviceOverlaps"])),
        errors: [.notFound], roles: .everyone
    ) { call in
        var p = call.params
        let id = p.id()
        try p.check()
        return try await call.replica.journey(clientID: id).json
    }

    private static let assessmentComplete = MethodDeclaration(
        "assessment/complete",
        summary: """
            Complete an assessment: its outcome must be set; who completed it and when are recorded. A completed assessment \
            does not change (record a new one); the client's latest completed one is what the assessment gate of \
            referral/create reads and what the provider the client is referred to receives (outcome and needs only).
            """,
        params: [.init("id", JSONSchema.uuid, required: true)],
        result: ("assessment", JSONSchema.ref(OpenRPCDocument.schemaName(.assessment))),
        errors: [.validationFailed, .notFound, .invalidTransition, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        let id = p.id()
        try p.check()
        return try await call.replica.completeAssessment(id: id, completedBy: call.user).json
    }

    private static let enrolmentTransition = MethodDeclaration(
        "enrolment/transition",
        summary: "Move an enrolment: planned → started → completed | interrupted (reason), or planned → not_started (reason). The date is the day it happened.",
        params: [
            .init("id", JSONSchema.uuid, required: true),
            .init("to", JSONSchema.string(allowed: EnrolmentState.allCases.map(\.rawValue)), required: true),
            .init("date", JSONSchema.date, description: "the day; today (Europe/Helsinki) when absent"),
            .init("reason", JSONSchema.string(), description: "required for interrupted and not_started"),
        ],
        result: ("enrolment", JSONSchema.ref(OpenRPCDocument.schemaName(.enrolment))),
        errors: [.validationFailed, .notFound, .invalidTransition, .permissionDenied], roles: .everyone
    ) { call in
        var p = call.params
        let id = p.id()
        let to = p.string("to")
        let date = p.optionalString("date")
        let reason = p.optionalString("reason")
        try p.check()
        guard let next = EnrolmentState(rawValue: to) else {
            throw ResponseError.invalidParams("invalid params: to", errors: [(field: "to", message: "must be one of \(EnrolmentState.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        let day = try date.map(ParamParsing.date)
        return try await call.replica.transitionEnrolment(id: id, to: next, date: day, reason: reason).json
    }

    private static let clientDelete = MethodDeclaration(
        "client/delete",
        summary: "Delete and erase a client: the same write nulls its personal fields, the notes of its contacts and events and the personal fields of its assessments; concurrent edits elsewhere surface as a delete_vs_edit conflict, and keeping the delete erases them too.",
        params: [.init("id", JSONSchema.uuid, required: true)],
        result: ("result", JSONSchema.object(["id": JSONSchema.uuid, "deleted": JSONSchema.boolean], required: ["id", "deleted"])),
        errors: [.notFound, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        let id = p.id()
        try p.check()
        try await call.replica.delete(.client, id: id)
        return .object(["id": .string(id), "deleted": true])
    }

    private static let clientMerge = MethodDeclaration(
        "client/merge",
        summary: """
            Merge a duplicate client into the one kept: in one write its referrals, contacts and events become the kept \
            client's, its hours reports move to the kept client, and it is deleted and erased, naming the kept one in \
            mergedInto. Corrects a wrong henkilötunnus (register the right one, merge the wrong one into it) and resolves a \
            duplicate_identity. Refused, changing nothing, when both have an open referral, both have hours for one \
            provider and month, a moved report was audited (central office only) or falls outside the kept client's referrals.
            """,
        params: [.init("keep", JSONSchema.uuid, required: true), .init("remove", JSONSchema.uuid, required: true)],
        result: ("result", JSONSchema.object(["keep": JSONSchema.uuid, "remove": JSONSchema.uuid,
                                              "moved": JSONSchema.integer("referrals, contacts, hours reports and events moved")],
                                             required: ["keep", "remove", "moved"])),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        let keep = p.id("keep"), remove = p.id("remove")
        try p.check()
        let summary = try await call.replica.mergeClients(keep: keep, remove: remove)
        return .object(["keep": .string(summary.keep), "remove": .string(summary.remove), "moved": .int(Int64(summary.moved))])
    }

    private static let hoursReport = MethodDeclaration(
        "hours/report",
        summary: "Report the hours a client worked in a month. One record per client, provider and month: a second report corrects the first.",
        params: EntityKind.hours.schema.fields.filter { $0.access != .system }.map { .init($0.name, JSONSchema.field($0), required: $0.required) },
        result: ("hours", JSONSchema.ref("Hours")),
        errors: [.validationFailed, .permissionDenied], roles: .everyone
    ) { call in
        var p = call.params
        let fields = p.fields(call.members, of: .hours)
        try p.check()
        return try await call.replica.reportHours(fields).json
    }
}
