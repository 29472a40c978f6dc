/// Why wire or stored JSON could not be read.
public struct WireFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the problem.
    public let offset: Int
    public let message: String
    /// The text is not RFC 8259 JSON at all (as opposed to valid JSON of the wrong shape).
    public let isSyntax: Bool

    public var description: String { "at byte \(offset): \(message)" }
}

/// A strict pull reader over JSON bytes (RFC 8259, UTF-8), for the sync hot paths.
///
/// Foundation's `JSONDecoder` dominated every sync profile; this reader builds the sync types
/// directly, refuses what the strict parser refuses (invalid UTF-8, raw control characters,
/// lone surrogates, leading zeros, nesting deeper than ``maxDepth``), and skips unknown
/// members so that newer peers can add fields.
///
/// ```swift
/// let state = try WireReader.read(bytes) { reader in try RecordState(reading: &reader) }
/// ```
// Holds a pointer valid only inside `read`: the initializer is private, so a reader exists only
// within that call.
public struct WireReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    /// The next byte to read.
    public internal(set) var index: Int
    static let maxDepth = 64

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.index = 0
    }

    /// Reads one whole document with `body`; anything but whitespace after it is an error.
    public static func read<Bytes: Collection<UInt8>, T>(_ bytes: Bytes, _ body: (inout WireReader) throws -> T) throws -> T {
        let result = try bytes.withContiguousStorageIfAvailable { buffer in try readDocument(buffer, body) }
        return try result ?? Array(bytes).withUnsafeBufferPointer { buffer in try readDocument(buffer, body) }
    }

    private static func readDocument<T>(_ buffer: UnsafeBufferPointer<UInt8>, _ body: (inout WireReader) throws -> T) throws -> T {
        var reader = WireReader(buffer)
        let value = try body(&reader)
        reader.skipWhitespace()
        guard reader.index == buffer.count else { throw reader.syntax("unexpected text after the JSON value") }
        return value
    }

    // MARK: - Structure

    /// Goes back to a position read earlier (an ``index`` value), to read a value again.
    public mutating func rewind(to position: Int) {
        precondition(position >= 0 && position <= index, "can only rewind to a position already read")
        index = position
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
        index += 1
        if peek() == UInt8(ascii: "}") { index += 1; return false }
        return true
    }

    /// Starts an array: `true` when it has elements.
    public mutating func beginArray() throws -> Bool {
        guard peek() == UInt8(ascii: "[") else { throw shape("expected an array") }
        index += 1
        if peek() == UInt8(ascii: "]") { index += 1; return false }
        return true
    }

    /// After a member or element: `true` when another follows, `false` at the closing bracket.
    public mutating func next(closing: UInt8) throws -> Bool {
        switch peek() {
        case UInt8(ascii: ","): index += 1; return true
        case closing: index += 1; return false
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
    public mutating func members(_ body: (inout WireReader, String) throws -> Void) throws {
        guard try beginObject() else { return }
        repeat {
            let name = try key()
            try body(&self, name)
        } while try next(closing: UInt8(ascii: "}"))
    }

    /// Calls `body` for each element of an array.
    public mutating func elements(_ body: (inout WireReader) throws -> Void) throws {
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

    /// Skips one value of any kind, checking its syntax.
    public mutating func skipValue() throws {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws {
        guard depth < Self.maxDepth else { throw syntax("nested more than \(Self.maxDepth) levels deep") }
        switch try nextKind() {
        case .string: _ = try stringBody()
        case .number: try skipNumber()
        case .bool: _ = try bool()
        case .null: _ = try null()
        case .array:
            guard try beginArray() else { return }
            repeat { try skipValue(depth: depth + 1) } while try next(closing: UInt8(ascii: "]"))
        case .object:
            guard try beginObject() else { return }
            repeat {
                _ = try key()
                try skipValue(depth: depth + 1)
            } while try next(closing: UInt8(ascii: "}"))
        }
    }

    // MARK: - Errors

    /// Invalid JSON.
    func syntax(_ message: String) -> WireFormatError {
        WireFormatError(offset: index, message: message, isSyntax: true)
    }

    /// Valid JSON of the wrong shape.
    public func shape(_ message: String) -> WireFormatError {
        WireFormatError(offset: index, message: message, isSyntax: false)
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
        guard bytes[digitsStart] != UInt8(ascii: "0") || index == digitsStart + 1 else { throw syntax("leading zero in a number") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") {
            throw shape("expected an integer")
        }
        return (negative, magnitude)
    }

    private mutating func skipNumber() throws {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let start = index
        while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        guard index > start else { throw syntax("expected a digit") }
        guard bytes[start] != UInt8(ascii: "0") || index == start + 1 else { throw syntax("leading zero in a number") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fraction = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > fraction else { throw syntax("expected a digit after '.'") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let exponent = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > exponent else { throw syntax("expected a digit in the exponent") }
        }
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
                    throw WireFormatError(offset: start, message: "invalid UTF-8 in a string", isSyntax: true)
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
                    throw WireFormatError(offset: start, message: "invalid UTF-8 in a string", isSyntax: true)
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
