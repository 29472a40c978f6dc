import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuSync

extension FieldValue {
    public var json: JSONValue {
        switch self {
        case .null: .null
        case .bool(let flag): .bool(flag)
        case .int(let number): .int(number)
        case .string(let text): .string(text)
        }
    }

    /// A scalar JSON value as a field value; nil for arrays, objects and non-integral numbers.
    public init?(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .int(number)
        case .string(let text): self = .string(text)
        default: return nil
        }
    }
}

extension FieldEntry {
    func json(winner: Bool) -> JSONValue {
        .object(["value": value.json, "actor": .string(dot.actor.rawValue), "counter": .int(Int64(dot.counter)),
                 "hlc": .int(Int64(bitPattern: hlc.rawValue)), "winner": .bool(winner)])
    }
}

extension FieldConflict {
    var json: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "field": .string(field), "kind": .string(kind.rawValue),
            "values": .array(entries.enumerated().map { $0.element.json(winner: $0.offset == 0) }),
        ]
        if !editedFields.isEmpty { object["editedFields"] = .array(editedFields.map(JSONValue.string)) }
        return object
    }
}

extension Record {
    /// `{id, <every schema field, null when unset>, deleted?, conflicts?}`.
    var json: JSONValue {
        var object: [String: JSONValue] = ["id": .string(id)]
        for spec in kind.schema.fields {
            let value = self[spec.name]
            // An array or object field is held as its canonical JSON text (``FieldSpec/ValueType/array``).
            if spec.type == .array || spec.type == .object, let text = value.stringValue, let parsed = try? JSONValue.parse(text.utf8) {
                object[spec.name] = parsed
            } else {
                object[spec.name] = value.json
            }
        }
        if isDeleted { object["deleted"] = true }
        if !conflicts.isEmpty { object["conflicts"] = .array(conflicts.map { .object($0.json) }) }
        return .object(object)
    }
}

extension ConflictReport {
    var json: JSONValue {
        var object = conflict.json
        object["entity"] = .string(kind.rawValue)
        object["id"] = .string(id)
        if let duplicateOf { object["duplicateOf"] = .string(duplicateOf) }
        return .object(object)
    }
}

extension JourneyStep {
    /// `{event, entity, id, at, date, by: {actor, thisReplica, user}, details}`; `at` in ISO 8601 UTC.
    var json: JSONValue {
        let at = Date(timeIntervalSince1970: TimeInterval(self.at.millis) / 1000)
        return .object([
            "event": .string(event), "entity": .string(entity.rawValue), "id": .string(id),
            "at": .string(at.formatted(.iso8601)), "date": .string(date),
            "by": .object(["actor": .string(actor.rawValue), "thisReplica": .bool(byThisReplica), "user": user.map(JSONValue.string) ?? .null]),
            "details": .object(details.mapValues(\.json)),
        ])
    }
}

extension Journey {
    var json: JSONValue {
        .object(["client": client.json, "steps": .array(steps.map(\.json)), "conflicts": .array(conflicts.map(\.json)),
                 "serviceOverlaps": .array(serviceOverlaps.map { overlap in
                     .object(["category": .string(overlap.category), "enrolmentIds": .array(overlap.enrolmentIDs.map(JSONValue.string)),
                              "serviceIds": .array(overlap.serviceIDs.map(JSONValue.string)), "from": .string(overlap.from.description),
                              "to": overlap.to.map { .string($0.description) } ?? .null])
                 })])
    }
}

extension KasvuError {
    /// The JSON-RPC form: code 1000–2999, `data.kind`, and `data.errors` for field problems.
    var responseError: ResponseError {
        var data: [String: JSONValue] = ["kind": .string(kind.rawValue)]
        if !fieldErrors.isEmpty {
            data["errors"] = .array(fieldErrors.map { .object(["field": .string($0.field), "message": .string($0.message)]) })
        }
        return ResponseError(code: code, message: message, data: .object(data))
    }
}

extension Journey {
    /// The `client/journey` answer as JSON text, for the command line (`kasvu client journey --format json`).
    public var jsonText: String { String(decoding: json.serialized(), as: UTF8.self) }
}
