import Logging

/// A JSON-RPC 2.0 server over a pair of file descriptors (typically stdin
/// and stdout).
///
/// ```swift
/// var dispatcher = Dispatcher()
/// dispatcher.register("ping") { _, _ in "pong" }
/// let server = JSONRPCServer(
///     input: STDIN_FILENO,
///     output: STDOUT_FILENO,
///     dispatcher: dispatcher,
///     logger: Logger(label: "rpc")
/// )
/// await server.run()   // returns when stdin is closed
/// ```
///
/// Behaviour:
/// - Messages may use `Content-Length` headers or one JSON text per line,
///   mixed freely; each is answered in the framing it arrived in.
/// - Requests and notifications execute one at a time, in arrival order,
///   while input keeps being read, so `$/cancelRequest` (`{"id": …}`) acts
///   at once: a running request's task is cancelled, a queued one is
///   answered with ``ResponseError/requestCancelled`` without running.
/// - Batches are answered with one array in element order; notifications
///   are never answered.
/// - A thrown ``ResponseError`` is sent as is; any other error is logged and
///   turned into a response by `errorMapper`.
///
/// Input is read on a dedicated thread and output written on a private
/// serial queue, so blocking I/O never occupies Swift's cooperative pool.
/// Diagnostics go only to `logger`; nothing is printed, because stdout is
/// usually the protocol channel.
///
/// The server never closes its descriptors. If the client may vanish while
/// a response is being written, the host process should ignore `SIGPIPE`
/// (`signal(SIGPIPE, SIG_IGN)`) so the write fails instead of killing it.
///
/// This is a `final class` rather than an actor because it holds no mutable
/// state: everything that changes during ``run()`` lives in that call.
public final class JSONRPCServer: Sendable {
    private let input: Int32
    private let output: Int32
    private let dispatcher: Dispatcher
    private let logger: Logger
    private let errorMapper: @Sendable (any Error) -> ResponseError
    private let commitBarrier: (@Sendable () async throws -> Void)?

    /// Creates a server; nothing is read until ``run()``.
    ///
    /// - Parameters:
    ///   - input: Descriptor to read messages from.
    ///   - output: Descriptor to write responses and notifications to.
    ///   - dispatcher: The methods to serve.
    ///   - logger: Receives diagnostics (malformed input, handler failures).
    ///   - errorMapper: Converts handler errors that are not
    ///     ``ResponseError`` (and not cancellation) into the error sent to the
    ///     client. The default hides details behind a generic -32603.
    ///   - commitBarrier: Group commit. When given, it is called before answers
    ///     are written and must make the effects of every request handled so far
    ///     durable (for example, sync the database's write-ahead log). Answers to
    ///     requests that arrived while earlier ones ran are held and released
    ///     together after one barrier, so the handlers may commit without
    ///     syncing. If it throws, the held requests are answered with errors, and
    ///     so is every later one, without running.
    public init(
        input: Int32,
        output: Int32,
        dispatcher: Dispatcher,
        logger: Logger,
        errorMapper: @escaping @Sendable (any Error) -> ResponseError = { _ in .internalError("internal error") },
        commitBarrier: (@Sendable () async throws -> Void)? = nil
    ) {
        self.input = input
        self.output = output
        self.dispatcher = dispatcher
        self.logger = logger
        self.errorMapper = errorMapper
        self.commitBarrier = commitBarrier
    }

    /// Serves messages until the input reaches end of file, then returns
    /// once every queued request has been answered and all output written.
    ///
    /// Call it once per server. Cancelling the calling task stops processing
    /// early (the running handler is cancelled), but the input thread stays
    /// blocked in `read(2)` until the input is closed.
    public func run() async {
        let writer = OutputWriter(descriptor: output, logger: logger)
        let registry = CancellationRegistry()
        let router = MessageRouter(registry: registry, logger: logger)
        let executor = RequestExecutor(
            dispatcher: dispatcher,
            writer: writer,
            registry: registry,
            logger: logger,
            errorMapper: errorMapper,
            commitBarrier: commitBarrier
        )
        let queued = JobQueueDepth()
        let (jobs, jobSink) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .unbounded)
        let frames = InputThread.frames(from: input, maxMessageBytes: MessageReader.defaultMaxMessageBytes)

        logger.debug("JSON-RPC server started", metadata: ["methods": "\(dispatcher.methodNames)"])
        async let executed: Void = executor.run(jobs, queued: queued)
        for await frame in frames {
            if let job = router.route(frame) {
                queued.add()
                jobSink.yield(job)
            }
        }
        jobSink.finish()
        await executed
        await writer.flush()
        logger.debug("JSON-RPC server finished: end of input")
    }
}
