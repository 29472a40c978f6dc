import JSONRPC
import Testing

@Suite("Dispatcher and RequestContext")
struct DispatcherTests {
    @Test("methodNames are sorted; registering again replaces")
    func registration() async throws {
        var dispatcher = Dispatcher()
        dispatcher.register("b") { _, _ in 1 }
        dispatcher.register("a") { _, _ in 2 }
        dispatcher.register("b") { _, _ in 3 }
        #expect(dispatcher.methodNames == ["a", "b"])
        let context = RequestContext(id: 1, framing: .newline)
        #expect(try await dispatcher.dispatch(method: "b", params: nil, context: context) == 3)
    }

    @Test("unknown methods throw methodNotFound")
    func unknownMethod() async {
        let dispatcher = Dispatcher()
        await #expect(throws: ResponseError.methodNotFound("missing")) {
            try await dispatcher.dispatch(method: "missing", params: nil, context: RequestContext(id: nil, framing: .newline))
        }
    }

    @Test("handlers receive params and context; notify reaches the sink")
    func contextAndNotify() async throws {
        let log = EventLog()
        var dispatcher = Dispatcher()
        dispatcher.register("greet") { params, context in
            await context.notify("$/progress", ["step": 1])
            return ["hello": params?["name"] ?? nil, "id": context.id?.jsonValue ?? nil]
        }
        let context = RequestContext(id: "r1", framing: .contentLength) { method, params in
            await log.record("\(method) \(params.jsonString)")
        }
        let result = try await dispatcher.dispatch(method: "greet", params: ["name": "Oak"], context: context)
        #expect(result == ["hello": "Oak", "id": "r1"])
        #expect(context.framing == .contentLength)
        #expect(await log.events == [#"$/progress {"step":1}"#])
    }
}
