import JSONRPC
import KasvuTestSupport
import Testing

@Suite("JSON serialization")
struct JSONSerializationTests {
    @Test("output is compact with sorted keys", arguments: [
        (["b": 1, "a": [true, nil], "c": ["z": 0, "y": 1]] as JSONValue, #"{"a":[true,null],"b":1,"c":{"y":1,"z":0}}"#),
        ([] as JSONValue, "[]"),
        ([:] as JSONValue, "{}"),
        (.int(.min), "-9223372036854775808"),
        (["é": 1, "z": 2, "A": 3, "😀": 4] as JSONValue, #"{"A":3,"z":2,"é":1,"😀":4}"#),
    ])
    func compactSorted(value: JSONValue, expected: String) {
        #expect(value.jsonString == expected)
        #expect(value.serialized() == expected.bytes)
    }

    @Test("strings are escaped correctly")
    func escaping() {
        let value = JSONValue.string("q\" b\\ n\n r\r t\t \u{08}\u{0C}\u{00}\u{1F}\u{7F} / é 😀")
        #expect(value.jsonString == #""q\" b\\ n\n r\r t\t \b\f\u0000\u001f\u007f / é 😀""#)
    }

    @Test("doubles print so they round-trip", arguments: [
        (1.0, "1.0"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (1e300, "1e+300"),
        (.leastNonzeroMagnitude, "5e-324"),
        (-0.0, "-0.0"),
        (123456.789, "123456.789"),
    ])
    func doubleText(value: Double, expected: String) throws {
        #expect(JSONValue.double(value).jsonString == expected)
        let reparsed = try JSONValue.parse(expected.utf8)
        #expect(reparsed.doubleValue?.bitPattern == value.bitPattern)
    }

    @Test("non-finite doubles become null", arguments: [Double.nan, .infinity, -.infinity])
    func nonFinite(value: Double) {
        #expect(JSONValue.double(value).jsonString == "null")
        #expect(JSONValue.array([.double(value)]).jsonString == "[null]")
    }

    @Test("parse(serialized(x)) == x for generated values", arguments: [1, 2, 3, 4] as [UInt64])
    func generatedRoundTrip(seed: UInt64) throws {
        var generator = JSONValueGenerator(seed: seed)
        for _ in 0..<250 {
            let value = generator.value(maxDepth: 4)
            let bytes = value.serialized()
            let reparsed = try JSONValue.parse(bytes)
            #expect(reparsed == value, "seed \(seed): \(value.jsonString)")
            // Serialization is deterministic, so a second pass is byte-identical.
            #expect(reparsed.serialized() == bytes)
        }
    }

    @Test("doubles keep their exact bit pattern through a round trip")
    func doubleBitPatterns() throws {
        var random = SeededGenerator(seed: 99)
        for _ in 0..<2_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            let reparsed = try JSONValue.parse(JSONValue.double(value).serialized())
            guard case .double(let back) = reparsed else {
                Issue.record("\(value) came back as \(reparsed)")
                continue
            }
            #expect(back.bitPattern == value.bitPattern, "\(value)")
        }
    }

    @Test("deep values from the parser serialize back")
    func deepRoundTrip() throws {
        let text = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try JSONValue.parse(text.utf8).jsonString == text)
    }
}
