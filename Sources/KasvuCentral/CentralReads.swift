import KasvuSQL
import KasvuDomain
import KasvuStorage
import KasvuSync

/// What scope resolution, the push rules and referral scheduling read of the central store,
/// inside the transaction of one sync. Backend-neutral: nothing here names a database
/// library, so a second backend (PostgreSQL) implements these few reads and reuses the rules.
protocol CentralReads {
    /// The stored state of one record.
    func record(_ kind: EntityKind, _ id: String) throws -> RecordState?
    /// The referrals of a client, whatever their state.
    func referrals(ofClient client: String) throws -> [RecordState]
    /// The referrals of a provider in one of `states`, with their ids.
    func referrals(ofProvider provider: String, in states: Set<ReferralState>) throws -> [(id: String, state: RecordState)]
    /// Whether the client has a referral in one of `states` (to `provider` when given), other than `except`.
    func clientHasReferral(_ client: String, to provider: String?, in states: Set<ReferralState>, except: String?) throws -> Bool
    /// The assessments of a client, deleted ones included, with their ids.
    func assessments(ofClient client: String) throws -> [(id: String, state: RecordState)]
    /// The issued invoices, with their ids (a few per provider and month).
    func invoices() throws -> [(id: String, state: RecordState)]
    /// A live capacity lease (``LeaseLedger``), or nil.
    func lease(_ id: String) throws -> LeaseLedger.Lease?
    /// The places of a provider that live leases reserve and have not spent.
    func reservedPlaces(ofProvider provider: String) throws -> Int
    /// The store's last restore from a backup, or nil.
    func restore() throws -> LeaseLedger.Restore?
}

/// ``CentralReads`` over the SQLite central store's `record` table (and its generated referral columns).
struct SQLCentralReads: CentralReads {
    let db: any SQLConnection

    func record(_ kind: EntityKind, _ id: String) throws -> RecordState? {
        try SQLCentralStore.load(db, kind, id)
    }

    func referrals(ofClient client: String) throws -> [RecordState] {
        try db.values(String.self, "SELECT state FROM record WHERE entity = 'referral' AND referral_client = ?",
                            [client]).map(SQLCentralStore.decode)
    }

    func referrals(ofProvider provider: String, in states: Set<ReferralState>) throws -> [(id: String, state: RecordState)] {
        try db.all("""
            SELECT id, state FROM record WHERE entity = 'referral' AND referral_provider = ? AND referral_state IN (\(StorageSQL.list(states)))
            """, [provider]).map { (try $0["id"], try SQLCentralStore.decode($0["state"])) }
    }

    func clientHasReferral(_ client: String, to provider: String?, in states: Set<ReferralState>, except: String?) throws -> Bool {
        try db.value(Bool.self, """
            SELECT 1 FROM record WHERE entity = 'referral' AND referral_client = ? AND (CAST(?2 AS TEXT) IS NULL OR referral_provider = ?2)
            AND (CAST(?3 AS TEXT) IS NULL OR id != ?3) AND referral_state IN (\(StorageSQL.list(states))) LIMIT 1
            """, [client, provider, except]) ?? false
    }

    func invoices() throws -> [(id: String, state: RecordState)] {
        try db.all("SELECT id, state FROM record WHERE entity = 'invoice'").map { (try $0["id"], try SQLCentralStore.decode($0["state"])) }
    }

    func assessments(ofClient client: String) throws -> [(id: String, state: RecordState)] {
        try db.all("SELECT id, state FROM record WHERE client_ref = ? AND entity = 'assessment'", [client])
            .map { (try $0["id"], try SQLCentralStore.decode($0["state"])) }
    }

    func lease(_ id: String) throws -> LeaseLedger.Lease? {
        try LeaseLedger.lease(db, id: id)
    }

    func reservedPlaces(ofProvider provider: String) throws -> Int {
        try LeaseLedger.reserved(db, provider: provider)
    }

    func restore() throws -> LeaseLedger.Restore? {
        try LeaseLedger.restore(db)
    }
}
