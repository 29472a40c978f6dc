import Foundation
import JSONRPC
import Testing

@Suite("RequestID and ResponseError")
struct MessageTypeTests {
    @Test("RequestID converts to and from JSON")
    func requestIDJSON() {
        #expect(RequestID.int(7).jsonValue == 7)
        #expect(RequestID.string("a").jsonValue == "a")
        #expect(RequestID(jsonValue: 7) == .int(7))
        #expect(RequestID(jsonValue: "a") == .string("a"))
        #expect(RequestID(jsonValue: 1.5) == nil)
        #expect(RequestID(jsonValue: nil) == nil)
        #expect(RequestID(jsonValue: [:]) == nil)
    }

    @Test("RequestID is Codable as a bare value", arguments: [RequestID.int(-3), .string("req-1")])
    func requestIDCodable(id: RequestID) throws {
        let data = try JSONEncoder().encode([id])
        #expect(try JSONDecoder().decode([RequestID].self, from: data) == [id])
        #expect(try JSONValue.parse([UInt8](data)) == [id.jsonValue])
    }

    @Test("RequestID rejects other JSON types when decoding")
    func requestIDDecodingFailure() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([RequestID].self, from: Data("[true]".utf8))
        }
    }

    @Test("standard error codes", arguments: [
        (ResponseError.parseError("p"), -32700),
        (.invalidRequest("r"), -32600),
        (.methodNotFound("m"), -32601),
        (.invalidParams("i"), -32602),
        (.internalError("x"), -32603),
        (.requestCancelled, -32800),
    ])
    func codes(error: ResponseError, code: Int) {
        #expect(error.code == code)
    }

    @Test("named code constants")
    func constants() {
        #expect(ResponseError.parseErrorCode == -32700)
        #expect(ResponseError.invalidRequestCode == -32600)
        #expect(ResponseError.methodNotFoundCode == -32601)
        #expect(ResponseError.invalidParamsCode == -32602)
        #expect(ResponseError.internalErrorCode == -32603)
        #expect(ResponseError.requestCancelledCode == -32800)
    }

    @Test("methodNotFound names the method")
    func methodNotFoundMessage() {
        #expect(ResponseError.methodNotFound("tree/grow").message.contains("tree/grow"))
    }

    @Test("invalidParams lists field errors in data")
    func invalidParamsData() {
        let error = ResponseError.invalidParams(
            "bad",
            errors: [(field: "height", message: "must be positive"), (field: "name", message: "required")]
        )
        #expect(error.message == "bad")
        #expect(error.data == ["errors": [
            ["field": "height", "message": "must be positive"],
            ["field": "name", "message": "required"],
        ]])
        #expect(ResponseError.invalidParams("bad").data == nil)
    }

    @Test("wire form omits absent data")
    func wireForm() {
        #expect(ResponseError.internalError("x").jsonValue == ["code": -32603, "message": "x"])
        let withData = ResponseError(code: 1, message: "m", data: [1])
        #expect(withData.jsonValue == ["code": 1, "message": "m", "data": [1]])
    }
}
