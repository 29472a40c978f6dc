import KasvuDomain
import KasvuSync
import Testing

/// The one stamping function of the replica and the central store's own actor.
@Suite struct WriterClockTests {
    @Test func eachWriteTakesTheNextCounterAndALaterTimestamp() {
        var writer = WriterClock(actor: ActorID(hex: 1), counter: 41, last: HLC(millis: 5_000))
        let first = writer.next(nowMillis: 1_000)  // a wall clock behind the last stamp
        let second = writer.next(nowMillis: 9_000)
        #expect(first.dot == Dot(ActorID(hex: 1), 42) && second.dot == Dot(ActorID(hex: 1), 43))
        #expect(first.hlc == HLC(millis: 5_000, logical: 1))
        #expect(second.hlc == HLC(millis: 9_000))
        #expect(writer.counter == 43 && writer.clock.last == second.hlc)
    }

    /// A decision taken after a merge orders after everything merged, even when that came from
    /// a clock ahead of ours.
    @Test func aWriteAfterAMergeOrdersAfterWhatWasMerged() {
        var other = RecordState()
        other.write(["phone": .string("040 1234567")], dot: Dot(ActorID(hex: 2), 1), hlc: HLC(millis: 70_000, logical: 3))
        var writer = WriterClock(actor: ActorID(hex: 1), counter: 0, last: .zero)
        writer.observe(other)
        let stamp = writer.next(nowMillis: 10_000)
        #expect(stamp.hlc > HLC(millis: 70_000, logical: 3))
        #expect(writer.counter == 1)  // observing is not a write
    }
}

/// Two copies of one database start from one clock: the salt of what each writes keeps their
/// next stamps apart, so the central store sees the fork.
@Suite struct SaltedClockTests {
    @Test func copiesWritingDifferentThingsStampDifferentTimes() {
        let copy = WriterClock(actor: ActorID(hex: 1), counter: 7, last: HLC(millis: 5_000, logical: 2))
        var first = copy, second = copy
        // Both wall clocks behind the copied clock: the stamp is the last one moved on.
        let a = first.next(nowMillis: 1_000, salt: WriterClock.salt("client 1 phone=040"))
        let b = second.next(nowMillis: 1_000, salt: WriterClock.salt("client 2 status=referred"))
        #expect(a.dot == b.dot && a.hlc != b.hlc)
        #expect(a.hlc > HLC(millis: 5_000, logical: 2) && b.hlc > HLC(millis: 5_000, logical: 2))
        // The same write stamps the same time: it is the same write.
        var third = copy
        #expect(third.next(nowMillis: 1_000, salt: WriterClock.salt("client 1 phone=040")) == a)
        // A wall clock ahead carries the salt in the logical bits.
        #expect(first.next(nowMillis: 9_000, salt: 5).hlc == HLC(millis: 9_000, logical: 5))
    }

    /// Stable across processes and machines (FNV-1a), unlike Swift's seeded `Hasher`.
    @Test func theSaltIsTheSameEverywhere() {
        #expect(WriterClock.salt("") == WriterClock.salt(""))
        #expect(WriterClock.salt("client 1") == 45_811)  // FNV-1a 64, folded to 16 bits (worked out independently in Python)
        #expect(WriterClock.salt("client 1") != WriterClock.salt("client 2"))
    }
}

/// `kasvu recover`'s re-stamping, on states alone.
@Suite struct RestampTests {
    let old = ActorID(hex: 0xA), new = ActorID(hex: 0xB), other = ActorID(hex: 0xC)

    @Test func writesAfterTheAcknowledgedCounterMoveToTheNewActor() throws {
        var base = RecordState()
        base.write(["lastName": .string("Virtanen")], dot: Dot(old, 3), hlc: HLC(millis: 1))   // acknowledged
        var state = base
        state.write(["phone": .string("040 1")], dot: Dot(old, 5), hlc: HLC(millis: 2))        // not yet
        var concurrent = base
        concurrent.write(["phone": .string("040 2")], dot: Dot(other, 2), hlc: HLC(millis: 3))
        state = state.merged(with: concurrent)
        #expect(state.conflicts.count == 1)

        let stamp = (dot: Dot(new, 1), hlc: HLC(millis: 9))
        let again = try #require(state.restamped(former: old, after: 3, as: stamp))
        #expect(again.vv == VersionVector([old: 3, other: 2, new: 1]))
        #expect(again.entries(.lastName).map(\.dot) == [Dot(old, 3)])
        // The local phone keeps its value under the new dot, still in conflict with the other's.
        #expect(Set(again.entries(.phone).map(\.dot)) == [Dot(new, 1), Dot(other, 2)])
        #expect(Set(again.entries(.phone).map(\.value)) == [.string("040 1"), .string("040 2")])
        #expect(again.conflicts.count == 1)
    }

    @Test func aDeleteClaimsNothingOfTheOldActorBeyondTheAcknowledged() throws {
        var state = RecordState()
        state.write(["lastName": .string("Virtanen")], dot: Dot(old, 3), hlc: HLC(millis: 1))
        state.write(["deleted": .bool(true)], dot: Dot(old, 4), hlc: HLC(millis: 2))
        let again = try #require(state.restamped(former: old, after: 3, as: (Dot(new, 1), HLC(millis: 9))))
        let delete = try #require(again.fields["deleted"]?.first)
        #expect(delete.dot == Dot(new, 1) && delete.context?[old] == 3)
        #expect(again.vv.dominates(delete.context ?? VersionVector()))
    }

    /// Writes the central store holds as this database's (same dot, same time) keep their dots
    /// up to the claim: stamped again, they would come back beside themselves.
    @Test func writesTheStoreHoldsKeepTheirDots() throws {
        var state = RecordState()
        state.write(["lastName": .string("Virtanen")], dot: Dot(old, 4), hlc: HLC(millis: 1))  // held as ours
        state.write(["phone": .string("040 1")], dot: Dot(old, 5), hlc: HLC(millis: 2))        // the store has another 5
        let stamp = (dot: Dot(new, 1), hlc: HLC(millis: 9))
        let again = try #require(state.restamped(former: old, after: 3, claiming: 4, keeping: { $0 == Dot(old, 4) && $1 == HLC(millis: 1) }, as: stamp))
        #expect(again.entries(.lastName).map(\.dot) == [Dot(old, 4)])
        #expect(again.entries(.phone).map(\.dot) == [Dot(new, 1)])
        #expect(again.vv == VersionVector([old: 4, new: 1]))
        // Beyond the claim nothing is kept, held or not.
        let beyond = try #require(state.restamped(former: old, after: 3, claiming: 3, keeping: { _, _ in true }, as: stamp))
        #expect(beyond.entries(.lastName).map(\.dot) == [Dot(new, 1)] && beyond.vv[old] == 3)
    }

    @Test func nothingToDoWhenEverythingWasAcknowledged() {
        var state = RecordState()
        state.write(["lastName": .string("Virtanen")], dot: Dot(old, 3), hlc: HLC(millis: 1))
        #expect(state.restamped(former: old, after: 3, as: (Dot(new, 1), HLC(millis: 9))) == nil)
    }
}

/// A recovered replica may claim its own earlier actor's writes as far as the central store saw
/// them, and no further; another replica's actor stays bounded by the stored record.
@Suite struct FormerActorClaimTests {
    let former = ActorID(hex: 0xA), current = ActorID(hex: 0xB), stranger = ActorID(hex: 0xC)

    func pushed(_ vector: [ActorID: UInt64]) -> RecordState {
        var state = RecordState(vv: VersionVector(vector))
        state.write(["lastName": .string("Virtanen")], dot: Dot(current, 1), hlc: HLC(millis: 1))
        return state
    }

    @Test func claimsOnTheFormerActorAreBoundedByWhatTheCentralStoreSaw() {
        let check = PushCheck(actor: current, counter: 1, formerActors: [former: 7])
        #expect(check.ownershipRefusal(pushed([former: 7]), stored: nil) == nil)
        #expect(check.ownershipRefusal(pushed([former: 8]), stored: nil) != nil)
        #expect(check.ownershipRefusal(pushed([stranger: 1]), stored: nil) != nil)
        #expect(PushCheck(actor: current, counter: 1).ownershipRefusal(pushed([former: 1]), stored: nil) != nil)
    }
}

/// A replica's re-sync with a central store restored from a backup, on states alone.
@Suite struct RebaseTests {
    let me = ActorID(hex: 0xA), lost = ActorID(hex: 0xB), kept = ActorID(hex: 0xC)

    /// The restored store holds my first write and C's; B's later write (lost) had superseded
    /// mine locally, and C wrote a field I never saw.
    func scenario() -> (local: RecordState, central: RecordState) {
        var central = RecordState()
        central.write(["lastName": .string("Virtanen"), "phone": .string("040 1")], dot: Dot(me, 1), hlc: HLC(millis: 1))
        var local = central
        local.write(["phone": .string("040 2")], dot: Dot(lost, 4), hlc: HLC(millis: 2))      // lost by the restore
        local.write(["email": .string("a@b.fi")], dot: Dot(me, 2), hlc: HLC(millis: 3))        // mine, lost too
        central.write(["status": .string("assessment")], dot: Dot(kept, 7), hlc: HLC(millis: 4))  // unseen by me
        return (local, central)
    }

    @Test func myWritesStayLostOnesOfOthersGoAndTheStoresSurface() throws {
        let (local, central) = scenario()
        let rebased = try #require(local.rebased(on: central, own: me))
        #expect(rebased.value("email") == .string("a@b.fi"))            // mine, to push again
        #expect(rebased.value("phone") == .string("040 1"))             // B's lost write gone: mine is back
        #expect(rebased.value("status") == .string("assessment"))      // the store's, never seen here
        #expect(rebased.vv[lost] == 0 && rebased.vv[me] == 2)
    }

    @Test func theRebasedStateIsAPushTheStoreAccepts() throws {
        let (local, central) = scenario()
        let rebased = try #require(local.rebased(on: central, own: me))
        let check = PushCheck(actor: me, counter: 2)
        #expect(check.ownershipRefusal(rebased, stored: central) == nil)
        let merged = central.merged(with: rebased)
        #expect(PushCheck.vanishingRefusal(stored: central, merged: merged) == nil)
        #expect(merged == rebased)  // the store then holds what the replica holds
    }

    @Test func whenTheLostWriterSendsAgainItMeetsMyLaterWritesAsConcurrent() throws {
        var (local, central) = scenario()
        local.write(["phone": .string("040 3")], dot: Dot(me, 3), hlc: HLC(millis: 5))  // after B's, which it superseded
        let rebased = try #require(local.rebased(on: central, own: me))
        var writerB = RecordState()
        writerB.write(["lastName": .string("Virtanen"), "phone": .string("040 1")], dot: Dot(me, 1), hlc: HLC(millis: 1))
        writerB.write(["phone": .string("040 2")], dot: Dot(lost, 4), hlc: HLC(millis: 2))
        let together = rebased.merged(with: writerB)
        #expect(Set(together.fields["phone"]?.map(\.value) ?? []) == [.string("040 2"), .string("040 3")])
        #expect(together.conflicts.map(\.field) == ["phone"])
    }

    @Test func aRecordOnlyOthersWroteGoesWhenTheStoreLostIt() {
        var local = RecordState()
        local.write(["lastName": .string("Muu")], dot: Dot(lost, 1), hlc: HLC(millis: 1))
        #expect(local.rebased(on: nil, own: me) == nil)
        local.write(["phone": .string("040 9")], dot: Dot(me, 5), hlc: HLC(millis: 2))
        #expect(local.rebased(on: nil, own: me)?.fields.keys.sorted() == ["phone"])
    }

    /// Simulation seeds 3794, 5545, 8372: C's write had superseded B's here, but the restored
    /// store holds both as concurrent (C wrote it again without B's). A field I wrote nothing
    /// lost in takes the store's register: a push may drop no value of a field it does not write.
    @Test func aFieldIWroteNothingLostInIsTheStoresRegister() throws {
        var created = RecordState()
        created.write(["municipality": .string("402")], dot: Dot(lost, 1), hlc: HLC(millis: 1))
        var local = created
        local.write(["municipality": .string("749")], dot: Dot(kept, 2), hlc: HLC(millis: 2))
        local.write(["phone": .string("040 1")], dot: Dot(me, 1), hlc: HLC(millis: 3))  // mine, lost
        var again = RecordState()
        again.write(["municipality": .string("749")], dot: Dot(kept, 2), hlc: HLC(millis: 2))
        let central = again.merged(with: created)
        let rebased = try #require(local.rebased(on: central, own: me))
        #expect(rebased.fields["municipality"] == central.fields["municipality"])
        #expect(PushCheck.vanishingRefusal(stored: central, merged: central.merged(with: rebased)) == nil)
    }

    /// Simulation seed 2463: two offices deleted a client concurrently; the store holds C's
    /// delete with a context C's own re-sync narrowed. My delete, which it lost, stays beside
    /// the store's copy of C's, not beside the wider copy I had (which would drop the store's).
    @Test func anEntryTheStoreHoldsIsTheStoresCopy() throws {
        var base = RecordState()
        base.write(["lastName": .string("Muu")], dot: Dot(lost, 1), hlc: HLC(millis: 1))
        var mine = base, theirs = base
        mine.write(["deleted": .bool(true)], dot: Dot(me, 3), hlc: HLC(millis: 2))
        theirs.write(["deleted": .bool(true)], dot: Dot(kept, 5), hlc: HLC(millis: 3))
        let local = mine.merged(with: theirs)
        var central = RecordState()
        central.write(["deleted": .bool(true)], dot: Dot(kept, 5), hlc: HLC(millis: 3))  // context {}: B's write was lost
        let rebased = try #require(local.rebased(on: central, own: me))
        let deletes = rebased.fields["deleted"] ?? []
        #expect(Set(deletes.map(\.dot)) == [Dot(me, 3), Dot(kept, 5)])
        #expect(deletes.first { $0.dot == Dot(kept, 5) } == central.fields["deleted"]?.first)
    }

    @Test func aDeleteClaimsNothingTheStoreLost() throws {
        var local = RecordState()
        local.write(["lastName": .string("Muu")], dot: Dot(lost, 3), hlc: HLC(millis: 1))
        local.write(["deleted": .bool(true)], dot: Dot(me, 1), hlc: HLC(millis: 2))
        let rebased = try #require(local.rebased(on: nil, own: me))
        #expect(rebased.fields["deleted"]?.first?.context?[lost] == 0)
        #expect(PushCheck(actor: me, counter: 1).ownershipRefusal(rebased, stored: nil) == nil)
    }
}
