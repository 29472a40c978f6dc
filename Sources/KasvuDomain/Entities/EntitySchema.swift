/// The kinds of record a replica holds and syncs.
public enum EntityKind: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case client, provider, referral, contact, hours, event, assessment, service, enrolment, baseline, invoice, tariff

    public var schema: EntitySchema {
        switch self {
        case .client: Schemas.client
        case .provider: Schemas.provider
        case .referral: Schemas.referral
        case .contact: Schemas.contact
        case .hours: Schemas.hours
        case .event: Schemas.event
        case .assessment: Schemas.assessment
        case .service: Schemas.service
        case .enrolment: Schemas.enrolment
        case .baseline: Schemas.baseline
        case .invoice: Schemas.invoice
        case .tariff: Schemas.tariff
        }
    }

    public static func < (a: EntityKind, b: EntityKind) -> Bool { a.rawValue < b.rawValue }

    /// The records of a client whose personal fields its erasure nulls in the same write
    /// (hours and referrals hold none).
    public static let erasedWithClient: [EntityKind] = [.contact, .event, .assessment, .enrolment]
}

/// One field of an entity: its public name, how a value is checked and who may set it.
public struct FieldSpec: Sendable {
    public enum Access: Sendable {
        /// Given on create and changeable with `…/update`.
        case editable
        /// Given on create only (identity and references).
        case createOnly
        /// Set by the system only (state machines, confirmations); never by `…/create` or `…/update`.
        case system
    }

    /// The JSON type a value must have (money, hours and dates are strings). An `array` or
    /// `object` travels in the sync state as its canonical JSON text (a string value), so that
    /// merge, storage and the wire stay scalar; the JSON-RPC boundary turns it back.
    public enum ValueType: String, Sendable {
        case string, integer, boolean, array, object
    }

    /// camelCase name used on the wire and in the sync state.
    public let name: String
    public let type: ValueType
    public let required: Bool
    public let access: Access
    /// Whether list queries may filter on it (the replica indexes these).
    public let indexed: Bool
    /// Profiling inputs, scores and assessment notes: never delivered to provider replicas.
    public let confidential: Bool
    /// Personal data: erased (written null) in the same write that deletes the client, and
    /// from the client's contacts and events (GDPR Art. 17).
    public let personal: Bool
    /// What the field means, for the API catalogue (the rule's format says what values look like).
    public let summary: String?
    /// The check and its documented format. `null` is passed to the check only for optional fields.
    public let rule: FieldRule

    init(_ key: FieldKey, type: ValueType = .string, required: Bool = false, access: Access = .editable,
         indexed: Bool = false, confidential: Bool = false, personal: Bool = false, summary: String? = nil, check rule: FieldRule) {
        self.name = key.rawValue
        self.type = type
        self.required = required
        self.access = access
        self.indexed = indexed
        self.confidential = confidential
        self.personal = personal
        self.summary = summary
        self.rule = rule
    }
}

/// The fields of one entity and the validation of whole writes.
///
/// ```swift
/// let fields = try EntityKind.client.schema.validateCreate([
///     "hetu": .string("131052-308T"), "firstName": .string("Aino"),
///     "lastName": .string("Virtanen"), "municipality": .string("749"),
/// ])
/// ```
public struct EntitySchema: Sendable {
    public let kind: EntityKind
    public let fields: [FieldSpec]
    /// Defaults applied on create when a field is absent.
    public let defaults: [String: FieldValue]
    /// Cross-field rules over the full resulting record (after defaults or the update).
    let recordRule: @Sendable ([String: FieldValue]) -> [FieldError]

    init(kind: EntityKind, fields: [FieldSpec], defaults: [String: FieldValue] = [:],
         recordRule: @escaping @Sendable ([String: FieldValue]) -> [FieldError] = { _ in [] }) {
        self.kind = kind
        self.fields = fields
        self.defaults = defaults
        self.recordRule = recordRule
    }

    /// The name of the synced tombstone field every entity has in addition to ``fields``.
    public static let deletedField = "deleted"

    public func field(_ name: String) -> FieldSpec? { fields.first { $0.name == name } }

    public func field(_ key: FieldKey) -> FieldSpec? { field(key.rawValue) }

    public var indexedFields: [String] { fields.filter(\.indexed).map(\.name) }

    /// The fields a deletion erases.
    public var personalFields: [String] { fields.filter(\.personal).map(\.name) }

    /// Validates the fields of a new record; returns canonical values with defaults applied.
    /// Every problem is reported, not just the first.
    public func validateCreate(_ input: [String: FieldValue]) throws(KasvuError) -> [String: FieldValue] {
        var errors: [FieldError] = []
        var output = defaults
        for (name, value) in input.sorted(by: { $0.key < $1.key }) {
            guard let spec = field(name) else {
                errors.append(FieldError(field: name, message: "unknown field of \(kind.rawValue)"))
                continue
            }
            guard spec.access != .system else {
                errors.append(FieldError(field: name, message: "is set by the system, not on create"))
                continue
            }
            do throws(FieldError) { output[name] = try checked(spec, value) } catch { errors.append(error) }
        }
        // A field already refused (or an item or member of it, `needs[1]`, `target.minAge`) is not also missing.
        for spec in fields where spec.required && (output[spec.name] ?? .null).isNull
            && !errors.contains(where: { $0.field == spec.name || $0.field.hasPrefix(spec.name + "[") || $0.field.hasPrefix(spec.name + ".") }) {
            errors.append(FieldError(field: spec.name, message: "is required"))
        }
        if errors.isEmpty { errors = recordRule(output) }
        guard errors.isEmpty else { throw .validationFailed(errors) }
        return output
    }

    /// Validates a partial update against the current values; returns the canonical changes.
    public func validateUpdate(_ changes: [String: FieldValue], current: [String: FieldValue]) throws(KasvuError) -> [String: FieldValue] {
        var errors: [FieldError] = []
        var output: [String: FieldValue] = [:]
        for (name, value) in changes.sorted(by: { $0.key < $1.key }) {
            guard let spec = field(name) else {
                errors.append(FieldError(field: name, message: "unknown field of \(kind.rawValue)"))
                continue
            }
            guard spec.access == .editable else {
                errors.append(FieldError(field: name, message: spec.access == .system
                    ? "is set by the system, not by update" : "cannot be changed after create"))
                continue
            }
            if spec.required && value.isNull {
                errors.append(FieldError(field: name, message: "is required and cannot be null"))
                continue
            }
            do throws(FieldError) { output[name] = try checked(spec, value) } catch { errors.append(error) }
        }
        if errors.isEmpty { errors = recordRule(current.merging(output) { $1 }) }
        guard errors.isEmpty else { throw .validationFailed(errors) }
        return output
    }

    /// What is wrong with a whole stored record (its winning values): a missing required field
    /// or a broken cross-field rule. The central store asks this of every record a push changes.
    public func recordErrors(_ values: [String: FieldValue]) -> [FieldError] {
        let missing = fields.filter { $0.required && (values[$0.name] ?? .null).isNull }
            .map { FieldError(field: $0.name, message: "is required") }
        return missing.isEmpty ? recordRule(values) : missing
    }

    /// Validates one value written by the system or by a conflict resolution.
    public func validateValue(_ name: String, _ value: FieldValue) throws(KasvuError) -> FieldValue {
        if name == Self.deletedField {
            guard case .bool = value else { throw .validationFailed(field: name, "must be true or false") }
            return value
        }
        guard let spec = field(name) else { throw .validationFailed(field: name, "unknown field of \(kind.rawValue)") }
        // Null is a value of every field here: an erasure writes it to required ones too, and
        // `recordErrors` refuses a live record that lacks a required value.
        if value.isNull { return .null }
        do throws(FieldError) { return try checked(spec, value) } catch { throw .validationFailed([error]) }
    }

    private func checked(_ spec: FieldSpec, _ value: FieldValue) throws(FieldError) -> FieldValue {
        if value.isNull {
            guard !spec.required else { throw FieldError(field: spec.name, message: "is required") }
            return .null
        }
        return try spec.rule.check(value)
    }
}
