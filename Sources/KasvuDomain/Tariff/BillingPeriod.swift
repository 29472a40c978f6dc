/// A four-month outcome billing period, `YYYY-Tn`: T1 = January–April, T2 = May–August,
/// T3 = September–December.
///
/// ```swift
/// let period = try BillingPeriod(iso: "2019-T1")
/// period.months.map(\.description)  // ["2019-01", "2019-02", "2019-03", "2019-04"]
/// period.contains(try CalendarDate(iso: "2019-04-30"))  // true
/// ```
public struct BillingPeriod: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    /// 1, 2 or 3.
    public let term: Int

    /// Parses strict `YYYY-Tn` with n in 1...3.
    public init(iso text: String, field: String = "period") throws(FieldError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 7, parts.count == 2, parts[0].count == 4,
              parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let year = Int(parts[0]), (1...9999).contains(year),
              parts[1].count == 2, parts[1].first == "T", let term = Int(parts[1].dropFirst()), (1...3).contains(term)
        else { throw FieldError(field: field, message: "must be a four-month period YYYY-T1, YYYY-T2 or YYYY-T3, got '\(text)'") }
        self.year = year
        self.term = term
    }

    /// The period a month belongs to.
    public init(containing month: YearMonth) {
        year = month.year
        term = (month.month - 1) / 4 + 1
    }

    /// The first calendar month of the term (1, 5 or 9).
    public var firstMonth: Int { (term - 1) * 4 + 1 }

    /// The four months of the period, in order.
    public var months: [YearMonth] {
        (firstMonth..<firstMonth + 4).map { YearMonth(validYear: year, month: $0) }
    }

    public func contains(_ month: YearMonth) -> Bool {
        month.year == year && (firstMonth..<firstMonth + 4).contains(month.month)
    }

    public func contains(_ date: CalendarDate) -> Bool {
        date.year == year && (firstMonth..<firstMonth + 4).contains(date.month)
    }

    public var description: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-T" + String(term)
    }

    public static func < (a: BillingPeriod, b: BillingPeriod) -> Bool { (a.year, a.term) < (b.year, b.term) }

    public init(from decoder: any Decoder) throws {
        self = try BillingPeriod(iso: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension YearMonth {
    /// For months computed from values already known to be valid (year 1...9999, month 1...12).
    init(validYear year: Int, month: Int) {
        precondition((1...9999).contains(year) && (1...12).contains(month), "invalid month \(year)-\(month)")
        self.year = year
        self.month = month
    }

    /// Days in this month.
    var dayCount: Int { CalendarDate.daysIn(year: year, month: month) }

    public var firstDay: CalendarDate { CalendarDate(year: year, month: month, day: 1)! }

    public var lastDay: CalendarDate { CalendarDate(year: year, month: month, day: dayCount)! }

    func contains(_ date: CalendarDate) -> Bool { date.year == year && date.month == month }
}
