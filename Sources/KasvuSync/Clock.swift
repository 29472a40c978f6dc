/// The identity of one writer: a replica database created by `kasvu init`.
///
/// 64 random bits as 16 lowercase hex digits: short, because it is stored in every field entry,
/// and wide enough that the thousands of replicas of a pilot never collide.
public struct ActorID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public static func random() -> ActorID {
        var generator = SystemRandomNumberGenerator()
        return ActorID(hex: generator.next())
    }

    /// For deterministic tests and simulations.
    public init(hex value: UInt64) {
        let digits = String(value, radix: 16)
        self.rawValue = String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func < (a: ActorID, b: ActorID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}

/// One write event: the actor and its transaction counter. Unique across the whole system.
public struct Dot: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let actor: ActorID
    public let counter: UInt64

    public init(_ actor: ActorID, _ counter: UInt64) {
        self.actor = actor
        self.counter = counter
    }

    public static func < (a: Dot, b: Dot) -> Bool { (a.actor, a.counter) < (b.actor, b.counter) }
    public var description: String { "(\(actor), \(counter))" }
}

/// A hybrid logical clock timestamp: milliseconds since 1970 in the high 48 bits and a
/// logical counter in the low 16, so that it orders like a wall clock yet never goes back.
public struct HLC: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(millis: UInt64, logical: UInt16 = 0) { rawValue = millis << 16 | UInt64(logical) }

    public var millis: UInt64 { rawValue >> 16 }
    public var logical: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static let zero = HLC(rawValue: 0)
    public static func < (a: HLC, b: HLC) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "\(millis).\(logical)" }
}

/// The local state of a hybrid logical clock. A value type: the replica persists `last` in
/// the same transaction as the writes stamped with it.
///
/// ```swift
/// var clock = HybridClock(last: .zero)
/// let t1 = clock.tick(nowMillis: 1_700_000_000_000)
/// clock.observe(remoteTimestamp)   // never issue a stamp below what was seen
/// ```
public struct HybridClock: Sendable, Hashable {
    public private(set) var last: HLC

    public init(last: HLC) { self.last = last }

    /// A timestamp greater than every one issued or observed before, and at least `nowMillis`.
    ///
    /// `salt` (``WriterClock/salt(_:)`` of what the write changes) goes into the logical bits:
    /// two copies of one database (a restored backup, a cloned disk) start from the same clock,
    /// and without it their next writes would carry the same dot and the same timestamp even
    /// where they wrote different records, a fork the central store could not see. Salted, they
    /// differ unless the writes do the same thing.
    public mutating func tick(nowMillis: UInt64, salt: UInt16 = 0) -> HLC {
        let wall = HLC(millis: nowMillis, logical: salt)
        last = wall > last ? wall : HLC(rawValue: last.rawValue + 1 + UInt64(salt))
        return last
    }

    /// Moves the clock past a timestamp received from another replica.
    public mutating func observe(_ remote: HLC) {
        if remote > last { last = remote }
    }
}

/// What a writer needs to stamp its writes (DESIGN section 4): its actor, the counter of its
/// last write transaction and its clock. The replica and the central store's own actor both
/// stamp through ``next(nowMillis:)`` and move the clock past what they merge with
/// ``observe(_:)``, so that a decision taken after a merge also orders after it by HLC.
///
/// ```swift
/// var writer = WriterClock(actor: actor, counter: storedCounter, last: storedHLC)
/// writer.observe(pulledState)
/// let (dot, hlc) = writer.next(nowMillis: now)   // persist writer.counter and writer.clock.last with the write
/// ```
public struct WriterClock: Sendable, Hashable {
    public let actor: ActorID
    public private(set) var counter: UInt64
    public private(set) var clock: HybridClock

    public init(actor: ActorID, counter: UInt64, last: HLC) {
        self.actor = actor
        self.counter = counter
        self.clock = HybridClock(last: last)
    }

    /// The dot and timestamp of the next write transaction: one per transaction, shared by
    /// every record it writes.
    public mutating func next(nowMillis: UInt64, salt: UInt16 = 0) -> (dot: Dot, hlc: HLC) {
        counter += 1
        return (Dot(actor, counter), clock.tick(nowMillis: nowMillis, salt: salt))
    }

    /// A stable 16-bit digest of a description of a write (FNV-1a, folded): the same on every
    /// machine and in every process, unlike Swift's seeded `Hasher`.
    public static func salt(_ description: String) -> UInt16 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in description.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return UInt16(truncatingIfNeeded: hash ^ (hash >> 16) ^ (hash >> 32) ^ (hash >> 48))
    }

    /// Moves the clock past every entry of a merged state.
    public mutating func observe(_ state: RecordState) {
        for entry in state.fields.values.joined() { clock.observe(entry.hlc) }
    }
}
