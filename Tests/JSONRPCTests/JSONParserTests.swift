import JSONRPC
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    static let validCorpus: [(String, JSONValue)] = [
        ("null", .null),
        ("true", true),
        ("false", false),
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("-17", -17),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1e2", .double(100)),
        ("1E+2", .double(100)),
        ("25e-1", 2.5),
        (#""""#, ""),
        (#""plain""#, "plain"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\u0000""#, "\u{0}"),
        (#""\ud83d\ude00""#, "😀"),
        (#""héllo 😀 中文""#, "héllo 😀 中文"),
        ("[]", []),
        ("{}", [:]),
        (" \t\r\n[ 1 , \"a\" , null ] \n", [1, "a", nil]),
        (#"{"a":{"b":[true,{"c":null}]}}"#, ["a": ["b": [true, ["c": nil]]]]),
        (#"{"k":1,"k":2}"#, ["k": 2]),
        (#"[[],[[]],{}]"#, [[], [[]], [:]]),
    ]

    @Test("accepts valid JSON", arguments: validCorpus)
    func acceptsValid(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(text.utf8) == expected)
    }

    static let invalidCorpus: [String] = [
        "",
        "   ",
        "nul",
        "True",
        "NaN",
        "Infinity",
        "-Infinity",
        "01",
        "-01",
        "00",
        "+1",
        ".5",
        "1.",
        "1.e3",
        "1e",
        "1e+",
        "-",
        "0x10",
        "1 2",
        "[1,]",
        "[,1]",
        "[1 2]",
        "[",
        "]",
        "{",
        #"{"a"}"#,
        #"{"a":}"#,
        #"{"a":1,}"#,
        #"{a:1}"#,
        #"{'a':1}"#,
        #"{"a" 1}"#,
        #"{1:2}"#,
        #"""#,
        #""abc"#,
        #""\x""#,
        #""\u12""#,
        #""\u12G4""#,
        "\"tab\there\"",
        "\"line\nbreak\"",
        "\"\u{1F}\"",
        "[1]x",
        "{} {}",
        "\u{FEFF}{}",
        "/* comment */ 1",
        "[1] // comment",
    ]

    @Test("rejects invalid JSON", arguments: invalidCorpus)
    func rejectsInvalid(text: String) {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(text.utf8)
        }
    }

    @Test("reports the offset of the first problem", arguments: [
        ("[1,]", 3),
        ("{\"a\":1,}", 7),
        ("[1] x", 4),
        ("\"ab\u{01}\"", 3),
        ("[01]", 1),
        ("", 0),
    ])
    func errorOffsets(text: String, offset: Int) {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(text.utf8)
        }
        do {
            _ = try JSONValue.parse(text.utf8)
        } catch {
            #expect(error.offset == offset, "\(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test("accepts collections without contiguous storage")
    func nonContiguousInput() throws {
        let bytes = #"{"a":[1,2]}"#.utf8.lazy.map { $0 }
        #expect(try JSONValue.parse(bytes) == ["a": [1, 2]])
    }

    @Test("leaves the rest of a string intact around escapes")
    func mixedEscapesAndRuns() throws {
        let value = try JSONValue.parse(#""ab\ncd\u00e9fg\\h""#.utf8)
        #expect(value == "ab\ncdéfg\\h")
    }
}
