/// The one strict pull reader over JSON bytes (RFC 8259, UTF-8), shared by the sync wire
/// format and the JSON-RPC messages: one set of rules, one nesting limit.
///
/// It refuses invalid UTF-8, raw control characters, lone surrogates, leading zeros, numbers
/// too large for a `Double` and nesting deeper than its limit; readers of fixed shapes (the
/// sync types) pull exactly what they expect and skip unknown members, so that newer peers can
/// add fields. Foundation's `JSONDecoder` dominated every sync profile before it.
///
/// ```swift
/// let state = try JSONReader.read(bytes) { reader in try RecordState(reading: &reader) }
/// ```
// Holds a pointer valid only inside `read`: the initializer is private, so a reader exists only
// within that call.
public struct JSONReader {
    /// The nesting limit of every JSON document Kasvu reads: `[]` is one level. Deep enough for
    /// any message Kasvu exchanges, shallow enough that recursion over a value (destroying it,
    /// ``skipValue()``) stays far from the stack's end.
    public static let maxDepth = 128

    private let bytes: UnsafeBufferPointer<UInt8>
    private let depthLimit: Int
    /// The next byte to read.
    public private(set) var index = 0
    /// How many containers are open.
    public private(set) var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.depthLimit = maxDepth
    }

    /// Reads one whole document with `body`; anything but whitespace after it is an error.
    public static func read<Bytes: Collection<UInt8>, T>(_ bytes: Bytes, maxDepth: Int = JSONReader.maxDepth,
                                                         _ body: (inout JSONReader) throws -> T) throws -> T {
        let result = try bytes.withContiguousStorageIfAvailable { buffer in try readDocument(buffer, maxDepth, body) }
        return try result ?? Array(bytes).withUnsafeBufferPointer { buffer in try readDocument(buffer, maxDepth, body) }
    }

    private static func readDocument<T>(_ buffer: UnsafeBufferPointer<UInt8>, _ maxDepth: Int,
                                        _ body: (inout JSONReader) throws -> T) throws -> T {
        var reader = JSONReader(buffer, maxDepth: maxDepth)
        let value = try body(&reader)
        reader.skipWhitespace()
        guard reader.index == buffer.count else { throw reader.syntax("unexpected text after the JSON value") }
        return value
    }

    // MARK: - Structure

    /// A place in the document to come back to: the byte and the nesting there.
    public struct Position: Sendable, Hashable {
        let index: Int
        let depth: Int
    }

    public var position: Position { Position(index: index, depth: depth) }

    /// Goes back to a position read earlier, to read a value again.
    public mutating func rewind(to position: Position) {
        precondition(position.index >= 0 && position.index <= bytes.count, "can only rewind to a position of this document")
        index = position.index
        depth = position.depth
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next significant byte, not consumed; nil at the end.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func expect(_ byte: UInt8) throws {
        guard peek() == byte else {
            throw syntax("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        index += 1
    }

    /// Starts an object: `true` when it has members (then read the first key).
    public mutating func beginObject() throws -> Bool {
        guard peek() == UInt8(ascii: "{") else { throw shape("expected an object") }
        try open()
        if peek() == UInt8(ascii: "}") { index += 1; depth -= 1; return false }
        return true
    }

    /// Starts an array: `true` when it has elements.
    public mutating func beginArray() throws -> Bool {
        guard peek() == UInt8(ascii: "[") else { throw shape("expected an array") }
        try open()
        if peek() == UInt8(ascii: "]") { index += 1; depth -= 1; return false }
        return true
    }

    /// Consumes an opening bracket, one level deeper; the error points at the bracket.
    private mutating func open() throws {
        guard depth < depthLimit else { throw syntax("nested more than \(depthLimit) levels deep") }
        depth += 1
        index += 1
    }

    /// After a member or element: `true` when another follows, `false` at the closing bracket.
    public mutating func next(closing: UInt8) throws -> Bool {
        switch peek() {
        case UInt8(ascii: ","): index += 1; return true
        case closing: index += 1; depth -= 1; return false
        default: throw syntax("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
        }
    }

    /// A member name and its colon.
    public mutating func key() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a member name") }
        let name = try stringBody()
        try expect(UInt8(ascii: ":"))
        return name
    }

    /// Calls `body` for each member of an object, with the member's name.
    public mutating func members(_ body: (inout JSONReader, String) throws -> Void) throws {
        guard try beginObject() else { return }
        repeat {
            let name = try key()
            try body(&self, name)
        } while try next(closing: UInt8(ascii: "}"))
    }

    /// Calls `body` for each element of an array.
    public mutating func elements(_ body: (inout JSONReader) throws -> Void) throws {
        guard try beginArray() else { return }
        repeat { try body(&self) } while try next(closing: UInt8(ascii: "]"))
    }

    // MARK: - Scalars

    public mutating func string() throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw shape("expected a string") }
        return try stringBody()
    }

    /// Whether the next value is `null` (consumed when it is).
    public mutating func null() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    public mutating func bool() throws -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw shape("expected true or false")
        }
    }

    public mutating func int64() throws -> Int64 {
        let (negative, magnitude) = try integer()
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw shape("integer out of range") }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw shape("integer out of range") }
        return Int64(magnitude)
    }

    public mutating func uint64() throws -> UInt64 {
        let start = index
        let (negative, magnitude) = try integer()
        guard !negative || magnitude == 0 else { index = start; throw shape("expected a non-negative integer") }
        return magnitude
    }

    public mutating func int() throws -> Int {
        let value = try int64()
        guard let result = Int(exactly: value) else { throw shape("integer out of range") }
        return result
    }

    /// The kind of the next value, by its first byte.
    public enum Kind { case string, number, bool, null, array, object }

    public mutating func nextKind() throws -> Kind {
        guard let byte = peek() else { throw syntax("unexpected end of input, expected a value") }
        return switch byte {
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .bool
        case UInt8(ascii: "n"): .null
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "{"): .object
        default: throw syntax("expected a JSON value")
        }
    }

    /// Skips one value of any kind, checking its syntax. Recursive, bounded by the nesting limit.
    public mutating func skipValue() throws {
        switch try nextKind() {
        case .string: _ = try stringBody()
        case .number: _ = try number()  // the same range rule as a number that is kept
        case .bool: _ = try bool()
        case .null: _ = try null()
        case .array:
            guard try beginArray() else { return }
            repeat { try skipValue() } while try next(closing: UInt8(ascii: "]"))
        case .object:
            guard try beginObject() else { return }
            repeat {
                _ = try key()
                try skipValue()
            } while try next(closing: UInt8(ascii: "}"))
        }
    }

    /// A number of any form: an integer that fits `Int64` stays one; anything else (a fraction,
    /// an exponent, a larger integer) is a `Double`, refused when too large for one.
    public enum Number: Sendable, Hashable {
        case int(Int64)
        case double(Double)
    }

    public mutating func number() throws -> Number {
        guard peek() != nil else { throw syntax("expected a number") }
        let start = index
        let isInteger = try skipNumber()
        let text = UnsafeBufferPointer(rebasing: bytes[start..<index])
        if isInteger, let value = Self.int64(text) { return .int(value) }
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw JSONReadError(offset: start, message: "number too large for a double", isSyntax: true)
        }
        return .double(value)
    }

    /// An optional minus sign and decimal digits (already checked) as an `Int64`, or nil when it
    /// does not fit.
    private static func int64(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let negative = text[0] == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for digit in text.dropFirst(negative ? 1 : 0) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
        }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    // MARK: - Errors

    /// Invalid JSON.
    public func syntax(_ message: String) -> JSONReadError {
        JSONReadError(offset: index, message: message, isSyntax: true)
    }

    /// Valid JSON of the wrong shape.
    public func shape(_ message: String) -> JSONReadError {
        JSONReadError(offset: index, message: message, isSyntax: false)
    }

    // MARK: - Lexing

    private mutating func literal(_ text: StaticString) throws {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw syntax("invalid literal") }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] {
            throw syntax("invalid literal")
        }
        index += count
    }

    /// RFC 8259 integer syntax; a fraction or exponent is refused (no field is fractional).
    private mutating func integer() throws -> (negative: Bool, magnitude: UInt64) {
        guard peek() != nil else { throw syntax("expected a number") }
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let digitsStart = index
        var magnitude: UInt64 = 0
        while index < bytes.count, case let digit = bytes[index] &- UInt8(ascii: "0"), digit < 10 {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { throw shape("integer out of range") }
            magnitude = sum
            index += 1
        }
        guard index > digitsStart else { throw syntax("expected a digit") }
        guard bytes[digitsStart] != UInt8(ascii: "0") || index == digitsStart + 1 else {
            throw JSONReadError(offset: digitsStart - (negative ? 1 : 0), message: "leading zero in a number", isSyntax: true)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") {
            throw shape("expected an integer")
        }
        return (negative, magnitude)
    }

    /// Checks RFC 8259 number syntax and moves past it; whether it had neither fraction nor exponent.
    @discardableResult
    private mutating func skipNumber() throws -> Bool {
        let numberStart = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let start = index
        while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        guard index > start else { throw syntax("expected a digit") }
        guard bytes[start] != UInt8(ascii: "0") || index == start + 1 else {
            throw JSONReadError(offset: numberStart, message: "leading zero in a number", isSyntax: true)
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            let fraction = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > fraction else { throw syntax("expected a digit after '.'") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let exponent = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > exponent else { throw syntax("expected a digit in the exponent") }
        }
        return isInteger
    }

    /// A string starting at the opening quote. The common case, no escapes, decodes straight
    /// from the input; UTF-8 is validated either way.
    private mutating func stringBody() throws -> String {
        index += 1
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw JSONReadError(offset: start, message: "invalid UTF-8 in a string", isSyntax: true)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            if byte < 0x20 { throw syntax("control character in a string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        throw syntax("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws -> String {
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scratch, as: UTF8.self) else {
                    throw JSONReadError(offset: start, message: "invalid UTF-8 in a string", isSyntax: true)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw syntax("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw syntax("lone high surrogate in \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw syntax("high surrogate not followed by a low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw syntax("lone low surrogate in \\u escape")
                    }
                    scratch.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    throw syntax("invalid escape")
                }
            default:
                if byte < 0x20 { throw syntax("control character in a string") }
                scratch.append(byte)
                index += 1
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw syntax("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntax("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
