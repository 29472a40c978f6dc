import Foundation

/// Exact decimal arithmetic helpers for money, hours and rates: Foundation `Decimal` only,
/// never a binary float. Parsing and printing are locale-independent plain decimal text.
///
/// ```swift
/// let amount = try Money.parse("200.00", field: "capitationBase")
/// Money.round(Decimal(string: "-0.005")!)   // -0.01 (half away from zero)
/// Money.format(amount)                      // "200.00"
/// Money.format(Decimal(string: "0.0447761")!, scale: 6) // "0.044776"
/// ```
public enum Money {
    /// Parses plain decimal text (`"12.50"`, `"80"`, `"-3.1"` when `allowNegative`): optional `-`,
    /// digits, optionally `.` and at most `maxFractionDigits` digits. No exponent, no grouping,
    /// no spaces, no locale.
    public static func parse(_ text: String, field: String, maxFractionDigits: Int = 2,
                             allowNegative: Bool = false) throws(FieldError) -> Decimal {
        let checked = try DecimalText(text, field: field, maxFractionDigits: maxFractionDigits, allowNegative: allowNegative)
        guard let value = Decimal(string: checked.text, locale: Locale(identifier: "en_US_POSIX")), !value.isNaN else {
            throw FieldError(field: field, message: "must be a decimal number as a string like \"12.50\", got '\(text)'")
        }
        return value
    }

    /// Decimal text already known to be valid (negative allowed), or nil.
    static func number(_ text: String) -> Decimal? {
        try? parse(text, field: "", maxFractionDigits: 6, allowNegative: true)
    }

    /// Rounds half away from zero ("half-up" for money) to `scale` decimals:
    /// `0.005 → 0.01`, `-0.005 → -0.01`, `2.675 → 2.68`.
    public static func round(_ value: Decimal, scale: Int = 2) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .plain)
        return result.isZero ? Decimal(0) : result
    }

    /// Plain text with exactly `scale` decimals after rounding half away from zero
    /// (`"180.00"`, `"-77.42"`, `"0.044776"`); zero never prints as `"-0.00"`.
    public static func format(_ value: Decimal, scale: Int = 2) -> String {
        let rounded = round(value, scale: scale)
        let negative = rounded < 0
        let magnitude = negative ? -rounded : rounded
        // `Decimal.description` is plain, locale-free notation ("103.23", "180", "0.5").
        let text = magnitude.description
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts.first.map(String.init) ?? "0"
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        fraction += String(repeating: "0", count: max(0, scale - fraction.count))
        let body = scale > 0 ? integer + "." + fraction : integer
        return negative ? "-" + body : body
    }
}
