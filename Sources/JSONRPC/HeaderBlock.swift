/// One `Name: value` line of an LSP header block.
struct HeaderLine {
    let name: ArraySlice<UInt8>
    let value: ArraySlice<UInt8>

    /// Splits a header line, or returns `nil` when it is not one: the name
    /// must be a non-empty RFC 9110 token directly followed by `:`. Requiring
    /// a token is what tells stray text apart from a header.
    init?(_ line: [UInt8]) {
        guard let colon = line.firstIndex(of: ASCII.colon), colon > 0 else {
            return nil
        }
        let name = line[..<colon]
        guard name.allSatisfy(Self.isTokenCharacter) else {
            return nil
        }
        self.name = name
        self.value = line[(colon + 1)...]
    }

    /// Whether this is `Content-Length`, compared case-insensitively.
    var isContentLength: Bool {
        let expected = "content-length".utf8
        return name.count == expected.count
            && zip(name, expected).allSatisfy { Self.lowercased($0) == $1 }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"),
             ASCII.zero...ASCII.nine:
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// What has been learnt from the lines of one header block so far.
struct HeaderBlock {
    /// Why the block cannot be used, and how far to skip to stay in sync.
    struct Failure: Error {
        var reason: String
        /// The announced body length when it is known, so the reader can
        /// skip the body instead of misreading it as the next message.
        var skippableBodyLength: Int?
    }

    var lineCount = 0
    private var firstProblem: String?
    private var contentLengthCount = 0
    private var contentLength: Int?

    /// Remembers the first problem; later ones are usually consequences.
    mutating func note(_ problem: String) {
        if firstProblem == nil {
            firstProblem = problem
        }
    }

    mutating func addContentLength(_ rawValue: ArraySlice<UInt8>) {
        contentLengthCount += 1
        switch Self.parseLength(rawValue) {
        case .success(let length):
            contentLength = length
        case .failure(let failure):
            note(failure.reason)
        }
    }

    /// The body length once the block has ended, or why there is none.
    func bodyLength(maxMessageBytes: Int) -> Result<Int, Failure> {
        let skippable = contentLengthCount == 1 ? contentLength : nil
        if let firstProblem {
            return .failure(Failure(reason: firstProblem, skippableBodyLength: skippable))
        }
        guard contentLengthCount > 0 else {
            return .failure(Failure(reason: "missing Content-Length header"))
        }
        guard contentLengthCount == 1, let length = contentLength else {
            return .failure(Failure(reason: "more than one Content-Length header"))
        }
        guard length <= maxMessageBytes else {
            return .failure(Failure(
                reason: "Content-Length \(length) exceeds the maximum message size of \(maxMessageBytes) bytes",
                skippableBodyLength: length
            ))
        }
        return .success(length)
    }

    /// Parses a non-negative decimal integer surrounded by optional blanks.
    private static func parseLength(_ rawValue: ArraySlice<UInt8>) -> Result<Int, Failure> {
        let isBlank = { (byte: UInt8) in byte == ASCII.space || byte == ASCII.tab }
        let trimmed = rawValue.drop(while: isBlank).reversed().drop(while: isBlank).reversed()
        let text = String(decoding: trimmed.prefix(40), as: UTF8.self)
        guard !trimmed.isEmpty else {
            return .failure(Failure(reason: "empty Content-Length"))
        }
        if trimmed.first == ASCII.minus, trimmed.count > 1, trimmed.dropFirst().allSatisfy(isDigit) {
            return .failure(Failure(reason: "negative Content-Length \(text)"))
        }
        guard trimmed.allSatisfy(isDigit) else {
            return .failure(Failure(reason: "invalid Content-Length '\(text)'"))
        }
        var length = 0
        for byte in trimmed {
            let (shifted, overflowA) = length.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.addingReportingOverflow(Int(byte - ASCII.zero))
            if overflowA || overflowB {
                return .failure(Failure(reason: "Content-Length \(text) is out of range"))
            }
            length = next
        }
        return .success(length)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= ASCII.zero && byte <= ASCII.nine
    }
}
