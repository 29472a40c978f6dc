/// A validated Finnish business identity code (*Y-tunnus*): seven digits, a hyphen, a check digit.
///
/// The check digit is `11 − (Σ dᵢ·wᵢ mod 11)` with weights 7, 9, 10, 5, 8, 4, 2; remainder 0
/// gives 0 and remainder 1 is never issued.
///
/// ```swift
/// let id = try BusinessID("2077474-0")
/// ```
public struct BusinessID: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    static let weights = [7, 9, 10, 5, 8, 4, 2]

    public init(_ text: String, field: String = "businessId") throws(FieldError) {
        func fail(_ message: String) -> FieldError { FieldError(field: field, message: message) }
        let chars = Array(text)
        guard chars.count == 9, chars[7] == "-" else {
            throw fail("must look like 1234567-8 (seven digits, hyphen, check digit)")
        }
        let digits = (chars[0..<7] + [chars[8]]).compactMap { $0.isASCII ? $0.wholeNumberValue : nil }
        guard digits.count == 8 else { throw fail("must look like 1234567-8 (seven digits, hyphen, check digit)") }
        let remainder = zip(digits, Self.weights).map(*).reduce(0, +) % 11
        guard remainder != 1 else { throw fail("no valid check digit exists for \(String(chars[0..<7]))") }
        let expected = remainder == 0 ? 0 : 11 - remainder
        guard digits[7] == expected else { throw fail("wrong check digit \(digits[7]), expected \(expected)") }
        self.value = text
    }

    public var description: String { value }
}
