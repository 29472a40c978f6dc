import JSONBytes
import JSONRPC
import KasvuSync
import Testing

/// The sync wire format and JSON-RPC read and write JSON with the same `JSONBytes` code: the
/// same text is accepted or refused by both, under the same nesting limit, and strings are
/// escaped alike.
@Suite struct OneJSONTests {
    /// A record state carrying `text` in a member newer peers might add: the wire reader checks
    /// its syntax while skipping it.
    static func recordState(with text: String) -> [UInt8] { Array(#"{"vv":{},"f":{},"x":"#.utf8) + Array(text.utf8) + Array("}".utf8) }

    static func rpcAccepts(_ text: String) -> Bool { (try? JSONValue.parse(Array(#"{"x":"#.utf8) + Array(text.utf8) + Array("}".utf8))) != nil }
    static func wireAccepts(_ text: String) -> Bool { (try? RecordState(json: recordState(with: text))) != nil }

    @Test(arguments: [
        "1", "-0", "1.5e3", "01", "-", "1.", "1e400", "\"a\\u00e9\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00x\"", "\"tab\there\"",
        "\"\u{7F}\"", "[1,]", "{\"a\":}", "nul", "true", "[[[]]]", "{\"k\":1,\"k\":2}", "\"\\x\"", "\u{FEFF}1", "NaN",
    ])
    func bothReadersAcceptTheSameText(text: String) {
        #expect(Self.rpcAccepts(text) == Self.wireAccepts(text), "\(text)")
    }

    @Test func bothReadersRefuseInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]  // a truncated two-byte sequence in a string
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes) }
        #expect(throws: JSONReadError.self) { try RecordState(json: Array(#"{"vv":{},"f":{},"x":"#.utf8) + bytes + Array("}".utf8)) }
    }

    @Test func oneNestingLimit() {
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        let limit = JSONReader.maxDepth
        // The record state itself is one level: its member may nest limit - 1 more.
        #expect(Self.wireAccepts(nested(limit - 1)) && !Self.wireAccepts(nested(limit)))
        #expect(Self.rpcAccepts(nested(limit - 1)) && !Self.rpcAccepts(nested(limit)))
        #expect((try? JSONValue.parse(Array(nested(limit).utf8))) != nil)
        #expect((try? JSONValue.parse(Array(nested(limit + 1).utf8))) == nil)
    }

    @Test func stringsAreEscapedAlike() throws {
        let text = "q\" b\\ n\n r\r t\t b\u{08} f\u{0C} nul\u{0} del\u{7F} é 😀 /"
        var writer = JSONWriter()
        writer.string(text)
        #expect(JSONValue.string(text).serialized() == writer.bytes)
        #expect(writer.text == #""q\" b\\ n\n r\r t\t b\b f\f nul\u0000 del\u007f é 😀 /""#)
        #expect(try JSONValue.parse(writer.bytes) == .string(text))
    }
}
