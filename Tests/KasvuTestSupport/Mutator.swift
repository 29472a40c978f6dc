/// Seeded mutations of valid inputs for fuzzing: bit flips, truncation, insertions of hostile
/// bytes (invalid UTF-8, deep nesting, huge numbers and strings), duplications, swaps.
public struct Mutator {
    public var random: SeededGenerator

    public init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    static let hostile: [[UInt8]] = [
        [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x00], Array("\\u0000".utf8), Array("\\ud800".utf8),
        Array(String(repeating: "[", count: 5000).utf8), Array(String(repeating: "{\"a\":", count: 600).utf8),
        Array("99999999999999999999999999999".utf8), Array("-1e400".utf8), Array("null".utf8), Array("true".utf8),
        Array("\"\(String(repeating: "x", count: 70_000))\"".utf8), Array(",".utf8), Array("}".utf8), Array("\"".utf8),
    ]

    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            guard !bytes.isEmpty else { return Self.hostile.randomElement(using: &random)! }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            case 1: bytes = Array(bytes[..<at])
            case 2: bytes.insert(contentsOf: Self.hostile.randomElement(using: &random)!, at: at)
            case 3: bytes.remove(at: at)
            case 4:
                let end = min(bytes.count, at + Int.random(in: 1...20, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default: bytes[at] = UInt8.random(in: 0...255, using: &random)
            }
        }
        return bytes
    }
}
