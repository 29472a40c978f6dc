import Foundation
import GRDB
import KasvuDomain
import KasvuSync

/// One record read from an import file: its row number in the file, the id it gives (nil:
/// a new one), its field values, and what could not be read of it.
public struct ImportRow: Sendable {
    public let row: Int
    public let id: String?
    public let values: [String: FieldValue]
    public let problems: [FieldError]

    public init(row: Int, id: String?, values: [String: FieldValue], problems: [FieldError] = []) {
        self.row = row
        self.id = id
        self.values = values
        self.problems = problems
    }
}

/// Why one row of an import file cannot be imported.
public struct ImportProblem: Sendable, Hashable, Codable {
    public let row: Int
    public let field: String
    public let reason: String
}

/// What an import did: rows read, records written, and each problem found.
public struct ImportResult: Sendable {
    public let rows: Int
    public let imported: Int
    public let problems: [ImportProblem]
}

/// Bulk import and export of the central office's records (`kasvu import`, `kasvu export`):
/// every row is checked first by the rules every write meets, and nothing is written unless
/// every row is good (or the bad ones are skipped on request); the good rows are written in
/// one transaction under one dot.
extension Replica {
    /// The kinds `kasvu import` and `kasvu export` handle.
    public static let importKinds: [EntityKind] = [.client, .provider, .referral, .contact, .hours, .event]

    /// The fields of a kind in import and export files, after `id`: those a create may set,
    /// and the history a pilot brings along: a client's confirmed risk group (who confirmed
    /// it, when and why), a referral's risk group, states and dates. What the system derives
    /// (profiling proposals, audit findings, merges, the duplicate flag) is not imported.
    public static func importFields(_ kind: EntityKind) -> [FieldSpec] {
        let history: [FieldKey] = switch kind {
        case .client: [.riskGroup, .riskGroupConfirmedBy, .riskGroupConfirmedAt, .riskGroupReason]
        case .referral: [.riskGroup, .state, .startDate, .endDate, .endReason, .importedBy]
        default: []
        }
        let names = Set(history.map(\.rawValue))
        return kind.schema.fields.filter { $0.access != .system || names.contains($0.name) }
    }

    /// Checks every row, then writes the good ones in one transaction: all of them, or none
    /// when a row is bad and `skipInvalid` is false. Referrals keep their states and dates and
    /// are marked `importedBy` (the central store accepts their history from the central
    /// office only). `progress(done, total)` is called as rows are checked and written.
    public func importRecords(_ kind: EntityKind, rows: [ImportRow], importedBy: String, skipInvalid: Bool = false,
                              progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> ImportResult {
        guard role == .admin else { throw KasvuError(.permissionDenied, "only the central office's replica imports records") }
        guard Self.importKinds.contains(kind) else {
            throw KasvuError.validationFailed(field: "entity", "must be one of \(Self.importKinds.map(\.rawValue).joined(separator: ", "))")
        }
        let today = self.today()
        return try await write { db in
            var checker = ImportChecker(db: db, kind: kind, importedBy: importedBy, today: today)
            var good: [(id: String, values: [String: FieldValue])] = []
            var problems: [ImportProblem] = []
            for (index, row) in rows.enumerated() {
                switch try checker.check(row) {
                case .success(let record): good.append(record)
                case .failure(let failure): problems += failure.errors.map { ImportProblem(row: row.row, field: $0.field, reason: $0.message) }
                }
                if index % 1000 == 999 { progress?(index + 1, rows.count * 2) }
            }
            guard problems.isEmpty || skipInvalid else { return ImportResult(rows: rows.count, imported: 0, problems: problems) }
            if !good.isEmpty {
                let stamp = try self.stamp(db, writing: "import \(kind.rawValue) \(good.count) \(good.first?.id ?? "")")
                // A load that outnumbers what the table holds builds the table's indexes, and the
                // search index, once at the end from sorted keys, instead of inserting into each
                // at a random place for every row. All in this transaction: a crash keeps none of it.
                let bulk = try good.count >= Self.bulkImportRows
                    && good.count >= Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(kind.rawValue)\"") ?? 0
                let indexes = bulk ? try Self.dropIndexes(db, of: kind) : []
                var tokens: [(token: String, id: String)] = []
                for (index, record) in good.enumerated() {
                    _ = try self.apply(db, kind, record.id, state: RecordState(), changes: record.values, stamp: stamp,
                                       importing: kind == .referral && WriteRules.isImportedHistory(record.values, role: .admin),
                                       searchIndexed: !bulk)
                    if bulk && kind == .client { tokens += ClientSearch.tokens(ofNew: record.values).map { ($0, record.id) } }
                    if index % 1000 == 999 { progress?(rows.count + index + 1, rows.count * 2) }
                }
                for sql in indexes { try db.execute(sql: sql) }
                if bulk && kind == .client { try ClientSearch.insert(db, tokens.sorted { ($0.token, $0.id) < ($1.token, $1.id) }) }
            }
            progress?(rows.count * 2, rows.count * 2)
            return ImportResult(rows: rows.count, imported: good.count, problems: problems)
        }
    }

    /// Rows from which an import builds indexes after the rows rather than row by row.
    public static let bulkImportRows = 1_000

    /// Drops the secondary indexes of `kind`'s table (and of the search index, for clients);
    /// returns the statements that make them again.
    static func dropIndexes(_ db: Database, of kind: EntityKind) throws -> [String] {
        let tables = kind == .client ? [kind.rawValue, "client_search"] : [kind.rawValue]
        var statements: [String] = []
        for table in tables {
            for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                                        arguments: [table]) {
                try db.execute(sql: "DROP INDEX \"\(row["name"] as String)\"")
                statements.append(row["sql"])
            }
        }
        return statements
    }

    /// The live records of a kind, by id, with their winning values (the shape `importRecords` reads).
    public func exportRecords(_ kind: EntityKind) async throws -> [(id: String, values: [String: FieldValue])] {
        guard role == .admin else { throw KasvuError(.permissionDenied, "only the central office's replica exports records") }
        let fields = Set(Self.importFields(kind).map(\.name))
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE deleted IS NOT 1 ORDER BY id").map { row in
                let values = try Self.decodeState(row["sync_state"]).values.filter { fields.contains($0.key) && !$0.value.isNull }
                return (row["id"] as String, values)
            }
        }
    }
}

/// The checks of one import, row by row, against the replica's records and the rows before.
private struct ImportChecker {
    let db: Database
    let kind: EntityKind
    let importedBy: String
    let today: CalendarDate
    var ids: [String: Int] = [:]
    var hetus: [String: Int] = [:]
    var referralsOfClient: [String: [[String: FieldValue]]] = [:]
    var openReferral: [String: Int] = [:]
    var activeInFile: [String: Int] = [:]
    var live: [String: Bool] = [:]
    let allowed: Set<String>

    init(db: Database, kind: EntityKind, importedBy: String, today: CalendarDate) {
        self.db = db
        self.kind = kind
        self.importedBy = importedBy
        self.today = today
        allowed = Set(Replica.importFields(kind).map(\.name))
    }

    mutating func check(_ row: ImportRow) throws -> Result<(id: String, values: [String: FieldValue]), ImportErrors> {
        var errors = row.problems
        let schema = kind.schema
        var values: [String: FieldValue] = [:]
        for (field, value) in row.values.sorted(by: { $0.key < $1.key }) where !value.isNull {
            guard allowed.contains(field) else {
                errors.append(FieldError(field: field, message: "is not a field of an imported \(kind.rawValue)"))
                continue
            }
            do throws(KasvuError) { values[field] = try schema.validateValue(field, value) } catch { errors += error.fieldErrors }
        }
        for (field, value) in schema.defaults where values[field] == nil { values[field] = value }
        if kind == .referral {
            // Marked as imported; a file exported from an import keeps its first importer.
            if values[.importedBy] == nil { values[FieldKey.importedBy.rawValue] = .string(importedBy) }
            if values[.riskGroup] == nil, let client = values[.clientId]?.stringValue,
               let group = try Replica.loadState(db, .client, client)?.value(.riskGroup), !group.isNull {
                values[.riskGroup] = group  // the client's confirmed group, when the file does not say
            }
        }
        for spec in schema.fields where spec.required && values[spec.name] == nil && !errors.contains(where: { $0.field == spec.name }) {
            errors.append(FieldError(field: spec.name, message: "is required"))
        }
        guard errors.isEmpty else { return .failure(ImportErrors(errors)) }
        errors += schema.recordErrors(values)
        let history = kind == .referral && WriteRules.isImportedHistory(values, role: .admin)
        do throws(KasvuError) { try WriteRules.check(kind, values, role: .admin, importing: history) } catch {
            errors.append(FieldError(field: error.fieldErrors.first?.field ?? "", message: error.message))
        }

        // The id: given, derived (hours), or new; never one in use.
        var id = row.id ?? RecordID.random()
        if let given = row.id {
            do throws(FieldError) { id = try RecordID.validate(given) } catch { errors.append(error) }
        }
        if kind == .hours, let client = values[.clientId]?.stringValue, let provider = values[.providerId]?.stringValue,
           let month = values[.month]?.stringValue {
            let derived = WriteRules.hoursID(clientID: client, providerID: provider, month: month)
            if row.id != nil && id != derived { errors.append(FieldError(field: "id", message: "an hours report's id is derived from its client, provider and month: \(derived)")) }
            id = derived
        }
        if let earlier = ids[id] {
            errors.append(FieldError(field: "id", message: "row \(earlier) has the same id"))
        } else if try Replica.loadState(db, kind, id) != nil {
            errors.append(FieldError(field: "id", message: "a \(kind.rawValue) with id \(id) already exists"))
        }

        // References, identities and the kind's own rules.
        for (field, target) in [("clientId", EntityKind.client), ("providerId", .provider)] where schema.field(field) != nil {
            guard let reference = values[field]?.stringValue else { continue }
            if try !isLive(target, reference) { errors.append(FieldError(field: field, message: "no \(target.rawValue) with id \(reference)")) }
        }
        switch kind {
        case .client:
            if let hetu = values[.hetu]?.stringValue {
                if let earlier = hetus[hetu] {
                    errors.append(FieldError(field: "hetu", message: "row \(earlier) has the same henkilötunnus"))
                } else if let existing = try String.fetchOne(db.cachedStatement(sql: "SELECT id FROM client WHERE hetu = ? AND deleted IS NOT 1 LIMIT 1"),
                                                             arguments: [hetu]) {
                    errors.append(FieldError(field: "hetu", message: "already registered as client \(existing)"))
                }
            }
        case .referral:
            errors += try referralErrors(values, history: history)
        case .hours:
            if let month = values[.month]?.stringValue.flatMap({ try? YearMonth(iso: $0) }), let client = values[.clientId]?.stringValue,
               let provider = values[.providerId]?.stringValue {
                let known = try referrals(of: client)
                if let refusal = WriteRules.hoursMonthRefusal(month, today: today)
                    ?? WriteRules.hoursReferralRefusal(month, providerID: provider, referrals: known) {
                    errors.append(FieldError(field: "month", message: refusal))
                }
            }
        default:
            break
        }
        guard errors.isEmpty else { return .failure(ImportErrors(errors)) }
        ids[id] = row.row
        if let hetu = values[.hetu]?.stringValue { hetus[hetu] = row.row }
        if kind == .referral, let client = values[.clientId]?.stringValue, let provider = values[.providerId]?.stringValue,
           let state = values[.state]?.stringValue.flatMap(ReferralState.init(rawValue:)) {
            if [.pending, .active, .waitlisted].contains(state) { openReferral[client] = row.row }
            if state == .active { activeInFile[provider, default: 0] += 1 }
        }
        return .success((id, values))
    }

    /// A referral of a person with a confirmed risk group, the client's only open one. An
    /// imported history (``WriteRules/isImportedHistory(_:role:)``) must hang together and an
    /// active one fit the provider's cap; a pending one meets what a new referral meets: the
    /// client's confirmed risk group and the assessment gate.
    mutating func referralErrors(_ values: [String: FieldValue], history: Bool) throws -> [FieldError] {
        var errors = history ? WriteRules.importedReferralErrors(values, today: today) : []
        guard let clientID = values[.clientId]?.stringValue, let providerID = values[.providerId]?.stringValue,
              let client = try Replica.loadState(db, .client, clientID), !client.isDeleted,
              let provider = try Replica.loadState(db, .provider, providerID), !provider.isDeleted else { return errors }
        if (client.value(.clientType).stringValue ?? "person") != "person" {
            errors.append(FieldError(field: "clientId", message: "a pilot referral is for a person client"))
        }
        if values[.riskGroup] == nil {
            errors.append(FieldError(field: "riskGroup", message: "is required: the client has no confirmed risk group"))
        }
        let state = values[.state]?.stringValue.flatMap(ReferralState.init(rawValue:))
        if let state, [.pending, .active, .waitlisted].contains(state) {
            let held = try String.fetchOne(db.cachedStatement(sql: """
                SELECT id FROM referral WHERE client_id = ? AND deleted IS NOT 1 AND state IN ('pending', 'active', 'waitlisted') LIMIT 1
                """), arguments: [clientID])
            if let earlier = openReferral[clientID] {
                errors.append(FieldError(field: "clientId", message: "row \(earlier) is an open referral of the same client"))
            } else if let held {
                errors.append(FieldError(field: "clientId", message: "the client already has an open referral \(held)"))
            }
        }
        if history {
            if state == .active {
                let cap = provider.value(.cap).intValue ?? 0
                let active = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM referral WHERE provider_id = ? AND deleted IS NOT 1 AND state = 'active'"),
                                              arguments: [providerID]) ?? 0
                if active + activeInFile[providerID, default: 0] >= Int(cap) {
                    errors.append(FieldError(field: "state", message: "provider \(providerID) has all \(cap) places taken"))
                }
            }
        } else {
            if values[.riskGroup] != nil && values[.riskGroup] != client.value(.riskGroup) {
                errors.append(FieldError(field: "riskGroup", message: "a pending referral carries the client's confirmed risk group"))
            }
            if let area = provider.value(.pilotArea).stringValue,
               let refusal = AssessmentGate.shipped.refusal(area: area, on: today, clientID: clientID, client: client.values,
                                                            assessments: try Replica.assessments(db, client: clientID)) {
                errors.append(FieldError(field: "clientId", message: refusal.message))
            }
        }
        return errors
    }

    mutating func isLive(_ kind: EntityKind, _ id: String) throws -> Bool {
        let key = "\(kind.rawValue)/\(id)"
        if let known = live[key] { return known }
        let found = try Replica.loadState(db, kind, id).map { !$0.isDeleted } ?? false
        live[key] = found
        return found
    }

    mutating func referrals(of client: String) throws -> [[String: FieldValue]] {
        if let known = referralsOfClient[client] { return known }
        let found = try Row.fetchAll(db.cachedStatement(sql: "SELECT sync_state FROM referral WHERE client_id = ? AND deleted IS NOT 1"), arguments: [client])
            .map { try Replica.decodeState($0["sync_state"]).values }
        referralsOfClient[client] = found
        return found
    }
}

private struct ImportErrors: Error {
    let errors: [FieldError]
    init(_ errors: [FieldError]) { self.errors = errors }
}
