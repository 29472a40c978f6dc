import Foundation
import GRDB
import KasvuDomain
import KasvuStorage
import KasvuSync

/// One provider's caseload against its cap.
public struct CaseloadRow: Sendable, Hashable {
    public let providerID: String
    public let name: String
    /// The region code (`MK11`).
    public let pilotArea: String
    public var pilotAreaName: String { Municipalities.shipped.regions[pilotArea]?.name ?? "" }
    public let cap: Int64
    public let active: Int
    public let pending: Int
    public let waitlisted: Int
    /// Active referrals by the risk group recorded on the referral (1, 2, 3).
    public let activeByRiskGroup: [Int: Int]
    /// Places capacity leases hold for offices (``Replica/heldLeases()``), as of the last sync.
    public let reserved: Int

    /// Places neither taken nor reserved.
    public var free: Int64 { max(0, cap - Int64(active) - Int64(reserved)) }
}

/// Reports for the central office, computed from what this replica holds.
extension Replica {
    /// Per provider: active, pending and waitlisted referrals against the cap, by risk group.
    public func caseloadReport() async throws -> [CaseloadRow] {
        let role = self.role
        return try await read { db in
            let providers = try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider WHERE deleted IS NOT 1 ORDER BY id")
            let reserved = try Self.reservedPlaces(db, role: role)
            var counts: [String: (active: Int, pending: Int, waitlisted: Int, groups: [Int: Int])] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT provider_id, state, json_extract(sync_state, '\(StorageSQL.winningValue("riskGroup"))') AS risk_group
                FROM referral WHERE deleted IS NOT 1 AND state IN (\(StorageSQL.list(ReferralState.undecided)))
                """) {
                let provider: String = row["provider_id"], state: String = row["state"]
                var entry = counts[provider] ?? (0, 0, 0, [:])
                switch state {
                case "active":
                    entry.active += 1
                    if let group = row["risk_group"] as Int? { entry.groups[group, default: 0] += 1 }
                case "pending": entry.pending += 1
                default: entry.waitlisted += 1
                }
                counts[provider] = entry
            }
            return try providers.map { row in
                let id: String = row["id"]
                let state = try Self.decodeState(row["sync_state"])
                let entry = counts[id] ?? (0, 0, 0, [:])
                return CaseloadRow(providerID: id, name: state.value(.name).stringValue ?? "", pilotArea: Self.pilotArea(state),
                                   cap: state.value(.cap).intValue ?? 0, active: entry.active, pending: entry.pending,
                                   waitlisted: entry.waitlisted, activeByRiskGroup: entry.groups, reserved: reserved[id] ?? 0)
            }
        }
    }
}

/// Outcomes of one pilot area and risk group.
public struct OutcomeRow: Sendable, Hashable {
    /// The region code (`MK11`).
    public let pilotArea: String
    public var pilotAreaName: String { Municipalities.shipped.regions[pilotArea]?.name ?? "" }
    public let riskGroup: Int
    /// Clients with an active or ended referral in this area and group.
    public let clients: Int
    public let clientsWithHours: Int
    public let totalHours: Decimal
    /// Outcome fees: each hours report × the provider's hourly rate × the group's weight, rounded to cents.
    public let fees: Decimal

    /// Share of clients with any hours, 4 decimals.
    public var shareWithHours: Decimal {
        clients == 0 ? 0 : Money.round(Decimal(clientsWithHours) / Decimal(clients), scale: 4)
    }
}

extension Replica {
    /// Per pilot area and risk group: clients, share with any hours, total hours and outcome
    /// fees, optionally for one four-month period.
    public func outcomesReport(period: BillingPeriod? = nil) async throws -> [OutcomeRow] {
        try await read { db in
            let tariffs = try Self.tariffSchedule(db)
            func states(_ kind: EntityKind) throws -> [(id: String, state: RecordState)] {
                try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE deleted IS NOT 1 ORDER BY id")
                    .map { ($0["id"], try Self.decodeState($0["sync_state"])) }
            }
            var providers: [String: (area: String, rate: Decimal)] = [:]
            for (id, state) in try states(.provider) {
                let rate = (try? Money.parse(state.value(.hourlyRate).stringValue ?? "0", field: "hourlyRate")) ?? 0
                providers[id] = (Self.pilotArea(state), rate)
            }
            struct Key: Hashable { let area: String; let group: Int }
            var members: [Key: Set<String>] = [:]
            var groupOf: [String: Int] = [:]  // "client/provider" → risk group of that referral
            for (_, state) in try states(.referral) {
                guard state.value(.state).stringValue.flatMap(ReferralState.init(rawValue:)).map(ReferralState.billable.contains) == true,
                      let provider = state.value(.providerId).stringValue, let area = providers[provider]?.area,
                      let group = state.value(.riskGroup).intValue, let client = state.value(.clientId).stringValue else { continue }
                members[Key(area: area, group: Int(group)), default: []].insert(client)
                groupOf["\(client)/\(provider)"] = Int(group)
            }
            var withHours: [Key: Set<String>] = [:]
            var hoursTotal: [Key: Decimal] = [:], fees: [Key: Decimal] = [:]
            for (_, state) in try states(.hours) {
                guard let client = state.value(.clientId).stringValue, let provider = state.value(.providerId).stringValue,
                      let terms = providers[provider], let group = groupOf["\(client)/\(provider)"],
                      let text = state.value(.hours).stringValue, let hours = try? Money.parse(text, field: "hours") else { continue }
                guard let month = state.value(.month).stringValue.flatMap({ try? YearMonth(iso: $0) }) else { continue }
                if let period, !period.contains(month) { continue }
                let key = Key(area: terms.area, group: group)
                withHours[key, default: []].insert(client)
                hoursTotal[key, default: 0] += hours
                // Priced as the outcome invoice of the month's period prices it.
                let tariff = tariffs.tariff(area: terms.area, on: BillingPeriod(containing: month).months[0].firstDay)
                fees[key, default: 0] += Money.round(hours * terms.rate * (tariff.outcomeWeight(riskGroup: group) ?? 0))
            }
            return members.keys.sorted { ($0.area, $0.group) < ($1.area, $1.group) }.map { key in
                OutcomeRow(pilotArea: key.area, riskGroup: key.group, clients: members[key]!.count,
                           clientsWithHours: withHours[key]?.count ?? 0, totalHours: hoursTotal[key] ?? 0, fees: fees[key] ?? 0)
            }
        }
    }
}

extension Replica {
    /// Overlaps among the catalogue services and the enrolments this replica holds, and each
    /// service's retention (``ServiceOverlaps``).
    public func overlapsReport() async throws -> ServiceOverlaps {
        let today = self.today()
        return try await read { db in
            func live(_ kind: EntityKind) throws -> [(id: String, values: [String: FieldValue])] {
                try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE deleted IS NOT 1 ORDER BY id")
                    .map { ($0["id"], try Self.decodeState($0["sync_state"]).values) }
            }
            return ServiceOverlaps(services: try live(.service), enrolments: try live(.enrolment), today: today)
        }
    }
}

extension Replica {
    /// Sets an area's baseline cost per client for a four-month period (the central office's):
    /// one record per area and period, so setting it again corrects it.
    public func setBaseline(area: String, period: String, costPerClient: String) async throws -> Record {
        let values = try EntityKind.baseline.schema.validateCreate([
            "pilotArea": .string(area), "period": .string(period), "costPerClient": .string(costPerClient),
        ])
        let id = WriteRules.baselineID(area: values[.pilotArea]!.stringValue!, period: values[.period]!.stringValue!)
        return try await write { db in
            let state = try Self.loadState(db, .baseline, id) ?? RecordState()
            var changes = state.fields.isEmpty ? values : ["costPerClient": values[.costPerClient]!]
            if state.isDeleted { changes[EntitySchema.deletedField] = .bool(false) }
            return try self.commit(db, .baseline, id, state: state, changes: changes)
        }
    }

    /// What the pilot cost per area and risk group in a period against the areas' baselines
    /// (``CostReport``), from the records this replica holds (the central office's holds all).
    /// - Parameter area: one pilot area, as a region code or name (`MK11`, `Pohjois-Savo`).
    public func costReport(period: BillingPeriod, area: String? = nil) async throws -> CostReport {
        let area = try area.map(Self.areaCode)
        let today = self.today()
        let providerIDs = try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider WHERE deleted IS NOT 1 ORDER BY id")
                .map { (id: $0["id"] as String, area: Self.pilotArea(try Self.decodeState($0["sync_state"]))) }
        }
        var providers: [CostReport.ProviderFacts] = []
        for provider in providerIDs {
            providers.append(CostReport.ProviderFacts(area: provider.area, facts: try await invoiceFacts(providerID: provider.id)))
        }
        let (services, enrolments, clients, baselines, tariffs) = try await read { db in
            func live(_ kind: EntityKind) throws -> [(id: String, values: [String: FieldValue])] {
                try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE deleted IS NOT 1 ORDER BY id")
                    .map { ($0["id"], try Self.decodeState($0["sync_state"]).values) }
            }
            let baselines = try live(.baseline).filter { $0.values[.period]?.stringValue == period.description }
                .reduce(into: [String: Decimal]()) { result, row in
                    if let area = row.values[.pilotArea]?.stringValue, let cost = row.values[.costPerClient]?.stringValue {
                        result[area] = try? Money.parse(cost, field: "costPerClient")
                    }
                }
            return (Dictionary(uniqueKeysWithValues: try live(.service).map { ($0.id, $0.values) }), try live(.enrolment).map(\.values),
                    Dictionary(uniqueKeysWithValues: try live(.client).map { ($0.id, $0.values) }), baselines, try Self.tariffSchedule(db))
        }
        return try CostReport(period: period, providers: providers, services: services, enrolments: enrolments, clients: clients,
                              baselines: baselines, area: area, tariffs: tariffs, today: today)
    }
}

extension Replica {
    /// A provider's pilot area as its region code, whether stored as the code or (before codes)
    /// as the region's name, so that one area is one row.
    static func pilotArea(_ provider: RecordState) -> String {
        let text = provider.value(.pilotArea).stringValue ?? ""
        return Municipalities.shipped.region(text)?.code ?? text
    }
}

/// A referral as the funnel and the waitlist see it.
public struct ReferralFact: Sendable, Hashable {
    public let id: String
    public let providerID: String
    /// The provider's region code (`MK11`).
    public let pilotArea: String
    public let state: ReferralState
    public let riskGroup: Int?
    /// The day (Finnish time) the referral was made: when its `providerId`, which never
    /// changes, was first written (a merge of clients moves `clientId`; a recovery re-stamps
    /// but keeps the first write).
    public let madeOn: CalendarDate
    /// Its place in the provider's queue orders by this (``KasvuSync/RecordState/creationHLC``).
    public let queuedAt: HLC
    public let endReason: String?
}

/// Referrals made in one pilot area and month, by where they stand now.
public struct FunnelRow: Sendable, Hashable {
    /// The region code (`MK11`).
    public let pilotArea: String
    public var pilotAreaName: String { Municipalities.shipped.regions[pilotArea]?.name ?? "" }
    public let month: YearMonth
    public private(set) var made = 0
    public private(set) var byState: [ReferralState: Int] = [:]
    /// Ended referrals by their end reason.
    public private(set) var endedByReason: [String: Int] = [:]

    public func count(_ state: ReferralState) -> Int { byState[state] ?? 0 }

    /// Rows by area and month, oldest month first.
    public static func rows(_ referrals: [ReferralFact]) -> [FunnelRow] {
        struct Key: Hashable { let area: String; let month: YearMonth }
        var rows: [Key: FunnelRow] = [:]
        for referral in referrals {
            let key = Key(area: referral.pilotArea, month: referral.madeOn.yearMonth)
            var row = rows[key] ?? FunnelRow(pilotArea: key.area, month: key.month)
            row.made += 1
            row.byState[referral.state, default: 0] += 1
            if referral.state == .ended { row.endedByReason[referral.endReason ?? "", default: 0] += 1 }
            rows[key] = row
        }
        return rows.values.sorted { ($0.month, $0.pilotArea) < ($1.month, $1.pilotArea) }
    }
}

extension Replica {
    /// Every live referral with the provider's area and the day it was made.
    public func referralFacts() async throws -> [ReferralFact] {
        try await read { db in
            var areas: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider WHERE deleted IS NOT 1") {
                areas[row["id"]] = Self.pilotArea(try Self.decodeState(row["sync_state"]))
            }
            return try Row.fetchAll(db, sql: "SELECT id, sync_state FROM referral WHERE deleted IS NOT 1 ORDER BY id").compactMap { row in
                let state = try Self.decodeState(row["sync_state"])
                guard let provider = state.value(.providerId).stringValue,
                      let current = state.value(.state).stringValue.flatMap(ReferralState.init(rawValue:)),
                      let made = state.entries(.providerId).first?.firstWrite.hlc else { return nil }
                return ReferralFact(id: row["id"], providerID: provider, pilotArea: areas[provider] ?? "", state: current,
                                    riskGroup: state.value(.riskGroup).intValue.map(Int.init),
                                    madeOn: CalendarDate.today(now: Date(timeIntervalSince1970: TimeInterval(made.millis) / 1000)),
                                    queuedAt: state.creationHLC,
                                    endReason: state.value(.endReason).stringValue)
            }
        }
    }

    /// The referral funnel: per pilot area and month made, how many referrals are pending,
    /// waitlisted, active, rejected, cancelled or ended (by reason) now.
    public func funnelReport() async throws -> [FunnelRow] {
        FunnelRow.rows(try await referralFacts())
    }
}
