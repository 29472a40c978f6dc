/// A validated Finnish personal identity code (*henkilötunnus*, "hetu").
///
/// Format `DDMMYYCZZZQ`: birth date, century sign, individual number, check character.
/// Century signs are `+` (1800s), `-` `Y` `X` `W` `V` `U` (1900s) and `A`–`F` (2000s);
/// the extra signs date from the 2023 reform. Input is taken literally: no trimming and no
/// case folding, because a silently "corrected" identifier is a different person.
///
/// ```swift
/// let hetu = try PersonalIdentityCode("131052-308T")
/// hetu.birthDate // CalendarDate(1952, 10, 13)
/// ```
public struct PersonalIdentityCode: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    public let birthDate: CalendarDate
    public let individualNumber: Int

    /// Check characters indexed by the remainder modulo 31.
    static let checkCharacters = Array("0123456789ABCDEFHJKLMNPRSTUVWXY")

    static func century(of sign: Character) -> Int? {
        switch sign {
        case "+": 1800
        case "-", "Y", "X", "W", "V", "U": 1900
        case "A", "B", "C", "D", "E", "F": 2000
        default: nil
        }
    }

    /// Parses and validates `text`.
    /// - Parameter allowTemporary: accept individual numbers 900–999 (temporary identifiers).
    /// - Throws: ``FieldError`` on field `hetu` naming the first problem found.
    public init(_ text: String, allowTemporary: Bool = false, field: String = "hetu") throws(FieldError) {
        func fail(_ message: String) -> FieldError { FieldError(field: field, message: message) }
        let chars = Array(text)
        guard !chars.isEmpty else { throw fail("is empty") }
        guard chars.count == 11 else {
            throw fail("must be 11 characters (DDMMYYCZZZQ), got \(chars.count)")
        }
        let digits = chars[0..<6] + chars[7..<10]
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw fail("positions 1–6 and 8–10 must be digits")
        }
        guard let century = Self.century(of: chars[6]) else {
            throw fail("unknown century sign '\(chars[6])'")
        }
        let number = { (range: Range<Int>) in Int(String(chars[range]))! }
        let day = number(0..<2), month = number(2..<4), year = century + number(4..<6)
        guard let date = CalendarDate(year: year, month: month, day: day) else {
            throw fail("no such date: \(String.twoDigits(day)).\(String.twoDigits(month)).\(year)")
        }
        let individual = number(7..<10)
        guard individual >= 2 else { throw fail("individual number must be 002–899, got \(String(chars[7..<10]))") }
        guard individual <= 899 || allowTemporary else {
            throw fail("temporary identifier (individual number 900–999) is not accepted")
        }
        let expected = Self.checkCharacters[Int(String(digits))! % 31]
        guard chars[10] == expected else {
            throw fail("wrong check character '\(chars[10])', expected '\(expected)'")
        }
        self.value = text
        self.birthDate = date
        self.individualNumber = individual
    }

    public var description: String { value }

    /// A valid code for synthetic person `n` born in `year` (1900–1999), individual number
    /// 100 + n mod 700: for tests, simulations and demos, never for real people.
    public static func synthetic(_ n: Int, year: Int = 1980) -> String {
        let day = 1 + n % 28, month = 1 + (n / 28) % 12, individual = 100 + n % 700
        let digits = String.twoDigits(day) + String.twoDigits(month) + String.twoDigits(year % 100) + String(individual)
        return String.twoDigits(day) + String.twoDigits(month) + String.twoDigits(year % 100) + "-" + String(individual)
            + String(checkCharacters[Int(digits)! % 31])
    }
}

extension String {
    /// Two-digit zero-padded decimal, for messages and ISO dates. A named function rather than
    /// an initializer, so that `map(String.init)` never picks it up by accident.
    static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
