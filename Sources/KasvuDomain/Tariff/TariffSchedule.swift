/// The tariff versions the central office has set per pilot area (`tariff/set`), each valid
/// from a date. An invoice uses the version valid in its provider's area on the first day of
/// its month or period; before an area's first version, and in an area without one, the
/// built-in tariff (``Tariff/current``, the first version) holds.
///
/// ```swift
/// let schedule = TariffSchedule(versions: [.init(area: "MK11", validFrom: try CalendarDate(iso: "2027-01-01"), tariff: savo)])
/// schedule.tariff(area: "MK11", on: try CalendarDate(iso: "2026-12-01")).version  // "pilot-2019-1"
/// schedule.tariff(area: "MK11", on: try CalendarDate(iso: "2027-03-01")).version  // savo's
/// ```
public struct TariffSchedule: Sendable, Hashable {
    public struct Version: Sendable, Hashable {
        /// The pilot area's region code (`MK11`).
        public let area: String
        public let validFrom: CalendarDate
        public let tariff: Tariff

        public init(area: String, validFrom: CalendarDate, tariff: Tariff) {
            self.area = area
            self.validFrom = validFrom
            self.tariff = tariff
        }
    }

    public let versions: [Version]

    public init(versions: [Version]) {
        self.versions = versions
    }

    /// No versions set: the built-in tariff everywhere, always.
    public static let builtIn = TariffSchedule(versions: [])

    /// The version valid in `area` on `date`, or nil when the built-in tariff holds.
    public func version(area: String, on date: CalendarDate) -> Version? {
        versions.filter { $0.area == area && $0.validFrom <= date }.max { $0.validFrom < $1.validFrom }
    }

    /// The tariff valid in `area` on `date`.
    public func tariff(area: String, on date: CalendarDate) -> Tariff {
        version(area: area, on: date)?.tariff ?? .current
    }
}
