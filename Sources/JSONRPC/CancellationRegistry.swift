import Synchronization

/// Tracks every request from the moment it is routed until its handler
/// finishes, so that `$/cancelRequest` can reach it whether it is still
/// queued or already running.
///
/// The router (which must react to cancellations immediately) and the
/// executor (which starts and finishes requests) run concurrently, so the
/// state sits behind a lock; every operation is short and non-blocking.
final class CancellationRegistry: Sendable {
    typealias Outcome = Result<JSONValue, ResponseError>

    /// Identifies one routed request; `serial` keeps duplicate ids apart.
    struct Ticket: Sendable, Hashable {
        let serial: UInt64
        let id: RequestID
    }

    /// What a cancellation found.
    enum Disposition: Equatable {
        case running
        case queued
        case unknown
    }

    private struct Running: Sendable {
        let ticket: Ticket
        let task: Task<Outcome, Never>
    }

    private struct State: Sendable {
        var nextSerial: UInt64 = 0
        var queued: [RequestID: Set<UInt64>] = [:]
        var cancelledBeforeStart: Set<UInt64> = []
        var running: Running?
    }

    private let state = Mutex(State())

    /// Records a newly routed request as queued.
    func register(_ id: RequestID) -> Ticket {
        state.withLock { state in
            state.nextSerial += 1
            state.queued[id, default: []].insert(state.nextSerial)
            return Ticket(serial: state.nextSerial, id: id)
        }
    }

    /// Cancels every queued or running request with `id`.
    @discardableResult
    func cancel(_ id: RequestID) -> Disposition {
        let (task, wasQueued) = state.withLock { state -> (Task<Outcome, Never>?, Bool) in
            var task: Task<Outcome, Never>?
            if let running = state.running, running.ticket.id == id {
                task = running.task
            }
            let serials = state.queued.removeValue(forKey: id) ?? []
            state.cancelledBeforeStart.formUnion(serials)
            return (task, !serials.isEmpty)
        }
        // Cancelling runs the task's cancellation handlers synchronously;
        // doing it outside the lock keeps arbitrary handler code out of the
        // critical section.
        task?.cancel()
        if task != nil { return .running }
        return wasQueued ? .queued : .unknown
    }

    /// Moves a request from queued to running: returns the task made by
    /// `makeTask`, or `nil` without calling it when the request was cancelled
    /// while queued.
    ///
    /// The task is created under the lock so that a cancellation can never
    /// slip between the "was it cancelled?" check and the task becoming
    /// visible to ``cancel(_:)``.
    func start(_ ticket: Ticket, makeTask: () -> Task<Outcome, Never>) -> Task<Outcome, Never>? {
        state.withLock { state in
            if var serials = state.queued[ticket.id] {
                serials.remove(ticket.serial)
                state.queued[ticket.id] = serials.isEmpty ? nil : serials
            }
            if state.cancelledBeforeStart.remove(ticket.serial) != nil {
                return nil
            }
            let task = makeTask()
            state.running = Running(ticket: ticket, task: task)
            return task
        }
    }

    /// Forgets a request whose handler has finished.
    func finish(_ ticket: Ticket) {
        state.withLock { state in
            if state.running?.ticket == ticket {
                state.running = nil
            }
        }
    }
}
