import Foundation
import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Synchronization
import Testing

/// Outcome fees are paid for employment that follows the service (issue 12, item 6): after a
/// referral ends, its provider keeps the client for the tariff's outcome window and may report
/// hours for those months; when the window passes, the provider's laptop lets the client go.
/// The central store runs in process on a clock the test moves across fifteen months.
@Suite struct OutcomeWindowTests {
    /// The central store's and the replicas' clock, in milliseconds (replicas judge "future
    /// month" by it, the store its decisions and scopes).
    final class TestClock: Sendable {
        private let millis = Mutex<UInt64>(0)
        func set(_ day: String) { millis.withLock { $0 = Self.millis(day) } }
        var now: UInt64 { millis.withLock { $0 } }

        static func millis(_ day: String) -> UInt64 {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let date = try! CalendarDate(iso: day)
            let components = DateComponents(year: date.year, month: date.month, day: date.day, hour: 12)
            return UInt64(calendar.date(from: components)!.timeIntervalSince1970 * 1000)
        }
    }

    /// The store's own sync entry point, with the request encoded and decoded as over HTTP.
    struct DirectTransport: SyncTransport {
        let store: SQLCentralStore
        let token: String

        func exchange(_ request: SyncRequest) async throws -> SyncResponse {
            guard let replica = try await store.authenticate(token: token) else { throw KasvuError(.syncUnauthorized, "bad token") }
            let response = try await store.sync(try CentralSyncRequest(json: request.jsonBytes), from: replica)
            return try SyncResponse(json: response.jsonBytes)
        }
    }

    let directory: TemporaryDirectory
    let clock = TestClock()
    let store: SQLCentralStore

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        let clock = self.clock
        store = try await backend.openStore(in: directory, nowMillis: { clock.now })
    }

    func replica(_ id: String, role: ReplicaRole, scope: ReplicaScope) async throws -> (Replica, SyncClient) {
        let token = try await store.addReplica(id: id, role: role, scope: scope)
        let clock = self.clock
        let replica = try Replica.create(at: directory.path("\(id).sqlite"), replicaID: id, role: role, nowMillis: { clock.now })
        return (replica, SyncClient(replica: replica, transport: DirectTransport(store: store, token: token)))
    }

    @Test(arguments: CentralBackend.allCases) static func aProviderReportsHoursWithinTheWindowAndLetsTheClientGoAfterIt(_ backend: CentralBackend) async throws { try await Self(backend).aProviderReportsHoursWithinTheWindowAndLetsTheClientGoAfterIt() }
    func aProviderReportsHoursWithinTheWindowAndLetsTheClientGoAfterIt() async throws {
        clock.set("2025-01-10")
        let (admin, adminSync) = try await replica("admin", role: .admin, scope: .all)
        let provider = try await admin.create(.provider, fields: [
            "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("MK11"), "cap": .int(10),
            "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ])
        _ = try await adminSync.run()
        let (office, officeSync) = try await replica("office", role: .office, scope: .municipalities(["749"]))
        let (laptop, laptopSync) = try await replica("provider", role: .provider, scope: .provider(provider.id))
        _ = try await officeSync.run()
        let client = try await office.create(.client, fields: [
            "hetu": .string(testHetu(31)), "lastName": .string("Ikkunen"), "municipality": .string("749"),
            "monthsUnemployed": .int(12), "educationLevel": .string("basic"), "monthsEmployedLast24": .int(2), "languageSkills": .string("good"),
        ])
        let proposal = try await office.profile(clientID: client.id)
        _ = try await office.confirmRiskGroup(clientID: client.id, group: proposal.group, reason: nil, confirmedBy: "tester")
        let referral = try await office.createReferral(["clientId": .string(client.id), "providerId": .string(provider.id), "chosenBy": .string("client")])
        _ = try await officeSync.run()
        #expect(try await office.get(.referral, id: referral.id)["startDate"] == .string("2025-01-10"))

        // The service ends at the end of March 2025; the window runs through March 2026.
        clock.set("2025-04-01")
        _ = try await office.transitionReferral(id: referral.id, to: .ended, date: try CalendarDate(iso: "2025-03-31"), reason: "employed")
        _ = try await officeSync.run()
        clock.set("2025-07-01")
        _ = try await laptopSync.run()
        #expect(try await laptop.get(.client, id: client.id)["lastName"] == .string("Ikkunen"))
        let june = try await laptop.reportHours(["clientId": .string(client.id), "providerId": .string(provider.id), "month": .string("2025-06"), "hours": .string("80")])
        let summary = try await laptopSync.run()
        #expect(summary.pushed == 1 && summary.rejections.isEmpty)
        _ = try await adminSync.run()
        #expect(try await admin.get(.hours, id: june.id)["hours"] == .string("80"))

        // The last month of the window is reported once it is over; the month after it is refused,
        // on the laptop as at the central store.
        clock.set("2026-04-15")
        await #expect {
            try await laptop.reportHours(["clientId": .string(client.id), "providerId": .string(provider.id), "month": .string("2026-04"), "hours": .string("10")])
        } throws: { error in
            (error as? KasvuError)?.fieldErrors.first?.message.contains("after 2026-03, the last month") == true
        }
        let march = try await laptop.reportHours(["clientId": .string(client.id), "providerId": .string(provider.id), "month": .string("2026-03"), "hours": .string("20")])
        #expect(try await laptopSync.run().rejections.isEmpty)

        // When that month is over too, the central store's hourly job makes the laptop let go.
        clock.set("2026-04-30")
        #expect(try await store.expireOutcomeWindows(today: store.today) == 0)
        _ = try await laptopSync.run()
        #expect(try await laptop.state(.client, id: client.id) != nil)
        clock.set("2026-05-01")
        #expect(try await store.expireOutcomeWindows(today: store.today) == 1)
        #expect(try await store.expireOutcomeWindows(today: store.today) == 0)  // once
        let after = try await laptopSync.run()
        #expect(after.evicted == 4)  // the client, the referral and the two hours reports
        for (kind, id) in [(EntityKind.client, client.id), (.referral, referral.id), (.hours, june.id), (.hours, march.id)] {
            #expect(try await laptop.state(kind, id: id) == nil)
        }
        // The central office keeps everything.
        #expect(try await admin.get(.hours, id: june.id)["hours"] == .string("80"))
    }
}
