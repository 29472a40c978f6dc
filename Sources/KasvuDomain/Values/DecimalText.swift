/// An exact decimal number that travels as text (`"200.00"`, `"37.5"`), so that no client ever
/// rounds money or hours through a binary float.
///
/// Only plain decimal notation is accepted: optional `-`, digits, optionally `.` and digits.
/// No exponent, no thousands separators, no surrounding spaces.
///
/// ```swift
/// let rate = try DecimalText("12.50", field: "hourlyRate", maxFractionDigits: 2)
/// ```
public struct DecimalText: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(_ text: String, field: String, maxFractionDigits: Int = 6, allowNegative: Bool = false) throws(FieldError) {
        func fail(_ message: String) -> FieldError { FieldError(field: field, message: message) }
        var body = Substring(text)
        if body.first == "-" {
            guard allowNegative else { throw fail("must not be negative, got '\(text)'") }
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 15,
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else { throw fail("must be a decimal number as a string like \"12.50\", got '\(text)'") }
        if parts.count == 2, parts[1].count > maxFractionDigits {
            throw fail("at most \(maxFractionDigits) decimals, got '\(text)'")
        }
        self.text = text
    }

    public var description: String { text }
}
