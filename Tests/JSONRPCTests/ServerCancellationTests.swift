import JSONRPC
import Testing

/// A dispatcher whose "block" method signals that it started and then waits
/// until either the test opens the gate or the request is cancelled.
struct BlockingMethods {
    let started: AsyncStream<RequestID?>
    let gate: AsyncStream<Void>.Continuation
    let log = EventLog()
    let dispatcher: Dispatcher

    init() {
        let (started, startedSink) = AsyncStream.makeStream(of: RequestID?.self)
        let (gateStream, gate) = AsyncStream.makeStream(of: Void.self)
        let log = self.log
        var dispatcher = standardDispatcher(log: log)
        dispatcher.register("block") { _, context in
            startedSink.yield(context.id)
            // Iterating an AsyncStream ends when the task is cancelled, so
            // this waits without polling or sleeping.
            for await _ in gateStream {}
            try Task.checkCancellation()
            return "finished normally"
        }
        dispatcher.register("cooperative") { _, _ in
            startedSink.yield(nil)
            for await _ in gateStream {}
            // Returns normally even when cancelled: the server must still
            // report the cancellation.
            return "partial work"
        }
        self.started = started
        self.gate = gate
        self.dispatcher = dispatcher
    }
}

@Suite("Server: $/cancelRequest", .timeLimit(.minutes(5)))
struct ServerCancellationTests {
    @Test("cancelling a running request answers -32800", arguments: [RequestID.int(1), .string("req-1")])
    func cancelRunning(id: RequestID) async {
        let methods = BlockingMethods()
        var started = methods.started.makeAsyncIterator()
        let harness = ServerHarness(dispatcher: methods.dispatcher)
        harness.send(request(id.jsonValue, "block"))
        #expect(await started.next() == id)
        harness.send(notification("$/cancelRequest", ["id": id.jsonValue]))
        let reply = await harness.nextMessage()
        #expect(reply?.value == ["jsonrpc": "2.0", "id": id.jsonValue, "error": ["code": -32800, "message": "Request cancelled"]])
        // The server keeps serving after a cancellation.
        harness.send(request(2, "ping"))
        #expect(await harness.nextMessage()?.value["result"] == "pong")
        #expect(await harness.finish().isEmpty)
    }

    @Test("a handler returning normally after cancellation still answers -32800")
    func cancelCooperative() async {
        let methods = BlockingMethods()
        var started = methods.started.makeAsyncIterator()
        let harness = ServerHarness(dispatcher: methods.dispatcher)
        harness.send(request(1, "cooperative"), framing: .contentLength)
        _ = await started.next()
        harness.send(notification("$/cancelRequest", ["id": 1]), framing: .contentLength)
        let reply = await harness.nextMessage()
        #expect(reply?.framing == .contentLength)
        #expect(reply?.value["error"]?["code"] == -32800)
        _ = await harness.finish()
    }

    @Test("cancelling a queued request answers -32800 without running it")
    func cancelQueued() async {
        let methods = BlockingMethods()
        var started = methods.started.makeAsyncIterator()
        let harness = ServerHarness(dispatcher: methods.dispatcher)
        harness.send(request(1, "block"))
        _ = await started.next()
        harness.send(request(2, "record", ["event": "should not run"]))
        harness.send(request(3, "record", ["event": "runs"]))
        harness.send(notification("$/cancelRequest", ["id": 2]))
        // Cancellations are handled in arrival order, so once the running
        // request sees its own cancellation, the one for id 2 has been handled
        // too. This orders the test without any sleeping.
        harness.send(notification("$/cancelRequest", ["id": 1]))
        let first = await harness.nextMessage()
        let second = await harness.nextMessage()
        let third = await harness.nextMessage()
        #expect(first?.value == ["jsonrpc": "2.0", "id": 1, "error": ["code": -32800, "message": "Request cancelled"]])
        #expect(second?.value == ["jsonrpc": "2.0", "id": 2, "error": ["code": -32800, "message": "Request cancelled"]])
        #expect(third?.value == ["jsonrpc": "2.0", "id": 3, "result": true])
        #expect(await harness.finish().isEmpty)
        #expect(await methods.log.events == ["runs"])
    }

    @Test("a running request that is not cancelled completes normally")
    func gateReleased() async {
        let methods = BlockingMethods()
        var started = methods.started.makeAsyncIterator()
        let harness = ServerHarness(dispatcher: methods.dispatcher)
        harness.send(request(1, "block"))
        harness.send(request(2, "ping"))
        _ = await started.next()
        methods.gate.finish()
        #expect(await harness.nextMessage()?.value == ["jsonrpc": "2.0", "id": 1, "result": "finished normally"])
        #expect(await harness.nextMessage()?.value["result"] == "pong")
        #expect(await harness.finish().isEmpty)
    }

    @Test("cancelling a request inside a queued batch answers -32800 in its slot")
    func cancelInBatch() async {
        let methods = BlockingMethods()
        var started = methods.started.makeAsyncIterator()
        let harness = ServerHarness(dispatcher: methods.dispatcher)
        harness.send(request(1, "block"))
        _ = await started.next()
        harness.send("[" + request(2, "ping") + "," + request(3, "record", ["event": "x"]) + "]")
        harness.send(notification("$/cancelRequest", ["id": 3]))
        harness.send(notification("$/cancelRequest", ["id": 1]))
        #expect(await harness.nextMessage()?.value["error"]?["code"] == -32800)
        let batch = await harness.nextMessage()
        #expect(batch?.value == [
            ["jsonrpc": "2.0", "id": 2, "result": "pong"],
            ["jsonrpc": "2.0", "id": 3, "error": ["code": -32800, "message": "Request cancelled"]],
        ])
        _ = await harness.finish()
        #expect(await methods.log.events.isEmpty)
    }

    @Test("cancelling unknown or finished requests is ignored", arguments: [
        #"{"id":99}"#, #"{"id":1}"#, #"{"id":"nope"}"#, #"{}"#, #"[1]"#,
    ])
    func cancelUnknown(params: String) async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request(1, "ping"))
        #expect(await harness.nextMessage()?.value["id"] == 1)
        harness.send(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":\#(params)}"#)
        harness.send(request(2, "ping"))
        #expect(await harness.nextMessage()?.value == ["jsonrpc": "2.0", "id": 2, "result": "pong"])
        #expect(await harness.finish().isEmpty)
    }
}
