#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import KasvuSQL
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The threads ``PostgresDatabase`` runs transactions on, at most `limit` of them, each owning
/// at most one PostgreSQL connection (so the pool of connections is the set of workers).
///
/// A transaction's body is synchronous and each of its statements blocks until PostgreSQL
/// answers, so it must run where blocking is harmless: on a thread of its own, never on
/// Swift's cooperative pool (whose few threads the rest of the process needs) nor on a NIO
/// event loop (which must stay free to deliver the very answer being waited for). A worker
/// blocks on `EventLoopFuture.wait()`; the event loops of `MultiThreadedEventLoopGroup.singleton`
/// do the I/O, and nothing here needs a cooperative thread, so a saturated cooperative pool
/// cannot stall a transaction.
///
/// Jobs queue in order of arrival. Workers start on demand and live until ``shutdown()``.
final class PostgresWorkers: Sendable {
    /// A transaction to run: `run` on a worker, or `reject` when the pool is closed. Exactly
    /// one of them is called.
    struct Job: Sendable {
        let run: @Sendable (Worker) -> Void
        let reject: @Sendable (SQLError) -> Void
    }

    private struct State {
        var jobs: [Job] = []
        var head = 0
        var workers = 0
        /// Workers waiting for a job (or about to take the one that woke them).
        var waiting = 0
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var nextConnectionID = 0

        var pending: Int { jobs.count - head }

        mutating func popJob() -> Job? {
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64, head * 2 >= jobs.count {
                // A queue that never empties drops the jobs already taken now and then.
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    let limit: Int
    let url: PostgresURL
    let logger: Logger
    private let configuration: Result<PostgresConnection.Configuration, SQLError>
    private let state = Mutex(State())
    /// One signal per job queued (and one per worker at shutdown): what idle workers wait on.
    private let jobsAvailable = DispatchSemaphore(value: 0)

    init(limit: Int, url: PostgresURL, configuration: Result<PostgresConnection.Configuration, SQLError>, logger: Logger) {
        self.limit = max(1, limit)
        self.url = url
        self.configuration = configuration
        self.logger = logger
    }

    /// Queues `job`; starts a worker when every running one is busy and the limit allows.
    func submit(_ job: Job) {
        enum Outcome { case queued, spawn, closed }
        let outcome = state.withLock { state -> Outcome in
            guard !state.closed else { return .closed }
            state.jobs.append(job)
            guard state.waiting < state.pending, state.workers < limit else { return .queued }
            state.workers += 1
            state.waiting += 1
            return .spawn
        }
        switch outcome {
        case .closed:
            job.reject(Self.closedError(url))
            return
        case .spawn:
            Thread.detachNewThread { [self] in self.work() }
        case .queued:
            break
        }
        jobsAvailable.signal()
    }

    /// Refuses new jobs, fails the queued ones and lets each worker close its connection and
    /// end after the transaction it is running.
    func shutdown() {
        let (rejected, workers) = state.withLock { state -> ([Job], Int) in
            guard !state.closed else { return ([], 0) }
            state.closed = true
            let rejected = Array(state.jobs[state.head...])
            state.jobs = []
            state.head = 0
            return (rejected, state.workers)
        }
        for job in rejected { job.reject(Self.closedError(url)) }
        for _ in 0..<workers { jobsAvailable.signal() }
    }

    /// ``shutdown()``, then waits until every worker has ended.
    func close() async {
        shutdown()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.workers == 0 { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The name of the worker threads, as `top -H`, gdb and the tests see it.
    static let threadName = "kasvu.postgres"

    private func work() {
        nameThisThread()
        let worker = Worker(workers: self)
        while true {
            jobsAvailable.wait()
            let job = state.withLock { state -> Job? in
                guard let job = state.popJob() else { return nil }
                state.waiting -= 1
                return job
            }
            if let job {
                job.run(worker)
                state.withLock { $0.waiting += 1 }
                continue
            }
            // Woken without a job: the pool closed (or another worker took it first).
            let ending = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                guard state.closed, state.pending == 0 else { return nil }
                state.workers -= 1
                state.waiting -= 1
                guard state.workers == 0 else { return [] }
                defer { state.closeWaiters = [] }
                return state.closeWaiters
            }
            if let ending {
                worker.closeConnection()
                for waiter in ending { waiter.resume() }
                return
            }
        }
    }

    /// Opens a connection, blocking this (worker) thread; bounded by `connect_timeout`.
    fileprivate func connect() throws(SQLError) -> PostgresConnection {
        let configuration = try configuration.get()
        let id = state.withLock { state -> Int in
            state.nextConnectionID += 1
            return state.nextConnectionID
        }
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                  id: id, logger: logger).wait()
        } catch {
            throw PostgresErrors.connectError(error, url: url)
        }
    }

    /// Names the calling thread ``threadName`` (15 bytes at most on Linux). Not through
    /// `Thread.name`: on Linux its setter races with the thread's start and may do nothing.
    private func nameThisThread() {
        #if canImport(Darwin)
        pthread_setname_np(Self.threadName)
        #else
        // glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
        typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
        if let symbol = dlsym(nil, "pthread_setname_np") {
            _ = Self.threadName.withCString { unsafeBitCast(symbol, to: SetName.self)(pthread_self(), $0) }
        }
        #endif
    }

    static func closedError(_ url: PostgresURL) -> SQLError {
        SQLError(code: "closed", message: "the PostgreSQL database \(url.redacted) was closed")
    }
}

/// One worker thread's side: its connection, opened when first needed and kept between
/// transactions. Used only by its own thread (not Sendable).
final class Worker {
    private let workers: PostgresWorkers
    private var current: PostgresConnection?

    fileprivate init(workers: PostgresWorkers) { self.workers = workers }

    var url: PostgresURL { workers.url }
    var logger: Logger { workers.logger }

    /// The worker's connection, and whether it served an earlier transaction (and so may
    /// have been closed by the server since without this side knowing yet).
    func connection() throws(SQLError) -> (PostgresConnection, reused: Bool) {
        if let current, !current.isClosed { return (current, true) }
        current = nil
        let opened = try workers.connect()
        current = opened
        return (opened, false)
    }

    /// Drops the connection (its state is unknown after a failure): the next transaction
    /// opens a new one.
    func discardConnection() {
        let _: EventLoopFuture<Void>? = current?.close()
        current = nil
    }

    fileprivate func closeConnection() {
        guard let connection = current else { return }
        current = nil
        let closed: EventLoopFuture<Void> = connection.close()
        _ = try? closed.wait()
    }
}
