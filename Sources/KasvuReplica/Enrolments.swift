import Foundation
import GRDB
import KasvuDomain
import KasvuSync

extension Replica {
    /// Enrols a client in a catalogue service (issue 15). The service must be offered on the
    /// planned dates and serve the client (municipality, client type, risk group, age:
    /// ``ServiceRules``); on a provider's replica, only a service manager enrols, naming itself
    /// in `providerId`. The enrolment starts `planned`.
    ///
    /// ```swift
    /// let enrolment = try await replica.createEnrolment(["clientId": .string(client), "serviceId": .string(service),
    ///                                                    "startDate": .string("2026-12-14")])
    /// ```
    public func createEnrolment(_ fields: [String: FieldValue], id: String? = nil) async throws -> Record {
        let id = try id.map { try Self.canonicalID($0) } ?? RecordID.random()
        let values = try EntityKind.enrolment.schema.validateCreate(fields)
        let role = self.role
        return try await write { db in
            if try Self.loadState(db, .enrolment, id) != nil {
                throw KasvuError(.alreadyExists, "an enrolment with id \(id) already exists")
            }
            if role == .provider {
                // A provider's replica holds its own provider record only.
                guard let provider = values[.providerId]?.stringValue,
                      try Self.loadState(db, .provider, provider)?.value(.contractKind).stringValue == "service_manager" else {
                    throw KasvuError(.permissionDenied, "only a service-manager provider (contractKind service_manager) enrols clients, naming itself in providerId")
                }
            }
            try Self.checkReferences(db, .enrolment, values)
            let clientID = values[.clientId]!.stringValue!, serviceID = values[.serviceId]!.stringValue!
            let client = try Self.liveState(db, .client, clientID).values
            let service = try Self.loadState(db, .service, serviceID)?.values
            let start = try CalendarDate(iso: values[.startDate]!.stringValue!)
            let end = try values[.endDate]?.stringValue.map { try CalendarDate(iso: $0) }
            let errors = ServiceRules.enrolmentErrors(serviceID: serviceID, service: service, client: client, start: start, end: end)
            guard errors.isEmpty else { throw KasvuError.validationFailed(errors) }
            return try self.commit(db, .enrolment, id, state: RecordState(), changes: values)
        }
    }

    /// Moves an enrolment through its state machine (``EnrolmentState``) on `date` (today when nil).
    public func transitionEnrolment(id: String, to next: EnrolmentState, date: CalendarDate?, reason: String?) async throws -> Record {
        let id = try Self.canonicalID(id)
        let day = date ?? self.today()
        return try await write { db in
            let state = try Self.liveState(db, .enrolment, id)
            guard let current = state.value(.state).stringValue.flatMap(EnrolmentState.init(rawValue:)) else {
                throw KasvuError(.invalidTransition, "enrolment \(id) has no valid state; resolve its conflicts first")
            }
            let startedOn = state.value(.startedOn).stringValue.flatMap { try? CalendarDate(iso: $0) }
            let changes = try current.transition(to: next, on: day, reason: reason, startedOn: startedOn)
            return try self.commit(db, .enrolment, id, state: state, changes: changes)
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
    public func costReport(period: BillingPeriod, area: String? = nil, tariff: Tariff = .current) async throws -> CostReport {
        let today = self.today()
        let providerIDs = try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider WHERE deleted IS NOT 1 ORDER BY id")
                .map { (id: $0["id"] as String, area: Self.pilotArea(try Self.decodeState($0["sync_state"]))) }
        }
        var providers: [CostReport.ProviderFacts] = []
        for provider in providerIDs {
            providers.append(CostReport.ProviderFacts(area: provider.area, facts: try await invoiceFacts(providerID: provider.id)))
        }
        let (services, enrolments, clients, baselines) = try await read { db in
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
                    Dictionary(uniqueKeysWithValues: try live(.client).map { ($0.id, $0.values) }), baselines)
        }
        return try CostReport(period: period, providers: providers, services: services, enrolments: enrolments, clients: clients,
                              baselines: baselines, area: area, tariff: tariff, today: today)
    }
}
