import Foundation
import GRDB
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// The replica's and the central store's migrations are frozen SQL; these tests keep them
/// honest. Databases made by an earlier release (`Tests/Fixtures/databases`, made by commit
/// b3a69c8: one client synced, one pending) open, migrate, answer list queries and sync.
@Suite("Migrations", .serialized)
struct MigrationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/databases")

    /// The columns of a replica database, by table.
    static func columns(_ path: String) throws -> [String: Set<String>] {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            var result: [String: Set<String>] = [:]
            for kind in EntityKind.allCases {
                result[kind.rawValue] = Set(try Row.fetchAll(db, sql: "PRAGMA table_xinfo(\"\(kind.rawValue)\")").map { $0["name"] as String })
            }
            return result
        }
    }

    static func snake(_ field: String) -> String {
        field.reduce(into: "") { $0 += $1.isUppercase ? "_" + $1.lowercased() : String($1) }
    }

    /// Adding an indexed field to a schema without a migration that gives it a column fails here
    /// (and list queries on it would fail on every existing replica).
    func expectEveryIndexedFieldHasAColumn(_ replica: Replica) async throws {
        let columns = try Self.columns(replica.path)
        for kind in EntityKind.allCases {
            for field in kind.schema.indexedFields {
                #expect(columns[kind.rawValue]?.contains(Self.snake(field)) == true, "\(kind.rawValue).\(field) has no column: add a migration")
                _ = try await replica.list(kind, where: [field: .null], limit: 1)
            }
        }
    }

    /// Each list column that disagrees with the winning value in its row's sync state, with the
    /// number of rows (none when every write kept them in step); and each that is still a
    /// generated column (v15 made them ordinary).
    static func listColumnsOutOfStep(_ path: String) throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: path, configuration: configuration).read { db in
            var wrong: [String] = []
            for kind in EntityKind.allCases {
                for row in try Row.fetchAll(db, sql: "PRAGMA table_xinfo(\"\(kind.rawValue)\")") {
                    let column: String = row["name"]
                    guard !["id", "sync_state", "has_conflict"].contains(column) else { continue }
                    if (row["hidden"] as Int) != 0 { wrong.append("\(kind.rawValue).\(column) is generated") }
                    let field = column.split(separator: "_").enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
                    var value = "json_extract(sync_state, '$.f.\(field)[0][0]')"
                    if kind == .client && field == "clientType" { value = "coalesce(\(value), 'person')" }
                    let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(kind.rawValue)\" WHERE \(column) IS NOT \(value)") ?? 0
                    if count > 0 { wrong.append("\(kind.rawValue).\(column): \(count) rows") }
                }
            }
            return wrong
        }
    }

    /// Creates, updates, merges of pulled states, conflicts, deletes, imports, issued invoices:
    /// every way a record is written keeps its list columns equal to its state.
    @Test func listColumnsFollowEveryWrite() async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(.sqlite, in: directory)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        try await DashboardBrowserTests.seed(admin, office)
        let client = try #require(try await office.replica.list(.client, limit: 1).items.first)
        try await office.replica.delete(.client, id: client.id)
        try await office.sync()
        try await admin.sync()
        for replica in [admin, office] {
            #expect(try await replica.replica.list(.client).items.count > 3)
            #expect(try Self.listColumnsOutOfStep(replica.replica.path) == [], "\(replica.replica.path)")
        }
    }

    @Test func aNewReplicaHasAColumnForEveryIndexedField() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("new.sqlite"), replicaID: "new", role: .office)
        try await expectEveryIndexedFieldHasAColumn(replica)
    }

    @Test func databasesOfTheLastReleaseOpenMigrateAndSync() async throws {
        let directory = try TemporaryDirectory()
        for name in ["central-b3a69c8.sqlite", "office-b3a69c8.sqlite"] {
            try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(name), to: directory.url.appendingPathComponent(name))
        }
        let token = try String(contentsOf: Self.fixtures.appendingPathComponent("office-b3a69c8.sqlite.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let central = try CentralProcess(db: directory.path("central-b3a69c8.sqlite"))
        // The records it held before homes have theirs (`RecordHome.fill`), and every replica
        // reads every record up to the store's sequence (moves before homes left no departure).
        try await Oracle.expectHomes(central: central)
        let sequence: Int64 = try #require(try await central.rows("SELECT value FROM sequence").first)["value"]
        let scanned: [Int64] = try await central.rows("SELECT scan_all_through FROM replica").map { try $0["scan_all_through"] }
        #expect(sequence > 0 && !scanned.isEmpty && scanned.allSatisfy { $0 == sequence })
        let replica = try Replica.open(at: directory.path("office-b3a69c8.sqlite"))
        try await expectEveryIndexedFieldHasAColumn(replica)
        #expect(try Self.listColumnsOutOfStep(replica.path) == [])
        #expect(try await replica.list(.client).items.count == 2)
        #expect(try await replica.list(.client, where: ["municipality": .string("402")]).items.map { $0["lastName"] } == [.string("Oy Asiakas")])
        #expect(try await replica.info().pendingChanges == 1)
        // It syncs with the migrated central store: the pending client goes, nothing is refused.
        let office = TestReplica(restoring: replica, token: token, central: central)
        let summary = try await office.sync()
        #expect(summary.pushed == 1 && summary.rejections.isEmpty)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        try await admin.sync()
        #expect(Set(try await admin.replica.list(.client).items.map { $0["lastName"] }) == [.string("Virtanen"), .string("Oy Asiakas")])
        try await Oracle.expectHomes(central: central)
    }
}
