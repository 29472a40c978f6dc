/// Appends compact JSON to a byte buffer: the writing half of ``JSONReader``, shared by the sync
/// wire format and the JSON-RPC messages (one escaping policy).
///
/// ```swift
/// var writer = JSONWriter()
/// writer.object { $0.member("cursor") { $0.int(42) } }
/// writer.bytes   // {"cursor":42}
/// ```
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Just after `{`: the next member needs no comma.
    private var atStart = false

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always) mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// `{ … }` whose members `body` writes with ``member(_:_:)``.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        byte(UInt8(ascii: "{"))
        atStart = true
        body(&self)
        byte(UInt8(ascii: "}"))
        atStart = false
    }

    /// `"name":value` inside ``object(_:)``, the value written by `value`.
    public mutating func member(_ name: String, _ value: (inout JSONWriter) -> Void) {
        if !atStart { byte(UInt8(ascii: ",")) }
        atStart = false
        string(name)
        byte(UInt8(ascii: ":"))
        value(&self)
        atStart = false
    }

    /// `[ … ]` with one element per item.
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        byte(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        byte(UInt8(ascii: "]"))
    }

    /// One ASCII structural character, for fixed-shape arrays such as `[value,0]`.
    public mutating func punctuation(_ character: Unicode.Scalar) { byte(UInt8(ascii: character)) }

    public mutating func null() { append("null") }
    public mutating func bool(_ value: Bool) { append(value ? "true" : "false") }
    public mutating func int(_ value: Int) { int64(Int64(value)) }

    public mutating func int64(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        uint64(value.magnitude)
    }

    public mutating func uint64(_ value: UInt64) {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64's 20 digits
        withUnsafeMutableBytes(of: &scratch) { digits in
            var rest = value, end = digits.count
            repeat {
                end -= 1
                digits[end] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: digits[end...])
        }
    }

    /// A double in the shortest text that reads back as the same value; an integral one keeps
    /// its fraction (`1.0`) so that it stays a double. JSON has no NaN or infinity: `null`.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// A JSON string. The one escaping policy: quote and backslash; line feed, carriage return,
    /// tab, backspace and form feed as two-character escapes; every other control character and
    /// DEL (which some terminals act on) as `\u00XX`; everything else as UTF-8.
    public mutating func string(_ value: String) {
        byte(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for (offset, unit) in utf8.enumerated() where unit < 0x20 || unit == 0x7F || unit == UInt8(ascii: "\"") || unit == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<offset]))
                runStart = offset + 1
                switch unit {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0x08: append("\\b")
                case 0x0C: append("\\f")
                default:
                    append("\\u00")
                    let hex: StaticString = "0123456789abcdef"
                    byte(hex.utf8Start[Int(unit >> 4)])
                    byte(hex.utf8Start[Int(unit & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        byte(UInt8(ascii: "\""))
    }

    /// Bytes that are already one JSON value (for example a stored record state).
    public mutating func raw(_ json: some Collection<UInt8>) {
        bytes.append(contentsOf: json)
    }

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
