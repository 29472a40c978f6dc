import JSONRPC
import Testing

@Suite("Server: standard errors", .timeLimit(.minutes(5)))
struct ServerErrorTests {
    /// Input that cannot be parsed or framed, with the framing of the reply.
    static let unparsable: [(String, Framing)] = [
        ("{\"jsonrpc\":\n", .newline),
        ("[1,2\n", .newline),
        ("Content-Length: 5\r\n\r\n{bad}", .contentLength),
        ("Content-Length: abc\r\n\r\n", .contentLength),
        ("Content-Length: -1\r\n\r\n", .contentLength),
        ("hello there\n", .contentLength),
        ("{\"s\":\"\u{1}\"}\n", .newline),
    ]

    @Test("-32700 for unparsable input, and the server carries on", arguments: unparsable)
    func parseError(input: String, framing: Framing) async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.sendRaw(input)
        harness.send(request(2, "ping"))
        let error = await harness.nextMessage()
        #expect(error?.framing == framing)
        #expect(error?.value["id"] == .null)
        #expect(error?.value["jsonrpc"] == "2.0")
        #expect(error?.value["error"]?["code"] == -32700)
        #expect(error?.value["error"]?["message"]?.stringValue?.isEmpty == false)
        let pong = await harness.nextMessage()
        #expect(pong?.value["result"] == "pong")
        #expect(await harness.finish().isEmpty)
    }

    /// Invalid request objects and the id the error must carry.
    static let invalidRequests: [(String, JSONValue)] = [
        (#"{"jsonrpc":"2.0","id":1}"#, 1),
        (#"{"jsonrpc":"2.0","id":1,"method":5}"#, 1),
        (#"{"jsonrpc":"2.0","id":1,"method":null}"#, 1),
        (#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#, "a"),
        (#"{"jsonrpc":2.0,"id":"a","method":"ping"}"#, "a"),
        (#"{"id":2,"method":"ping"}"#, 2),
        (#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#, nil),
        (#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#, nil),
        (#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, nil),
        (#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, nil),
        (#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, nil),
        (#"{"jsonrpc":"2.0","id":3,"method":"ping","params":"x"}"#, 3),
        (#"{"jsonrpc":"2.0","id":3,"method":"ping","params":7}"#, 3),
        (#"{"jsonrpc":"2.0","id":3,"method":"ping","params":null}"#, 3),
        (#"{"jsonrpc":"2.0","method":"ping","params":true}"#, nil),
        (#"{}"#, nil),
    ]

    @Test("-32600 for invalid request objects, keeping a valid id", arguments: invalidRequests)
    func invalidRequest(message: String, id: JSONValue) async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(message)
        let reply = await harness.nextMessage()
        #expect(reply?.value["id"] == id)
        #expect(reply?.value["error"]?["code"] == -32600)
        #expect(reply?.value["result"] == nil)
        #expect(await harness.finish().isEmpty)
    }

    @Test("-32600 for a JSON scalar message", arguments: ["42", "\"ping\"", "null", "true"])
    func scalarMessage(body: String) async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(body, framing: .contentLength)
        let reply = await harness.nextMessage()
        #expect(reply?.framing == .contentLength)
        #expect(reply?.value == ["jsonrpc": "2.0", "id": nil, "error": ["code": -32600, "message": "Invalid Request: expected an object"]])
        _ = await harness.finish()
    }

    @Test("-32601 names the unknown method")
    func methodNotFound() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request(4, "tree/grow"))
        let reply = await harness.nextMessage()
        #expect(reply?.value["id"] == 4)
        #expect(reply?.value["error"]?["code"] == -32601)
        #expect(reply?.value["error"]?["message"]?.stringValue?.contains("tree/grow") == true)
        _ = await harness.finish()
    }

    @Test("-32602 from a handler is sent as is, field errors included")
    func invalidParams() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request(5, "validate", ["height": -1]))
        let reply = await harness.nextMessage()
        #expect(reply?.value == [
            "jsonrpc": "2.0",
            "id": 5,
            "error": [
                "code": -32602,
                "message": "invalid tree",
                "data": ["errors": [
                    ["field": "height", "message": "must be positive"],
                    ["field": "name", "message": "required"],
                ]],
            ],
        ])
        _ = await harness.finish()
    }

    @Test("-32603 for other handler errors, via the default mapper")
    func internalError() async {
        let harness = ServerHarness(dispatcher: standardDispatcher())
        harness.send(request(6, "crash"))
        let reply = await harness.nextMessage()
        #expect(reply?.value == ["jsonrpc": "2.0", "id": 6, "error": ["code": -32603, "message": "internal error"]])
        _ = await harness.finish()
    }

    @Test("a custom error mapper decides the response for other errors")
    func customErrorMapper() async {
        let harness = ServerHarness(dispatcher: standardDispatcher()) { error in
            ResponseError(code: -32000, message: "mapped: \(type(of: error))", data: ["retry": false])
        }
        harness.send(request(7, "crash"))
        harness.send(request(8, "validate"))
        let mapped = await harness.nextMessage()
        #expect(mapped?.value["error"] == ["code": -32000, "message": "mapped: UnexpectedFailure", "data": ["retry": false]])
        // ResponseErrors bypass the mapper.
        let direct = await harness.nextMessage()
        #expect(direct?.value["error"]?["code"] == -32602)
        _ = await harness.finish()
    }
}
