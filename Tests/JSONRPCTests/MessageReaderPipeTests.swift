import Foundation
import JSONRPC
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` into a real pipe from another thread, `pieceSize` bytes per
/// `write(2)`, and reads them back with a file-descriptor `MessageReader`.
func framesThroughPipe(_ bytes: [UInt8], pieceSize: Int, maxMessageBytes: Int = MessageReader.defaultMaxMessageBytes) -> [Frame] {
    let pipe = PipePair()
    let writer = Thread {
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + pieceSize, bytes.count)
            writeAll(pipe.writeEnd, Array(bytes[offset..<end]))
            offset = end
        }
        close(pipe.writeEnd)
    }
    writer.start()
    var reader = MessageReader(fileDescriptor: pipe.readEnd, maxMessageBytes: maxMessageBytes)
    var result: [Frame] = []
    while let frame = reader.next() {
        result.append(frame)
    }
    // End of input means the writer has closed its end and is done.
    close(pipe.readEnd)
    return result
}

@Suite("MessageReader: chunked delivery through a pipe")
struct MessageReaderPipeTests {
    static let stream =
        "\r\n{\"n\":1}\r\nContent-Length: 7\r\ncontent-type: x\r\n\r\n{\"n\":2}[3]\nContent-Length: x\n\n{\"n\":4}\n"
        + "garbage\n" + "Content-Length: 9\r\n\r\n{\"n\":5}"

    @Test("chunked delivery gives the same frames as one buffer", arguments: [1, 2, 3, 7, 64, 4096])
    func chunked(pieceSize: Int) {
        let expected = frames(Self.stream)
        #expect(expected.count == 7)
        #expect(framesThroughPipe(Self.stream.bytes, pieceSize: pieceSize) == expected)
    }

    @Test("messages larger than one read chunk", arguments: [Framing.contentLength, .newline])
    func largeMessages(framing: Framing) {
        let body = ("[" + (0..<60_000).map(String.init).joined(separator: ",") + "]").bytes
        #expect(body.count > 300_000)
        let stream = MessageReader.encode(body, framing: framing) + MessageReader.encode("{}".bytes, framing: framing)
        #expect(framesThroughPipe(stream, pieceSize: 10_000) == [.message(framing, body), .message(framing, "{}".bytes)])
    }

    @Test("an oversized line is skipped across many reads")
    func oversizedAcrossReads() {
        let big = "[" + String(repeating: "0,", count: 100_000) + "0]"
        let stream = "\(big)\n{}\n".bytes
        #expect(framesThroughPipe(stream, pieceSize: 777, maxMessageBytes: 1_000) == [
            .malformed(.newline, "message longer than 1000 bytes"),
            .message(.newline, "{}".bytes),
        ])
    }

    @Test("a truncated body is reported once the writer closes")
    func truncatedThroughPipe() {
        let result = framesThroughPipe("Content-Length: 100\r\n\r\n{}".bytes, pieceSize: 3)
        #expect(result == [.malformed(.contentLength, "Content-Length 100 larger than the body (2 bytes before end of input)")])
    }
}
