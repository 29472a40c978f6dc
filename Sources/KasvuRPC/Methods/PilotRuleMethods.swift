import JSONRPC
import KasvuDomain
import KasvuReplica

/// The pilots' rules: profiling with a human confirmation, referrals and their state machine.
enum PilotRuleMethods {
    static var declarations: [MethodDeclaration] { [profile, confirmRiskGroup, createReferral, transitionReferral] }

    private static let profile = MethodDeclaration(
        "client/profile",
        summary: """
            Propose a risk group from the client's profiling inputs (monthsUnemployed, educationLevel, monthsEmployedLast24, \
            languageSkills, and age from the henkilötunnus) with the transparent, versioned model; records the proposal. \
            A proposal is not a decision: see client/confirmRiskGroup.
            """,
        params: [.init("id", JSONSchema.uuid, required: true)],
        result: ("proposal", JSONSchema.object([
            "proposedGroup": JSONSchema.integer(minimum: 1, maximum: 3), "score": JSONSchema.string("exact decimal"),
            "modelVersion": JSONSchema.string(),
            "explanation": JSONSchema.array(JSONSchema.object([
                "factor": JSONSchema.string(), "value": JSONSchema.any, "contribution": JSONSchema.string("exact decimal"),
            ])),
        ], required: ["proposedGroup", "score", "modelVersion", "explanation"])),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        let id = p.id()
        try p.check()
        let proposal = try await call.replica.profile(clientID: id)
        return .object([
            "proposedGroup": .int(Int64(proposal.group)), "score": .string("\(proposal.score)"),
            "modelVersion": .string(proposal.modelVersion),
            "explanation": .array(proposal.explanation.map {
                .object(["factor": .string($0.factor), "value": $0.value.json, "contribution": .string("\($0.contribution)")])
            }),
        ])
    }

    private static let confirmRiskGroup = MethodDeclaration(
        "client/confirmRiskGroup",
        summary: """
            A person confirms the proposed risk group or overrides it (reason required when it differs). Who (kasvu rpc \
            --user), when and the model version are kept. No client gets a group without a confirmation.
            """,
        params: [
            .init("id", JSONSchema.uuid, required: true), .init("group", JSONSchema.integer(minimum: 1, maximum: 3), required: true),
            .init("reason", JSONSchema.string(), description: "required when the group differs from the proposal"),
        ],
        result: ("client", JSONSchema.ref("Client")),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        let id = p.id()
        let group = p.optionalInt("group")
        let reason = p.optionalString("reason")
        if group == nil { _ = p.string("group") }
        try p.check()
        return try await call.replica.confirmRiskGroup(clientID: id, group: group ?? 0, reason: reason,
                                                       confirmedBy: call.user).json
    }

    private static let createReferral = MethodDeclaration(
        "referral/create",
        summary: """
            Refer a client (with a confirmed risk group) to a provider; the referral starts pending and the central office \
            confirms it (active or waitlisted) against the provider's cap on sync. Without providerId (chosenBy: assigned) \
            the provider of the client's region with the most free places is assigned, ties broken by provider id. A client \
            has at most one pending or active referral; switch: true closes the open one (ended or cancelled, reason \
            provider_switched) in the same transaction. A provider known to be full answers capacity_exceeded. Where the \
            provider's pilot area has an assessment gate (Pirkanmaa, MK06: risk group 3 and persons marked needsAssessment), \
            a person without a completed assessment whose outcome is direct_referral or service_manager answers \
            assessment_required; the central store checks the same when the referral arrives.
            """,
        params: [
            .init("id", JSONSchema.uuid, description: "optional caller-chosen id (idempotent imports)"),
            .init("clientId", JSONSchema.uuid, required: true), .init("providerId", JSONSchema.uuid),
            .init("chosenBy", JSONSchema.field(EntityKind.referral.schema.field(.chosenBy)!), required: true),
            .init("switch", JSONSchema.boolean, description: "close the client's open referral first; false when absent"),
        ],
        result: ("referral", JSONSchema.ref("Referral")),
        errors: [.validationFailed, .notFound, .capacityExceeded, .assessmentRequired, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        var members = call.members
        let id = members.removeValue(forKey: "id") == nil ? nil : p.id()
        let switchProvider = members.removeValue(forKey: "switch")
        if let switchProvider, switchProvider.boolValue == nil {
            throw ResponseError.invalidParams("invalid params: switch must be a boolean", errors: [("switch", "must be true or false")])
        }
        let fields = p.fields(members, of: .referral)
        try p.check()
        return try await call.replica.createReferral(fields, id: id, switchProvider: switchProvider?.boolValue ?? false).json
    }

    private static let transitionReferral = MethodDeclaration(
        "referral/transition",
        summary: """
            Move a referral through its state machine: pending → rejected | cancelled; waitlisted → cancelled; active → \
            ended (reason required). pending → active | waitlisted and waitlisted → active are decided by the central \
            office against the provider's cap when it syncs (invalid_transition here).
            """,
        params: [
            .init("id", JSONSchema.uuid, required: true), .init("to", JSONSchema.referralState, required: true),
            .init("date", JSONSchema.date, description: "effective date; today (Europe/Helsinki) when absent"),
            .init("reason", JSONSchema.string(), description: "required for ended"),
        ],
        result: ("referral", JSONSchema.ref("Referral")),
        errors: [.invalidTransition, .validationFailed, .notFound, .permissionDenied], roles: .publicSide
    ) { call in
        var p = call.params
        let id = p.id()
        let to = p.string("to")
        let date = p.optionalString("date")
        let reason = p.optionalString("reason")
        try p.check()
        guard let next = ReferralState(rawValue: to) else {
            throw ResponseError.invalidParams("invalid params: to must be a referral state",
                errors: [("to", "must be one of \(ReferralState.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        let day = try date.map(ParamParsing.date)
        return try await call.replica.transitionReferral(id: id, to: next, date: day, reason: reason).json
    }
}
