import GRDB
import KasvuDomain
import KasvuSync

/// Keeps every provider's cap in the merged state (DESIGN section 2, issue "pilot rules").
///
/// After a batch is merged, the central store looks at the providers whose referrals (or
/// terms) changed and decides, as its own actor, in a deterministic order (creation HLC,
/// then id): a pending or waitlisted referral becomes active while the provider has room;
/// a pending one beyond the cap is waitlisted; a pending one for a client who already has an
/// active or waitlisted referral is rejected. The decisions are ordinary writes that sync
/// back to every replica, so all replicas show the same outcome.
struct ReferralScheduler {
    let stamp: () throws -> (dot: Dot, hlc: HLC)
    let save: (EntityKind, String, RecordState) throws -> Void

    func schedule(_ db: Database, provider providerID: String) throws {
        guard let provider = try SQLiteCentralStore.load(db, .provider, providerID), !provider.isDeleted else { return }
        let cap = provider.value("cap").intValue ?? 0
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, state FROM record
            WHERE entity = 'referral' AND referral_provider = ? AND referral_state IN ('active', 'pending', 'waitlisted')
            """, arguments: [providerID])
        var referrals = try rows.map { (id: $0["id"] as String, state: try SQLiteCentralStore.decode($0["state"])) }
            .filter { !$0.state.isDeleted }
        var active = referrals.filter { $0.state.value("state") == .string("active") }.count
        referrals.sort { a, b in
            let x = a.state.fields["clientId"]?.first?.hlc ?? .zero, y = b.state.fields["clientId"]?.first?.hlc ?? .zero
            return (x, a.id) < (y, b.id)
        }
        let today = CalendarDate.today()
        for referral in referrals {
            guard let current = referral.state.value("state").stringValue.flatMap(ReferralState.init(rawValue:)),
                  current != .active else { continue }
            let next: ReferralState
            var reason: String?
            if current == .pending, let client = referral.state.value("clientId").stringValue,
               try clientIsServedElsewhere(db, client: client, except: referral.id) {
                next = .rejected
                reason = "client_already_referred"
            } else if active < cap {
                next = .active
                active += 1
            } else if current == .pending {
                next = .waitlisted
            } else {
                continue
            }
            let changes = try current.transition(to: next, date: today, reason: reason, today: today, startDate: nil)
            var state = referral.state
            let stamp = try stamp()
            state.write(changes, dot: stamp.dot, hlc: stamp.hlc)
            try save(.referral, referral.id, state)
        }
    }

    private func clientIsServedElsewhere(_ db: Database, client: String, except id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: """
            SELECT 1 FROM record WHERE entity = 'referral' AND referral_client = ? AND id != ?
            AND referral_state IN ('active', 'waitlisted') LIMIT 1
            """, arguments: [client, id]) ?? false
    }
}
