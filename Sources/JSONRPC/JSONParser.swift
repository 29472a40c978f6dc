/// A strict, iterative RFC 8259 parser over a byte buffer.
///
/// Containers are tracked on an explicit heap-allocated stack rather than the
/// call stack, so hostile input such as a million `[` can only hit the
/// `maxDepth` limit and never overflow the thread's stack.
struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private var index = 0
    /// Reused between strings so that each string costs one allocation (the
    /// final `String`) instead of one per string plus growth.
    private var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses exactly one value surrounded by optional whitespace.
    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else {
            throw unexpected("expected end of input after the JSON value")
        }
        return value
    }

    // MARK: - Values and containers

    /// A container whose closing bracket has not been seen yet.
    private struct OpenContainer {
        var isObject: Bool
        var elements: [JSONValue] = []
        var members: [String: JSONValue] = [:]
        /// The key the next object member value belongs to.
        var pendingKey = ""
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        var stack: [OpenContainer] = []
        while true {
            // Parse the start of a value. An opened container with content
            // is pushed and the loop comes back here for its first element.
            skipWhitespace()
            guard index < bytes.count else {
                throw JSONParseError(offset: index, message: "unexpected end of input, expected a value")
            }
            var value: JSONValue
            switch bytes[index] {
            case ASCII.openBrace:
                try checkDepth(stack.count)
                index += 1
                skipWhitespace()
                if peek() == ASCII.closeBrace {
                    index += 1
                    value = .object([:])
                } else {
                    let key = try parseMemberKey()
                    stack.append(OpenContainer(isObject: true, pendingKey: key))
                    continue
                }
            case ASCII.openBracket:
                try checkDepth(stack.count)
                index += 1
                skipWhitespace()
                if peek() == ASCII.closeBracket {
                    index += 1
                    value = .array([])
                } else {
                    stack.append(OpenContainer(isObject: false))
                    continue
                }
            case ASCII.quote:
                index += 1
                value = .string(try parseStringBody())
            case ASCII.t:
                try expectLiteral("true")
                value = .bool(true)
            case ASCII.f:
                try expectLiteral("false")
                value = .bool(false)
            case ASCII.n:
                try expectLiteral("null")
                value = .null
            case ASCII.minus, ASCII.zero...ASCII.nine:
                value = try parseNumber()
            default:
                throw unexpected("expected a value")
            }

            // Hand the finished value to its container, closing every
            // container that ends right after it.
            while true {
                guard !stack.isEmpty else { return value }
                let top = stack.count - 1
                let isObject = stack[top].isObject
                if isObject {
                    let key = stack[top].pendingKey
                    // Assignment means a repeated key keeps its last value.
                    stack[top].members[key] = value
                } else {
                    stack[top].elements.append(value)
                }
                skipWhitespace()
                guard let byte = peek() else {
                    throw JSONParseError(
                        offset: index,
                        message: "unexpected end of input inside \(isObject ? "an object" : "an array")"
                    )
                }
                if byte == ASCII.comma {
                    index += 1
                    if isObject {
                        skipWhitespace()
                        stack[top].pendingKey = try parseMemberKey()
                    }
                    break
                }
                guard byte == (isObject ? ASCII.closeBrace : ASCII.closeBracket) else {
                    throw unexpected(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
                index += 1
                let closed = stack.removeLast()
                value = closed.isObject ? .object(closed.members) : .array(closed.elements)
            }
        }
    }

    private func checkDepth(_ openContainers: Int) throws(JSONParseError) {
        guard openContainers < maxDepth else {
            throw JSONParseError(offset: index, message: "nesting deeper than \(maxDepth) levels")
        }
    }

    /// Parses `"key"` and the following `:`; `index` is at the opening quote.
    private mutating func parseMemberKey() throws(JSONParseError) -> String {
        guard peek() == ASCII.quote else {
            throw unexpected("expected a string as object key")
        }
        index += 1
        let key = try parseStringBody()
        skipWhitespace()
        guard peek() == ASCII.colon else {
            throw unexpected("expected ':' after object key")
        }
        index += 1
        return key
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            bytes.count - start >= count && (0..<count).allSatisfy { bytes[start + $0] == expected[$0] }
        }
        guard matches else {
            throw JSONParseError(offset: start, message: "invalid literal, expected '\(literal)'")
        }
        index += count
    }

    // MARK: - Strings

    /// Parses the rest of a string; `index` is just past the opening quote.
    private mutating func parseStringBody() throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        while true {
            // Copy runs of plain ASCII in bulk; they are the common case.
            let runStart = index
            while index < bytes.count, Self.isPlainASCII(bytes[index]) {
                index += 1
            }
            if index > runStart {
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            }
            guard index < bytes.count else {
                throw JSONParseError(offset: index, message: "unterminated string")
            }
            let byte = bytes[index]
            switch byte {
            case ASCII.quote:
                index += 1
                // Every byte in `scratch` was validated, so decoding cannot
                // substitute replacement characters.
                return String(decoding: scratch, as: UTF8.self)
            case ASCII.backslash:
                try parseEscape()
            case 0..<0x20:
                throw JSONParseError(
                    offset: index,
                    message: "unescaped control character \(Self.hex(byte)) in string"
                )
            default:
                try copyMultiByteScalar()
            }
        }
    }

    private static func isPlainASCII(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x80 && byte != ASCII.quote && byte != ASCII.backslash
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629 table, so overlong
    /// forms, surrogates and values above U+10FFFF are rejected) and copies it.
    private mutating func copyMultiByteScalar() throws(JSONParseError) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default:
            throw JSONParseError(offset: index, message: "invalid UTF-8 byte \(Self.hex(lead))")
        }
        for offset in 1..<length {
            let position = index + offset
            guard position < bytes.count else {
                throw JSONParseError(offset: position, message: "truncated UTF-8 sequence")
            }
            let allowed = offset == 1 ? secondRange : 0x80...0xBF
            guard allowed.contains(bytes[position]) else {
                throw JSONParseError(offset: position, message: "invalid UTF-8 continuation byte \(Self.hex(bytes[position]))")
            }
        }
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + length)]))
        index += length
    }

    /// Parses one escape sequence; `index` is at the backslash.
    private mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard let letter = peek() else {
            throw JSONParseError(offset: index, message: "unterminated string")
        }
        index += 1
        switch letter {
        case ASCII.quote: scratch.append(ASCII.quote)
        case ASCII.backslash: scratch.append(ASCII.backslash)
        case ASCII.slash: scratch.append(ASCII.slash)
        case ASCII.b: scratch.append(0x08)
        case ASCII.f: scratch.append(0x0C)
        case ASCII.n: scratch.append(0x0A)
        case ASCII.r: scratch.append(0x0D)
        case ASCII.t: scratch.append(0x09)
        case ASCII.u:
            let unit = try parseHex4()
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate is only meaningful as the first half of a
                // pair; anything else would produce invalid Unicode.
                guard index + 1 < bytes.count,
                      bytes[index] == ASCII.backslash,
                      bytes[index + 1] == ASCII.u
                else {
                    throw JSONParseError(offset: escapeStart, message: "lone high surrogate in \\u escape")
                }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONParseError(offset: escapeStart, message: "high surrogate not followed by a low surrogate")
                }
                appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
            case 0xDC00...0xDFFF:
                throw JSONParseError(offset: escapeStart, message: "lone low surrogate in \\u escape")
            default:
                appendUTF8(unit)
            }
        default:
            throw JSONParseError(offset: escapeStart, message: "invalid escape sequence")
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = Self.hexDigitValue(byte) else {
                throw JSONParseError(offset: index, message: "expected four hexadecimal digits in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private static func hexDigitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case ASCII.zero...ASCII.nine: return UInt32(byte - ASCII.zero)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// Appends a code point known to be a valid Unicode scalar.
    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    // MARK: - Numbers

    /// Parses `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var isInteger = true
        if peek() == ASCII.minus {
            index += 1
        }
        guard let first = peek(), Self.isDigit(first) else {
            throw unexpected("expected a digit")
        }
        index += 1
        if first == ASCII.zero, let next = peek(), Self.isDigit(next) {
            throw JSONParseError(offset: start, message: "leading zeros are not allowed in numbers")
        }
        skipDigits()
        if peek() == ASCII.dot {
            isInteger = false
            index += 1
            try expectDigit("expected a digit after the decimal point")
        }
        if let byte = peek(), byte == ASCII.e || byte == ASCII.capitalE {
            isInteger = false
            index += 1
            if let sign = peek(), sign == ASCII.plus || sign == ASCII.minus {
                index += 1
            }
            try expectDigit("expected a digit in the exponent")
        }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        if isInteger, let value = Self.int64(text) {
            return .int(value)
        }
        // The grammar was checked above, so `Double.init` only ever sees
        // JSON-shaped text (never "nan", "inf" or hex floats).
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw JSONParseError(offset: start, message: "number out of range")
        }
        return .double(value)
    }

    private mutating func expectDigit(_ message: String) throws(JSONParseError) {
        guard let byte = peek(), Self.isDigit(byte) else {
            throw unexpected(message)
        }
        skipDigits()
    }

    private mutating func skipDigits() {
        while let byte = peek(), Self.isDigit(byte) {
            index += 1
        }
    }

    /// Converts validated integer text, or returns `nil` on overflow.
    ///
    /// Accumulating negatively lets `Int64.min` through, whose magnitude does
    /// not fit in a positive `Int64`.
    private static func int64(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let isNegative = text.first == ASCII.minus
        var accumulator: Int64 = 0
        for byte in text.dropFirst(isNegative ? 1 : 0) {
            let (shifted, overflowA) = accumulator.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.subtractingReportingOverflow(Int64(byte - ASCII.zero))
            if overflowA || overflowB { return nil }
            accumulator = next
        }
        if isNegative { return accumulator }
        return accumulator == .min ? nil : -accumulator
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= ASCII.zero && byte <= ASCII.nine
    }

    // MARK: - Helpers

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), ASCII.isJSONWhitespace(byte) {
            index += 1
        }
    }

    /// An error about the byte at `index` (or end of input).
    private func unexpected(_ expectation: String) -> JSONParseError {
        guard let byte = peek() else {
            return JSONParseError(offset: index, message: "unexpected end of input, \(expectation)")
        }
        let shown = byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : Self.hex(byte)
        return JSONParseError(offset: index, message: "\(expectation), found \(shown)")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "0x0\(digits)" : "0x\(digits)"
    }
}
