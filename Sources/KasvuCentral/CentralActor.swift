import GRDB
import KasvuSync

/// The central store's own writer (its referral decisions): created on first use, its counter
/// and clock persisted in the same transaction as the writes it stamps.
enum CentralActor {
    static func load(_ db: Database) throws -> WriterClock {
        if let row = try Row.fetchOne(db, sql: "SELECT actor, counter, hlc FROM central_actor") {
            return WriterClock(actor: ActorID(rawValue: row["actor"]), counter: UInt64(row["counter"] as Int64),
                               last: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64)))
        }
        let created = WriterClock(actor: .random(), counter: 0, last: .zero)
        try db.execute(sql: "INSERT INTO central_actor (singleton, actor, counter, hlc) VALUES (1, ?, 0, 0)", arguments: [created.actor.rawValue])
        return created
    }

    static func save(_ writer: WriterClock, _ db: Database) throws {
        try db.execute(sql: "UPDATE central_actor SET counter = ?, hlc = ?",
                       arguments: [Int64(writer.counter), Int64(bitPattern: writer.clock.last.rawValue)])
    }
}
