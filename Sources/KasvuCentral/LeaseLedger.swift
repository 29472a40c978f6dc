import Foundation
import KasvuDomain
import KasvuSQL
import KasvuSync

/// The central store's capacity leases (issue 18; the rule is ``KasvuDomain/CapacityLeases``):
/// which office replica holds how many places of which provider until when, and how many of
/// them it has spent. Every change happens inside the sync's write transaction, so a grant, a
/// leased activation and a return each land with the merge or not at all.
///
/// A lease stays reserved until its holder returns it. Its expiry tells the replica when to
/// stop spending it, not the store when to free it: a laptop that activated a referral just
/// before the expiry and syncs a week later still finds its place, and a lost laptop's places
/// come back when the central office revokes the replica.
///
/// ```swift
/// let providers = try LeaseLedger.giveBack(db, replica: "office-1", ids: header.leasesReturned)
/// let leases = try LeaseLedger.grant(db, replica: "office-1", scope: .municipalities(["749"]), nowMillis: now)
/// ```
enum LeaseLedger {
    /// A live lease as the store holds it.
    struct Lease: Sendable, Hashable {
        let id: String
        let replicaID: String
        let providerID: String
        let places: Int
        let spent: Int
        let expiresAt: UInt64

        var grantedAt: UInt64 { CapacityLeases.grantedAt(expiresAt: expiresAt) }

        /// What its holder is told: a lease granted before a restore from a backup has no place
        /// left to spend (``Restore``), so that its holder gives it back, whatever its clock says.
        func held(after restore: Restore?) -> CapacityLease {
            let before = restore.map { grantedAt < $0.at } ?? false
            return CapacityLease(id: id, providerID: providerID, places: before ? 0 : places, expiresAt: expiresAt)
        }
    }

    /// The last restore of the store from a backup (or copy to another database). A restored
    /// store has lost the leases it granted after the backup, and every return and activation
    /// since: it cannot tell which leases its offices hold. So the leases it holds are told to
    /// their offices as having no place left (their places stay reserved until the offices give
    /// them back), and a leased activation made before the restore that the store cannot honour
    /// from its lease (one it lost, or one whose places it counts as spent) is honoured from
    /// another place (``spend(_:lease:replica:provider:restore:)``): one left of the lease its
    /// office held for the provider before the restore, else a free one; with neither, the
    /// store ends it on its start day (`no_place_after_restore`), so the cap holds and every
    /// replica converges. README, "Offline capacity leases".
    struct Restore: Sendable, Hashable {
        /// When the store was restored.
        let at: UInt64
        /// When the backup was taken, when the backup says (a store put back by other means may not).
        let backupTakenAt: UInt64?

        /// The start dates a leased activation made before the restore may have: a lease the
        /// store lost was granted after the backup (a day earlier for a laptop clock behind
        /// across midnight; up to the demand window before the restore when the backup's time
        /// is unknown), and spent before its expiry, at most a term after the restore.
        var activationDays: ClosedRange<CalendarDate> {
            let backup = min(backupTakenAt ?? at - min(at, UInt64(CapacityLeases.demandWindowDays) * CapacityLeases.dayMillis), at)
            return CalendarDate(millis: backup - min(backup, CapacityLeases.dayMillis))...CalendarDate(millis: at + CapacityLeases.termMillis)
        }
    }

    static func restore(_ db: any SQLConnection) throws -> Restore? {
        guard let at = try db.value(String.self, "SELECT value FROM central_state WHERE name = 'restored_at'").flatMap({ UInt64($0) }) else { return nil }
        return Restore(at: at, backupTakenAt: try db.value(String.self, "SELECT value FROM central_state WHERE name = 'restored_backup_taken_at'").flatMap { UInt64($0) })
    }

    /// Notes when a backup was taken, in the copy (`backup_taken_at`).
    static func noteBackup(_ db: any SQLConnection, nowMillis: UInt64) throws {
        try setState(db, "backup_taken_at", String(nowMillis))
    }

    /// Notes a restore (``Restore``): now, from the backup whose time the store holds, which
    /// this restore uses up (a later restore by other means, of a dump, must not take it for
    /// its own); a copy is a restore from a backup taken now.
    static func noteRestore(_ db: any SQLConnection, nowMillis: UInt64, copy: Bool) throws {
        let taken = copy ? String(nowMillis) : try db.value(String.self, "SELECT value FROM central_state WHERE name = 'backup_taken_at'")
        try db.execute("DELETE FROM central_state WHERE name IN ('backup_taken_at', 'restored_backup_taken_at')")
        if let taken { try setState(db, "restored_backup_taken_at", taken) }
        try setState(db, "restored_at", String(nowMillis))
    }

    private static func setState(_ db: any SQLConnection, _ name: String, _ value: String) throws {
        try db.execute("""
            INSERT INTO central_state (name, value) VALUES (?, ?)
            ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """, [name, value])
    }

    /// Both backends' tables (SQLite migration v15, PostgreSQL migration 5).
    static let schema = """
        -- Live capacity leases: places of a provider reserved for one office replica until it
        -- returns them; spent counts the leased activations merged. One per replica and provider.
        CREATE TABLE capacity_lease (
            id TEXT PRIMARY KEY,
            replica_id TEXT NOT NULL,
            provider_id TEXT NOT NULL,
            places INTEGER NOT NULL,
            spent INTEGER NOT NULL DEFAULT 0,
            expires_at BIGINT NOT NULL,
            UNIQUE (replica_id, provider_id)
        );
        CREATE INDEX capacity_lease_by_provider ON capacity_lease(provider_id);
        -- New referrals per office replica, provider and day: each office's recent demand.
        CREATE TABLE referral_demand (
            replica_id TEXT NOT NULL,
            provider_id TEXT NOT NULL,
            day TEXT NOT NULL,
            referrals INTEGER NOT NULL,
            PRIMARY KEY (replica_id, provider_id, day)
        );
        """

    static func lease(_ db: any SQLConnection, id: String) throws -> Lease? {
        try db.one("SELECT id, replica_id, provider_id, places, spent, expires_at FROM capacity_lease WHERE id = ?", [id]).map(Self.lease)
    }

    /// The leases `replica` holds, by provider.
    static func held(_ db: any SQLConnection, replica: String) throws -> [Lease] {
        try db.all("SELECT id, replica_id, provider_id, places, spent, expires_at FROM capacity_lease WHERE replica_id = ? ORDER BY provider_id",
                   [replica]).map(Self.lease)
    }

    private static func lease(_ row: SQLRow) throws -> Lease {
        let places: Int64 = try row["places"], spent: Int64 = try row["spent"], expires: Int64 = try row["expires_at"]
        return Lease(id: try row["id"], replicaID: try row["replica_id"], providerID: try row["provider_id"], places: Int(places),
                     spent: Int(spent), expiresAt: UInt64(max(0, expires)))
    }

    /// Places of `provider` reserved by live leases and not yet spent.
    static func reserved(_ db: any SQLConnection, provider: String) throws -> Int {
        Int(try db.value(Int64.self, "SELECT coalesce(sum(places - spent), 0) FROM capacity_lease WHERE provider_id = ?", [provider]) ?? 0)
    }

    /// Every provider's reserved places (those with none left out).
    static func reservedByProvider(_ db: any SQLConnection) throws -> [String: Int] {
        try db.all("SELECT provider_id, sum(places - spent) AS reserved FROM capacity_lease GROUP BY provider_id")
            .reduce(into: [:]) { result, row in
                let places: Int64 = try row["reserved"]
                if places > 0 { result[try row["provider_id"]] = Int(places) }
            }
    }

    /// Counts a leased activation the merge kept (``PushRules`` checked the lease first): a
    /// place of its lease, or after a restore, when that lease is lost or spent, a place left
    /// of the lease its office held for the provider before the restore (not one granted
    /// since: its office spends that one itself). False when it took no reserved place (after
    /// a restore: it needs a free one).
    static func spend(_ db: any SQLConnection, lease id: String, replica: String, provider: String, restore: Restore?) throws -> Bool {
        if try db.execute("UPDATE capacity_lease SET spent = spent + 1 WHERE id = ? AND spent < places", [id]) > 0 { return true }
        guard let restore else { return false }
        return try db.execute("""
            UPDATE capacity_lease SET spent = spent + 1
            WHERE replica_id = ? AND provider_id = ? AND spent < places AND expires_at < ?
            """, [replica, provider, Int64(clamping: restore.at + CapacityLeases.termMillis)]) > 0
    }

    /// Notes a new referral of an office replica to `provider`, for its demand.
    static func countReferral(_ db: any SQLConnection, replica: String, provider: String, day: CalendarDate) throws {
        try db.statement("""
            INSERT INTO referral_demand (replica_id, provider_id, day, referrals) VALUES (?, ?, ?, 1)
            ON CONFLICT (replica_id, provider_id, day) DO UPDATE SET referrals = referral_demand.referrals + 1
            """).execute([replica, provider, day.description])
    }

    /// Releases the leases `replica` returns (ids of other replicas' leases, or unknown, change
    /// nothing); returns the providers whose places came back, for the scheduler.
    static func giveBack(_ db: any SQLConnection, replica: String, ids: [String]) throws -> Set<String> {
        var providers: Set<String> = []
        for id in Set(ids) {
            guard let lease = try lease(db, id: id), lease.replicaID == replica else { continue }
            try db.execute("DELETE FROM capacity_lease WHERE id = ?", [id])
            providers.insert(lease.providerID)
        }
        return providers
    }

    /// Whether the store grants leases (`kasvu central leases on`): the purchaser's decision,
    /// off until made. Leases granted before it was turned off stay held until returned.
    static func isGranting(_ db: any SQLConnection) throws -> Bool {
        try db.value(String.self, "SELECT value FROM central_state WHERE name = 'capacity_leases'") == "on"
    }

    /// Grants `replica` a lease for every live provider of its region (a provider whose pilot
    /// area is the region of one of its municipalities) it holds none of, by the rule
    /// (``CapacityLeases/grant(free:officeReferrals:allReferrals:)``) on its share of the
    /// referrals to that provider. None while referrals wait for the provider (pending or
    /// waitlisted): free places go to the clients already in line first. Returns every lease
    /// the replica holds.
    static func grant(_ db: any SQLConnection, replica: String, scope: ReplicaScope, nowMillis: UInt64) throws -> [Lease] {
        var held = try held(db, replica: replica)
        guard try isGranting(db), case .municipalities(let codes) = scope else { return held }
        let regions = Set(codes.compactMap { Municipalities.shipped[$0] }.flatMap { [$0.regionCode, $0.regionName] }.filter { !$0.isEmpty })
        let holding = Set(held.map(\.providerID))
        let since = CalendarDate(millis: nowMillis - min(nowMillis, UInt64(CapacityLeases.demandWindowDays) * CapacityLeases.dayMillis)).description
        let demand = db.statement("""
            SELECT coalesce(sum(CASE WHEN replica_id = ? THEN referrals ELSE 0 END), 0) AS office, coalesce(sum(referrals), 0) AS total
            FROM referral_demand WHERE provider_id = ? AND day > ?
            """)
        let count = db.statement("SELECT count(*) FROM record WHERE entity = 'referral' AND referral_provider = ? AND referral_state = ?")
        for row in try db.all("SELECT id, state FROM record WHERE entity = 'provider' ORDER BY id") {
            let providerID: String = try row["id"]
            guard !holding.contains(providerID) else { continue }
            let provider = try SQLCentralStore.decode(row["state"])
            guard !provider.isDeleted, let cap = provider.value(.cap).intValue, cap > 0,
                  let area = provider.value(.pilotArea).stringValue, regions.contains(area) else { continue }
            let waiting = try [ReferralState.pending, .waitlisted].reduce(0) { $0 + (try count.value(Int64.self, [providerID, $1.rawValue]) ?? 0) }
            guard waiting == 0 else { continue }
            let taken = Int(try count.value(Int64.self, [providerID, ReferralState.active.rawValue]) ?? 0)
            let free = CapacityLeases.free(cap: Int(clamping: cap), taken: taken, reserved: try reserved(db, provider: providerID))
            let referrals = try demand.one([replica, providerID, since])
            let office: Int64 = try referrals?["office"] ?? 0, total: Int64 = try referrals?["total"] ?? 0
            let places = CapacityLeases.grant(free: free, officeReferrals: Int(office), allReferrals: Int(total))
            guard places > 0 else { continue }
            let lease = Lease(id: RecordID.random(), replicaID: replica, providerID: providerID, places: places, spent: 0,
                              expiresAt: nowMillis + CapacityLeases.termMillis)
            try db.execute("INSERT INTO capacity_lease (id, replica_id, provider_id, places, spent, expires_at) VALUES (?, ?, ?, ?, 0, ?)",
                           [lease.id, replica, providerID, places, Int64(lease.expiresAt)])
            held.append(lease)
        }
        return held.sorted { $0.providerID < $1.providerID }
    }

    /// Frees every lease of a replica that can no longer sync (revoked): its places return.
    /// Returns the providers whose places came back, for the scheduler.
    static func release(_ db: any SQLConnection, replica: String) throws -> Set<String> {
        let providers = try db.values(String.self, "SELECT provider_id FROM capacity_lease WHERE replica_id = ?", [replica])
        try db.execute("DELETE FROM capacity_lease WHERE replica_id = ?", [replica])
        return Set(providers)
    }
}
