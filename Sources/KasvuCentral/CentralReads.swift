import GRDB
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
}

/// ``CentralReads`` over the SQLite central store's `record` table (and its generated referral columns).
struct SQLiteCentralReads: CentralReads {
    let db: Database

    func record(_ kind: EntityKind, _ id: String) throws -> RecordState? {
        try SQLiteCentralStore.load(db, kind, id)
    }

    func referrals(ofClient client: String) throws -> [RecordState] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT state FROM record WHERE entity = 'referral' AND referral_client = ?"),
                            arguments: [client]).map(SQLiteCentralStore.decode)
    }

    func referrals(ofProvider provider: String, in states: Set<ReferralState>) throws -> [(id: String, state: RecordState)] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT id, state FROM record WHERE entity = 'referral' AND referral_provider = ? AND referral_state IN (\(StorageSQL.list(states)))
            """), arguments: [provider]).map { ($0["id"], try SQLiteCentralStore.decode($0["state"])) }
    }

    func clientHasReferral(_ client: String, to provider: String?, in states: Set<ReferralState>, except: String?) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT 1 FROM record WHERE entity = 'referral' AND referral_client = ? AND (?2 IS NULL OR referral_provider = ?2)
            AND (?3 IS NULL OR id != ?3) AND referral_state IN (\(StorageSQL.list(states))) LIMIT 1
            """), arguments: [client, provider, except]) ?? false
    }
}
