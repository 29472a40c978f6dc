import JSONRPC
import Testing

@Suite("Server: requests, notifications and framing", .timeLimit(.minutes(5)))
struct ServerBasicsTests {
    @Test("a request is answered in the framing it arrived in", arguments: [Framing.newline, .contentLength])
    func singleRequest(framing: Framing) async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request(1, "ping"), framing: framing)
        let reply = await harness.nextFrame()
        #expect(reply == .message(framing, #"{"id":1,"jsonrpc":"2.0","result":"pong"}"#.bytes))
        #expect(await harness.finish().isEmpty)
    }

    @Test("params and string ids are passed through")
    func echo() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request("abc", "echo", ["tree": ["height": 3, "tags": ["oak"]]]))
        let reply = await harness.nextMessage()
        #expect(reply?.value == ["jsonrpc": "2.0", "id": "abc", "result": ["tree": ["height": 3, "tags": ["oak"]]]])
        _ = await harness.finish()
    }

    @Test("framings mixed on one stream are each answered in kind")
    func mixedFramings() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request(1, "ping"), framing: .contentLength)
        harness.send(request(2, "ping"), framing: .newline)
        harness.send(request(3, "ping"), framing: .contentLength)
        let rest = await harness.finish()
        let framings = rest.compactMap { frame -> Framing? in
            if case .message(let framing, _) = frame { return framing }
            return nil
        }
        #expect(framings == [.contentLength, .newline, .contentLength])
    }

    @Test("notifications never get a response, even when unknown or failing")
    func notificationsAreSilent() async {
        let log = EventLog()
        let harness = ServerHarness(dispatcher: standardDispatcher(log: log))
        harness.send(notification("record", ["event": "n1"]))
        harness.send(notification("no/such/method"))
        harness.send(notification("crash"))
        harness.send(notification("validate"), framing: .contentLength)
        harness.send(request(9, "ping"))
        let reply = await harness.nextMessage()
        #expect(reply?.value["id"] == 9)
        #expect(await harness.finish().isEmpty)
        #expect(await log.events == ["n1"])
    }

    @Test("requests run sequentially in arrival order")
    func sequentialExecution() async {
        let log = EventLog()
        var dispatcher = Dispatcher()
        dispatcher.register("slow") { params, _ in
            // Suspend several times: with concurrent execution "fast" would
            // overtake this handler. Kept small: every yield waits behind
            // whatever else the shared test process has queued.
            for _ in 0..<20 {
                await Task.yield()
            }
            await log.record("slow \(params?["n"]?.intValue ?? -1)")
            return nil
        }
        dispatcher.register("fast") { params, _ in
            await log.record("fast \(params?["n"]?.intValue ?? -1)")
            return nil
        }
        let harness = ServerHarness(dispatcher: dispatcher)
        harness.send(request(1, "slow", ["n": 1]))
        harness.send(request(2, "fast", ["n": 2]))
        harness.send(notification("slow", ["n": 3]))
        harness.send(request(4, "fast", ["n": 4]))
        let rest = await harness.finish()
        #expect(rest.count == 3)
        #expect(await log.events == ["slow 1", "fast 2", "slow 3", "fast 4"])
    }

    @Test("run() returns at end of input after answering everything queued")
    func cleanShutdown() async {
        var dispatcher = Dispatcher()
        dispatcher.register("work") { params, _ in
            for _ in 0..<5 {
                await Task.yield()
            }
            return params?["n"] ?? nil
        }
        let harness = ServerHarness(dispatcher: dispatcher)
        for n in 1...20 {
            harness.send(request(.int(Int64(n)), "work", ["n": .int(Int64(n))]), framing: n.isMultiple(of: 2) ? .newline : .contentLength)
        }
        // Close the input immediately: nothing has necessarily run yet.
        let rest = await harness.finish()
        let ids = rest.compactMap { frame -> Int64? in
            guard case .message(_, let body) = frame else { return nil }
            return (try? JSONValue.parse(body))?["id"]?.intValue
        }
        #expect(ids == Array(1...20))
    }

    @Test("run() returns at once for empty input")
    func emptyInput() async {
        let harness = ServerHarness(dispatcher: Dispatcher())
        #expect(await harness.finish().isEmpty)
    }

    @Test("context.notify is written before the response, in the request's framing", arguments: [Framing.newline, .contentLength])
    func progressNotifications(framing: Framing) async {
        var dispatcher = Dispatcher()
        dispatcher.register("import") { _, context in
            await context.notify("$/progress", ["token": "t", "value": ["percentage": 0]])
            await context.notify("$/progress", ["token": "t", "value": ["percentage": 100]])
            return ["imported": 2, "id": context.id?.jsonValue ?? nil]
        }
        let harness = ServerHarness(dispatcher: dispatcher)
        harness.send(request(5, "import"), framing: framing)
        let first = await harness.nextMessage()
        let second = await harness.nextMessage()
        let third = await harness.nextMessage()
        #expect(first?.framing == framing)
        #expect(first?.value == ["jsonrpc": "2.0", "method": "$/progress", "params": ["token": "t", "value": ["percentage": 0]]])
        #expect(second?.value["params"]?["value"]?["percentage"] == 100)
        #expect(second?.framing == framing)
        #expect(third?.value == ["jsonrpc": "2.0", "id": 5, "result": ["imported": 2, "id": 5]])
        #expect(third?.framing == framing)
        #expect(await harness.finish().isEmpty)
    }
}
