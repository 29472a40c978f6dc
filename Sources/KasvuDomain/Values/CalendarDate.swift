/// A date without time or zone, as ISO `YYYY-MM-DD`. Pure arithmetic: no Foundation calendar,
/// so the result never depends on the machine's locale or time zone.
///
/// ```swift
/// let date = try CalendarDate(iso: "2024-02-29")
/// date.description // "2024-02-29"
/// ```
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Returns nil when the date does not exist (31 February, 29 February of a common year).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...CalendarDate.daysIn(year: year, month: month)).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses strict ISO `YYYY-MM-DD`.
    public init(iso text: String, field: String = "date") throws(FieldError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let date = CalendarDate(year: Int(parts[0])!, month: Int(parts[1])!, day: Int(parts[2])!)
        else { throw FieldError(field: field, message: "must be an existing date YYYY-MM-DD, got '\(text)'") }
        self = date
    }

    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public var description: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + String.twoDigits(month) + "-" + String.twoDigits(day)
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// The number of days from `earlier` to this date (negative when it is later).
    public func days(since earlier: CalendarDate) -> Int { dayNumber - earlier.dayNumber }

    /// Days since 0000-03-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    private var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400, yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        return era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try CalendarDate(iso: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A calendar month as `YYYY-MM`, the unit of hours reports and capitation.
public struct YearMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    /// Whether the month has begun on `today` (hours and invoices are for such months only).
    public func hasBegun(by today: CalendarDate) -> Bool { (year, month) <= (today.year, today.month) }

    public init(iso text: String, field: String = "month") throws(FieldError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int(parts[0]), let month = Int(parts[1]), (1...9999).contains(year), (1...12).contains(month)
        else { throw FieldError(field: field, message: "must be a month YYYY-MM, got '\(text)'") }
        self.year = year
        self.month = month
    }

    public var description: String { CalendarDate(year: year, month: month, day: 1)!.description.dropLast(3).description }

    public static func < (a: YearMonth, b: YearMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }

    /// The month `count` months later (earlier when negative), kept within years 1…9999.
    public func adding(months count: Int) -> YearMonth {
        let index = min(max(year * 12 + month - 1 + count, 12), 9999 * 12 + 11)
        return YearMonth(unchecked: index / 12, index % 12 + 1)
    }

    /// For a year and month already known to be valid.
    fileprivate init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }
}

extension CalendarDate {
    /// The month this date lies in.
    public var yearMonth: YearMonth { YearMonth(unchecked: year, month) }
}

import Foundation

extension CalendarDate {
    /// Today in Finland (`Europe/Helsinki`): the pilots' working day, whatever the machine's zone.
    public static func today(now: Date = Date()) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Helsinki") ?? TimeZone(secondsFromGMT: 7200)!
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)!
    }

    /// The day in Finland at `millis` milliseconds since 1970.
    public init(millis: UInt64) {
        self = .today(now: Date(timeIntervalSince1970: TimeInterval(millis) / 1000))
    }
}
