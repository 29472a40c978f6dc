import GRDB
import KasvuDomain
import KasvuStorage
import KasvuTestSupport
import Testing

/// SQLite errors keep their cause: busy is worth a retry, a broken constraint is not.
@Suite struct StorageErrorTests {
    @Test func aBrokenConstraintIsAFaultNotBusy() throws {
        let directory = try TemporaryDirectory()
        let queue = try DatabaseQueue(path: directory.path("t.sqlite"))
        try queue.write { try $0.execute(sql: "CREATE TABLE t (id TEXT PRIMARY KEY); INSERT INTO t VALUES ('a')") }
        do {
            try queue.write { try $0.execute(sql: "INSERT INTO t VALUES ('a')") }
            Issue.record("a duplicate key was accepted")
        } catch let error as DatabaseError {
            let mapped = KasvuError(storage: error, in: "test")
            #expect(mapped.kind == .storageFault)
            #expect(mapped.message.contains("1555"))  // SQLITE_CONSTRAINT_PRIMARYKEY
        }
    }

    @Test func aBusyDatabaseIsWorthARetry() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("t.sqlite")
        let holder = try DatabaseQueue(path: path)
        try holder.write { try $0.execute(sql: "CREATE TABLE t (id TEXT)") }
        var configuration = Configuration()
        configuration.busyMode = .immediateError
        let other = try DatabaseQueue(path: path, configuration: configuration)
        try holder.inDatabase { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            defer { try? db.execute(sql: "ROLLBACK") }
            do {
                try other.write { try $0.execute(sql: "INSERT INTO t VALUES ('b')") }
                Issue.record("a write went through a held lock")
            } catch let error as DatabaseError {
                #expect(KasvuError(storage: error, in: "test").kind == .storageFailed)
            }
        }
    }
}
