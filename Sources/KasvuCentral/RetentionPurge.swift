import Foundation
import KasvuSQL
import KasvuDomain
import KasvuStorage
import KasvuSync

/// The retention rule (GDPR Art. 5(1)(e)): personal data is kept no longer than the service
/// needs it. A client whose referrals have all ended (ended, cancelled or rejected) before a
/// date is erased by the central store as its own actor, exactly as `client/delete` erases on
/// a replica: `deleted` and null for every personal field, and the notes of the client's
/// contacts and events, in one write. The writes sync to every replica that holds them.
extension SQLCentralStore {
    /// Erases every client whose referrals all ended before `day`; returns how many.
    /// A client never referred is not touched: the rule is about finished services.
    public func purge(endedBefore day: CalendarDate) async throws -> Int {
        let nowMillis = self.nowMillis
        let erased = try await write { db -> Int in
            var candidates: [String: Bool] = [:]  // client → every referral ended before `day`
            for row in try db.all("SELECT state FROM record WHERE entity = 'referral'") {
                let referral = try Self.decode(row["state"])
                guard !referral.isDeleted, let client = referral.value(.clientId).stringValue else { continue }
                let final = referral.value(.state).stringValue.flatMap(ReferralState.init(rawValue:))?.isFinal == true
                let ended = referral.value(.endDate).stringValue.flatMap { try? CalendarDate(iso: $0) }.map { $0 < day } ?? false
                candidates[client] = (candidates[client] ?? true) && final && ended
            }
            var targets: [(EntityKind, String, RecordState, [String: FieldValue])] = []
            var count = 0
            for (client, expired) in candidates.sorted(by: { $0.key < $1.key }) where expired {
                guard let state = try Self.load(db, .client, client), !state.isDeleted else { continue }
                targets.append((.client, client, state, state.erasure(.client).merging([EntitySchema.deletedField: .bool(true)]) { $1 }))
                for row in try db.all("SELECT entity, id, state FROM record WHERE client_ref = ? AND entity IN (\(EntityKind.erasedWithClient.map { "'\($0.rawValue)'" }.joined(separator: ", ")))",
                                            [client]) {
                    guard let kind = EntityKind(rawValue: try row["entity"]) else { continue }
                    let dependent = try Self.decode(row["state"])
                    let changes = dependent.erasure(kind)
                    if !changes.isEmpty { targets.append((kind, try row["id"], dependent, changes)) }
                }
                count += 1
            }
            // One write, stamped after everything it erases (in HLC order too), as the
            // central store's referral decisions are.
            var writer = try CentralActor.load(db)
            for target in targets { writer.observe(target.2) }
            let stamp = writer.next(nowMillis: nowMillis())
            var sequence = try db.value(Int64.self, "SELECT value FROM sequence") ?? 0
            let at = ISO8601DateFormatter().string(from: Date())
            for (kind, id, before, changes) in targets {
                var after = before
                after.write(changes, dot: stamp.dot, hlc: stamp.hlc)
                sequence += 1
                try Self.save(db, kind, id, after, sequence: sequence)
                try Self.audit(db, kind, id, before: before, after: after, at: at, replica: "central", actor: writer.actor.rawValue,
                               user: "retention purge")
            }
            if count > 0 {
                try Scrub.markPending(db)
                try CentralActor.save(writer, db)
                // A client erased here no longer flags the one it duplicated.
                try Self.flagDuplicates(db, clients: Set(targets.filter { $0.0 == .client }.map(\.1)), sequence: &sequence, at: at, nowMillis: nowMillis)
                try db.execute("UPDATE sequence SET value = ?", [sequence])
            }
            return count
        }
        if erased > 0 { try await scrubErasedBytes() }
        return erased
    }
}
