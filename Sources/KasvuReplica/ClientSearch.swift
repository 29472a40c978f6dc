import Foundation
import GRDB
import KasvuDomain
import KasvuSync

/// Finding a client by what a case worker types (issue 14, item 5): any case, composed or
/// decomposed Unicode, the beginning of a first, last, company or community name, or a whole
/// henkilötunnus, Y-tunnus or association number. Only the replica's own records are searched,
/// which are exactly its scope.
///
/// The index is a plain table of normalised name tokens (`client_search`, token → client id),
/// kept in the transaction that saves the client's state (``index(_:_:_:)``, from
/// `saveState`) and emptied for a client by a trigger when its row goes (eviction, re-sync).
/// A plain b-tree, not FTS5: a prefix is a range scan of its primary key, and a deleted row
/// leaves nothing behind that `secure_delete` and the scrub's `VACUUM` do not clear, whereas
/// FTS5 keeps deleted terms in its segments until they are merged.
///
/// ```swift
/// let page = try await replica.search("virt ai", limit: 20)   // Aino Virtanen, Aili Virta, …
/// let one = try await replica.search("131052-308T")          // by henkilötunnus
/// ```
public enum ClientSearch {
    /// Bumped when ``tokens(of:)`` changes: a replica rebuilds its index at the next open.
    static let version = 1
    static let maxTextLength = 200
    static let maxWords = 8

    /// Lower case, composed (NFC): how both the index and the query are written.
    public static func normalised(_ text: String) -> String {
        text.precomposedStringWithCanonicalMapping.lowercased().precomposedStringWithCanonicalMapping
    }

    /// The words of `text`: runs of letters and digits, normalised.
    static func words(_ text: String) -> [String] {
        text.utf8.allSatisfy({ $0 < 0x80 }) ? asciiWords(text) : unicodeWords(text)
    }

    static func unicodeWords(_ text: String) -> [String] {
        normalised(text).split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    /// ``unicodeWords(_:)`` of an ASCII text, byte by byte: most names are ASCII, and Foundation's
    /// normalisation of every one was a tenth of a bulk import.
    static func asciiWords(_ text: String) -> [String] {
        var words: [String] = [], word: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): word.append(byte + 32)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): word.append(byte)
            default:
                if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
                word.removeAll(keepingCapacity: true)
            }
        }
        if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
        return words
    }

    /// Every word of every value (conflicting ones too) of the client's names; none for a
    /// deleted client, whose names are erased.
    static func tokens(of state: RecordState) -> Set<String> {
        guard !state.isDeleted else { return [] }
        var tokens: Set<String> = []
        for key in [FieldKey.firstName, .lastName, .name] {
            for entry in state.entries(key) {
                if let text = entry.value.stringValue { tokens.formUnion(words(text)) }
            }
        }
        return tokens
    }

    /// The tokens of a client written once, with `values` (an imported one: no conflicts).
    static func tokens(ofNew values: [String: FieldValue]) -> Set<String> {
        guard values[EntitySchema.deletedField] != .bool(true) else { return [] }
        var tokens: Set<String> = []
        for key in [FieldKey.firstName, .lastName, .name] {
            if let text = values[key.rawValue]?.stringValue { tokens.formUnion(words(text)) }
        }
        return tokens
    }

    /// Brings the client's tokens in line with `state`, in the caller's transaction.
    static func index(_ db: Database, _ id: String, _ state: RecordState) throws {
        try db.cachedStatement(sql: "DELETE FROM client_search WHERE id = ?").execute(arguments: [id])
        try insert(db, tokens(of: state).map { ($0, id) })
    }

    static func insert(_ db: Database, _ tokens: [(token: String, id: String)]) throws {
        let insert = try db.cachedStatement(sql: "INSERT INTO client_search (token, id) VALUES (?, ?)")
        for (token, id) in tokens { try insert.execute(arguments: [token, id]) }
    }

    /// Builds the index afresh when it was made by another version of ``tokens(of:)`` (or not
    /// at all: a replica from before search).
    static func needsRebuild(_ db: Database) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT search_version FROM replica") != version
    }

    static func rebuildIfNeeded(_ db: Database) throws {
        guard try needsRebuild(db) else { return }
        try db.execute(sql: "DELETE FROM client_search")
        let rows = try Row.fetchCursor(db, sql: "SELECT id, sync_state FROM client WHERE deleted IS NOT 1")
        while let row = try rows.next() {
            try index(db, row["id"], try Replica.decodeState(row["sync_state"]))
        }
        try db.execute(sql: "UPDATE replica SET search_version = ?", arguments: [version])
    }

    /// What a query asks for.
    enum Query {
        /// A whole identifier: exact match on its column.
        case identifier(column: String, value: String)
        /// Words, each the beginning of some name word of the client.
        case words([String])

        init(_ text: String) throws(KasvuError) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw .validationFailed(field: "text", "must not be empty") }
            guard trimmed.count <= maxTextLength else { throw .validationFailed(field: "text", "at most \(maxTextLength) characters") }
            let upper = trimmed.uppercased()
            if let hetu = try? PersonalIdentityCode(upper, allowTemporary: true) {
                self = .identifier(column: "hetu", value: hetu.value)
            } else if let businessID = try? BusinessID(trimmed) {
                self = .identifier(column: "business_id", value: businessID.value)
            } else if let rule = EntityKind.client.schema.field(.associationNumber)?.rule, trimmed.first?.isNumber == true,
                      let number = try? rule.check(.string(trimmed)).stringValue {
                self = .identifier(column: "association_number", value: number)
            } else {
                let words = ClientSearch.words(trimmed)
                guard !words.isEmpty else { throw .validationFailed(field: "text", "has no letters or digits to search for") }
                guard words.count <= maxWords else { throw .validationFailed(field: "text", "at most \(maxWords) words") }
                self = .words(words)
            }
        }
    }

    /// Where a page ended: the last item's rank, sort name and id, opaque to callers.
    struct Cursor: Codable {
        let score: Int
        let name: String
        let id: String

        var text: String { Data((try? JSONEncoder().encode(self)) ?? Data()).base64EncodedString() }

        init(score: Int, name: String, id: String) {
            self.score = score
            self.name = name
            self.id = id
        }

        init(_ text: String) throws(KasvuError) {
            guard let data = Data(base64Encoded: text), let cursor = try? JSONDecoder().decode(Cursor.self, from: data) else {
                throw .validationFailed(field: "after", "is not a cursor this search returned (pass the previous page's next)")
            }
            self = cursor
        }
    }

    /// The SQL of one page: matches scored, ranked (more whole-word matches first, then by name
    /// and id), after the cursor.
    static func page(_ query: Query, limit: Int, after: Cursor?) -> (sql: String, arguments: StatementArguments) {
        var arguments: [(any DatabaseValueConvertible)?] = []
        let matches: String
        let wordCount: Int
        switch query {
        case .identifier(let column, let value):
            matches = "SELECT id, 1 AS words, \(100) AS score FROM client WHERE \(column) = ?"
            arguments.append(value)
            wordCount = 1
        case .words(let words):
            // Each word: its matching tokens (a range of the primary key), 2 for a whole word.
            let perWord = words.enumerated().map { index, word -> String in
                arguments += [word, word, word + "\u{10FFFF}"]
                return "SELECT \(index) AS word, id, CASE WHEN token = ? THEN 2 ELSE 1 END AS exact FROM client_search WHERE token >= ? AND token < ?"
            }
            matches = """
                SELECT id, count(*) AS words, sum(exact) AS score FROM (
                    SELECT word, id, max(exact) AS exact FROM (\(perWord.joined(separator: " UNION ALL "))) GROUP BY word, id
                ) GROUP BY id
                """
            wordCount = words.count
        }
        var sql = """
            SELECT c.id, c.sync_state, m.score, coalesce(c.name, c.last_name, '') AS sort_name
            FROM (\(matches)) AS m JOIN client AS c ON c.id = m.id
            WHERE m.words = \(wordCount) AND c.deleted IS NOT 1
            """
        if let after {
            sql += " AND (m.score < ? OR (m.score = ? AND (sort_name > ? OR (sort_name = ? AND c.id > ?))))"
            arguments += [after.score, after.score, after.name, after.name, after.id]
        }
        sql += " ORDER BY m.score DESC, sort_name, c.id LIMIT \(limit + 1)"
        return (sql, StatementArguments(arguments))
    }
}

extension Replica {
    /// Searches this replica's clients (``ClientSearch``), best matches first.
    ///
    /// - Parameters:
    ///   - text: words that begin a first, last, company or community name (all must match), or
    ///     a whole henkilötunnus, Y-tunnus or association number.
    ///   - limit: 1…100.
    ///   - after: the `next` of the previous page.
    public func search(_ text: String, limit: Int = 20, after: String? = nil) async throws -> Page {
        guard (1...100).contains(limit) else { throw KasvuError.validationFailed(field: "limit", "must be 1…100") }
        let query = try ClientSearch.Query(text)
        let cursor = try after.map { text throws(KasvuError) in try ClientSearch.Cursor(text) }
        let (sql, arguments) = ClientSearch.page(query, limit: limit, after: cursor)
        return try await read { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let items = try rows.prefix(limit).map { row in
                Record(kind: .client, id: row["id"], state: try Self.decodeState(row["sync_state"]))
            }
            let next = rows.count > limit ? rows[limit - 1] : nil
            return Page(items: items, next: next.map { ClientSearch.Cursor(score: $0["score"], name: $0["sort_name"], id: $0["id"]).text })
        }
    }
}
