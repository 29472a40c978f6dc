import JSONRPC
import Testing

@Suite("JSON nesting limit")
struct JSONDepthTests {
    private func nestedArrays(_ depth: Int) -> [UInt8] {
        Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
    }

    private func nestedObjects(_ depth: Int) -> String {
        String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
    }

    @Test("accepts exactly maxDepth levels")
    func atLimit() throws {
        _ = try JSONValue.parse(nestedArrays(128))
        _ = try JSONValue.parse(nestedObjects(128).utf8)
        _ = try JSONValue.parse(nestedArrays(5), maxDepth: 5)
    }

    @Test("rejects maxDepth + 1 levels", arguments: [1, 5, 128])
    func overLimit(maxDepth: Int) {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(nestedArrays(maxDepth + 1), maxDepth: maxDepth)
        }
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(nestedObjects(maxDepth + 1).utf8, maxDepth: maxDepth)
        }
    }

    @Test("maxDepth 0 allows only scalars")
    func scalarsOnly() throws {
        #expect(try JSONValue.parse("7".utf8, maxDepth: 0) == 7)
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse("[]".utf8, maxDepth: 0)
        }
    }

    @Test("hostile nesting fails cleanly instead of overflowing the stack")
    func hostileNesting() {
        let openOnly = Array(repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(openOnly)
        }
        // The parser's own stack is on the heap, so even a generous limit
        // only fails where the input does. (Values this deep are not kept:
        // destroying them recurses, which is why the default limit is low.)
        let unterminated = Array(repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(unterminated, maxDepth: 2_000_000)
        }
    }

    @Test("the error points at the container that is one too deep")
    func depthErrorOffset() {
        do {
            _ = try JSONValue.parse(nestedArrays(4), maxDepth: 3)
            Issue.record("expected a depth error")
        } catch {
            #expect(error.offset == 3)
        }
    }
}
