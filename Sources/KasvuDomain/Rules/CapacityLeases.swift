import Foundation

/// Offline capacity leases (issue 18): a share of a provider's free places that one office
/// replica may spend alone, with no network, on referrals that are active at once.
///
/// Escrow (O'Neil; Balegas et al., EuroSys 2015): the cap is split into the places already
/// taken, the places reserved by live leases, and the free rest. A grant moves places from
/// free to reserved; a leased activation moves one from reserved to taken; a returned lease
/// gives its unspent places back. No step makes taken + reserved exceed the cap, so no order of
/// syncs, crashes or lost answers can: the central store confirms pending referrals from the
/// free places only.
///
/// ```swift
/// let free = CapacityLeases.free(cap: 700, taken: 640, reserved: 20)          // 40
/// CapacityLeases.grant(free: free, officeReferrals: 3, allReferrals: 12)      // 10: a quarter of 40
/// ```
public enum CapacityLeases {
    /// How long a lease lasts from its grant, by the central clock: one working week, so that
    /// a case worker out for a few days keeps the places promised to their clients.
    public static let termMillis: UInt64 = 7 * dayMillis
    public static let dayMillis: UInt64 = 24 * 60 * 60 * 1000
    /// One office holds at most this fraction of a provider's free places at a time (1/4):
    /// the rest stays for the other offices and for the referrals the central store confirms.
    public static let shareDivisor = 4
    /// An office's demand for a provider is its referrals to it made in this many days.
    public static let demandWindowDays = 30

    /// Places of a provider that are neither taken (its active referrals) nor reserved (the
    /// unspent places of live leases); never negative, also when a lowered cap is below the
    /// places already taken and reserved, which stay honoured.
    public static func free(cap: Int, taken: Int, reserved: Int) -> Int {
        max(0, cap - taken - reserved)
    }

    /// The places an office is granted for one provider: in proportion to the office's share
    /// of all offices' recent referrals to it (rounded up, at least 1, so that a new office can start), never
    /// more than a quarter of the free places (rounded down): none when fewer than four are free,
    /// so that the last places go through the central store's confirmation.
    ///
    /// - Parameters:
    ///   - free: ``free(cap:taken:reserved:)`` after the office's returned leases are released.
    ///   - officeReferrals: the office's referrals to the provider made in the last ``demandWindowDays`` days.
    ///   - allReferrals: all offices' referrals to the provider made in the same days.
    public static func grant(free: Int, officeReferrals: Int, allReferrals: Int) -> Int {
        let ceiling = max(0, free) / shareDivisor
        guard ceiling > 0 else { return 0 }
        let all = max(allReferrals, officeReferrals)
        let demand = officeReferrals <= 0 || all <= 0 ? 1 : (free * officeReferrals + all - 1) / all
        return min(ceiling, max(1, demand))
    }

    /// When a lease expiring at `expiresAt` was granted.
    public static func grantedAt(expiresAt: UInt64) -> UInt64 {
        expiresAt - min(expiresAt, termMillis)
    }

    /// Why a leased referral may not start on `startDate`: not before the day the lease was
    /// granted (a day earlier for a laptop clock a little behind across midnight), not after
    /// the day it expired (a laptop spends it only before its expiry, by its own clock), not
    /// after `latestToday`. Capitation is paid from the start date: a laptop must not backdate it.
    public static func startDateRefusal(_ startDate: CalendarDate, expiresAt: UInt64, latestToday: CalendarDate) -> String? {
        let granted = CalendarDate(millis: grantedAt(expiresAt: expiresAt)), expired = CalendarDate(millis: expiresAt)
        if startDate.days(since: granted) < -1 { return "startDate \(startDate) is before the lease was granted (\(granted))" }
        if startDate > expired { return "startDate \(startDate) is after the lease expired (\(expired))" }
        if startDate > latestToday { return "startDate \(startDate) is in the future" }
        return nil
    }

    /// Why a referral may not be activated under a lease with `places` granted, of which
    /// `spent` are spent, expiring at `expiresAt`, at `nowMillis`; nil when it may.
    ///
    /// The replica checks it by its own clock before it commits; the central store checks the
    /// places (its reservation holds until the lease is returned, whatever the laptop's clock
    /// said), not the time.
    public static func activationRefusal(places: Int, spent: Int, expiresAt: UInt64, nowMillis: UInt64?) -> String? {
        if spent >= places { return "all \(places) places of the lease are spent" }
        if let nowMillis, nowMillis >= expiresAt { return "the lease has expired" }
        return nil
    }
}

/// A lease as a replica holds it and `replica/info` shows it.
public struct CapacityLease: Sendable, Hashable {
    /// The central store's id of the grant; a leased referral names it (`leaseId`).
    public var id: String
    public var providerID: String
    /// Places granted.
    public var places: Int
    /// Milliseconds since 1970, central clock.
    public var expiresAt: UInt64

    public init(id: String, providerID: String, places: Int, expiresAt: UInt64) {
        self.id = id
        self.providerID = providerID
        self.places = places
        self.expiresAt = expiresAt
    }
}
