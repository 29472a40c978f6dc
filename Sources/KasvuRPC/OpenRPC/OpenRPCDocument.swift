import Foundation
import JSONRPC
import KasvuDomain
import KasvuSync

/// The OpenRPC catalogue of every method, generated from the method declarations and the
/// entity schemas. `Protocol/openrpc.json` is this document as `kasvu openrpc` prints it, and a
/// test fails when the two differ.
enum OpenRPCDocument {
    static func generate(_ declarations: [MethodDeclaration]) -> JSONValue {
        [
            "openrpc": "1.3.2",
            "info": [
                "title": "Kasvu replica JSON-RPC API",
                "version": "1.0.0",
                "description": """
                    JSON-RPC 2.0 over stdio (`kasvu rpc --db PATH`). Both LSP Content-Length framing and newline-delimited \
                    JSON; each message is answered in its framing. Standard errors: -32700 parse error, -32600 invalid \
                    request, -32601 method not found, -32602 invalid params (data.errors: [{field, message}]), -32603 \
                    internal error, -32800 request cancelled ($/cancelRequest). Domain errors use codes 1000-2999 with \
                    data.kind. Money and hours are decimal strings; dates are YYYY-MM-DD. `x-roles` names the replica \
                    roles that may call a method; any other role gets permission_denied.
                    """,
            ],
            "methods": .array(declarations.sorted { $0.name < $1.name }.map(method)),
            "components": ["schemas": .object(schemas), "errors": .object(errors)],
        ]
    }

    /// The document as `Protocol/openrpc.json` holds it: two-space indents, sorted keys, a final newline.
    static func text(_ document: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    /// The schema name of an entity's records (`Client`), its create fields (`ClientFields`) and
    /// its updatable fields (`ClientChanges`).
    static func schemaName(_ kind: EntityKind) -> String { kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst() }

    private static func method(_ declaration: MethodDeclaration) -> JSONValue {
        .object([
            "name": .string(declaration.name),
            "summary": .string(declaration.summary),
            "paramStructure": "by-name",
            "params": .array((declaration.params + [RequestMeta.declaration]).map { param in
                var object: [String: JSONValue] = ["name": .string(param.name), "schema": param.schema, "required": .bool(param.required)]
                if let description = param.description { object["description"] = .string(description) }
                return .object(object)
            }),
            "result": ["name": .string(declaration.result.name), "schema": declaration.result.schema],
            "errors": .array(declaration.errors.map { ["$ref": .string("#/components/errors/\($0.rawValue)")] }),
            "x-roles": .array(ReplicaRole.allCases.filter(declaration.roles.contains).map { .string($0.rawValue) }),
        ])
    }

    private static var schemas: [String: JSONValue] {
        var schemas: [String: JSONValue] = [:]
        for kind in EntityKind.allCases {
            let schema = kind.schema
            let name = schemaName(kind)
            var record: [String: JSONValue] = ["id": JSONSchema.uuid]
            for spec in schema.fields { record[spec.name] = JSONSchema.field(spec) }
            record[EntitySchema.deletedField] = JSONSchema.boolean
            record["conflicts"] = JSONSchema.array(JSONSchema.ref("FieldConflict"), description: "present when a field holds several values")
            schemas[name] = JSONSchema.object(record, required: ["id"] + schema.fields.map(\.name),
                description: "Every field is present, null when unset; `deleted` is present and true only for a deleted record shown because of a conflict.")
            let writable = schema.fields.filter { $0.access != .system }
            schemas[name + "Fields"] = JSONSchema.object(
                Dictionary(uniqueKeysWithValues: writable.map { ($0.name, JSONSchema.field($0)) }),
                required: writable.filter(\.required).map(\.name), closed: true)
            schemas[name + "Changes"] = JSONSchema.object(
                Dictionary(uniqueKeysWithValues: writable.filter { $0.access == .editable }.map { ($0.name, JSONSchema.field($0)) }),
                closed: true)
        }
        schemas["RequestMeta"] = RequestMeta.schema
        schemas["ConflictValue"] = JSONSchema.object([
            "value": JSONSchema.any, "actor": JSONSchema.string(), "counter": JSONSchema.integer(),
            "hlc": JSONSchema.integer("hybrid logical clock: ms << 16 | logical"), "winner": JSONSchema.boolean,
        ], required: ["value", "actor", "counter", "hlc", "winner"])
        schemas["FieldConflict"] = JSONSchema.object([
            "field": JSONSchema.string(), "kind": JSONSchema.string(allowed: FieldConflict.Kind.allCases.map(\.rawValue)),
            "values": JSONSchema.array(JSONSchema.ref("ConflictValue")), "editedFields": JSONSchema.array(JSONSchema.string()),
        ], required: ["field", "kind", "values"])
        schemas["Conflict"] = ["allOf": [
            JSONSchema.ref("FieldConflict"),
            JSONSchema.object(["entity": JSONSchema.entity, "id": JSONSchema.uuid,
                               "duplicateOf": JSONSchema.uuid], required: ["entity", "id"]),
        ]]
        schemas["ErrorData"] = JSONSchema.object([
            "kind": JSONSchema.string("stable snake_case name"),
            "errors": JSONSchema.array(JSONSchema.object(["field": JSONSchema.string(), "message": JSONSchema.string()])),
        ])
        return schemas
    }

    private static var errors: [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: KasvuError.Kind.allCases.map { kind in
            (kind.rawValue, ["code": .int(Int64(kind.code)), "message": .string(kind.summary), "data": ["kind": .string(kind.rawValue)]])
        })
    }
}
