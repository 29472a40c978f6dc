/// Splits a blocking byte stream into JSON-RPC messages.
///
/// Two framings are understood and may be mixed on one stream, decided per
/// message by its first non-whitespace byte:
/// - `{` or `[` starts a **newline-framed** message that runs to the next
///   `\n` (a trailing `\r` is dropped; at end of input the remaining bytes
///   are the message);
/// - anything else starts an **LSP header block**: `Name: value` lines
///   (names case-insensitive, `\r\n` or bare `\n` line ends) closed by an
///   empty line, which must contain exactly one `Content-Length`, followed by
///   exactly that many body bytes.
///
/// Problems are reported as ``Frame/malformed(_:_:)`` and the reader skips
/// ahead (to the end of the line, the header block, or the announced body)
/// so that every call makes progress and the stream resynchronises.
///
/// ```swift
/// var reader = MessageReader(bytes: Array("{\"a\":1}\n".utf8))
/// while let frame = reader.next() {
///     if case .message(let framing, let body) = frame { … }
/// }
/// ```
///
/// Reading from a file descriptor blocks the calling thread; run it on a
/// dedicated thread, never on Swift's cooperative pool.
public struct MessageReader: Sendable {
    /// The frame type returned by ``next()``.
    public typealias Frame = JSONRPC.Frame

    /// Longest accepted header line, excluding its line terminator. LSP
    /// headers are a few dozen bytes; the cap bounds memory on garbage input.
    public static let maxHeaderLineBytes = 8 * 1024
    /// Most header lines accepted in one header block.
    public static let maxHeaderLines = 32

    /// The default for `maxMessageBytes`: 16 MiB.
    public static let defaultMaxMessageBytes = 16 << 20

    /// Largest accepted message body (newline-framed line or Content-Length).
    public let maxMessageBytes: Int

    private enum Source: Sendable {
        case fileDescriptor(Int32)
        case memory
    }

    private let source: Source
    /// Bytes read but not consumed start at `start`; everything before it
    /// has been handed out or skipped and is dropped lazily by `compact()`.
    private var buffer: [UInt8]
    private var start = 0
    private var reachedEnd: Bool
    /// Body bytes of a rejected header-framed message still to skip, applied
    /// on the next call so the error can be reported before waiting for them.
    private var pendingSkip = 0

    private static let readChunkSize = 64 * 1024

    /// Creates a reader that pulls bytes from `fileDescriptor` with `read(2)`.
    ///
    /// The reader does not take ownership: it never closes the descriptor.
    /// A read error is treated like end of input.
    ///
    /// - Parameter maxMessageBytes: Largest accepted message body; larger
    ///   messages are skipped and reported as malformed.
    public init(fileDescriptor: Int32, maxMessageBytes: Int = defaultMaxMessageBytes) {
        self.source = .fileDescriptor(fileDescriptor)
        self.buffer = []
        self.reachedEnd = false
        self.maxMessageBytes = Self.clamped(maxMessageBytes)
    }

    /// Creates a reader over a fixed byte sequence, mainly for tests.
    public init(bytes: [UInt8], maxMessageBytes: Int = defaultMaxMessageBytes) {
        self.source = .memory
        self.buffer = bytes
        self.reachedEnd = true
        self.maxMessageBytes = Self.clamped(maxMessageBytes)
    }

    /// Keeps the limit non-negative and far enough from `Int.max` that
    /// "limit plus a line terminator" arithmetic cannot overflow.
    private static func clamped(_ limit: Int) -> Int {
        min(max(limit, 0), Int.max / 2)
    }

    /// Returns the next frame, blocking for input if needed, or `nil` once
    /// the input has ended with nothing but whitespace left.
    public mutating func next() -> Frame? {
        if pendingSkip > 0 {
            discard(count: pendingSkip)
            pendingSkip = 0
        }
        guard skipWhitespace() else {
            return nil
        }
        let first = buffer[start]
        if first == ASCII.openBrace || first == ASCII.openBracket {
            return readNewlineFramed()
        }
        return readHeaderFramed()
    }

    // MARK: - Newline framing

    private mutating func readNewlineFramed() -> Frame {
        switch readLine(limit: maxMessageBytes) {
        case .line(let body), .endOfInput(let body):
            return .message(.newline, body)
        case .tooLong:
            return .malformed(.newline, "message longer than \(maxMessageBytes) bytes")
        }
    }

    // MARK: - Header framing

    private mutating func readHeaderFramed() -> Frame {
        var block = HeaderBlock()
        readLines: while true {
            switch readLine(limit: Self.maxHeaderLineBytes) {
            case .endOfInput:
                return .malformed(.contentLength, "end of input inside a header block")
            case .tooLong:
                let problem = "header line longer than \(Self.maxHeaderLineBytes) bytes"
                if block.lineCount == 0 {
                    // Nothing header-like has been seen: treat the line as
                    // stray garbage instead of swallowing the lines after it.
                    return .malformed(.contentLength, problem)
                }
                block.lineCount += 1
                block.note(problem)
            case .line(let line):
                if line.isEmpty {
                    break readLines
                }
                block.lineCount += 1
                guard let header = HeaderLine(line) else {
                    if block.lineCount == 1 {
                        return .malformed(
                            .contentLength,
                            "expected a JSON message or a header block, found \(Self.preview(line))"
                        )
                    }
                    block.note("invalid header line \(Self.preview(line))")
                    continue
                }
                if block.lineCount > Self.maxHeaderLines {
                    block.note("more than \(Self.maxHeaderLines) header lines")
                }
                // Still recorded past the line limit: a known body length
                // lets the reader skip the body of a rejected block.
                if header.isContentLength {
                    block.addContentLength(header.value)
                }
                // Content-Type and unknown headers are ignored.
            }
        }

        switch block.bodyLength(maxMessageBytes: maxMessageBytes) {
        case .failure(let failure):
            if let skip = failure.skippableBodyLength {
                pendingSkip = skip
            }
            return .malformed(.contentLength, failure.reason)
        case .success(let length):
            return readBody(length: length)
        }
    }

    private mutating func readBody(length: Int) -> Frame {
        while buffer.count - start < length {
            guard fill() else {
                let available = buffer.count - start
                start = buffer.count
                return .malformed(
                    .contentLength,
                    "Content-Length \(length) larger than the body (\(available) bytes before end of input)"
                )
            }
        }
        let body = Array(buffer[start..<(start + length)])
        start += length
        return .message(.contentLength, body)
    }

    private static func preview(_ line: [UInt8]) -> String {
        let limit = 40
        let text = String(decoding: line.prefix(limit), as: UTF8.self)
        return line.count > limit ? "'\(text)…'" : "'\(text)'"
    }

    // MARK: - Lines

    private enum LineResult {
        /// A complete line without its `\n` or `\r\n`.
        case line([UInt8])
        /// The last bytes before end of input, lacking a line terminator.
        case endOfInput([UInt8])
        /// The line exceeded the limit and has been skipped entirely.
        case tooLong
    }

    /// Reads one line of at most `limit` content bytes, never buffering
    /// more than `limit + 2` bytes of it.
    private mutating func readLine(limit: Int) -> LineResult {
        // `limit` content bytes plus "\r\n" may legitimately be buffered.
        let window = limit + 2
        var scanned = 0
        while true {
            let searchEnd = min(buffer.count, start + window)
            if let newline = buffer[(start + scanned)..<searchEnd].firstIndex(of: ASCII.lineFeed) {
                var line = buffer[start..<newline]
                start = newline + 1
                if line.last == ASCII.carriageReturn {
                    line = line.dropLast()
                }
                return line.count > limit ? .tooLong : .line(Array(line))
            }
            scanned = searchEnd - start
            if scanned >= window {
                discardThroughNewline()
                return .tooLong
            }
            guard fill() else {
                var line = buffer[start...]
                start = buffer.count
                if line.last == ASCII.carriageReturn {
                    line = line.dropLast()
                }
                return line.count > limit ? .tooLong : .endOfInput(Array(line))
            }
        }
    }

    /// Drops input up to and including the next `\n` (or to end of input)
    /// without accumulating it.
    private mutating func discardThroughNewline() {
        repeat {
            if let newline = buffer[start...].firstIndex(of: ASCII.lineFeed) {
                start = newline + 1
                return
            }
            start = buffer.count
        } while fill()
    }

    /// Drops up to `count` bytes without accumulating them.
    private mutating func discard(count: Int) {
        var remaining = count
        repeat {
            let taken = min(remaining, buffer.count - start)
            start += taken
            remaining -= taken
        } while remaining > 0 && fill()
    }

    /// Moves past whitespace between messages. Returns `false` at end of input.
    private mutating func skipWhitespace() -> Bool {
        while true {
            while start < buffer.count, ASCII.isJSONWhitespace(buffer[start]) {
                start += 1
            }
            if start < buffer.count {
                return true
            }
            guard fill() else {
                return false
            }
        }
    }

    // MARK: - Input

    /// Appends the next chunk of input to `buffer`. Returns `false` at end of
    /// input (or on a read error, which is treated the same way).
    private mutating func fill() -> Bool {
        guard !reachedEnd, case .fileDescriptor(let descriptor) = source else {
            reachedEnd = true
            return false
        }
        compact()
        // Read into scratch memory and append with a bulk copy: growing
        // `buffer` first and trimming afterwards would initialise every
        // spare byte on every read.
        let readCount = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.readChunkSize) { chunk in
            let count = SystemIO.read(descriptor, into: chunk.baseAddress!, count: chunk.count)
            if let count, count > 0 {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[..<count]))
            }
            return count
        }
        guard let readCount, readCount > 0 else {
            reachedEnd = true
            return false
        }
        return true
    }

    /// Forgets consumed bytes once they dominate the buffer, so memory stays
    /// proportional to the message being assembled, at amortised O(1) per byte.
    private mutating func compact() {
        if start == buffer.count {
            // Keep a modest buffer for reuse, but hand back the memory of an
            // exceptionally large message.
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        } else if start >= Self.readChunkSize, start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
