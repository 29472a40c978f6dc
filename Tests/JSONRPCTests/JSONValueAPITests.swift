import Foundation
import JSONRPC
import Testing

@Suite("JSONValue accessors, literals and Codable")
struct JSONValueAPITests {
    @Test("literals build the matching cases")
    func literals() {
        let value: JSONValue = ["s": "x", "i": 1, "d": 1.5, "b": true, "n": nil, "a": [1, "2"]]
        #expect(value == .object([
            "s": .string("x"),
            "i": .int(1),
            "d": .double(1.5),
            "b": .bool(true),
            "n": .null,
            "a": .array([.int(1), .string("2")]),
        ]))
    }

    @Test("accessors return payloads of the right case only")
    func accessors() {
        let value: JSONValue = ["name": "Oak", "height": 12, "ok": false, "tags": ["a"], "meta": [:], "gone": nil]
        #expect(value["name"]?.stringValue == "Oak")
        #expect(value["height"]?.intValue == 12)
        #expect(value["ok"]?.boolValue == false)
        #expect(value["tags"]?.arrayValue == ["a"])
        #expect(value["meta"]?.objectValue == [:])
        #expect(value["gone"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(value["name"]?.intValue == nil)
        #expect(value["height"]?.stringValue == nil)
        #expect(JSONValue.string("x")["key"] == nil)
        #expect(JSONValue.array([]).objectValue == nil)
        #expect(JSONValue.object([:]).arrayValue == nil)
        #expect(!JSONValue.bool(false).isNull)
        #expect(value.objectValue?.count == 6)
    }

    @Test("duplicate keys in a dictionary literal keep the last value")
    func dictionaryLiteralDuplicates() {
        let value: JSONValue = ["k": 1, "k": 2]
        #expect(value == ["k": 2])
    }

    struct Envelope: Codable, Equatable {
        var name: String
        var payload: JSONValue
        var extra: JSONValue?
    }

    @Test("embeds in Codable types through JSONEncoder and JSONDecoder", arguments: [
        ["a": [1, 2.5, "x", true, nil], "b": ["c": -7]] as JSONValue,
        .null,
        .int(.max),
        .double(0.5),
        "text",
    ])
    func codableRoundTrip(payload: JSONValue) throws {
        let envelope = Envelope(name: "n", payload: payload, extra: ["k": "v"])
        let data = try JSONEncoder().encode(envelope)
        let decoded = try JSONDecoder().decode(Envelope.self, from: data)
        #expect(decoded == envelope)
        // The encoded form is plain JSON, not an enum-shaped wrapper.
        let reparsed = try JSONValue.parse([UInt8](data))
        #expect(reparsed["payload"] == payload)
    }

    @Test("decodes the exact JSON types")
    func codableDecodesTypes() throws {
        let data = Data(#"{"payload":[true,1,1.5,"s",null,{"k":[]}],"name":"x"}"#.utf8)
        let decoded = try JSONDecoder().decode(Envelope.self, from: data)
        #expect(decoded.payload == [true, 1, 1.5, "s", nil, ["k": []]])
        #expect(decoded.extra == nil)
    }

    @Test("encodes non-finite doubles as null")
    func codableNonFinite() throws {
        let data = try JSONEncoder().encode([JSONValue.double(.infinity)])
        #expect(String(decoding: data, as: UTF8.self) == "[null]")
    }

    @Test("description is the compact JSON text")
    func description() {
        let value: JSONValue = ["a": [1, "b"]]
        #expect("\(value)" == #"{"a":[1,"b"]}"#)
    }
}
