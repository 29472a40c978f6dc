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
