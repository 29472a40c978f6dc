import ArgumentParser
import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuRPC

extension EntityKind: ExpressibleByArgument {}

/// The two file shapes of `kasvu import` and `kasvu export`: CSV with a header row (`id`, then
/// the kind's fields; an empty cell is no value; arrays and objects as JSON text) and JSON
/// lines (one object per line, with the same keys).
enum RecordFileFormat: String, ExpressibleByArgument, CaseIterable {
    case csv, jsonl

    /// By the file's extension: `.csv`, else JSON lines.
    static func of(_ path: String) -> RecordFileFormat { path.lowercased().hasSuffix(".csv") ? .csv : .jsonl }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import clients, providers, referrals, contacts, hours or events from CSV or JSON lines into the central office's replica.",
        discussion: """
            Every row is checked first, by the rules every write meets (and, for referrals, that their history hangs \
            together); each problem is reported as `row N, FIELD: reason` (N counts the file's lines, the CSV header being \
            line 1). Nothing is imported unless every row is good, or with --skip-invalid, which imports the good rows and \
            reports the rest. Referrals keep their states and dates, marked importedBy. The records reach the central store \
            at the next sync. `kasvu export` writes the same shapes.
            """
    )

    @OptionGroup var replica: ReplicaOptions

    @Option(help: "What the file holds: \(Replica.importKinds.map(\.rawValue).joined(separator: ", ")).")
    var entity: EntityKind

    @Option(help: "csv or jsonl (default: by the file's extension).")
    var format: RecordFileFormat?

    @Flag(help: "Import the good rows and report the bad ones, instead of importing nothing.")
    var skipInvalid = false

    @Argument(help: "The file to import.")
    var file: String

    func run() async throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let rows: [ImportRow]
        do { rows = try RecordFile.read(data, kind: entity, format: format ?? .of(file)) } catch let error as RecordFile.Malformed {
            throw CLIError(KasvuError.validationFailed(field: "file", error.message))
        }
        let result: ImportResult
        do {
            let opened = try Replica.open(at: replica.db, durability: replica.durability)
            let user = ProcessInfo.processInfo.environment["USER"] ?? "kasvu import"
            let bar = ProgressBar(label: "checking and importing \(rows.count) \(entity.rawValue) rows")
            result = try await opened.importRecords(entity, rows: rows, importedBy: user, skipInvalid: skipInvalid) { done, total in bar.show(done, of: total) }
            bar.finish()
        } catch let error as KasvuError {
            throw CLIError(error)
        }
        for problem in result.problems {
            FileHandle.standardError.write(Data("row \(problem.row), \(problem.field): \(problem.reason)\n".utf8))
        }
        if result.imported == 0 && !result.problems.isEmpty && !skipInvalid {
            FileHandle.standardError.write(Data("Imported nothing: \(Set(result.problems.map(\.row)).count) of \(result.rows) rows have problems (--skip-invalid imports the others).\n".utf8))
            throw ExitCode(1)
        }
        print("Imported \(result.imported) of \(result.rows) \(entity.rawValue) rows" + (result.problems.isEmpty ? "." : "; skipped \(Set(result.problems.map(\.row)).count) with problems."))
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the central office's replica's live records of one kind, in the shapes `kasvu import` reads.",
        discussion: "Records by id, each field's winning value. The file holds personal data: it is created readable by its owner only."
    )

    @OptionGroup var replica: ReplicaOptions

    @Option(help: "What to export: \(Replica.importKinds.map(\.rawValue).joined(separator: ", ")).")
    var entity: EntityKind

    @Option(help: "csv or jsonl (default: by --output's extension, else csv).")
    var format: RecordFileFormat?

    @Option(help: "The file to write (default: standard output).")
    var output: String?

    func validate() throws {
        guard Replica.importKinds.contains(entity) else {
            throw ValidationError("--entity must be one of \(Replica.importKinds.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let records: [(id: String, values: [String: FieldValue])]
        do {
            records = try await Replica.open(at: replica.db, durability: replica.durability).exportRecords(entity)
        } catch let error as KasvuError {
            throw CLIError(error)
        }
        let text = RecordFile.write(records, kind: entity, format: format ?? output.map(RecordFileFormat.of) ?? .csv)
        if let output {
            let descriptor = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard descriptor >= 0 else { throw ValidationError("cannot create \(output)") }
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            try handle.write(contentsOf: Data(text.utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// Reading and writing the two shapes.
enum RecordFile {
    struct Malformed: Error { let message: String }

    static func read(_ data: Data, kind: EntityKind, format: RecordFileFormat) throws -> [ImportRow] {
        let specs = Dictionary(uniqueKeysWithValues: Replica.importFields(kind).map { ($0.name, $0) })
        switch format {
        case .csv:
            let records = try CSVReader.records(decoded(data))
            guard let header = records.first?.fields else { return [] }
            for name in header where name != "id" && specs[name] == nil {
                throw Malformed(message: "unknown column '\(name)' for \(kind.rawValue): the columns are id, \(Replica.importFields(kind).map(\.name).joined(separator: ", "))")
            }
            if Set(header).count != header.count { throw Malformed(message: "a column is named twice in the header") }
            return records.dropFirst().map { record in
                var values: [String: FieldValue] = [:], problems: [FieldError] = [], id: String?
                if record.fields.count != header.count {
                    problems.append(FieldError(field: "row", message: "has \(record.fields.count) cells, the header \(header.count)"))
                }
                for (name, cell) in zip(header, record.fields) where !cell.isEmpty {
                    if name == "id" { id = cell; continue }
                    guard let spec = specs[name] else { continue }
                    switch spec.type {
                    case .integer:
                        if let number = Int64(cell) { values[name] = .int(number) } else { problems.append(FieldError(field: name, message: "must be a whole number, got '\(cell)'")) }
                    case .boolean:
                        if cell == "true" || cell == "false" { values[name] = .bool(cell == "true") } else { problems.append(FieldError(field: name, message: "must be true or false, got '\(cell)'")) }
                    case .string, .array, .object:
                        values[name] = .string(cell)
                    }
                }
                return ImportRow(row: record.line, id: id, values: values, problems: problems)
            }
        case .jsonl:
            var rows: [ImportRow] = []
            // Split on line ends of either kind ("\r\n" is one Character, and so one separator).
            for (index, line) in decoded(data).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let text = line.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty else { continue }
                var values: [String: FieldValue] = [:], problems: [FieldError] = [], id: String?
                switch try? JSONValue.parse(Data(text.utf8)) {
                case .object(let members)?:
                    for (name, json) in members.sorted(by: { $0.key < $1.key }) {
                        if name == "id" {
                            if case .string(let text) = json { id = text } else { problems.append(FieldError(field: "id", message: "must be a string")) }
                            continue
                        }
                        guard specs[name] != nil else { problems.append(FieldError(field: name, message: "is not a field of an imported \(kind.rawValue)")); continue }
                        switch json {
                        case .array, .object: values[name] = .string(String(decoding: json.serialized(), as: UTF8.self))
                        default:
                            if let value = FieldValue(json: json) { values[name] = value } else { problems.append(FieldError(field: name, message: "must be a string, a whole number, true, false or null")) }
                        }
                    }
                default:
                    problems.append(FieldError(field: "row", message: "is not a JSON object"))
                }
                rows.append(ImportRow(row: index + 1, id: id, values: values, problems: problems))
            }
            return rows
        }
    }

    /// The file as text, without the byte-order mark spreadsheets put before UTF-8 CSV.
    static func decoded(_ data: Data) -> String {
        let text = String(decoding: data, as: UTF8.self)
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }

    static func write(_ records: [(id: String, values: [String: FieldValue])], kind: EntityKind, format: RecordFileFormat) -> String {
        let specs = Replica.importFields(kind)
        switch format {
        case .csv:
            var lines = [(["id"] + specs.map(\.name)).joined(separator: ",")]
            for record in records {
                let cells = [record.id] + specs.map { spec -> String in
                    switch record.values[spec.name] {
                    case .string(let text)?: text
                    case .int(let number)?: String(number)
                    case .bool(let flag)?: flag ? "true" : "false"
                    case .null?, nil: ""
                    }
                }
                lines.append(cells.map(CSV.field).joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        case .jsonl:
            return records.map { record in
                var object: [String: JSONValue] = ["id": .string(record.id)]
                for spec in specs {
                    guard let value = record.values[spec.name], !value.isNull else { continue }
                    if spec.type == .array || spec.type == .object, case .string(let text) = value, let parsed = try? JSONValue.parse(Data(text.utf8)) {
                        object[spec.name] = parsed
                    } else {
                        object[spec.name] = value.json
                    }
                }
                return String(decoding: JSONValue.object(object).serialized(), as: UTF8.self)
            }.joined(separator: "\n") + (records.isEmpty ? "" : "\n")
        }
    }
}

/// RFC 4180 records: fields separated by commas, quoted with `"` (doubled inside) when they
/// hold a comma, quote or line break; CRLF or LF line ends. Each record with the line it starts on.
enum CSVReader {
    struct Record { let line: Int; let fields: [String] }

    static func records(_ text: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = [], field = "", quoted = false, afterQuote = false
        var line = 1, start = 1, atRecordStart = true
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scalars.next()
        func endField() { fields.append(field); field = ""; afterQuote = false }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: start, fields: fields)) }
            fields = []
            atRecordStart = true
        }
        while let scalar = pending {
            pending = scalars.next()
            if atRecordStart { start = line; atRecordStart = false }
            if quoted {
                if scalar == "\"" {
                    if pending == "\"" { field.unicodeScalars.append("\""); pending = scalars.next() } else { quoted = false; afterQuote = true }
                } else if scalar == "\r" && pending == "\n" {
                    continue  // a line break inside a quoted field is kept as "\n"
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty && !afterQuote: quoted = true
            case ",": endField()
            case "\r" where pending == "\n": continue
            case "\n":
                endRecord()
                line += 1
            default:
                if afterQuote { throw RecordFile.Malformed(message: "line \(line): text after a closing quote") }
                field.unicodeScalars.append(scalar)
            }
        }
        if quoted { throw RecordFile.Malformed(message: "line \(start): a quoted field is not closed") }
        if !atRecordStart || !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}

/// A progress bar on standard error when it is a terminal; nothing otherwise.
final class ProgressBar: Sendable {
    let label: String
    let terminal = isatty(STDERR_FILENO) == 1

    init(label: String) { self.label = label }

    func show(_ done: Int, of total: Int) {
        guard terminal, total > 0 else { return }
        let filled = 30 * min(done, total) / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(100 * done / total)% \(label)".utf8))
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
