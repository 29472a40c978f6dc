import Foundation

/// What the pilot costs per area and risk group in a four-month period, against the baseline
/// cost per client the central office entered for the area and period (issue 15, item 5):
/// capitation and outcome fees as the tariff invoices them, plus the catalogue cost of the
/// services clients were enrolled in. Pure, so that small cases can be checked by hand.
///
/// The regional employment trials aim at 10 % savings: an area meets the goal when its cost per
/// client is at least 10 % below its baseline.
public struct CostReport: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        /// The region code (`MK11`).
        public let area: String
        public let riskGroup: Int
        public let capitation: Decimal
        public let outcome: Decimal
        /// Catalogue costs of enrolments: each month's days in service × the service's monthly cost ÷ the month's days, to cents.
        public let services: Decimal
        public var total: Decimal { capitation + outcome + services }
        public let clients: Int
        /// Clients with hours reported for the period or an `employed` event in it.
        public let employed: Int
        public var costPerClient: Decimal? { clients == 0 ? nil : Money.round(total / Decimal(clients)) }
        public var costPerEmployed: Decimal? { employed == 0 ? nil : Money.round(total / Decimal(employed)) }
    }

    public struct Area: Sendable, Hashable {
        public let area: String
        public let total: Decimal
        public let clients: Int
        public var costPerClient: Decimal? { clients == 0 ? nil : Money.round(total / Decimal(clients)) }
        public let baseline: Decimal?
        /// (baseline − cost per client) ÷ baseline × 100, 2 decimals.
        public var savingsPercent: Decimal? { exactSavings.map { Money.round($0) } }
        /// Whether the savings reach the goal, judged before rounding (9.999 % is short of 10 %).
        public var goalMet: Bool? { exactSavings.map { $0 >= CostReport.savingsGoalPercent } }

        private var exactSavings: Decimal? {
            guard let baseline, baseline > 0, let cost = costPerClient else { return nil }
            return (baseline - cost) / baseline * 100
        }

        public init(area: String, total: Decimal, clients: Int, baseline: Decimal?) {
            self.area = area
            self.total = total
            self.clients = clients
            self.baseline = baseline
        }
    }

    /// The trials' savings goal.
    public static let savingsGoalPercent: Decimal = 10

    public let period: BillingPeriod
    public let rows: [Row]
    public let areas: [Area]

    /// One provider: its pilot area (region code) and the facts the tariff invoices it from.
    public struct ProviderFacts: Sendable {
        public let area: String
        public let facts: InvoiceFacts
        public init(area: String, facts: InvoiceFacts) {
            self.area = area
            self.facts = facts
        }
    }

    /// - Parameters:
    ///   - clients: every client's values, for the area (municipality's region) and risk group
    ///     of a client enrolled without a referral.
    ///   - baselines: cost per client by area for this period.
    ///   - area: only this area when given.
    public init(period: BillingPeriod, providers: [ProviderFacts], services: [String: [String: FieldValue]],
                enrolments: [[String: FieldValue]], clients: [String: [String: FieldValue]], baselines: [String: Decimal],
                area only: String? = nil, tariffs: TariffSchedule = .builtIn, today: CalendarDate) throws(KasvuError) {
        struct Key: Hashable, Comparable {
            let area: String, group: Int
            static func < (a: Key, b: Key) -> Bool { (a.area, a.group) < (b.area, b.group) }
        }
        var capitation: [Key: Decimal] = [:], outcome: [Key: Decimal] = [:], serviceCost: [Key: Decimal] = [:]
        var members: [Key: Set<String>] = [:], employed: [Key: Set<String>] = [:]
        var placeOfClient: [String: Key] = [:]
        let months = period.months.filter { $0.hasBegun(by: today) }
        for provider in providers where only == nil || provider.area == only {
            for referral in provider.facts.referrals {
                placeOfClient[referral.clientId] = Key(area: provider.area, group: referral.riskGroup)
            }
            for month in months {
                let invoice = try InvoiceCalculator.capitation(provider.facts, month: month, tariff: tariffs.tariff(area: provider.area, on: month.firstDay))
                var groupOf: [String: Int] = [:]
                for case .capitation(let line) in invoice.lines {
                    let key = Key(area: provider.area, group: line.riskGroup)
                    capitation[key, default: 0] += line.amount
                    members[key, default: []].insert(line.clientId)
                    groupOf[line.clientId] = line.riskGroup
                }
                for adjustment in invoice.adjustments {
                    guard case .minimumServiceNotDelivered(let client, let amount) = adjustment, let group = groupOf[client] else { continue }
                    capitation[Key(area: provider.area, group: group), default: 0] += amount
                }
            }
            guard !months.isEmpty else { continue }
            let invoice = try InvoiceCalculator.outcome(provider.facts, period: period, audit: nil,
                                                        tariff: tariffs.tariff(area: provider.area, on: period.months[0].firstDay))
            var groupOf: [String: Int] = [:]
            for case .outcome(let line) in invoice.lines {
                let key = Key(area: provider.area, group: line.riskGroup)
                outcome[key, default: 0] += line.amount
                members[key, default: []].insert(line.clientId)
                employed[key, default: []].insert(line.clientId)
                groupOf[line.clientId] = line.riskGroup
            }
            for adjustment in invoice.adjustments where adjustment.reason.hasPrefix("bonus_") {
                if let client = adjustment.clientId, let group = groupOf[client] ?? placeOfClient[client]?.group {
                    outcome[Key(area: provider.area, group: group), default: 0] += adjustment.amount
                }
            }
            for event in provider.facts.events where event.kind == "employed" && period.contains(event.date) {
                if let key = placeOfClient[event.clientId], key.area == provider.area { employed[key, default: []].insert(event.clientId) }
            }
        }
        // Catalogue costs: the days each started enrolment ran in each month of the period.
        for enrolment in enrolments {
            guard let client = enrolment[.clientId]?.stringValue, let service = enrolment[.serviceId]?.stringValue.flatMap({ services[$0] }),
                  let cost = service[.unitCostPerMonth]?.stringValue.flatMap({ try? Money.parse($0, field: "unitCostPerMonth") }),
                  let started = enrolment[.startedOn]?.stringValue.flatMap({ try? CalendarDate(iso: $0) }) else { continue }
            let key: Key
            if let place = placeOfClient[client] {
                key = place
            } else if let values = clients[client], let group = values[.riskGroup]?.intValue,
                      let region = values[.municipality]?.stringValue.flatMap({ Municipalities.shipped[$0] })?.regionCode {
                key = Key(area: region, group: Int(group))
            } else {
                continue
            }
            guard only == nil || key.area == only else { continue }
            let ended = enrolment[.endedOn]?.stringValue.flatMap { try? CalendarDate(iso: $0) } ?? today
            for month in months {
                let length = CalendarDate.daysIn(year: month.year, month: month.month)
                let first = max(started, CalendarDate(year: month.year, month: month.month, day: 1)!)
                let last = min(ended, CalendarDate(year: month.year, month: month.month, day: length)!)
                guard first <= last else { continue }
                serviceCost[key, default: 0] += Money.round(cost * Decimal(last.days(since: first) + 1) / Decimal(length))
                members[key, default: []].insert(client)
            }
        }
        let keys = Set(members.keys).union(capitation.keys).union(outcome.keys).union(serviceCost.keys).sorted()
        let built = keys.map { key in
            Row(area: key.area, riskGroup: key.group, capitation: capitation[key] ?? 0, outcome: outcome[key] ?? 0, services: serviceCost[key] ?? 0,
                clients: members[key]?.count ?? 0, employed: employed[key]?.count ?? 0)
        }
        var areaNames = Set(keys.map(\.area))
        rows = built
        if let only { areaNames.insert(only) } else { areaNames.formUnion(baselines.keys) }
        areas = areaNames.sorted().map { name in
            let mine = keys.filter { $0.area == name }
            return Area(area: name, total: built.filter { $0.area == name }.reduce(0) { $0 + $1.total },
                        clients: Set(mine.flatMap { members[$0] ?? [] }).count, baseline: baselines[name])
        }
        self.period = period
    }
}
