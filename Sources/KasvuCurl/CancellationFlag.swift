import Synchronization

/// Set by a task's cancellation handler, read by libcurl's progress callback on
/// the client's queue, so that cancelling `send` aborts a transfer in flight.
final class CancellationFlag: Sendable {
    private let cancelled = Mutex(false)

    var isCancelled: Bool { cancelled.withLock { $0 } }

    func cancel() { cancelled.withLock { $0 = true } }
}
