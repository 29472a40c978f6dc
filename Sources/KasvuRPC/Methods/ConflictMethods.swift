import JSONRPC
import KasvuDomain
import KasvuReplica

/// Conflicts: every multi-valued field, and resolving one by an ordinary write.
enum ConflictMethods {
    static var declarations: [MethodDeclaration] { [list, resolve] }

    private static let list = MethodDeclaration(
        "conflict/list", summary: """
            Every multi-valued field, every delete that missed concurrent edits, and every client the central store flagged \
            as having another client's henkilötunnus (kind duplicate_identity, with duplicateOf) in the replica.
            """,
        params: [.init("entity", JSONSchema.entity, description: "only conflicts of this entity")],
        result: ("result", JSONSchema.items(JSONSchema.ref("Conflict"))),
        errors: [], roles: .everyone
    ) { call in
        var p = call.params
        let entity = p.optionalString("entity")
        try p.check()
        let kind = try entity.map(ParamParsing.entityKind)
        return .object(["items": .array(try await call.replica.conflicts(of: kind).map(\.json))])
    }

    private static let resolve = MethodDeclaration(
        "conflict/resolve",
        summary: """
            Resolve a conflict by writing one value to the field; the write supersedes every value seen and syncs like any \
            edit. For delete_vs_edit use field `deleted` with true (keep the delete) or false (keep the record). The write \
            follows the same field rules as any other: a provider replica resolves conflicts only on contacts, hours and events.
            """,
        params: [
            .init("entity", JSONSchema.entity, required: true), .init("id", JSONSchema.uuid, required: true),
            .init("field", JSONSchema.string(), required: true), .init("value", JSONSchema.any, required: true),
        ],
        result: ("record", ["type": "object"]),
        errors: [.validationFailed, .notFound, .permissionDenied], roles: .everyone
    ) { call in
        var p = call.params
        let entity = p.string("entity")
        let id = p.id()
        let field = p.string("field")
        try p.check()
        let kind = try ParamParsing.entityKind(entity)
        let json = p["value"] ?? .null  // declared required: present, possibly null
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
        return try await call.replica.resolveConflict(kind, id: id, field: field, value: value).json
    }
}
