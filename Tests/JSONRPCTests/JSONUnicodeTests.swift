import JSONRPC
import Testing

@Suite("JSON strings: UTF-8 and surrogates")
struct JSONUnicodeTests {
    /// Wraps raw bytes in quotes so that they are a string's contents.
    private func quoted(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(ascii: "\"")] + bytes + [UInt8(ascii: "\"")]
    }

    static let invalidUTF8: [[UInt8]] = [
        [0x80],                   // lone continuation byte
        [0xBF],
        [0xC0, 0xAF],             // overlong "/"
        [0xC1, 0xBF],             // overlong
        [0xE0, 0x80, 0xAF],       // overlong three-byte
        [0xF0, 0x80, 0x80, 0xAF], // overlong four-byte
        [0xED, 0xA0, 0x80],       // UTF-8 encoded high surrogate
        [0xED, 0xBF, 0xBF],       // UTF-8 encoded low surrogate
        [0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0xF5, 0x80, 0x80, 0x80],
        [0xFE],
        [0xFF],
        [0xC3],                   // truncated before the closing quote
        [0xE2, 0x82],
        [0xF0, 0x9F, 0x98],
        [0xC3, 0x41],             // continuation byte missing
        [0xE2, 0x28, 0xA1],
    ]

    @Test("rejects invalid UTF-8 inside strings", arguments: invalidUTF8)
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(quoted(bytes))
        }
    }

    @Test("rejects non-ASCII bytes outside strings")
    func rejectsBytesOutsideStrings() {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse([0x5B, 0xC3, 0xA9, 0x5D])
        }
    }

    @Test("accepts every UTF-8 sequence length, including the extremes", arguments: [
        "\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}",
    ])
    func acceptsValidUTF8(text: String) throws {
        #expect(try JSONValue.parse(quoted(text.bytes)) == .string(text))
    }

    @Test("decodes surrogate pairs", arguments: [
        (#""\uD834\uDD1E""#, "𝄞"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        (#""\uD800\uDC00""#, "\u{10000}"),
        (#""a\ud83d\ude00b""#, "a😀b"),
    ])
    func surrogatePairs(text: String, expected: String) throws {
        #expect(try JSONValue.parse(text.utf8) == .string(expected))
    }

    @Test("rejects lone or mismatched surrogates", arguments: [
        #""\uD834""#,
        #""\uD834x""#,
        #""\uD834\n""#,
        #""\uD834\u0041""#,
        #""\uD834\uD834""#,
        #""\uDD1E""#,
        #""\uDD1E\uD834""#,
        #""\uDFFF""#,
    ])
    func loneSurrogates(text: String) {
        #expect(throws: JSONParseError.self) {
            try JSONValue.parse(text.utf8)
        }
    }

    @Test("rejects every unescaped control character")
    func controlCharacters() throws {
        for byte in UInt8(0)..<0x20 {
            #expect(throws: JSONParseError.self, "byte \(byte)") {
                try JSONValue.parse(quoted([byte]))
            }
        }
        // DEL is not a JSON control character.
        #expect(try JSONValue.parse(quoted([0x7F])) == "\u{7F}")
    }
}
