import Foundation

/// Overlaps in what the organisers offer and in what clients receive, and how well each
/// service keeps its clients (issue 15, item 4): computed from the catalogue and enrolments a
/// replica holds; pure, so that small cases can be checked by hand.
///
/// ```swift
/// let report = ServiceOverlaps(services: services, enrolments: enrolments, today: today)
/// report.catalogue.first?.combinedMonthlyCost  // 1250.00
/// ```
public struct ServiceOverlaps: Sendable, Hashable {
    /// A client in two started enrolments of one category from different organisers, at the same time.
    public struct ClientOverlap: Sendable, Hashable {
        public let clientID: String
        public let category: String
        /// The two enrolments and their services, in id order.
        public let enrolmentIDs: [String]
        public let serviceIDs: [String]
        /// The days both run; `to` nil while both are open.
        public let from: CalendarDate
        public let to: CalendarDate?
    }

    /// Two catalogue services of different organisers in one category that serve a common
    /// municipality and target group at a common time: their combined monthly cost is what
    /// buying only one could save.
    public struct CatalogueOverlap: Sendable, Hashable {
        public let category: String
        public let serviceIDs: [String]
        public let names: [String]
        public let organisers: [String]
        public let municipalities: [String]
        /// The sum of both services' `unitCostPerMonth` known; nil when neither states one.
        public let combinedMonthlyCost: Decimal?
    }

    /// How a service keeps its clients.
    public struct Retention: Sendable, Hashable {
        public let serviceID: String
        public let name: String
        /// Enrolments that started (started, completed or interrupted).
        public let started: Int
        /// Enrolments that ended (completed or interrupted).
        public let ended: Int
        public let interrupted: Int
        /// Interrupted among those that ended (completed or interrupted), 4 decimals; nil while none ended.
        public let interruptedShare: Decimal?
        /// The median months in service of the started ones (to their end, or to today), 1 decimal.
        public let medianMonths: Decimal?
        /// Distinct clients behind the counts (a client may enrol twice), for open data.
        public let clientsStarted: Int
        public let clientsInterrupted: Int
        public let clientsCompleted: Int
    }

    public let clients: [ClientOverlap]
    public let catalogue: [CatalogueOverlap]
    public let retention: [Retention]

    /// Days in an average month (365.25 / 12), for months in service.
    static let daysPerMonth = Decimal(string: "30.4375")!

    public init(services: [(id: String, values: [String: FieldValue])], enrolments: [(id: String, values: [String: FieldValue])],
                today: CalendarDate) {
        let live = services.filter { $0.values[EntitySchema.deletedField]?.boolValue != true }.sorted { $0.id < $1.id }
        let byID = Dictionary(live.map { ($0.id, $0.values) }, uniquingKeysWith: { first, _ in first })
        func organiser(_ service: [String: FieldValue]) -> String {
            "\(service[.organiserKind]?.stringValue ?? ""): \(service[.organiserName]?.stringValue ?? "")"
        }
        func date(_ value: FieldValue?) -> CalendarDate? { value?.stringValue.flatMap { try? CalendarDate(iso: $0) } }

        // (a) Started enrolments as intervals [startedOn, endedOn or open].
        struct Running { let id: String; let client: String; let service: String; let from: CalendarDate; let to: CalendarDate? }
        let running = enrolments.compactMap { id, values -> Running? in
            guard values[EntitySchema.deletedField]?.boolValue != true,
                  let state = values[.state]?.stringValue.flatMap(EnrolmentState.init(rawValue:)), [.started, .completed, .interrupted].contains(state),
                  let from = date(values[.startedOn]), let client = values[.clientId]?.stringValue, let service = values[.serviceId]?.stringValue else { return nil }
            return Running(id: id, client: client, service: service, from: from, to: state == .started ? nil : date(values[.endedOn]))
        }.sorted { $0.id < $1.id }
        var clients: [ClientOverlap] = []
        for (index, a) in running.enumerated() {
            for b in running[(index + 1)...] where a.client == b.client {
                guard let first = byID[a.service], let second = byID[b.service],
                      let category = first[.category]?.stringValue, second[.category]?.stringValue == category,
                      organiser(first) != organiser(second) else { continue }
                let from = max(a.from, b.from)
                let to: CalendarDate? = switch (a.to, b.to) {
                case let (x?, y?): min(x, y)
                case let (x?, nil), let (nil, x?): x
                case (nil, nil): nil
                }
                if let to, to < from { continue }
                clients.append(ClientOverlap(clientID: a.client, category: category, enrolmentIDs: [a.id, b.id],
                                             serviceIDs: [a.service, b.service], from: from, to: to))
            }
        }
        self.clients = clients.sorted { ($0.clientID, $0.enrolmentIDs.joined(separator: ",")) < ($1.clientID, $1.enrolmentIDs.joined(separator: ",")) }

        // (b) Catalogue pairs.
        var catalogue: [CatalogueOverlap] = []
        for (index, a) in live.enumerated() {
            for b in live[(index + 1)...] {
                guard let category = a.values[.category]?.stringValue, b.values[.category]?.stringValue == category,
                      organiser(a.values) != organiser(b.values),
                      Self.periodsMeet(a.values, b.values), Self.targetsMeet(a.values, b.values) else { continue }
                let common = Set(ServiceRules.strings(a.values[.municipalities]) ?? []).intersection(ServiceRules.strings(b.values[.municipalities]) ?? [])
                guard !common.isEmpty else { continue }
                let costs = [a.values, b.values].compactMap { $0[.unitCostPerMonth]?.stringValue.flatMap { try? Money.parse($0, field: "unitCostPerMonth") } }
                catalogue.append(CatalogueOverlap(category: category, serviceIDs: [a.id, b.id],
                                                  names: [a.values[.name]?.stringValue ?? "", b.values[.name]?.stringValue ?? ""],
                                                  organisers: [organiser(a.values), organiser(b.values)],
                                                  municipalities: common.sorted(), combinedMonthlyCost: costs.isEmpty ? nil : costs.reduce(0, +)))
            }
        }
        self.catalogue = catalogue

        // (c) Retention per service.
        retention = live.map { id, values in
            let mine = running.filter { $0.service == id }
            let endings = enrolments.filter { $0.values[.serviceId]?.stringValue == id && $0.values[EntitySchema.deletedField]?.boolValue != true }
                .compactMap { enrolment in
                    enrolment.values[.state]?.stringValue.flatMap(EnrolmentState.init(rawValue:)).map { (state: $0, client: enrolment.values[.clientId]?.stringValue ?? "") }
                }
                .filter { $0.state == .completed || $0.state == .interrupted }
            let ended = endings.map(\.state)
            let interrupted = ended.filter { $0 == .interrupted }.count
            let months = mine.map { Decimal(max(0, ($0.to ?? today).days(since: $0.from))) / Self.daysPerMonth }.sorted()
            let median: Decimal? = months.isEmpty ? nil
                : months.count % 2 == 1 ? months[months.count / 2] : (months[months.count / 2 - 1] + months[months.count / 2]) / 2
            return Retention(serviceID: id, name: values[.name]?.stringValue ?? "", started: mine.count, ended: ended.count, interrupted: interrupted,
                             interruptedShare: ended.isEmpty ? nil : Money.round(Decimal(interrupted) / Decimal(ended.count), scale: 4),
                             medianMonths: median.map { Money.round($0, scale: 1) }, clientsStarted: Set(mine.map(\.client)).count,
                             clientsInterrupted: Set(endings.filter { $0.state == .interrupted }.map(\.client)).count,
                             clientsCompleted: Set(endings.filter { $0.state == .completed }.map(\.client)).count)
        }
    }

    /// Whether two services are offered at a common time.
    static func periodsMeet(_ a: [String: FieldValue], _ b: [String: FieldValue]) -> Bool {
        let aFrom = a[.validFrom]?.stringValue ?? "", bFrom = b[.validFrom]?.stringValue ?? ""
        let aTo = a[.validTo]?.stringValue ?? "9999-12-31", bTo = b[.validTo]?.stringValue ?? "9999-12-31"
        return max(aFrom, bFrom) <= min(aTo, bTo)
    }

    /// Whether some client could be in both services' target groups.
    static func targetsMeet(_ a: [String: FieldValue], _ b: [String: FieldValue]) -> Bool {
        let x = ServiceRules.object(a[.target]) ?? [:], y = ServiceRules.object(b[.target]) ?? [:]
        func meet<T: Hashable>(_ key: String, _ type: T.Type) -> Bool {
            guard let left = x[key] as? [T], let right = y[key] as? [T] else { return true }
            return !Set(left).isDisjoint(with: right)
        }
        let lowest = max(x["minAge"] as? Int ?? 0, y["minAge"] as? Int ?? 0)
        let highest = min(x["maxAge"] as? Int ?? 200, y["maxAge"] as? Int ?? 200)
        return meet("clientTypes", String.self) && meet("riskGroups", Int.self) && lowest <= highest
    }
}
