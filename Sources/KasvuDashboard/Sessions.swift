import Foundation
import Synchronization

/// Signed-in browsers: a random session id (the cookie) → the admin token it was opened with
/// and the CSRF token its forms carry. Held in memory only: a restart signs everyone out, and
/// no token is ever written anywhere by the dashboard.
final class Sessions: Sendable {
    struct Session: Sendable {
        /// The admin replica's token, checked again on every request so that revoking the
        /// replica ends its sessions at once.
        let token: String
        let replicaID: String
        let csrf: String
        let expires: Date
    }

    /// A working day: after it the browser signs in again.
    static let lifetime: TimeInterval = 8 * 3600
    /// Bounded memory: beyond this many sessions the oldest is dropped.
    static let limit = 1000

    private let table = Mutex([String: Session]())

    /// Opens a session; returns its id (the cookie's value).
    func open(token: String, replicaID: String, now: Date = Date()) -> String {
        let id = Self.randomToken()
        table.withLock { table in
            table = table.filter { $0.value.expires > now }
            if table.count >= Self.limit, let oldest = table.min(by: { $0.value.expires < $1.value.expires })?.key { table[oldest] = nil }
            table[id] = Session(token: token, replicaID: replicaID, csrf: Self.randomToken(), expires: now.addingTimeInterval(Self.lifetime))
        }
        return id
    }

    func session(_ id: String?, now: Date = Date()) -> Session? {
        guard let id else { return nil }
        return table.withLock { table in
            guard let session = table[id] else { return nil }
            if session.expires <= now { table[id] = nil; return nil }
            return session
        }
    }

    func close(_ id: String?) {
        guard let id else { return }
        _ = table.withLock { $0.removeValue(forKey: id) }
    }

    /// 32 random bytes as hex, from the system's cryptographic generator.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    /// Compares secrets in time independent of where they differ.
    static func same(_ a: String?, _ b: String?) -> Bool {
        guard let a, let b, a.utf8.count == b.utf8.count, !a.isEmpty else { return false }
        return zip(a.utf8, b.utf8).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
