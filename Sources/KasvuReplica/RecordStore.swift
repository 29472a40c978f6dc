import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// Reading and writing records. Every write method is one transaction: validate, stamp a new
/// dot and HLC, update the record's sync state, upsert the outbox.
extension Replica {
    // MARK: - Writes

    /// Creates a record after validating its fields and references.
    /// - Parameter id: a caller-chosen UUID (for idempotent imports); random when nil.
    public func create(_ kind: EntityKind, fields: [String: FieldValue], id: String? = nil) async throws -> Record {
        if kind == .referral { return try await createReferral(fields, id: id) }  // the pilot rules apply
        if kind == .enrolment { return try await createEnrolment(fields, id: id) }  // the service must fit
        let id = try id.map { id throws(KasvuError) in
            do throws(FieldError) { return try RecordID.validate(id) } catch { throw .validationFailed([error]) }
        } ?? RecordID.random()
        let values = try kind.schema.validateCreate(fields)
        return try await write { db in
            if try Self.loadState(db, kind, id) != nil {
                throw KasvuError(.alreadyExists, "a \(kind.rawValue) with id \(id) already exists")
            }
            try Self.checkReferences(db, kind, values)
            if kind == .assessment, let client = values[.clientId]?.stringValue {
                try Self.requirePerson(try Self.liveState(db, .client, client), client, for: "a multi-professional assessment", field: "clientId")
            }
            // One person, one client: the message names the client, never the henkilötunnus.
            if kind == .client, let hetu = values[.hetu]?.stringValue,
               let existing = try String.fetchOne(db, sql: "SELECT id FROM client WHERE hetu = ? AND deleted IS NOT 1 LIMIT 1", arguments: [hetu]) {
                throw KasvuError(.duplicateIdentity, "this henkilötunnus is already registered as client \(existing)",
                                 fieldErrors: [FieldError(field: "hetu", message: "already registered as client \(existing)")])
            }
            return try self.commit(db, kind, id, state: RecordState(), changes: values)
        }
    }

    /// Changes some fields of a live record.
    public func update(_ kind: EntityKind, id: String, set changes: [String: FieldValue]) async throws -> Record {
        let id = try Self.canonicalID(id)
        guard !changes.isEmpty else { throw KasvuError.validationFailed(field: "set", "names no field to change") }
        return try await write { db in
            let state = try Self.liveState(db, kind, id)
            var current = state.values
            current[EntitySchema.deletedField] = nil
            let values = try kind.schema.validateUpdate(changes, current: current)
            if kind == .assessment, current[.state]?.stringValue == "completed",
               let refusal = values.sorted(by: { $0.key < $1.key }).lazy.compactMap({ WriteRules.completedAssessmentRefusal(field: $0.key, value: $0.value) }).first {
                throw KasvuError(.invalidTransition, "assessment \(id): \(refusal)")
            }
            return try self.commit(db, kind, id, state: state, changes: values)
        }
    }

    /// Deletes a record: a write of `deleted = true` that remembers what it had seen, so that
    /// concurrent edits elsewhere surface as a delete-vs-edit conflict instead of vanishing.
    /// Deleting a client erases it: the same write clears every personal field
    /// (``FieldSpec/personal``) of the client and of its contacts, events and assessments, so that the values
    /// are superseded everywhere the write reaches, and the write-ahead log is emptied so that
    /// no copy of them stays in this replica's files.
    public func delete(_ kind: EntityKind, id: String) async throws {
        let id = try Self.canonicalID(id)
        try await write { db in
            let state = try Self.liveState(db, kind, id)
            try self.erase(db, kind, id, state: state)
        }
        try await scrubErasedBytes()
    }

    /// Writes `deleted = true` and, for a client, null to every personal field that holds a value,
    /// here and in its contacts, events and assessments: one write, one dot.
    func erase(_ db: Database, _ kind: EntityKind, _ id: String, state: RecordState) throws {
        let stamp = try stamp(db, writing: "erase \(kind.rawValue) \(id)")
        if !state.erasure(kind).isEmpty || kind == .client { try Scrub.markPending(db) }
        _ = try apply(db, kind, id, state: state, changes: state.erasure(kind).merging([EntitySchema.deletedField: .bool(true)]) { $1 }, stamp: stamp)
        guard kind == .client else { return }
        for dependent in EntityKind.erasedWithClient {
            let ids = try String.fetchAll(db, sql: "SELECT id FROM \"\(dependent.rawValue)\" WHERE client_id = ?", arguments: [id])
            for dependentID in ids {
                guard let dependentState = try Self.loadState(db, dependent, dependentID) else { continue }
                let changes = dependentState.erasure(dependent)
                if !changes.isEmpty { _ = try apply(db, dependent, dependentID, state: dependentState, changes: changes, stamp: stamp) }
            }
        }
    }


    /// Moves a referral through its state machine (``ReferralState``).
    public func transitionReferral(id: String, to next: ReferralState, date: CalendarDate?, reason: String?) async throws -> Record {
        let id = try Self.canonicalID(id)
        let today = self.today()
        return try await write { db in
            let state = try Self.liveState(db, .referral, id)
            guard let current = state.value(.state).stringValue.flatMap(ReferralState.init(rawValue:)) else {
                throw KasvuError(.invalidTransition, "referral \(id) has no valid state; resolve its conflicts first")
            }
            if next == .active || next == .waitlisted {
                throw KasvuError(.invalidTransition, "a referral becomes active or waitlisted only when the central office confirms it against the provider's cap (on sync)")
            }
            let start = state.value(.startDate).stringValue.flatMap { try? CalendarDate(iso: $0) }
            let changes = try current.transition(to: next, date: date, reason: reason, today: today, startDate: start)
            return try self.commit(db, .referral, id, state: state, changes: changes)
        }
    }

    /// Records the hours a client worked in a month for a provider. There is one hours record
    /// per client, provider and month (its id is derived from them), so a second report for the
    /// same month corrects the first, and two offline reports meet as one record.
    public func reportHours(_ fields: [String: FieldValue]) async throws -> Record {
        let values = try EntityKind.hours.schema.validateCreate(fields)
        let month = values[.month]!.stringValue!
        if let refusal = WriteRules.hoursMonthRefusal(try YearMonth(iso: month), today: self.today()) {
            throw KasvuError.validationFailed(field: "month", refusal)
        }
        let id = WriteRules.hoursID(clientID: values[.clientId]!.stringValue!, providerID: values[.providerId]!.stringValue!, month: month)
        return try await write { db in
            try Self.checkReferences(db, .hours, values)
            let referrals = try String.fetchAll(db.cachedStatement(sql: "SELECT sync_state FROM referral WHERE client_id = ? AND deleted IS NOT 1"),
                                                arguments: [values[.clientId]!.stringValue!]).map { try Self.decodeState($0).values }
            if let refusal = WriteRules.hoursReferralRefusal(try YearMonth(iso: month), providerID: values[.providerId]!.stringValue!, referrals: referrals) {
                throw KasvuError.validationFailed(field: "month", refusal)
            }
            let state = try Self.loadState(db, .hours, id) ?? RecordState()
            var changes = values
            if state.isDeleted { changes[EntitySchema.deletedField] = .bool(false) }
            return try self.commit(db, .hours, id, state: state, changes: changes)
        }
    }

    /// Resolves a conflict by writing one value to the field: an ordinary local write, which
    /// supersedes every value this replica has seen.
    public func resolveConflict(_ kind: EntityKind, id: String, field: String, value: FieldValue) async throws -> Record {
        let id = try Self.canonicalID(id)
        let value = try kind.schema.validateValue(field, value)
        let erasing = kind == .client && field == EntitySchema.deletedField && value == .bool(true)
        let record = try await write { db in
            guard let state = try Self.loadState(db, kind, id) else { throw KasvuError.notFound(entity: kind.rawValue, id: id) }
            guard state.conflicts.contains(where: { $0.field == field }) else {
                throw KasvuError.validationFailed(field: "field", "\(kind.rawValue) \(id) has no conflict on \(field)")
            }
            // A referral's state follows its state machine from every competing state, as the
            // central store will check on push.
            if kind == .referral, field == FieldKey.state.rawValue {
                let competing = (state.fields[field] ?? []).compactMap { $0.value.stringValue.flatMap(ReferralState.init(rawValue:)) }
                guard let next = value.stringValue.flatMap(ReferralState.init(rawValue:)) else {
                    throw KasvuError.validationFailed(field: "value", "must be a referral state")
                }
                if let refusal = WriteRules.referralStateRefusal(next: next, seen: competing, isNew: false) {
                    throw KasvuError(.invalidTransition, refusal)
                }
            }
            // Keeping a delete erases again what was written concurrently with it.
            if erasing {
                try self.erase(db, kind, id, state: state)
                return Record(kind: kind, id: id, state: try Self.loadState(db, kind, id) ?? state)
            }
            // A live record must keep its required values (null is a value only for an erasure).
            var resolved = state
            resolved.write([field: value], dot: Dot(self.actor, 0), hlc: .zero)
            if !resolved.isDeleted {
                var values = resolved.values
                values[EntitySchema.deletedField] = nil
                let errors = kind.schema.recordErrors(values)
                if !errors.isEmpty { throw KasvuError.validationFailed(errors) }
            }
            return try self.commit(db, kind, id, state: state, changes: [field: value])
        }
        if erasing { try await scrubErasedBytes() }
        return record
    }

    /// Stamps `changes` with a new dot and HLC, saves the state and queues it for push.
    func commit(_ db: Database, _ kind: EntityKind, _ id: String, state: RecordState,
                changes: [String: FieldValue]) throws -> Record {
        let described = changes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return try apply(db, kind, id, state: state, changes: changes, stamp: try stamp(db, writing: "\(kind.rawValue) \(id) \(described)"))
    }

    /// Takes the next dot and HLC for a write transaction: one counter per transaction, shared
    /// by every record it writes (DESIGN section 4). `writing` describes what it writes; it
    /// salts the timestamp (``HybridClock/tick(nowMillis:salt:)``), so that two copies of this
    /// database that write different things under one dot stamp them differently.
    func stamp(_ db: Database, writing: String) throws -> (dot: Dot, hlc: HLC) {
        // The actor with its counter, from the same row: `kasvu recover` in another process may
        // have given the replica a new actor since this one opened it.
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT actor, counter, hlc FROM replica WHERE singleton = 1")) else {
            throw KasvuError(.replicaNotInitialized, "replica row missing")
        }
        var writer = WriterClock(actor: ActorID(rawValue: row["actor"]), counter: UInt64(row["counter"] as Int64),
                                 last: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64)))
        let stamp = writer.next(nowMillis: nowMillis(), salt: WriterClock.salt(writing))
        try db.cachedStatement(sql: "UPDATE replica SET counter = ?, hlc = ? WHERE singleton = 1")
            .execute(arguments: [Int64(writer.counter), Int64(bitPattern: writer.clock.last.rawValue)])
        return stamp
    }

    /// Writes `changes` under an existing stamp, notes who wrote what (``WriteNote``) and
    /// queues the record for push. `searchIndexed` false leaves the client's search tokens to
    /// the caller (a bulk import inserts them all at the end, in order).
    func apply(_ db: Database, _ kind: EntityKind, _ id: String, state before: RecordState, changes: [String: FieldValue],
               stamp: (dot: Dot, hlc: HLC), importing: Bool = false, searchIndexed: Bool = true) throws -> Record {
        // The central store checks the same on push, and the lease itself (CapacityLeases).
        let leased = kind == .referral && before.fields.isEmpty && WriteRules.isLeasedCreation(changes, role: role)
        try WriteRules.check(kind, changes, role: role, importing: importing, leased: leased)
        var state = before
        state.write(changes, dot: stamp.dot, hlc: stamp.hlc)
        try Self.saveState(db, kind, id, state, searchIndexed: searchIndexed)
        try db.cachedStatement(sql: """
            INSERT INTO outbox (entity, id, version, first_version) VALUES (?, ?, ?, ?)
            ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version
            """).execute(arguments: [kind.rawValue, id, Int64(stamp.dot.counter), Int64(stamp.dot.counter)])
        let note = WriteNote.of(kind, before: before, changes: changes, counter: stamp.dot.counter, hlc: stamp.hlc, user: Self.author)
        try db.cachedStatement(sql: "INSERT INTO write_log (entity, id, counter, hlc, user_name, changes) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [kind.rawValue, id, Int64(note.counter), Int64(bitPattern: note.hlc.rawValue), note.user,
                                 WriteNote.changesText(note.changes)])
        try db.cachedStatement(sql: """
            INSERT INTO write_history (entity, id, actor, counter, hlc, user_name, fields) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """).execute(arguments: [kind.rawValue, id, stamp.dot.actor.rawValue, Int64(stamp.dot.counter), Int64(bitPattern: stamp.hlc.rawValue),
                                   note.user, changes.keys.sorted().joined(separator: ",")])
        return Record(kind: kind, id: id, state: state)
    }

    // MARK: - Reads

    /// A live record, or a deleted one whose delete is in conflict (so it is never hidden).
    public func get(_ kind: EntityKind, id: String) async throws -> Record {
        let id = try Self.canonicalID(id)
        return try await read { db in
            guard let state = try Self.loadState(db, kind, id), !state.isDeleted || !state.conflicts.isEmpty else {
                throw KasvuError.notFound(entity: kind.rawValue, id: id)
            }
            return Record(kind: kind, id: id, state: state)
        }
    }

    /// Live records ordered by id, filtered by equality on indexed fields.
    ///
    /// - Parameters:
    ///   - filter: field → value; each field must be one of the schema's indexed fields.
    ///   - limit: 1…1000.
    ///   - after: the `next` of the previous page.
    public func list(_ kind: EntityKind, where filter: [String: FieldValue] = [:], limit: Int = 100,
                     after: String? = nil) async throws -> Page {
        guard (1...1000).contains(limit) else { throw KasvuError.validationFailed(field: "limit", "must be 1…1000") }
        var clauses = ["deleted IS NOT 1"]
        var arguments: [any DatabaseValueConvertible & Sendable] = []
        var errors: [FieldError] = []
        for (field, value) in filter.sorted(by: { $0.key < $1.key }) {
            guard kind.schema.indexedFields.contains(field) else {
                errors.append(FieldError(field: "where.\(field)", message:
                    "cannot filter on \(field); filterable: \(kind.schema.indexedFields.joined(separator: ", "))"))
                continue
            }
            switch value {
            case .null: clauses.append("\(ReplicaSchema.column(field)) IS NULL")
            case .string(let s): clauses.append("\(ReplicaSchema.column(field)) = ?"); arguments.append(s)
            case .int(let i): clauses.append("\(ReplicaSchema.column(field)) = ?"); arguments.append(i)
            case .bool(let b): clauses.append("\(ReplicaSchema.column(field)) = ?"); arguments.append(b)
            }
        }
        guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }
        if let after {
            clauses.append("id > ?")
            arguments.append(after)
        }
        let sql = "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE \(clauses.joined(separator: " AND ")) ORDER BY id LIMIT \(limit + 1)"
        let sqlArguments = StatementArguments(arguments.map { $0 as DatabaseValueConvertible? })
        return try await read { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: sqlArguments)
            let items = try rows.prefix(limit).map { row in
                Record(kind: kind, id: row["id"], state: try Self.decodeState(row["sync_state"]))
            }
            return Page(items: items, next: rows.count > limit ? items.last?.id : nil)
        }
    }

    /// Every conflicting field of every record (optionally of one entity), in a stable order.
    public func conflicts(of kind: EntityKind? = nil) async throws -> [ConflictReport] {
        let kinds = kind.map { [$0] } ?? EntityKind.allCases
        return try await read { db in
            var reports: [ConflictReport] = []
            for kind in kinds {
                let rows = try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE has_conflict = 1 ORDER BY id")
                for row in rows {
                    let state = try Self.decodeState(row["sync_state"])
                    reports += state.conflicts.map { ConflictReport(kind: kind, id: row["id"], conflict: $0) }
                }
                // Duplicates across replicas: only the central store sees both, and flags each.
                guard kind == .client else { continue }
                for row in try Row.fetchAll(db, sql: "SELECT id, sync_state FROM client WHERE duplicate_of IS NOT NULL AND deleted IS NOT 1 ORDER BY id") {
                    let state = try Self.decodeState(row["sync_state"])
                    guard !state.entries(.hetu).isEmpty else { continue }
                    reports.append(ConflictReport(kind: .client, id: row["id"],
                                                  conflict: FieldConflict(field: FieldKey.hetu.rawValue, kind: .duplicateIdentity,
                                                                          entries: state.entries(.hetu), editedFields: []),
                                                  duplicateOf: state.value(.duplicateOf).stringValue))
                }
            }
            return reports
        }
    }

    // MARK: - Helpers shared by the write and sync paths

    static func canonicalID(_ id: String) throws(KasvuError) -> String {
        do throws(FieldError) { return try RecordID.validate(id) } catch { throw .validationFailed([error]) }
    }

    /// Today in Finland by this replica's clock (the one its writes are stamped with).
    func today() -> CalendarDate { CalendarDate.today(now: Date(timeIntervalSince1970: TimeInterval(nowMillis()) / 1000)) }

    static func loadState(_ db: Database, _ kind: EntityKind, _ id: String) throws -> RecordState? {
        // Cached statements: the sync paths run these once per record, and preparing them anew
        // each time cost more than the lookups themselves.
        guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT sync_state FROM \"\(kind.rawValue)\" WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        return try decodeState(text)
    }

    static func liveState(_ db: Database, _ kind: EntityKind, _ id: String) throws -> RecordState {
        guard let state = try loadState(db, kind, id), !state.isDeleted else {
            throw KasvuError.notFound(entity: kind.rawValue, id: id)
        }
        return state
    }

    /// The one statement that writes a record: its state and, beside it, the list columns
    /// (``ReplicaSchema/listColumns``) of its winning values.
    static func saveState(_ db: Database, _ kind: EntityKind, _ id: String, _ state: RecordState, searchIndexed: Bool = true) throws {
        let fields = ReplicaSchema.listColumns[kind] ?? []
        var arguments: [(any DatabaseValueConvertible)?] = [id, encodeState(state), !state.conflicts.isEmpty]
        for field in fields { arguments.append(ReplicaSchema.listValue(kind, field, state)) }
        try db.cachedStatement(sql: saveStatements[kind] ?? "").execute(arguments: StatementArguments(arguments))
        if kind == .client && searchIndexed { try ClientSearch.index(db, id, state) }
    }

    private static let saveStatements: [EntityKind: String] = Dictionary(uniqueKeysWithValues: EntityKind.allCases.map { kind in
        let columns = ["id", "sync_state", "has_conflict"] + (ReplicaSchema.listColumns[kind] ?? []).map(ReplicaSchema.column)
        return (kind, """
            INSERT INTO "\(kind.rawValue)" (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT (id) DO UPDATE SET \(columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
            """)
    })

    static func decodeState(_ text: String) throws -> RecordState {
        do { return try RecordState(json: text.utf8) } catch {
            throw CorruptReplicaError(detail: "\(error)")
        }
    }

    static func encodeState(_ state: RecordState) -> String {
        state.jsonText
    }

    /// A referral, contact, hours report or event must point at a live client and provider.
    static func checkReferences(_ db: Database, _ kind: EntityKind, _ values: [String: FieldValue]) throws {
        var errors: [FieldError] = []
        for (field, target) in [("clientId", EntityKind.client), ("providerId", .provider), ("serviceId", .service)] {
            guard kind.schema.field(field) != nil, let id = values[field]?.stringValue else { continue }
            if try loadState(db, target, id).map({ !$0.isDeleted }) != true {
                errors.append(FieldError(field: field, message: "no \(target.rawValue) with id \(id)"))
            }
        }
        guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }
    }
}
