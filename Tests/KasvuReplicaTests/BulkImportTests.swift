import Foundation
import GRDB
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// A bulk import builds its table's indexes and the search index after the rows: the replica
/// ends exactly as one that imported the same rows a few at a time, row by row.
@Suite struct BulkImportTests {
    static func rows(_ range: Range<Int>) -> [ImportRow] {
        range.map { n in
            ImportRow(row: n + 1, id: String(format: "01900000-0000-7000-8000-%012d", n), values: [
                "hetu": .string(testHetu(n)), "firstName": .string(n % 7 == 0 ? "Äijä \(n)" : "Etu\(n)"),
                "lastName": .string("Suku\(n)"), "municipality": .string(n % 2 == 0 ? "749" : "402"),
            ])
        }
    }

    static func contents(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
                + String.fetchAll(db, sql: "SELECT token || ' ' || id FROM client_search ORDER BY token, id")
                + String.fetchAll(db, sql: """
                    SELECT id || ' ' || hetu || ' ' || last_name || ' ' || municipality || ' ' || client_type || ' ' || status FROM client ORDER BY id
                    """)
                + [try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? ""]
        }
    }

    @Test func aBulkImportEndsAsImportingRowByRowWould() async throws {
        let directory = try TemporaryDirectory()
        let bulk = try Replica.create(at: directory.path("bulk.sqlite"), replicaID: "bulk", role: .admin)
        let small = try Replica.create(at: directory.path("small.sqlite"), replicaID: "small", role: .admin)
        let count = Replica.bulkImportRows + 200
        #expect(try await bulk.importRecords(.client, rows: Self.rows(0..<count), importedBy: "test").imported == count)
        for start in stride(from: 0, to: count, by: 400) {  // each below the bulk size
            #expect(try await small.importRecords(.client, rows: Self.rows(start..<min(start + 400, count)), importedBy: "test").imported > 0)
        }
        let (bulkRows, smallRows) = (try Self.contents(bulk.path), try Self.contents(small.path))
        #expect(bulkRows.count == smallRows.count && bulkRows.last == "ok")
        #expect(bulkRows == smallRows)
        #expect(try await bulk.search("suku12", limit: 100).items.count == 11)  // Suku12, Suku120…129
        #expect(try await bulk.search("ÄIJÄ 7", limit: 100).items.count == (0..<count).filter { $0 % 7 == 0 && "\($0)".hasPrefix("7") }.count)
        #expect(try await bulk.list(.client, where: ["municipality": .string("402")], limit: 100).items.count == 100)
        // The rebuilt indexes serve the next import's checks: a henkilötunnus already registered.
        let again = try await bulk.importRecords(.client, rows: [ImportRow(row: 1, id: nil, values: Self.rows(5..<6)[0].values)], importedBy: "test")
        #expect(again.imported == 0 && again.problems.map(\.field) == ["hetu"])
    }
}
