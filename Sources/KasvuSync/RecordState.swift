import KasvuDomain

/// One value of a multi-value register: what was written, by which write, and when.
public struct FieldEntry: Sendable, Hashable {
    public let value: FieldValue
    public let dot: Dot
    public let hlc: HLC
    /// For a delete (`deleted = true`): the version vector the delete was made under, so that
    /// edits it had not seen surface as delete-vs-edit conflicts.
    public let context: VersionVector?
    /// For an entry a recovery stamped again (`kasvu recover`): the write it was first, under
    /// the former actor. Two copies of one database that both held the write unpushed may each
    /// stamp it again under their own new actor; by the origin, the central store keeps one.
    public let origin: Write?

    /// One write: its dot and HLC.
    public struct Write: Sendable, Hashable {
        public let dot: Dot
        public let hlc: HLC
        public init(dot: Dot, hlc: HLC) {
            self.dot = dot
            self.hlc = hlc
        }
    }

    public init(value: FieldValue, dot: Dot, hlc: HLC, context: VersionVector? = nil, origin: Write? = nil) {
        self.value = value
        self.dot = dot
        self.hlc = hlc
        self.context = context
        self.origin = origin
    }

    /// The write this entry first was: its origin, or itself.
    public var firstWrite: Write { origin ?? Write(dot: dot, hlc: hlc) }

    /// The order every replica uses to pick the displayed winner: greatest `(hlc, actor)`.
    public static func winsOver(_ a: FieldEntry, _ b: FieldEntry) -> Bool {
        (a.hlc, a.dot.actor, a.dot.counter) > (b.hlc, b.dot.actor, b.dot.counter)
    }
}

/// A field with more than one surviving value, or a delete that missed concurrent edits.
public struct FieldConflict: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Concurrent writes of the same field.
        case concurrentValues = "concurrent_values"
        /// A delete that had not seen edits of other fields (`field` is `deleted`).
        case deleteVsEdit = "delete_vs_edit"
        /// Two live clients with one henkilötunnus (`field` is `hetu`), flagged by the central
        /// store in each one's `duplicateOf`; resolved by merging them or deleting one.
        case duplicateIdentity = "duplicate_identity"
    }

    public let field: String
    public let kind: Kind
    /// The competing entries, winner first.
    public let entries: [FieldEntry]
    /// For delete-vs-edit: the fields edited without the delete's knowledge.
    public let editedFields: [String]

    public var winner: FieldEntry { entries[0] }

    /// - Parameter entries: the competing entries, winner first; never empty.
    public init(field: String, kind: Kind, entries: [FieldEntry], editedFields: [String]) {
        self.field = field
        self.kind = kind
        self.entries = entries
        self.editedFields = editedFields
    }
}

/// The sync state of one record: its version vector and a multi-value register per field.
///
/// Merging is commutative, associative and idempotent, so replicas converge whatever the
/// order, repetition or batching of deliveries (DESIGN section 4).
///
/// ```swift
/// var state = RecordState()
/// state.write(["lastName": .string("Virtanen")], dot: Dot(me, 7), hlc: clock.tick(nowMillis: now))
/// let merged = state.merged(with: remoteState)
/// merged.conflicts   // fields with several values
/// ```
public struct RecordState: Sendable, Hashable {
    public private(set) var vv: VersionVector
    /// Field name → surviving entries, winner first. Never holds an empty list.
    public private(set) var fields: [String: [FieldEntry]]

    public init(vv: VersionVector = VersionVector(), fields: [String: [FieldEntry]] = [:]) {
        self.vv = vv
        self.fields = fields.filter { !$0.value.isEmpty }.mapValues { $0.sorted(by: FieldEntry.winsOver) }
    }

    /// A local write: each written field's register becomes the single new entry, which
    /// supersedes everything this state has seen. A write of `deleted = true` records the
    /// version vector it was made under (`deleteContext`, when it stands for a delete that saw
    /// less: edits outside it stay delete-vs-edit conflicts).
    public mutating func write(_ changes: [String: FieldValue], dot: Dot, hlc: HLC, deleteContext: VersionVector? = nil) {
        let seen = deleteContext ?? vv
        for (name, value) in changes {
            let context = (name == EntitySchemaDeletedField && value == .bool(true)) ? seen : nil
            fields[name] = [FieldEntry(value: value, dot: dot, hlc: hlc, context: context)]
        }
        vv[dot.actor] = max(vv[dot.actor], dot.counter)
    }

    /// The merge of DESIGN section 4: per field, an entry survives if the other side holds
    /// it too or has not seen its dot; the version vectors take the pointwise maximum.
    public func merged(with other: RecordState) -> RecordState {
        // Nothing merges as the identity: the common case of a record seen for the first time.
        if other.vv.isEmpty && other.fields.isEmpty { return self }
        if vv.isEmpty && fields.isEmpty { return other }
        var result: [String: [FieldEntry]] = [:]
        for name in Set(fields.keys).union(other.fields.keys) {
            let mine = fields[name] ?? [], theirs = other.fields[name] ?? []
            let theirDots = Set(theirs.map(\.dot)), myDots = Set(mine.map(\.dot))
            var kept = mine.filter { theirDots.contains($0.dot) || !other.vv.covers($0.dot) }
            kept += theirs.filter { !myDots.contains($0.dot) && !vv.covers($0.dot) }
            if !kept.isEmpty { result[name] = kept }
        }
        return RecordState(vv: vv.merged(with: other.vv), fields: result)
    }

    /// The same state without some fields' registers (a projection for a narrower scope). The
    /// version vector is kept: the receiver has seen those writes, it just may not read them.
    public func removingFields(_ names: Set<String>) -> RecordState {
        RecordState(vv: vv, fields: fields.filter { !names.contains($0.key) })
    }

    /// The displayed value of every field: the winning entry's.
    public var values: [String: FieldValue] { fields.mapValues { $0[0].value } }

    public func value(_ name: String) -> FieldValue { fields[name]?.first?.value ?? .null }

    /// The winning value of a field, or `.null`.
    public func value(_ key: FieldKey) -> FieldValue { value(key.rawValue) }

    /// The changes that erase this record's personal data (``FieldSpec/personal``): null for every
    /// such field holding any value, a conflict's included. The replica's `client/delete` and the
    /// central store's retention purge both write them.
    public func erasure(_ kind: EntityKind) -> [String: FieldValue] {
        var changes: [String: FieldValue] = [:]
        for name in kind.schema.personalFields where fields[name]?.contains(where: { !$0.value.isNull }) == true {
            changes[name] = .null
        }
        return changes
    }

    /// Whether `merged` (this state merged with another) erased a personal value this state
    /// held: the value is superseded and the record is deleted or the field now holds null. The
    /// old bytes then owe a scrub of the file (`KasvuStorage.Scrub`); an edit that replaces a
    /// phone number is not an erasure and owes none.
    public func erasesPersonalValues(_ kind: EntityKind, merged: RecordState) -> Bool {
        // On every pulled record: no allocation, and nothing to do for a record seen first.
        guard !fields.isEmpty else { return false }
        return kind.schema.personalFields.contains { name in
            guard let before = fields[name] else { return false }
            let after = merged.fields[name] ?? []
            guard merged.isDeleted || after.contains(where: { $0.value.isNull }) else { return false }
            return before.contains { entry in !entry.value.isNull && !after.contains { $0.dot == entry.dot } }
        }
    }

    /// When a dependent record (a referral, contact, hours or event) was created: the HLC of
    /// the write that set its `providerId`, which never changes (`clientId` moves when two
    /// clients are merged). The referral queue is in this order.
    public var creationHLC: HLC { entries(.providerId).first?.hlc ?? .zero }

    /// The entries a field holds (several when it is in conflict), winner first.
    public func entries(_ key: FieldKey) -> [FieldEntry] { fields[key.rawValue] ?? [] }

    /// Whether the winning value of `deleted` is true.
    public var isDeleted: Bool { value(EntitySchemaDeletedField) == .bool(true) }

    /// Every dot this state's entries carry (for detecting a reused dot with other content).
    public var dots: Set<Dot> { Set(fields.values.joined().map(\.dot)) }

    /// Every multi-valued field, plus a delete-vs-edit conflict when the winning delete had
    /// not seen edits of other fields. Sorted by field name.
    public var conflicts: [FieldConflict] {
        var result = fields.filter { $0.value.count > 1 }.map {
            FieldConflict(field: $0.key, kind: .concurrentValues, entries: $0.value, editedFields: [])
        }
        if isDeleted, let deletes = fields[EntitySchemaDeletedField]?.filter({ $0.value == .bool(true) }) {
            let seen = deletes.reduce(VersionVector()) { $0.merged(with: $1.context ?? VersionVector()) }
            let deleteDots = Set(deletes.map(\.dot))
            let unseen = fields.filter { name, entries in
                name != EntitySchemaDeletedField
                    && entries.contains { !seen.covers($0.dot) && !deleteDots.contains($0.dot) }
            }.keys.sorted()
            if !unseen.isEmpty, !result.contains(where: { $0.field == EntitySchemaDeletedField }) {
                result.append(FieldConflict(field: EntitySchemaDeletedField, kind: .deleteVsEdit,
                                            entries: fields[EntitySchemaDeletedField]!, editedFields: unseen))
            }
        }
        return result.sorted { $0.field < $1.field }
    }
}

/// The tombstone field's name, shared with ``EntitySchema/deletedField``.
let EntitySchemaDeletedField = EntitySchema.deletedField

extension RecordState {
    /// An assessment's winning values for the assessment gate (``KasvuDomain/AssessmentGate``),
    /// with no outcome while its outcome or state is in conflict: concurrent decisions open no
    /// gate until a person chooses one.
    public var gateValues: [String: FieldValue] {
        var values = self.values
        if entries(.outcome).count > 1 || entries(.state).count > 1 { values[FieldKey.outcome.rawValue] = .null }
        return values
    }
}
