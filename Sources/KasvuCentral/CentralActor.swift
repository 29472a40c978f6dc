import GRDB
import KasvuSync

/// The central store's own writer: created on first use, its counter and clock persisted in
/// the same transaction as the writes it stamps.
struct CentralActor {
    let actor: ActorID
    var counter: UInt64
    var clock: HybridClock

    static func load(_ db: Database, nowMillis: () -> UInt64) throws -> CentralActor {
        if let row = try Row.fetchOne(db, sql: "SELECT actor, counter, hlc FROM central_actor") {
            return CentralActor(actor: ActorID(rawValue: row["actor"]), counter: UInt64(row["counter"] as Int64),
                                clock: HybridClock(last: HLC(rawValue: UInt64(bitPattern: row["hlc"] as Int64))))
        }
        let created = CentralActor(actor: .random(), counter: 0, clock: HybridClock(last: .zero))
        try db.execute(sql: "INSERT INTO central_actor (singleton, actor, counter, hlc) VALUES (1, ?, 0, 0)", arguments: [created.actor.rawValue])
        return created
    }

    mutating func next(nowMillis: () -> UInt64) -> (dot: Dot, hlc: HLC) {
        counter += 1
        return (Dot(actor, counter), clock.tick(nowMillis: nowMillis()))
    }

    func save(_ db: Database) throws {
        try db.execute(sql: "UPDATE central_actor SET counter = ?, hlc = ?", arguments: [Int64(counter), Int64(bitPattern: clock.last.rawValue)])
    }
}
