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
