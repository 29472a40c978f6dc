import Foundation

/// One write of an actor that the central store holds: its counter and timestamp (its dot's
/// entry in the central dot registry).
public struct HeldWrite: Sendable, Hashable, Codable {
    public let counter: UInt64
    public let hlc: HLC

    public init(counter: UInt64, hlc: HLC) {
        self.counter = counter
        self.hlc = hlc
    }

    public init(from decoder: any Decoder) throws {
        var pair = try decoder.unkeyedContainer()
        counter = try pair.decode(UInt64.self)
        hlc = HLC(rawValue: try pair.decode(UInt64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var pair = encoder.unkeyedContainer()
        try pair.encode(counter)
        try pair.encode(hlc.rawValue)
    }
}

/// The answer to `GET /v1/writes?actor=A&after=N`: the writes of one of the asking replica's
/// actors that the central store holds, counters above `N` in order, at most ``limit`` per page.
/// `kasvu recover` asks it, so that it stamps again only the writes the store does not hold.
public struct HeldWritesPage: Sendable, Hashable, Codable {
    public static let limit = 10_000
    /// `[counter, hlc]` pairs, by counter.
    public var writes: [HeldWrite]
    /// More writes above the last one.
    public var more: Bool

    public init(writes: [HeldWrite], more: Bool) {
        self.writes = writes
        self.more = more
    }
}
