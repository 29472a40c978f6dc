import KasvuTestSupport
import JSONRPC

/// Builds arbitrary `JSONValue`s from a seeded generator, biased towards the
/// values serializers get wrong: integer extremes, awkward doubles, control
/// characters, escapes and non-BMP scalars.
struct JSONValueGenerator {
    var random: SeededGenerator

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed)
    }

    mutating func value(maxDepth: Int) -> JSONValue {
        let kinds = maxDepth > 0 ? 7 : 5
        switch Int.random(in: 0..<kinds, using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .int(integer())
        case 3: return .double(double())
        case 4: return .string(string())
        case 5:
            let count = Int.random(in: 0...4, using: &random)
            return .array((0..<count).map { _ in value(maxDepth: maxDepth - 1) })
        default:
            let count = Int.random(in: 0...4, using: &random)
            var members: [String: JSONValue] = [:]
            for _ in 0..<count {
                members[string()] = value(maxDepth: maxDepth - 1)
            }
            return .object(members)
        }
    }

    private mutating func integer() -> Int64 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return [Int64.min, Int64.max, 0, -1, 1].randomElement(using: &random)!
        case 1: return Int64.random(in: -1000...1000, using: &random)
        default: return Int64(bitPattern: random.next())
        }
    }

    private mutating func double() -> Double {
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            return [0.0, -0.0, 1.0, -1.5, 0.1, 1e300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 9007199254740993.0]
                .randomElement(using: &random)!
        case 1:
            return Double.random(in: -1e6...1e6, using: &random)
        default:
            // Any finite bit pattern: subnormals, huge exponents, long mantissas.
            while true {
                let candidate = Double(bitPattern: random.next())
                if candidate.isFinite { return candidate }
            }
        }
    }

    private mutating func string() -> String {
        let length = Int.random(in: 0...8, using: &random)
        var scalars = String.UnicodeScalarView()
        for _ in 0..<length {
            let range: ClosedRange<UInt32>
            switch Int.random(in: 0..<6, using: &random) {
            case 0: range = 0x00...0x1F          // control characters
            case 1: range = 0x20...0x7F          // printable ASCII, quote, backslash, DEL
            case 2: range = 0x80...0x7FF         // two-byte UTF-8
            case 3: range = 0x800...0xD7FF       // three-byte UTF-8 below the surrogates
            case 4: range = 0xE000...0xFFFF      // three-byte UTF-8 above the surrogates
            default: range = 0x10000...0x10FFFF  // four-byte UTF-8 (surrogate pairs in \u form)
            }
            scalars.append(Unicode.Scalar(UInt32.random(in: range, using: &random))!)
        }
        return String(scalars)
    }
}
