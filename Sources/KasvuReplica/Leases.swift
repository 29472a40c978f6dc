import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// An office replica's capacity leases (issue 18; the rule is ``KasvuDomain/CapacityLeases``):
/// places of a provider the central store reserved for this office, which it spends alone,
/// offline, on referrals that are active at once (`referral/create`).
///
/// Every sync asks for leases; the answer lists every lease the replica holds. A lease that
/// expired by this laptop's clock, or is spent, is marked returned first (nothing spends it
/// after), and given back once no leased referral to its provider waits outside the request's
/// push (``returnable(_:pushing:)``), so that the central store has every activation made under
/// it before it frees the rest.
///
/// ```swift
/// let leases = try await replica.heldLeases()   // replica/info
/// ```
extension Replica {
    /// The lease table (replica migration v16).
    static let leaseSchema = """
        -- Capacity leases this office holds (KasvuReplica/Leases.swift): spent counts its
        -- activations under each; returned ones are spent no more and given back at the next sync.
        CREATE TABLE capacity_lease (
            id TEXT PRIMARY KEY NOT NULL,
            provider_id TEXT NOT NULL,
            places INTEGER NOT NULL,
            spent INTEGER NOT NULL DEFAULT 0,
            expires_at INTEGER NOT NULL,
            returned INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        -- The central office's replica: what all offices' leases reserve, as of the last sync.
        CREATE TABLE reserved_place (
            provider_id TEXT PRIMARY KEY NOT NULL,
            places INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    /// A lease as `replica/info` shows it: the places still to spend.
    public struct HeldLease: Sendable, Hashable {
        public let id: String
        public let providerID: String
        public let placesLeft: Int
        /// Milliseconds since 1970, central clock.
        public let expiresAt: UInt64
    }

    /// The leases this replica may still spend, by provider.
    public func heldLeases() async throws -> [HeldLease] {
        let now = nowMillis()
        return try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, provider_id, places - spent AS left, expires_at FROM capacity_lease
                WHERE returned = 0 AND spent < places AND expires_at > ? ORDER BY provider_id
                """, arguments: [Int64(now)])
                .map { HeldLease(id: $0["id"], providerID: $0["provider_id"], placesLeft: $0["left"], expiresAt: UInt64($0["expires_at"] as Int64)) }
        }
    }

    /// Marks the leases that expired by this laptop's clock, or are spent, as returned (no
    /// activation spends them after); then lists every lease marked so. Which of them a request
    /// may give back is ``returnable(_:pushing:)``'s to say.
    func leasesToReturn() async throws -> [String] {
        guard role == .office else { return [] }
        let now = Int64(clamping: nowMillis())
        let due = "returned = 0 AND (expires_at <= ? OR spent >= places)"
        // One read in the usual sync, where nothing is due; a write (and its fsync) only when
        // a lease is to be marked.
        let (returned, anyDue) = try await read { db in
            (try String.fetchAll(db, sql: "SELECT id FROM capacity_lease WHERE returned = 1 ORDER BY id"),
             try Bool.fetchOne(db, sql: "SELECT 1 FROM capacity_lease WHERE \(due) LIMIT 1", arguments: [now]) ?? false)
        }
        guard anyDue else { return returned }
        return try await write { db in
            try db.execute(sql: "UPDATE capacity_lease SET returned = 1 WHERE \(due)", arguments: [now])
            return try String.fetchAll(db, sql: "SELECT id FROM capacity_lease WHERE returned = 1 ORDER BY id")
        }
    }

    /// Of the leases marked returned, those of providers no leased referral still waiting in
    /// the outbox is for, unless it travels in `items`: the store must have every activation
    /// made under a lease before it frees the lease's places (a push cut short by its
    /// write-note budget, or records held after a central restore, leave some behind). Any
    /// leased referral of the provider holds them back, not only one naming the lease: a store
    /// restored from a backup charges an activation under a lease it lost to the lease this
    /// office held for the provider before the restore (``KasvuCentral`` `LeaseLedger.Restore`).
    func returnable(_ returning: [String], pushing items: [OutboxItem]) async throws -> [String] {
        guard !returning.isEmpty else { return [] }
        let pushing = Set(items.filter { $0.envelope.entity == .referral }.map(\.envelope.id))
        return try await read { db in
            let leaseID = "json_extract(r.sync_state, '\(StorageSQL.winningValue("leaseId"))')"
            let unsettled = Set(try Row.fetchAll(db, sql: """
                SELECT r.provider_id AS provider, r.id FROM referral r JOIN outbox o ON o.entity = 'referral' AND o.id = r.id
                WHERE \(leaseID) IS NOT NULL
                """).filter { !pushing.contains($0["id"]) }.map { $0["provider"] as String })
            let providers = try Row.fetchAll(db, sql: "SELECT id, provider_id FROM capacity_lease WHERE returned = 1")
                .reduce(into: [String: String]()) { $0[$1["id"]] = $1["provider_id"] }
            return returning.filter { !unsettled.contains(providers[$0] ?? "") }
        }
    }

    /// Takes the answer's list as the leases held: ones it no longer lists are returned (or
    /// released by the central office), new ones start unspent; a known one keeps what this
    /// replica spent of it and whether it is being returned.
    static func applyLeases(_ db: Database, _ leases: [CapacityLease]?, reserved: [String: Int]?) throws {
        if let reserved {
            try db.execute(sql: "DELETE FROM reserved_place")
            for (provider, places) in reserved {
                try db.execute(sql: "INSERT INTO reserved_place (provider_id, places) VALUES (?, ?)", arguments: [provider, places])
            }
        }
        guard let leases else { return }  // the answer did not speak of leases
        let ids = leases.map(\.id)
        try db.execute(sql: "DELETE FROM capacity_lease WHERE id NOT IN (\(ids.map { _ in "?" }.joined(separator: ", ")))",
                       arguments: StatementArguments(ids))
        for lease in leases {
            try db.execute(sql: """
                INSERT INTO capacity_lease (id, provider_id, places, expires_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET places = excluded.places, expires_at = excluded.expires_at
                """, arguments: [lease.id, lease.providerID, lease.places, Int64(clamping: lease.expiresAt)])
        }
    }

    /// Places reserved by leases, by provider: all offices' at the central office's replica (as
    /// of its last sync), this office's own unspent ones at an office.
    static func reservedPlaces(_ db: Database, role: ReplicaRole) throws -> [String: Int] {
        let sql = role == .admin ? "SELECT provider_id, places FROM reserved_place"
            : "SELECT provider_id, sum(max(places - spent, 0)) AS places FROM capacity_lease WHERE returned = 0 GROUP BY provider_id"
        return try Row.fetchAll(db, sql: sql).reduce(into: [:]) { $0[$1["provider_id"]] = $1["places"] }
    }

    /// Spends one place of this office's lease for `provider` when it holds a usable one
    /// (``CapacityLeases/activationRefusal(places:spent:expiresAt:nowMillis:)``), inside the
    /// caller's transaction; returns the lease's id, or nil (the referral then waits as pending).
    func spendLease(_ db: Database, provider: String) throws -> String? {
        guard role == .office,
              let row = try Row.fetchOne(db, sql: "SELECT id, places, spent, expires_at FROM capacity_lease WHERE provider_id = ? AND returned = 0",
                                         arguments: [provider]) else { return nil }
        let id: String = row["id"]
        guard CapacityLeases.activationRefusal(places: row["places"], spent: row["spent"], expiresAt: UInt64(row["expires_at"] as Int64),
                                               nowMillis: nowMillis()) == nil else { return nil }
        try db.execute(sql: "UPDATE capacity_lease SET spent = spent + 1 WHERE id = ?", arguments: [id])
        return id
    }
}
