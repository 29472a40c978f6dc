import JSONRPC
import Testing

@Suite("JSON numbers")
struct JSONNumberTests {
    @Test("integers that fit Int64 stay integers", arguments: [
        ("9223372036854775807", Int64.max),
        ("-9223372036854775808", Int64.min),
        ("9007199254740993", 9_007_199_254_740_993),
        ("0", 0),
        ("-1", -1),
    ])
    func int64Range(text: String, expected: Int64) throws {
        #expect(try JSONValue.parse(text.utf8) == .int(expected))
    }

    @Test("integers outside Int64 become doubles", arguments: [
        ("9223372036854775808", 9_223_372_036_854_775_808.0),
        ("-9223372036854775809", -9_223_372_036_854_775_809.0),
        ("123456789012345678901234567890", 1.2345678901234568e29),
    ])
    func beyondInt64(text: String, expected: Double) throws {
        #expect(try JSONValue.parse(text.utf8) == .double(expected))
    }

    @Test("fractions and exponents are doubles", arguments: [
        ("1.0", 1.0),
        ("1e0", 1.0),
        ("-2.5E-3", -0.0025),
        ("1e+2", 100.0),
        ("0.1", 0.1),
        ("1.7976931348623157e308", Double.greatestFiniteMagnitude),
        ("5e-324", .leastNonzeroMagnitude),
        ("1e-400", 0.0),
    ])
    func doubles(text: String, expected: Double) throws {
        #expect(try JSONValue.parse(text.utf8) == .double(expected))
    }

    @Test("numbers too large for Double are rejected", arguments: ["1e400", "-1e400", "2e308"])
    func overflow(text: String) {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(text.utf8)
        }
    }

    @Test("intValue accepts integral doubles only")
    func intValueConversion() {
        #expect(JSONValue.double(3.0).intValue == 3)
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.double(1e300).intValue == nil)
        #expect(JSONValue.int(5).doubleValue == 5.0)
        #expect(JSONValue.string("5").intValue == nil)
    }
}
