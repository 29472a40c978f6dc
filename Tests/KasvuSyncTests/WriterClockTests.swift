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
