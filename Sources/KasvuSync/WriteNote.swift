import KasvuDomain

/// One local write as its author made it, for the central store's audit trail: who (the user
/// the write was made under), when (its HLC), which fields, and the old and new value of each
/// field that is not personal data.
///
/// A record state says only which writes survive; two edits of one field between syncs leave
/// one entry, and no state carries user names (they would reach provider replicas). So each
/// replica keeps a note per write beside its outbox and pushes it with the record; the central
/// store keeps notes in the audit trail only and never sends them to a replica.
///
/// ```swift
/// let note = WriteNote(counter: 12, hlc: stamp.hlc, user: "Liisa",
///                      changes: [.init(field: "state", old: .string("pending"), new: .string("cancelled"))])
/// ```
public struct WriteNote: Sendable, Hashable {
    /// One field the write set. The values are kept only for fields that are not personal data
    /// (state, dates, hours, verified hours…); a personal field is named without its values.
    public struct Change: Sendable, Hashable, Codable {
        public let field: String
        /// The winning value the writer saw before (null when the field had none).
        public let old: FieldValue?
        public let new: FieldValue?

        public init(field: String, old: FieldValue? = nil, new: FieldValue? = nil) {
            self.field = field
            self.old = old
            self.new = new
        }

        /// Whether the change carries values.
        public var hasValues: Bool { old != nil || new != nil }
    }

    /// The counter of the write's dot (its actor is the pushing replica's).
    public var counter: UInt64
    /// When the write was made.
    public var hlc: HLC
    public var user: String?
    public var changes: [Change]

    public init(counter: UInt64, hlc: HLC, user: String?, changes: [Change]) {
        self.counter = counter
        self.hlc = hlc
        self.user = user
        self.changes = changes
    }

    /// The note of a write of `changes` to a record of `kind` whose state was `before`.
    public static func of(_ kind: EntityKind, before: RecordState, changes: [String: FieldValue], counter: UInt64, hlc: HLC,
                          user: String?) -> WriteNote {
        WriteNote(counter: counter, hlc: hlc, user: user, changes: changes.keys.sorted().map { field in
            if Self.namesOnly(kind, field) { return Change(field: field) }
            return Change(field: field, old: before.fields[field] == nil ? .null : before.value(field), new: changes[field])
        })
    }

    /// Why the central store refuses this note of a write by `actor` pushed with `state`, or nil.
    ///
    /// A note may describe only a write of the pushing actor that the pushed state has seen,
    /// made no later than the clock bound, naming real fields, with valid values and none for
    /// personal fields. Where the state still holds entries of the note's dot, the newest note
    /// of that dot must name those fields with the values they hold. The old values and the
    /// user name are the replica's word: the trail shows which replica and actor said so.
    public func refusal(_ kind: EntityKind, state: RecordState, actor: ActorID, headerCounter: UInt64, latest: HLC) -> String? {
        guard counter > 0, counter <= headerCounter, state.vv[actor] >= counter else {
            return "write note \(counter) is not a write of this replica the record has seen"
        }
        guard hlc <= latest else { return "write note \(counter) is dated ahead of the central clock" }
        if let user, !SyncLimits.isAcceptableUserName(user) {
            return "write note \(counter): the user name must be at most \(SyncLimits.maxUserNameLength) characters, no control characters"
        }
        guard !changes.isEmpty, changes.count <= kind.schema.fields.count else { return "write note \(counter) names no or too many fields" }
        for change in changes {
            guard change.field == EntitySchema.deletedField || kind.schema.field(change.field) != nil else {
                return "write note \(counter) names an unknown field \(change.field)"
            }
            if Self.namesOnly(kind, change.field) && change.hasValues { return "write note \(counter) carries values of \(change.field), which notes only name" }
            for value in [change.old, change.new].compactMap({ $0 }) where value != .null {
                if (try? kind.schema.validateValue(change.field, value)) == nil {
                    return "write note \(counter) carries an invalid value of \(change.field)"
                }
            }
        }
        return nil
    }

    /// Whether notes name `field` without its values: personal data (`deleted` is not), and an
    /// issued invoice's document, megabytes kept once, in the record.
    static func namesOnly(_ kind: EntityKind, _ field: String) -> Bool {
        if kind == .invoice && field == FieldKey.document.rawValue { return true }
        return field != EntitySchema.deletedField && kind.schema.field(field)?.personal ?? true
    }

    /// Why `notes` disagree with the entries of `actor` that `state` still holds, or nil: every
    /// such entry's field is named by a note of its dot, and the newest note naming it says the
    /// value the entry holds. (Writes stamped again by `kasvu recover` share one dot, so several
    /// notes may name one dot.)
    public static func disagreement(_ notes: [WriteNote], state: RecordState, actor: ActorID) -> String? {
        for (field, entries) in state.fields {
            for entry in entries where entry.dot.actor == actor {
                let naming = notes.filter { $0.counter == entry.dot.counter && $0.changes.contains { $0.field == field } }
                guard let newest = naming.max(by: { $0.hlc < $1.hlc }) else {
                    if notes.contains(where: { $0.counter == entry.dot.counter }) {
                        return "the write notes of write \(entry.dot.counter) do not name \(field), which that write set"
                    }
                    continue
                }
                if let new = newest.changes.first(where: { $0.field == field })?.new, new != entry.value {
                    return "write note \(entry.dot.counter) says \(field) became another value than the write holds"
                }
            }
        }
        return nil
    }
}
