import Logging
import Synchronization

/// Executes jobs strictly one after another, in arrival order.
///
/// Sequential execution is a guarantee clients rely on (a "create" followed
/// by an "update" must apply in that order), so there is exactly one
/// executor per server run, and each request's handler runs in its own task
/// only so that it can be cancelled individually.
///
/// With a `commitBarrier` (group commit), answers are held while more jobs are
/// already queued, up to ``maxHeldAnswers``; then one barrier makes the effects
/// of every held request durable, and only after it are their answers written.
/// An answer is never written before the barrier that covers its request.
struct RequestExecutor: Sendable {
    let dispatcher: Dispatcher
    let writer: OutputWriter
    let registry: CancellationRegistry
    let logger: Logger
    let errorMapper: @Sendable (any Error) -> ResponseError
    var commitBarrier: (@Sendable () async throws -> Void)? = nil

    /// Answers held for one barrier at most: a client that never stops sending still hears back.
    static let maxHeldAnswers = 64

    /// An answer to one job: its replies (one, or a batch's), each with the id of the request
    /// it answers (nil for a reply decided while routing, such as a parse error).
    struct Answer {
        let replies: [(reply: JSONValue, id: RequestID?)]
        let framing: Framing
        let isBatch: Bool

        var message: JSONValue { isBatch ? .array(replies.map(\.reply)) : replies[0].reply }

        /// The same answer with every request's reply replaced by `error`.
        func failing(_ error: ResponseError) -> Answer {
            Answer(replies: replies.map { ($0.id.map { OutgoingMessage.errorResponse(id: $0, error: error) } ?? $0.reply, $0.id) },
                   framing: framing, isBatch: isBatch)
        }
    }

    func run(_ jobs: AsyncStream<Job>, queued: JobQueueDepth) async {
        var held: [Answer] = []
        var failure: ResponseError?
        for await job in jobs {
            queued.take()
            if let failure {
                // Changes can no longer be made durable (after a failed fsync the kernel may have
                // dropped them): nothing more runs, and every request hears why.
                for answer in answers(to: job, failing: failure) { await writer.send(answer.message, framing: answer.framing) }
                continue
            }
            let answers = await execute(job)
            guard commitBarrier != nil else {
                for answer in answers { await writer.send(answer.message, framing: answer.framing) }
                continue
            }
            held += answers
            if queued.isEmpty || held.count >= Self.maxHeldAnswers { failure = await release(&held) }
        }
        _ = await release(&held)
    }

    /// Runs the barrier, then writes the held answers. If the barrier fails, each held request
    /// is answered with an error instead (its effects may not survive a power loss), and the
    /// error is returned: the server runs nothing more.
    private func release(_ held: inout [Answer]) async -> ResponseError? {
        guard let commitBarrier, !held.isEmpty else { return nil }
        defer { held = [] }
        do {
            try await commitBarrier()
        } catch {
            logger.critical("JSON-RPC commit barrier failed; answering the held requests with errors and running no more",
                            metadata: ["error": "\(String(reflecting: error))", "requests": "\(held.count)"])
            let failure = errorMapper(error)
            for answer in held { await writer.send(answer.failing(failure).message, framing: answer.framing) }
            return failure
        }
        for answer in held { await writer.send(answer.message, framing: answer.framing) }
        return nil
    }

    /// The answers to a job that is not run: `failure` for each request.
    private func answers(to job: Job, failing failure: ResponseError) -> [Answer] {
        var replies: [(reply: JSONValue, id: RequestID?)] = []
        for entry in job.entries {
            switch entry {
            case .reply(let reply): replies.append((reply, nil))
            case .request(let ticket, _, _):
                registry.finish(ticket)
                replies.append((OutgoingMessage.errorResponse(id: ticket.id, error: failure), ticket.id))
            case .notification: break
            }
        }
        return Self.answers(replies, to: job)
    }

    /// One answer for a batch (none when it held only notifications), one per reply otherwise.
    private static func answers(_ replies: [(reply: JSONValue, id: RequestID?)], to job: Job) -> [Answer] {
        if replies.isEmpty { return [] }
        return job.isBatch ? [Answer(replies: replies, framing: job.framing, isBatch: true)]
            : replies.map { Answer(replies: [$0], framing: job.framing, isBatch: false) }
    }

    private func execute(_ job: Job) async -> [Answer] {
        var replies: [(reply: JSONValue, id: RequestID?)] = []
        for entry in job.entries {
            switch entry {
            case .reply(let reply):
                replies.append((reply, nil))
            case .notification(let method, let params):
                await runNotification(method: method, params: params, framing: job.framing)
            case .request(let ticket, let method, let params):
                replies.append((await runRequest(ticket, method: method, params: params, framing: job.framing), ticket.id))
            }
        }
        return Self.answers(replies, to: job)
    }

    private func runRequest(
        _ ticket: CancellationRegistry.Ticket,
        method: String,
        params: JSONValue?,
        framing: Framing
    ) async -> JSONValue {
        var requestLogger = logger
        requestLogger[metadataKey: "jsonrpc.id"] = "\(ticket.id)"
        requestLogger[metadataKey: "jsonrpc.method"] = "\(method)"
        let logger = requestLogger
        let context = makeContext(id: ticket.id, framing: framing)

        let started = registry.start(ticket) {
            Task { [self] in
                await invoke(method: method, params: params, context: context, logger: logger)
            }
        }
        guard let task = started else {
            logger.debug("Request cancelled before it started")
            return OutgoingMessage.errorResponse(id: ticket.id, error: .requestCancelled)
        }
        // The handler runs in an unstructured task so `$/cancelRequest` can
        // cancel it alone; forward cancellation of the server itself too.
        let outcome = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        registry.finish(ticket)

        switch outcome {
        case .success(let result):
            return OutgoingMessage.response(id: ticket.id, result: result)
        case .failure(let error):
            return OutgoingMessage.errorResponse(id: ticket.id, error: error)
        }
    }

    private func invoke(
        method: String,
        params: JSONValue?,
        context: RequestContext,
        logger: Logger
    ) async -> CancellationRegistry.Outcome {
        do {
            let result = try await dispatcher.dispatch(method: method, params: params, context: context)
            // A handler that noticed cancellation may return partial work;
            // the client asked for the request to be abandoned, so say so.
            return Task.isCancelled ? .failure(.requestCancelled) : .success(result)
        } catch let error as ResponseError {
            return .failure(error)
        } catch {
            // Errors thrown after cancellation (CancellationError or a
            // library's own "cancelled" error) are reported as cancellation.
            if error is CancellationError || Task.isCancelled {
                return .failure(.requestCancelled)
            }
            // Errors the mapper turns into an application error (validation, not found, …)
            // are ordinary answers; only unexpected ones deserve the error level.
            let mapped = errorMapper(error)
            let level: Logger.Level = mapped.code == ResponseError.internalErrorCode ? .error : .debug
            logger.log(level: level, "JSON-RPC handler failed", metadata: ["error": "\(String(reflecting: error))"])
            return .failure(mapped)
        }
    }

    private func runNotification(method: String, params: JSONValue?, framing: Framing) async {
        let context = makeContext(id: nil, framing: framing)
        do {
            _ = try await dispatcher.dispatch(method: method, params: params, context: context)
        } catch let error as ResponseError where error.code == ResponseError.methodNotFoundCode {
            // Clients routinely send optional notifications a server may not
            // implement (LSP's `$/…` family); that is not worth a warning.
            logger.debug("Ignoring notification for unknown method", metadata: ["jsonrpc.method": "\(method)"])
        } catch {
            // Notifications have no response to carry the error.
            logger.warning(
                "JSON-RPC notification handler failed",
                metadata: ["jsonrpc.method": "\(method)", "error": "\(String(reflecting: error))"]
            )
        }
    }

    private func makeContext(id: RequestID?, framing: Framing) -> RequestContext {
        RequestContext(id: id, framing: framing) { [writer] method, params in
            await writer.send(OutgoingMessage.notification(method: method, params: params), framing: framing)
        }
    }
}

/// How many routed jobs the executor has not taken yet: whether more requests are already
/// queued behind the one it just ran.
final class JobQueueDepth: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .sequentiallyConsistent) }
    func take() { count.subtract(1, ordering: .sequentiallyConsistent) }
    var isEmpty: Bool { count.load(ordering: .sequentiallyConsistent) <= 0 }
}
