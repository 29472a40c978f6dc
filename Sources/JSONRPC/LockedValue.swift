import Foundation

/// A value guarded by a lock, for the little shared state that must be
/// touched synchronously from several tasks (e.g. the cancellation registry,
/// which the message router and the request executor both update).
///
/// `Synchronization.Mutex` would be the natural choice, but it requires
/// macOS 15 and the package also declares macOS 14 support.
///
/// `@unchecked Sendable`: `value` is only ever accessed inside `withLock`,
/// which holds `lock` for the duration, so all access is serialised; and
/// `Value` itself is required to be `Sendable`, so nothing non-sendable can
/// escape the critical section.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value. Keep `body` short and
    /// never `await` or block inside it.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
