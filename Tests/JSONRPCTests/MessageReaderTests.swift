import JSONRPC
import KasvuTestSupport
import Testing

/// Reads every frame from an in-memory stream.
func frames(_ text: String, maxMessageBytes: Int = MessageReader.defaultMaxMessageBytes) -> [Frame] {
    frames(bytes: text.bytes, maxMessageBytes: maxMessageBytes)
}

func frames(bytes: [UInt8], maxMessageBytes: Int = MessageReader.defaultMaxMessageBytes) -> [Frame] {
    var reader = MessageReader(bytes: bytes, maxMessageBytes: maxMessageBytes)
    var result: [Frame] = []
    while let frame = reader.next() {
        result.append(frame)
    }
    return result
}

extension Frame {
    /// Whether this is a malformed frame of the given framing.
    func isMalformed(_ framing: Framing) -> Bool {
        if case .malformed(framing, _) = self { return true }
        return false
    }

    var reason: String? {
        if case .malformed(_, let reason) = self { return reason }
        return nil
    }
}

@Suite("MessageReader: framing")
struct MessageReaderFramingTests {
    @Test("newline framing splits lines and drops \\r")
    func newlineFraming() {
        #expect(frames("{\"a\":1}\n[2]\r\n{}\n") == [
            .message(.newline, "{\"a\":1}".bytes),
            .message(.newline, "[2]".bytes),
            .message(.newline, "{}".bytes),
        ])
    }

    @Test("the last line may lack its newline")
    func newlineAtEOF() {
        #expect(frames("{}\n{\"x\":true}") == [
            .message(.newline, "{}".bytes),
            .message(.newline, "{\"x\":true}".bytes),
        ])
    }

    @Test("Content-Length framing reads exactly N bytes")
    func contentLengthFraming() {
        let stream = "Content-Length: 7\r\n\r\n{\"a\":1}Content-Length: 2\r\n\r\n[]"
        #expect(frames(stream) == [
            .message(.contentLength, "{\"a\":1}".bytes),
            .message(.contentLength, "[]".bytes),
        ])
    }

    @Test("a body may contain newlines", arguments: ["{\n\"a\": 1\n}", "[1,\r\n2]"])
    func bodyWithNewlines(body: String) {
        #expect(frames("Content-Length: \(body.utf8.count)\r\n\r\n\(body)") == [.message(.contentLength, body.bytes)])
    }

    @Test("header names are case-insensitive", arguments: ["content-length", "CONTENT-LENGTH", "Content-length", "cOnTeNt-LeNgTh"])
    func caseInsensitiveHeader(name: String) {
        #expect(frames("\(name): 2\r\n\r\n{}") == [.message(.contentLength, "{}".bytes)])
    }

    @Test("bare \\n line ends are accepted in headers")
    func bareNewlineHeaders() {
        #expect(frames("Content-Length: 2\n\n{}") == [.message(.contentLength, "{}".bytes)])
        #expect(frames("Content-Type: x\nContent-Length: 2\r\n\n{}") == [.message(.contentLength, "{}".bytes)])
    }

    @Test("Content-Type and unknown headers are ignored, blanks around the value trimmed")
    func otherHeaders() {
        let stream = "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Trace: 1\r\nContent-Length:\t 2 \r\n\r\n{}"
        #expect(frames(stream) == [.message(.contentLength, "{}".bytes)])
    }

    @Test("both framings can be mixed on one stream")
    func mixed() {
        let stream = "{\"n\":1}\nContent-Length: 7\r\n\r\n{\"n\":2}\n\n[3]\r\n\r\nContent-Length: 7\n\n{\"n\":4}{\"n\":5}"
        #expect(frames(stream) == [
            .message(.newline, "{\"n\":1}".bytes),
            .message(.contentLength, "{\"n\":2}".bytes),
            .message(.newline, "[3]".bytes),
            .message(.contentLength, "{\"n\":4}".bytes),
            .message(.newline, "{\"n\":5}".bytes),
        ])
    }

    @Test("whitespace and blank lines between messages are skipped")
    func leadingWhitespace() {
        #expect(frames("\r\n \t\n{}\n\n\r\n  Content-Length: 2\r\n\r\n[] \n\t") == [
            .message(.newline, "{}".bytes),
            .message(.contentLength, "[]".bytes),
        ])
    }

    @Test("empty or blank input yields nothing", arguments: ["", "\n", " \r\n\t "])
    func emptyInput(text: String) {
        #expect(frames(text).isEmpty)
    }

    @Test("Content-Length 0 yields an empty body")
    func zeroLength() {
        #expect(frames("Content-Length: 0\r\n\r\n{}\n") == [
            .message(.contentLength, []),
            .message(.newline, "{}".bytes),
        ])
    }

    @Test("encode produces what the reader reads back", arguments: [Framing.contentLength, .newline])
    func encodeRoundTrip(framing: Framing) {
        let bodies = ["{\"a\":1}", "[]", "{\"s\":\"é😀\"}"].map(\.bytes)
        let stream = bodies.flatMap { MessageReader.encode($0, framing: framing) }
        #expect(frames(bytes: stream) == bodies.map { .message(framing, $0) })
    }

    @Test("encode uses the exact wire format")
    func encodeFormat() {
        #expect(MessageReader.encode("{}".bytes, framing: .contentLength) == "Content-Length: 2\r\n\r\n{}".bytes)
        #expect(MessageReader.encode("{}".bytes, framing: .newline) == "{}\n".bytes)
    }
}

@Suite("MessageReader: malformed input")
struct MessageReaderMalformedTests {
    @Test("Content-Length larger than the body at end of input")
    func truncatedBody() {
        let result = frames("Content-Length: 10\r\n\r\n{\"a\":1}")
        #expect(result == [.malformed(.contentLength, "Content-Length 10 larger than the body (7 bytes before end of input)")])
    }

    @Test("invalid Content-Length values are rejected and the stream resynchronises", arguments: [
        "-5", "abc", "", "12abc", "+3", "1 2", "0x10", "99999999999999999999999999",
    ])
    func invalidContentLength(value: String) {
        let result = frames("Content-Length: \(value)\r\n\r\n{\"next\":1}\n")
        #expect(result.count == 2, "\(result)")
        #expect(result.first?.isMalformed(.contentLength) == true)
        #expect(result.last == .message(.newline, "{\"next\":1}".bytes))
    }

    @Test("negative Content-Length is called out")
    func negativeReason() {
        #expect(frames("Content-Length: -5\r\n\r\n").first?.reason?.contains("negative") == true)
    }

    @Test("a Content-Length above the limit is rejected and its body skipped")
    func tooLarge() {
        let body = String(repeating: "x", count: 100)
        let stream = "Content-Length: 100\r\n\r\n\(body)Content-Length: 2\r\n\r\n{}"
        let result = frames(stream, maxMessageBytes: 50)
        #expect(result.count == 2)
        #expect(result.first?.isMalformed(.contentLength) == true)
        #expect(result.first?.reason?.contains("100") == true)
        #expect(result.last == .message(.contentLength, "{}".bytes))
    }

    @Test("a huge Content-Length fails and then reaches end of input")
    func hugeContentLength() {
        let result = frames("Content-Length: 9223372036854775807\r\n\r\n{}")
        #expect(result.count == 1)
        #expect(result.first?.isMalformed(.contentLength) == true)
    }

    @Test("a header block without Content-Length is rejected")
    func missingContentLength() {
        let result = frames("Content-Type: application/json\r\n\r\n{}\n")
        #expect(result.first == .malformed(.contentLength, "missing Content-Length header"))
        #expect(result.last == .message(.newline, "{}".bytes))
    }

    @Test("two Content-Length headers are rejected")
    func duplicateContentLength() {
        let result = frames("Content-Length: 2\r\nContent-Length: 2\r\n\r\n")
        #expect(result.count == 1)
        #expect(result.first?.isMalformed(.contentLength) == true)
    }

    @Test("end of input inside a header block", arguments: [
        "Content-Length: 2", "Content-Length: 2\r\n", "Content-Type: x\r\nContent-Le",
    ])
    func eofInHeaders(stream: String) {
        let result = frames(stream)
        #expect(result.count == 1)
        #expect(result.first?.isMalformed(.contentLength) == true)
    }

    @Test("a stray garbage line is reported on its own, then reading resumes")
    func garbageLine() {
        let result = frames("hello world\n{\"ok\":true}\nnot json either\r\n")
        #expect(result.count == 3)
        #expect(result[0].isMalformed(.contentLength))
        #expect(result[1] == .message(.newline, "{\"ok\":true}".bytes))
        #expect(result[2].isMalformed(.contentLength))
    }

    @Test("an invalid line inside a header block skips the block and its announced body")
    func invalidLineInBlock() {
        let result = frames("Content-Length: 5\r\nthis is not a header\r\n\r\nhello{}\n")
        #expect(result.count == 2)
        #expect(result.first?.isMalformed(.contentLength) == true)
        #expect(result.last == .message(.newline, "{}".bytes))
    }

    @Test("a header line longer than 8 KiB inside a block rejects the block")
    func longHeaderLine() {
        let longValue = String(repeating: "a", count: 9_000)
        let result = frames("Content-Length: 2\r\nX-Long: \(longValue)\r\n\r\n{}[1]\n")
        #expect(result.count == 2)
        #expect(result.first?.reason?.contains("longer than 8192") == true)
        #expect(result.last == .message(.newline, "[1]".bytes))
    }

    @Test("an 8 KiB first line is treated as a stray line, not the start of a block")
    func longFirstLine() {
        let longValue = String(repeating: "a", count: 9_000)
        let result = frames("X-Long: \(longValue)\r\nContent-Length: 2\r\n\r\n{}[1]\n")
        #expect(result.count == 3)
        #expect(result.first?.isMalformed(.contentLength) == true)
        #expect(result.dropFirst() == [.message(.contentLength, "{}".bytes), .message(.newline, "[1]".bytes)])
    }

    @Test("a long garbage line is skipped without buffering it as a header")
    func longGarbageLine() {
        let garbage = String(repeating: "z", count: 20_000)
        let result = frames("\(garbage)\n{}\n")
        #expect(result.count == 2)
        #expect(result.first?.isMalformed(.contentLength) == true)
        #expect(result.last == .message(.newline, "{}".bytes))
    }

    @Test("more than 32 header lines are rejected")
    func tooManyHeaders() {
        let headers = (0..<40).map { "X-H\($0): v\r\n" }.joined()
        let result = frames("\(headers)Content-Length: 2\r\n\r\n{}[2]\n")
        #expect(result.count == 2)
        #expect(result.first?.isMalformed(.contentLength) == true)
        #expect(result.last == .message(.newline, "[2]".bytes))
    }

    @Test("exactly 32 header lines are fine")
    func thirtyTwoHeaders() {
        let headers = (0..<31).map { "X-H\($0): v\r\n" }.joined()
        #expect(frames("\(headers)Content-Length: 2\r\n\r\n{}") == [.message(.contentLength, "{}".bytes)])
    }

    @Test("an oversized newline-framed message is skipped to its end")
    func oversizedLine() {
        let big = "[" + String(repeating: "1,", count: 100) + "1]"
        let result = frames("\(big)\n{\"small\":1}\n\(big)", maxMessageBytes: 64)
        #expect(result == [
            .malformed(.newline, "message longer than 64 bytes"),
            .message(.newline, "{\"small\":1}".bytes),
            .malformed(.newline, "message longer than 64 bytes"),
        ])
    }

    @Test("a line exactly at the limit is accepted, with or without \\r")
    func lineAtLimit() {
        let body = "[" + String(repeating: "1", count: 62) + "]"
        #expect(frames("\(body)\r\n\(body)\n\(body)", maxMessageBytes: 64) == Array(repeating: .message(.newline, body.bytes), count: 3))
    }

    @Test("binary garbage never hangs and always progresses")
    func binaryGarbage() {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let count = Int.random(in: 0..<300, using: &random)
            let bytes = (0..<count).map { _ in
                // Bias towards bytes that matter to the framing logic.
                Bool.random(using: &random)
                    ? Array("\r\n:{[ C".utf8).randomElement(using: &random)!
                    : UInt8.random(in: 0...255, using: &random)
            }
            // Each call consumes at least one byte, so frames <= bytes.
            #expect(frames(bytes: bytes, maxMessageBytes: 32).count <= bytes.count)
        }
    }
}
