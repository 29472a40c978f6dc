import KasvuSQL
import KasvuSync

/// The central store's own writer (its referral decisions): created on first use, its counter
/// and clock persisted in the same transaction as the writes it stamps.
enum CentralActor {
    static func load(_ db: any SQLConnection) throws -> WriterClock {
        if let row = try db.one("SELECT actor, counter, hlc FROM central_actor") {
            return try WriterClock(actor: ActorID(rawValue: row["actor"]), counter: UInt64(row["counter"] as Int64),
                               last: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64)))
        }
        let created = WriterClock(actor: .random(), counter: 0, last: .zero)
        try db.execute("INSERT INTO central_actor (singleton, actor, counter, hlc) VALUES (1, ?, 0, 0)", [created.actor.rawValue])
        return created
    }

    static func save(_ writer: WriterClock, _ db: any SQLConnection) throws {
        try db.execute("UPDATE central_actor SET counter = ?, hlc = ?",
                       [Int64(writer.counter), Int64(bitPattern: writer.clock.last.rawValue)])
    }
}
