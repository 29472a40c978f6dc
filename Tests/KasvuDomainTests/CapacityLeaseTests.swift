import KasvuDomain
import Testing

/// The lease rule (issue 18): what an office is granted, and when a lease may be spent.
@Suite struct CapacityLeaseTests {
    struct GrantCase: Sendable, CustomTestStringConvertible {
        let free: Int, office: Int, all: Int, granted: Int
        var testDescription: String { "free \(free), office \(office) of \(all) referrals → \(granted)" }
    }

    @Test(arguments: [
        GrantCase(free: 40, office: 3, all: 12, granted: 10),   // a quarter of 40 (demand 10)
        GrantCase(free: 40, office: 1, all: 12, granted: 4),    // demand: ⌈40 × 1/12⌉
        GrantCase(free: 40, office: 12, all: 12, granted: 10),  // all the demand, still a quarter
        GrantCase(free: 40, office: 0, all: 12, granted: 1),    // no recent referral: one place to start with
        GrantCase(free: 40, office: 0, all: 0, granted: 1),
        GrantCase(free: 4, office: 5, all: 5, granted: 1),
        GrantCase(free: 3, office: 5, all: 5, granted: 0),      // the last places go through confirmation
        GrantCase(free: 0, office: 5, all: 5, granted: 0),
        GrantCase(free: -3, office: 5, all: 5, granted: 0),
        GrantCase(free: 700, office: 1, all: 1_000, granted: 1), // ⌈0.7⌉
        GrantCase(free: 700, office: 2, all: 1, granted: 175),  // counts that disagree: never more than a quarter
    ])
    func aGrantFollowsDemandWithinAQuarterOfTheFreePlaces(_ example: GrantCase) {
        #expect(CapacityLeases.grant(free: example.free, officeReferrals: example.office, allReferrals: example.all) == example.granted)
    }

    @Test func freePlacesAreNeverNegative() {
        #expect(CapacityLeases.free(cap: 700, taken: 640, reserved: 20) == 40)
        #expect(CapacityLeases.free(cap: 10, taken: 8, reserved: 5) == 0)  // a lowered cap: what is held stays held
    }

    /// Grants one after another to offices with any demand never reserve more than the cap
    /// leaves: each takes at most a quarter of what is free when it is granted.
    @Test(arguments: 0..<50) func grantsInAnyOrderStayWithinTheCap(_ seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        let cap = Int(random.next() % 800)
        var taken = Int(random.next() % UInt64(cap + 1))
        var reserved = 0
        for _ in 0..<40 {
            let all = Int(random.next() % 50)
            let office = all == 0 ? 0 : Int(random.next() % UInt64(all + 1))
            let free = CapacityLeases.free(cap: cap, taken: taken, reserved: reserved)
            let granted = CapacityLeases.grant(free: free, officeReferrals: office, allReferrals: all)
            #expect(granted >= 0 && granted <= free)
            reserved += granted
            // Some of the reserved places are spent: they move to taken.
            let spent = reserved == 0 ? 0 : Int(random.next() % UInt64(reserved + 1))
            reserved -= spent
            taken += spent
            #expect(taken + reserved <= cap)
        }
    }

    @Test func aLeaseIsSpentWhilePlacesAreLeftAndItHasNotExpired() {
        #expect(CapacityLeases.activationRefusal(places: 3, spent: 2, expiresAt: 1_000, nowMillis: 999) == nil)
        #expect(CapacityLeases.activationRefusal(places: 3, spent: 3, expiresAt: 1_000, nowMillis: 999) == "all 3 places of the lease are spent")
        #expect(CapacityLeases.activationRefusal(places: 3, spent: 0, expiresAt: 1_000, nowMillis: 1_000) == "the lease has expired")
        // The central store judges places only.
        #expect(CapacityLeases.activationRefusal(places: 3, spent: 0, expiresAt: 1_000, nowMillis: nil) == nil)
    }

    /// A leased referral starts between the day before the grant and the day the lease expired,
    /// and never after today: capitation is paid from its start date.
    @Test(arguments: [
        ("2026-03-01", "2026-03-10", nil),  // the grant day
        ("2026-02-28", "2026-03-10", nil),  // a laptop clock behind across midnight
        ("2026-02-27", "2026-03-10", "startDate 2026-02-27 is before the lease was granted (2026-03-01)"),
        ("2026-03-08", "2026-03-10", nil),  // the expiry day
        ("2026-03-09", "2026-03-10", "startDate 2026-03-09 is after the lease expired (2026-03-08)"),
        ("2026-03-04", "2026-03-03", "startDate 2026-03-04 is in the future"),
    ] as [(String, String, String?)])
    func aLeasedStartLiesWithinTheLease(start: String, today: String, refusal: String?) throws {
        // Granted 2026-03-01 at 12:00 UTC, expiring seven days later.
        let granted: UInt64 = 1_772_366_400_000
        let startDate = try CalendarDate(iso: start), latestToday = try CalendarDate(iso: today)
        #expect(CapacityLeases.startDateRefusal(startDate, expiresAt: granted + CapacityLeases.termMillis, latestToday: latestToday) == refusal)
    }
}
