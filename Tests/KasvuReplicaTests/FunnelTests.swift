import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Synchronization
import Testing

/// The referral funnel (`report/funnel`, the dashboard's funnel and waitlist): each referral
/// counts in the month it was made, whatever happens to it later.
@Suite struct FunnelTests {
    let directory: TemporaryDirectory
    let replica: Replica
    /// The replica's clock, set by each step.
    final class Clock: Sendable { let millis = Mutex<UInt64>(0) }
    let clock = Clock()

    init() throws {
        directory = try TemporaryDirectory()
        let clock = self.clock
        replica = try Replica.create(at: directory.path("admin.sqlite"), replicaID: "admin", role: .admin,
                                     nowMillis: { clock.millis.withLock { $0 } })
    }

    func set(_ day: String) throws {
        let date = try CalendarDate(iso: day)
        let noon = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "Europe/Helsinki"),
                                  year: date.year, month: date.month, day: date.day, hour: 12).date!
        clock.millis.withLock { $0 = UInt64(noon.timeIntervalSince1970 * 1000) }
    }

    func client(_ n: Int) async throws -> String {
        let client = try await replica.create(.client, fields: aino.merging([
            "hetu": .string(testHetu(n)), "monthsUnemployed": .int(10), "educationLevel": .string("vocational"),
            "monthsEmployedLast24": .int(6), "languageSkills": .string("native"),
        ]) { $1 })
        let proposal = try await replica.profile(clientID: client.id)
        _ = try await replica.confirmRiskGroup(clientID: client.id, group: 2, reason: proposal.group == 2 ? nil : "test", confirmedBy: "tester")
        return client.id
    }

    @Test func aReferralStaysInTheMonthItWasMadeWhenItsClientIsMergedAway() async throws {
        try set("2026-02-10")
        let provider = try await replica.create(.provider, fields: tyopolku).id
        let duplicate = try await client(1)
        let referral = try await replica.createReferral(["clientId": .string(duplicate), "providerId": .string(provider), "chosenBy": .string("client")])
        try set("2026-03-20")
        let other = try await replica.createReferral(["clientId": .string(try await client(2)), "providerId": .string(provider), "chosenBy": .string("client")])
        _ = try await replica.transitionReferral(id: other.id, to: .cancelled, date: nil, reason: "moved away")
        let kept = try await client(3)
        #expect(try await replica.mergeClients(keep: kept, remove: duplicate).moved == 1)
        #expect(try await replica.get(.referral, id: referral.id)["clientId"] == .string(kept))  // moved, written in March

        let rows = try await replica.funnelReport()
        #expect(rows.map { "\($0.month) \($0.pilotArea) \($0.made) \($0.count(.pending)) \($0.count(.cancelled))" }
                == ["2026-02 MK11 1 1 0", "2026-03 MK11 1 0 1"])
        #expect(try await replica.referralFacts().first { $0.id == referral.id }?.madeOn == (try CalendarDate(iso: "2026-02-10")))
    }
}
