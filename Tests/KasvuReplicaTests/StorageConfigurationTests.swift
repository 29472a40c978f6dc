import Foundation
import GRDB
@testable import KasvuReplica
import KasvuStorage
import KasvuTestSupport
import Testing

/// Both stores open their files through `StorageConfiguration`: what it promises holds on a real file.
@Suite struct StorageConfigurationTests {
    @Test(arguments: [(KasvuStorage.Durability.full, 2), (.normal, 1)])
    func everyConnectionGetsTheDurabilityAndCache(durability: KasvuStorage.Durability, synchronous: Int) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("t.sqlite")
        try PrivateFile.create(atPath: path)
        let pool = try StorageConfiguration.openPool(at: path, label: "test", durability: durability, cacheMiB: 8)
        for settings in [try pool.read(Self.settings), try pool.write(Self.settings)] {
            #expect(settings == [synchronous, 1, -8192, 1])
        }
    }

    /// `synchronous`, `secure_delete`, `cache_size` and WAL mode (1 when the journal is "wal").
    static func settings(_ db: Database) throws -> [Int] {
        [try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1, try Int.fetchOne(db, sql: "PRAGMA secure_delete") ?? -1,
         try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? 0, try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal" ? 1 : 0]
    }

    /// A deleted row's bytes are overwritten, not left in a free page for anyone with the file.
    @Test func deletedBytesLeaveTheFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("t.sqlite")
        try PrivateFile.create(atPath: path)
        let pool = try StorageConfiguration.openPool(at: path, label: "test", cacheMiB: 2)
        let marker = "Virtanen-131052-308T-" + String(repeating: "x", count: 3000)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
            for id in 1...20 { try db.execute(sql: "INSERT INTO t VALUES (?, ?)", arguments: [id, marker]) }
        }
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        #expect(try Self.contains(path, "Virtanen-131052"))  // the check can see the marker
        try pool.write { try $0.execute(sql: "DELETE FROM t") }
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        #expect(!(try Self.contains(path, "Virtanen-131052")))
        #expect(!(try Self.contains(path + "-wal", "Virtanen-131052")))
    }

    /// `secure_delete` misses the copies a row leaves on the pages SQLite moved it from while
    /// balancing the tree; an erasure of the live row leaves those. The scrub removes them.
    @Test func aScrubRemovesTheCopiesBalancingLeft() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("t.sqlite")
        try PrivateFile.create(atPath: path)
        let pool = try StorageConfiguration.openPool(at: path, label: "test", cacheMiB: 2)
        let rows = 3000
        // Keys in a scattered, fixed order (the same file every run): inserts land all over the
        // tree and split pages in the middle, as client ids (UUIDs) do.
        let keys = (0..<rows).map { String(format: "%08x", UInt32(truncatingIfNeeded: $0 &* 2_654_435_761)) }
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE record (id TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID")
            try Scrub.createTable(db)
            for (index, key) in keys.enumerated() {
                try db.execute(sql: "INSERT INTO record VALUES (?, ?)", arguments: [key, "{\"hetu\":\"ERASED\(index)\",\"pad\":\"\(String(repeating: "x", count: 100 + index % 300))\"}"])
            }
        }
        for (index, key) in keys.enumerated() {
            try pool.write { db in
                try db.execute(sql: "UPDATE record SET state = ? WHERE id = ?", arguments: ["{\"deleted\":true,\"pad\":\"\(String(repeating: "y", count: 50 + index % 400))\"}", key])
                try Scrub.markPending(db)
            }
        }
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        #expect(try Self.contains(path, "\"ERASED"))  // secure_delete alone leaves some behind
        #expect(try pool.read(Scrub.isPending))
        #expect(try pool.writeWithoutTransaction(Scrub.runIfPending))
        #expect(!(try Self.contains(path, "\"ERASED")))
        #expect(!(try Self.contains(path + "-wal", "\"ERASED")))
        #expect(!(try pool.read(Scrub.isPending)))
        #expect(!(try pool.writeWithoutTransaction(Scrub.runIfPending)))  // nothing owed: no rewrite
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM record") } == rows)
    }

    static func contains(_ path: String, _ text: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        return try Data(contentsOf: URL(fileURLWithPath: path)).range(of: Data(text.utf8)) != nil
    }
}

/// The replica opens its file through the shared configuration, in both durability modes.
@Suite struct ReplicaStorageSettingsTests {
    @Test(arguments: [(KasvuStorage.Durability.full, 2), (.normal, 1)])
    func theReplicasWriterCommitsAtItsDurability(durability: KasvuStorage.Durability, synchronous: Int) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("office.sqlite")
        _ = try Replica.create(at: path, replicaID: "office-1", role: .office, durability: durability)
        let reopened = try Replica.open(at: path, durability: durability)
        #expect(try reopened.pool.write(StorageConfigurationTests.settings) == [synchronous, 1, -16384, 1])
    }
}
