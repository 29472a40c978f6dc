import Foundation
import JSONRPC
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a `JSONRPCServer` over two real `pipe(2)`s inside the test process.
///
/// The test writes requests into one pipe and reads the server's output from
/// the other on a dedicated thread (so that a full pipe can never deadlock the
/// test). Descriptors are closed only after the thread using them is done, so
/// a recycled descriptor number can never be read by the wrong test.
final class ServerHarness {
    private let toServer: PipePair
    private let fromServer: PipePair
    private let runTask: Task<Void, Never>
    private var output: AsyncStream<Frame>.Iterator

    /// - Parameter commitBarrier: the server's group-commit barrier; it is given the server's
    ///   output descriptor, so that it can mark in the output where it ran.
    init(dispatcher: Dispatcher, errorMapper: (@Sendable (any Error) -> ResponseError)? = nil,
         commitBarrier: (@Sendable (_ output: Int32) async throws -> Void)? = nil) {
        let toServer = PipePair()
        let fromServer = PipePair()
        let logger = Logger(label: "JSONRPCTests") { _ in SwiftLogNoOpLogHandler() }
        let output = fromServer.writeEnd
        let barrier = commitBarrier.map { barrier in { @Sendable in try await barrier(output) } }
        let server = JSONRPCServer(input: toServer.readEnd, output: output, dispatcher: dispatcher, logger: logger,
                                   errorMapper: errorMapper ?? { _ in .internalError("internal error") }, commitBarrier: barrier)
        self.toServer = toServer
        self.fromServer = fromServer
        self.runTask = Task { await server.run() }
        self.output = Self.readFrames(from: fromServer.readEnd).makeAsyncIterator()
    }

    /// Sends `text` as one message in `framing`.
    func send(_ text: String, framing: Framing = .newline) {
        writeAll(toServer.writeEnd, MessageReader.encode(text.bytes, framing: framing))
    }

    /// Sends bytes exactly as given, for malformed input.
    func sendRaw(_ text: String) {
        writeAll(toServer.writeEnd, text.bytes)
    }

    /// The next frame the server wrote; waits for it.
    func nextFrame() async -> Frame? {
        await output.next()
    }

    /// The next message the server wrote, parsed, with its framing.
    func nextMessage() async -> (framing: Framing, value: JSONValue)? {
        guard let frame = await output.next() else {
            Issue.record("the server wrote nothing more")
            return nil
        }
        guard case .message(let framing, let body) = frame else {
            Issue.record("the server wrote a malformed frame: \(frame)")
            return nil
        }
        do {
            return (framing, try JSONValue.parse(body))
        } catch {
            Issue.record("the server wrote invalid JSON: \(error)")
            return nil
        }
    }

    /// Closes the input, waits for `run()` to return, and returns whatever
    /// the server wrote that has not been read yet.
    func finish() async -> [Frame] {
        close(toServer.writeEnd)
        await runTask.value
        // `run()` has returned: its input thread has seen end of input and
        // every response has been written.
        close(toServer.readEnd)
        close(fromServer.writeEnd)
        var rest: [Frame] = []
        while let frame = await output.next() {
            rest.append(frame)
        }
        close(fromServer.readEnd)
        return rest
    }

    private static func readFrames(from descriptor: Int32) -> AsyncStream<Frame> {
        let (stream, continuation) = AsyncStream.makeStream(of: Frame.self)
        let thread = Thread {
            var reader = MessageReader(fileDescriptor: descriptor)
            while let frame = reader.next() {
                continuation.yield(frame)
            }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}

/// A request in newline-friendly JSON text.
func request(_ id: JSONValue, _ method: String, _ params: JSONValue? = nil) -> String {
    var members: [String: JSONValue] = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
    members["params"] = params
    return JSONValue.object(members).jsonString
}

/// A notification in JSON text.
func notification(_ method: String, _ params: JSONValue? = nil) -> String {
    var members: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
    members["params"] = params
    return JSONValue.object(members).jsonString
}

/// Collects events from handlers so tests can check what ran, and in what order.
actor EventLog {
    private(set) var events: [String] = []

    func record(_ event: String) {
        events.append(event)
    }
}

struct UnexpectedFailure: Error {}

/// Methods shared by the end-to-end tests.
func standardDispatcher(log: EventLog = EventLog()) -> Dispatcher {
    var dispatcher = Dispatcher()
    dispatcher.register("ping") { _, _ in "pong" }
    dispatcher.register("echo") { params, _ in params ?? .null }
    dispatcher.register("record") { params, _ in
        await log.record(params?["event"]?.stringValue ?? "?")
        return true
    }
    dispatcher.register("validate") { _, _ in
        throw ResponseError.invalidParams(
            "invalid tree",
            errors: [(field: "height", message: "must be positive"), (field: "name", message: "required")]
        )
    }
    dispatcher.register("crash") { _, _ in
        throw UnexpectedFailure()
    }
    return dispatcher
}
