import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Slows down guessing: after `limit` failed authentications from one address within
/// `window`, that address gets 429 with `Retry-After` until the window has passed.
public final class AuthenticationThrottle: Sendable {
    let limit: Int
    let window: TimeInterval
    private let failures = Mutex([String: [Date]]())

    init(limit: Int = 10, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// Seconds to wait before trying again, or nil when the address may try now.
    public func blockedFor(_ address: String, now: Date = Date()) -> Int? {
        failures.withLock { table in
            let recent = (table[address] ?? []).filter { now.timeIntervalSince($0) < window }
            table[address] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
        }
    }

    public func recordFailure(_ address: String, now: Date = Date()) {
        failures.withLock { table in
            var recent = (table[address] ?? []).filter { now.timeIntervalSince($0) < window }
            recent.append(now)
            table[address] = recent
            // Bounded memory under a flood of addresses: forget the quietest ones.
            if table.count > 10_000, let quiet = table.min(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })?.key {
                table[quiet] = nil
            }
        }
    }
}

/// The request context of the central server: Hummingbird's basics plus the peer address,
/// which the authentication throttle keys on.
public struct CentralRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var peer: String { remoteAddress?.ipAddress ?? "unknown" }
}
