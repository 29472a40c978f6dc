import Foundation

/// Set by a task's cancellation handler, read by libcurl's progress callback on
/// the client's queue, so that cancelling `send` aborts a transfer in flight.
///
/// `@unchecked Sendable`: the only state, `cancelled`, is read and written under
/// `lock`. (`Synchronization.Mutex` would need macOS 15; this also builds for 14.)
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool {
        lock.withLock { cancelled }
    }

    func cancel() {
        lock.withLock { cancelled = true }
    }
}
