import JSONRPC
import Testing

@Suite("Server: batches", .timeLimit(.minutes(5)))
struct ServerBatchTests {
    @Test("a batch is answered with one array, in order, without notifications", arguments: [Framing.newline, .contentLength])
    func mixedBatch(framing: Framing) async {
        let log = EventLog()
        let harness = ServerHarness(dispatcher: standardDispatcher(log: log))
        let batch = "[" + [
            request(1, "echo", ["x": 1]),
            "1",
            notification("record", ["event": "in batch"]),
            request("b", "no/such/method"),
            #"{"jsonrpc":"1.0","id":3,"method":"echo"}"#,
            request(4, "validate"),
            notification("no/such/method"),
            request(5, "crash"),
            "[]",
        ].joined(separator: ",") + "]"
        harness.send(batch, framing: framing)
        let reply = await harness.nextMessage()
        #expect(reply?.framing == framing)
        let responses = reply?.value.arrayValue ?? []
        #expect(responses.count == 7)
        #expect(responses.map { $0["id"] } == [1, .null, "b", 3, 4, 5, .null])
        #expect(responses.first?["result"] == ["x": 1])
        #expect(responses.dropFirst().map { $0["error"]?["code"] } == [-32600, -32601, -32600, -32602, -32603, -32600])
        #expect(await harness.finish().isEmpty)
        #expect(await log.events == ["in batch"])
    }

    @Test("an empty batch gets a single -32600 object")
    func emptyBatch() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send("[]")
        let reply = await harness.nextMessage()
        #expect(reply?.value["id"] == .null)
        #expect(reply?.value["error"]?["code"] == -32600)
        #expect(reply?.value.arrayValue == nil)
        _ = await harness.finish()
    }

    @Test("a batch of only notifications gets no reply at all")
    func notificationOnlyBatch() async {
        let log = EventLog()
        let harness = ServerHarness(dispatcher: standardDispatcher(log: log))
        harness.send("[" + notification("record", ["event": "a"]) + "," + notification("record", ["event": "b"]) + "]")
        harness.send(request(1, "ping"))
        let reply = await harness.nextMessage()
        #expect(reply?.value["id"] == 1)
        #expect(await harness.finish().isEmpty)
        #expect(await log.events == ["a", "b"])
    }

    @Test("a batch of invalid elements gets one error per element")
    func allInvalid() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send("[1,2,3]")
        let reply = await harness.nextMessage()
        #expect(reply?.value.arrayValue?.count == 3)
        #expect(reply?.value.arrayValue?.allSatisfy { $0["error"]?["code"] == -32600 && $0["id"] == .null } == true)
        _ = await harness.finish()
    }
}
