import Foundation
import KasvuDomain
@testable import KasvuSync
import KasvuTestSupport
import Testing


/// One simulated replica of a single record.
struct SimReplica {
    let actor: ActorID
    var counter: UInt64 = 0
    var clock = HybridClock(last: .zero)
    var state = RecordState()

    mutating func write(_ changes: [String: FieldValue], now: UInt64) {
        counter += 1
        state.write(changes, dot: Dot(actor, counter), hlc: clock.tick(nowMillis: now))
    }

    mutating func receive(_ other: RecordState) {
        for entry in other.fields.values.joined() { clock.observe(entry.hlc) }
        state = state.merged(with: other)
    }
}

let fieldNames = ["a", "b", "c", "d"]

/// Random but causally consistent states: replicas write and exchange states at random.
func randomStates(seed: UInt64, replicas: Int = 4, steps: Int = 40) -> [RecordState] {
    var rng = SeededGenerator(seed: seed)
    var sims = (0..<replicas).map { SimReplica(actor: ActorID(hex: UInt64($0 + 1) &* 0x1000_0001)) }
    var pool: [RecordState] = [RecordState()]
    for step in 0..<steps {
        let i = Int.random(in: 0..<replicas, using: &rng)
        if Bool.random(using: &rng) {
            var changes: [String: FieldValue] = [:]
            for name in fieldNames where Int.random(in: 0..<3, using: &rng) == 0 {
                changes[name] = .int(Int64.random(in: 0..<5, using: &rng))
            }
            if Int.random(in: 0..<8, using: &rng) == 0 { changes["deleted"] = .bool(Bool.random(using: &rng)) }
            if changes.isEmpty { changes["a"] = .string("s\(step)") }
            // Wall clocks of different replicas disagree; the HLC must cope.
            sims[i].write(changes, now: UInt64(1000 + step * 10 + Int.random(in: -30...30, using: &rng)))
        } else {
            let j = Int.random(in: 0..<replicas, using: &rng)
            sims[i].receive(sims[j].state)
        }
        pool.append(sims[i].state)
    }
    return pool
}

@Suite("Merge properties over random record states")
struct MergePropertyTests {
    static let seeds: [UInt64] = Array(1...60)

    @Test(arguments: seeds)
    func mergeIsCommutativeAssociativeIdempotent(seed: UInt64) {
        let states = randomStates(seed: seed)
        var rng = SeededGenerator(seed: seed ^ 0xABCD)
        for _ in 0..<60 {
            let a = states.randomElement(using: &rng)!, b = states.randomElement(using: &rng)!, c = states.randomElement(using: &rng)!
            #expect(a.merged(with: b) == b.merged(with: a))
            #expect(a.merged(with: b).merged(with: c) == a.merged(with: b.merged(with: c)))
            #expect(a.merged(with: a) == a)
            #expect(a.merged(with: b).merged(with: b) == a.merged(with: b))
        }
    }

    @Test(arguments: seeds)
    func concurrentWritesToDifferentFieldsNeverConflict(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let base = randomStates(seed: seed).last!.merged(with: RecordState())
        // Start both writers from the same resolved base, so only the new writes compete.
        var resolvedBase = SimReplica(actor: ActorID(hex: 0xFF))
        resolvedBase.receive(base)
        resolvedBase.write(Dictionary(uniqueKeysWithValues: fieldNames.map { ($0, FieldValue.int(0)) }).merging(["deleted": .bool(false)]) { $1 }, now: 5000)
        var x = SimReplica(actor: ActorID(hex: 0x101)), y = SimReplica(actor: ActorID(hex: 0x202))
        x.receive(resolvedBase.state)
        y.receive(resolvedBase.state)
        let fields = fieldNames.shuffled(using: &rng)
        x.write([fields[0]: .string("x")], now: 6000)
        y.write([fields[1]: .string("y")], now: 6000)
        let merged = x.state.merged(with: y.state)
        #expect(merged.conflicts.isEmpty)
        #expect(merged.value(fields[0]) == .string("x") && merged.value(fields[1]) == .string("y"))
    }

    @Test(arguments: seeds)
    func concurrentWritesToOneFieldAlwaysSurface(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let base = randomStates(seed: seed).randomElement(using: &rng)!
        var x = SimReplica(actor: ActorID(hex: 0x101)), y = SimReplica(actor: ActorID(hex: 0x202))
        x.receive(base)
        y.receive(base)
        let field = fieldNames.randomElement(using: &rng)!
        x.write([field: .string("from x")], now: UInt64.random(in: 0...10_000, using: &rng))
        y.write([field: .string("from y")], now: UInt64.random(in: 0...10_000, using: &rng))
        let merged = x.state.merged(with: y.state)
        let conflict = merged.conflicts.first { $0.field == field }
        #expect(conflict?.kind == .concurrentValues)
        #expect(Set(conflict?.entries.map(\.value) ?? []) == [.string("from x"), .string("from y")])
    }

    @Test(arguments: seeds)
    func everyReplicaPicksTheSameWinner(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let states = randomStates(seed: seed, replicas: 5)
        let chosen = (0..<6).map { _ in states.randomElement(using: &rng)! }
        let forward = chosen.reduce(RecordState()) { $0.merged(with: $1) }
        let backward = chosen.reversed().reduce(RecordState()) { $0.merged(with: $1) }
        let shuffled = chosen.shuffled(using: &rng).reduce(RecordState()) { $0.merged(with: $1) }
        #expect(forward.values == backward.values && backward.values == shuffled.values)
        #expect(forward.conflicts == shuffled.conflicts)
        for conflict in forward.conflicts where conflict.kind == .concurrentValues {
            // DESIGN: the winner has the greatest (hlc, actor). Worked out here on the raw
            // numbers and strings, not with the comparator the code sorts by.
            let best = conflict.entries.max { a, b in
                a.hlc.rawValue != b.hlc.rawValue ? a.hlc.rawValue < b.hlc.rawValue : a.dot.actor.rawValue < b.dot.actor.rawValue
            }!
            #expect(conflict.winner == best)
            #expect(forward.value(conflict.field) == best.value)
        }
    }

    /// The seeds above do produce concurrent values, so the winner check checks something.
    @Test func randomStatesHaveConflicts() {
        var conflicts = 0
        for seed in Self.seeds {
            let states = randomStates(seed: seed, replicas: 5)
            conflicts += states.reduce(RecordState()) { $0.merged(with: $1) }.conflicts.filter { $0.kind == .concurrentValues }.count
        }
        #expect(conflicts > 0)
    }

    @Test(arguments: seeds)
    func resolvingAConflictClearsItEverywhere(seed: UInt64) {
        let states = randomStates(seed: seed)
        let merged = states.reduce(RecordState()) { $0.merged(with: $1) }
        var resolver = SimReplica(actor: ActorID(hex: 0x303))
        resolver.receive(merged)
        for conflict in merged.conflicts {
            resolver.write([conflict.field: conflict.field == "deleted" ? .bool(false) : .string("resolved")], now: 1)
        }
        #expect(resolver.state.conflicts.isEmpty)
        // Merged back into any earlier state, the resolution still wins with no conflict.
        for state in states {
            #expect(state.merged(with: resolver.state).conflicts.isEmpty)
        }
    }
}

@Suite struct DeleteTests {
    @Test func deleteVsConcurrentEditSurfaces() {
        var office = SimReplica(actor: ActorID(hex: 1)), provider = SimReplica(actor: ActorID(hex: 2))
        office.write(["a": .string("one"), "b": .string("two")], now: 100)
        provider.receive(office.state)
        office.write(["deleted": .bool(true)], now: 200)
        provider.write(["b": .string("edited")], now: 150)
        let merged = office.state.merged(with: provider.state)
        #expect(merged.isDeleted)
        let conflict = merged.conflicts.first
        #expect(conflict?.kind == .deleteVsEdit)
        #expect(conflict?.editedFields == ["b"])

        // Keeping the delete: a new delete that has seen the edit.
        var resolver = SimReplica(actor: ActorID(hex: 3))
        resolver.receive(merged)
        resolver.write(["deleted": .bool(true)], now: 300)
        #expect(resolver.state.conflicts.isEmpty)
        #expect(resolver.state.isDeleted)
    }

    @Test func deleteAfterSeeingEditIsClean() {
        var a = SimReplica(actor: ActorID(hex: 1)), b = SimReplica(actor: ActorID(hex: 2))
        a.write(["a": .string("one")], now: 100)
        b.receive(a.state)
        b.write(["a": .string("two")], now: 110)
        a.receive(b.state)
        a.write(["deleted": .bool(true)], now: 120)
        #expect(a.state.merged(with: b.state).conflicts.isEmpty)
    }
}

@Suite struct ClockTests {
    @Test func hlcNeverGoesBackwards() {
        var clock = HybridClock(last: .zero)
        let t1 = clock.tick(nowMillis: 1000)
        let t2 = clock.tick(nowMillis: 900)  // wall clock stepped back
        clock.observe(HLC(millis: 5000))
        let t3 = clock.tick(nowMillis: 1000)
        #expect(t1 < t2 && t2 < t3)
        #expect(t3.millis == 5000 && t3.logical == 1)
    }
}
