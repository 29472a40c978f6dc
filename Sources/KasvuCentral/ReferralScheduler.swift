import KasvuDomain
import KasvuSync

/// Keeps every provider's cap in the merged state (DESIGN section 2, issue "pilot rules").
///
/// After a batch is merged, the central store looks at the providers whose referrals (or
/// terms) changed and decides, as its own actor, in a deterministic order (creation HLC,
/// then id): a pending or waitlisted referral becomes active while the provider has room
/// (its cap less its active referrals and the places capacity leases reserve, ``LeaseLedger``);
/// a pending one beyond the cap is waitlisted; a pending one for a client who already has an
/// active or waitlisted referral is rejected. The decisions are ordinary writes that sync
/// back to every replica, so all replicas show the same outcome.
struct ReferralScheduler {
    /// The central store's today: the start date of a referral it activates.
    let today: CalendarDate
    let stamp: () throws -> (dot: Dot, hlc: HLC)
    let save: (EntityKind, String, RecordState) throws -> Void

    /// A cancellation, rejection or ending made on a replica concurrently with the central
    /// store's promotion (or waitlisting) of the same referral is never overridden: the state
    /// field then holds both, and the central store writes the final one as its own decision,
    /// so that the referral stops holding a place, which ``schedule(_:provider:)`` gives to the
    /// next in the queue.
    ///
    /// Likewise a `pending` beside a decided state: the same referral created twice (a copied
    /// database pushing its creation after the other copy's recovery stamped it again) arriving
    /// after the decision. A creation adds nothing to a decision: the decided state is written
    /// over both, and no conflict is left to show.
    func keepFinalState(_ reads: any CentralReads, referral id: String) throws {
        guard let state = try reads.record(.referral, id), !state.isDeleted else { return }
        let states = state.entries(.state).compactMap { $0.value.stringValue.flatMap(ReferralState.init(rawValue:)) }
        guard states.count > 1 else { return }
        // Entries are winner first.
        let final = states.contains(where: ReferralState.holdingPlace.contains) ? states.first(where: \.isFinal) : nil
        guard let kept = final ?? (states.contains(.pending) ? states.first(where: { $0 != .pending }) : nil) else { return }
        var resolved = state
        let stamp = try stamp()
        resolved.write([FieldKey.state.rawValue: .string(kept.rawValue)], dot: stamp.dot, hlc: stamp.hlc)
        try save(.referral, id, resolved)
    }

    /// A referral an office made active under its capacity lease for a client who already
    /// holds a place (another office referred the same person at the same time, offline): one
    /// place only can be paid for. The place already held stands; this one is ended by the
    /// central store as its own decision on its start day (`client_already_referred`), so every
    /// replica converges on it and the lease's place goes back to the free ones.
    func endLeasedDuplicate(_ reads: any CentralReads, referral id: String) throws {
        guard let state = try activeLeased(reads, id), let client = state.value(.clientId).stringValue,
              try reads.clientHasReferral(client, to: nil, in: ReferralState.holdingPlace, except: id) else { return }
        try endOnStartDay(id, state, reason: "client_already_referred")
    }

    /// A referral an office made active under a lease the store lost in a restore from a
    /// backup, for which no reserved place was left (``LeaseLedger/Restore``): it stands while
    /// the provider's cap holds it beside the places taken and reserved; otherwise the store
    /// ends it on its start day (`no_place_after_restore`), as its own decision.
    func endLeasedWithoutPlace(_ reads: any CentralReads, referral id: String) throws {
        guard let state = try activeLeased(reads, id), let providerID = state.value(.providerId).stringValue else { return }
        let cap = try reads.record(.provider, providerID)?.value(.cap).intValue ?? 0
        let taken = try reads.referrals(ofProvider: providerID, in: [.active]).count + reads.reservedPlaces(ofProvider: providerID)
        if taken > cap { try endOnStartDay(id, state, reason: "no_place_after_restore") }
    }

    private func activeLeased(_ reads: any CentralReads, _ id: String) throws -> RecordState? {
        guard let state = try reads.record(.referral, id), !state.isDeleted, state.value(.leaseId).stringValue != nil,
              state.value(.state) == .string(ReferralState.active.rawValue) else { return nil }
        return state
    }

    private func endOnStartDay(_ id: String, _ state: RecordState, reason: String) throws {
        let start = state.value(.startDate).stringValue.flatMap { try? CalendarDate(iso: $0) }
        let changes = try ReferralState.active.transition(to: .ended, date: start ?? today, reason: reason, today: today, startDate: start)
        var ended = state
        let stamp = try stamp()
        ended.write(changes, dot: stamp.dot, hlc: stamp.hlc)
        try save(.referral, id, ended)
    }

    func schedule(_ reads: any CentralReads, provider providerID: String) throws {
        guard let provider = try reads.record(.provider, providerID), !provider.isDeleted else { return }
        let cap = provider.value(.cap).intValue ?? 0
        var referrals = try reads.referrals(ofProvider: providerID, in: ReferralState.undecided).filter { !$0.state.isDeleted }
        var active = referrals.filter { $0.state.value(.state) == .string("active") }.count
        // Places that capacity leases hold for offices are not the scheduler's to give.
        let reserved = try reads.reservedPlaces(ofProvider: providerID)
        referrals.sort { ($0.state.creationHLC, $0.id) < ($1.state.creationHLC, $1.id) }
        for referral in referrals {
            guard let current = referral.state.value(.state).stringValue.flatMap(ReferralState.init(rawValue:)),
                  current != .active else { continue }
            let next: ReferralState
            var reason: String?
            if current == .pending, let client = referral.state.value(.clientId).stringValue,
               try reads.clientHasReferral(client, to: nil, in: ReferralState.holdingPlace, except: referral.id) {
                next = .rejected
                reason = "client_already_referred"
            } else if active + reserved < cap {
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
}
