/// What a state has seen: for each actor, the highest counter of its writes included.
///
/// A vector *covers* a dot `(a, n)` when `vv[a] ≥ n`.
///
/// ```swift
/// var vv = VersionVector()
/// vv[actor] = 3
/// vv.covers(Dot(actor, 2)) // true
/// ```
public struct VersionVector: Sendable, Hashable, CustomStringConvertible {
    public private(set) var counters: [ActorID: UInt64]

    public init(_ counters: [ActorID: UInt64] = [:]) {
        self.counters = counters.filter { $0.value > 0 }
    }

    public subscript(actor: ActorID) -> UInt64 {
        get { counters[actor] ?? 0 }
        set { counters[actor] = newValue == 0 ? nil : newValue }
    }

    public func covers(_ dot: Dot) -> Bool { self[dot.actor] >= dot.counter }

    /// Pointwise maximum.
    public func merged(with other: VersionVector) -> VersionVector {
        VersionVector(counters.merging(other.counters, uniquingKeysWith: max))
    }

    /// Whether every counter of `other` is at most ours.
    public func dominates(_ other: VersionVector) -> Bool {
        other.counters.allSatisfy { self[$0.key] >= $0.value }
    }

    public var isEmpty: Bool { counters.isEmpty }

    public var description: String {
        "{" + counters.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }
}
