import Foundation
import GRDB
import KasvuDomain
import KasvuSync

/// One step of a client's journey: what happened, when, to which record, and who did it.
public struct JourneyStep: Sendable, Hashable {
    /// `registered`, `profiled`, `risk_group_confirmed`, `assessment`, `assessment_completed`, `referred`, `referral_activated`,
    /// `referral_waitlisted`, `referral_ended`, `referral_cancelled`, `referral_rejected`,
    /// `contact`, `hours_reported`, `event`, `enrolment_planned`, `enrolment_started`,
    /// `enrolment_completed`, `enrolment_interrupted`, `enrolment_not_started`, `updated` or `deleted`.
    public let event: String
    public let entity: EntityKind
    public let id: String
    /// When the write was made (its HLC), the clock of the replica that made it.
    public let at: HLC
    /// The day it is about, where the record says (a contact's date, a referral's start or end,
    /// the first of an hours report's month), else the day it was written, in Finland.
    public let date: String
    /// The replica's actor that made the write; whether it was this replica; the user it was
    /// made under, where this replica knows it (its own writes, and the case worker a risk
    /// group's confirmation names).
    public let actor: ActorID
    public let byThisReplica: Bool
    public let user: String?
    /// What the step is about: field values that are not notes of other people's work.
    public let details: [String: FieldValue]

    /// The order of the timeline: by the day, then by write time.
    var sortKey: (String, UInt64, String, String) { (date, at.rawValue, entity.rawValue, id) }

    init(event: String, entity: EntityKind, id: String, at: HLC, date: String?, actor: ActorID, byThisReplica: Bool, user: String?,
         details: [String: FieldValue]) {
        self.event = event
        self.entity = entity
        self.id = id
        self.at = at
        self.date = date ?? CalendarDate.today(now: Date(timeIntervalSince1970: TimeInterval(at.millis) / 1000)).description
        self.actor = actor
        self.byThisReplica = byThisReplica
        self.user = user
        self.details = details
    }
}

/// Everything this replica knows about one client, as one timeline (issue 14, item 4).
public struct Journey: Sendable {
    public let client: Record
    /// Oldest first.
    public let steps: [JourneyStep]
    /// Conflicts open on the client or any record of its journey.
    public let conflicts: [ConflictReport]
    /// The client's overlapping services (``ServiceOverlaps/ClientOverlap``): the flag a service
    /// manager acts on.
    public let serviceOverlaps: [ServiceOverlaps.ClientOverlap]
}

extension Replica {
    /// The journey of a client this replica holds (``Journey``): its registration, profiling
    /// and confirmation, assessments, referrals with the transitions their states show, contacts, hours,
    /// events, enrolments in catalogue services and this replica's own other writes to them, oldest first, and the conflicts open
    /// on any of them. A deleted client whose delete is in conflict is shown; another is not found.
    ///
    /// Built from the records' states (each value knows the write that made it) and this
    /// replica's own write history (`write_history`: who, for its own writes). A transition
    /// the state has since moved past (a referral waitlisted before it became active) shows
    /// only where this replica made it; the central store's `audit/trail` has every write.
    public func journey(clientID: String) async throws -> Journey {
        let id = try Self.canonicalID(clientID)
        let actor = self.actor, today = self.today()
        return try await read { db in
            guard let client = try Self.loadState(db, .client, id), !client.isDeleted || !client.conflicts.isEmpty else {
                throw KasvuError.notFound(entity: "client", id: id)
            }
            var records: [(EntityKind, String, RecordState)] = [(.client, id, client)]
            for kind in [EntityKind.assessment, .referral, .contact, .hours, .event, .enrolment] {
                for row in try Row.fetchAll(db, sql: "SELECT id, sync_state FROM \"\(kind.rawValue)\" WHERE client_id = ? ORDER BY id", arguments: [id]) {
                    let state = try Self.decodeState(row["sync_state"])
                    if !state.isDeleted || !state.conflicts.isEmpty { records.append((kind, row["id"], state)) }
                }
            }
            var providerNames: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, sync_state FROM provider") {
                providerNames[row["id"]] = try Self.decodeState(row["sync_state"]).value(.name).stringValue
            }
            var serviceNames: [String: (name: String?, category: String?)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, sync_state FROM service") {
                let service = try Self.decodeState(row["sync_state"])
                serviceNames[row["id"]] = (service.value(.name).stringValue, service.value(.category).stringValue)
            }
            var history: [String: [(actor: String, counter: Int64, user: String?, fields: String, hlc: Int64)]] = [:]
            for (kind, recordID, _) in records {
                history["\(kind.rawValue)/\(recordID)"] = try Row.fetchAll(db, sql: """
                    SELECT actor, counter, user_name, fields, hlc FROM write_history WHERE entity = ? AND id = ? ORDER BY counter
                    """, arguments: [kind.rawValue, recordID]).map { ($0["actor"], $0["counter"], $0["user_name"], $0["fields"], $0["hlc"]) }
            }

            var steps: [JourneyStep] = []
            for (kind, recordID, state) in records {
                let own = history["\(kind.rawValue)/\(recordID)"] ?? []
                func user(of dot: Dot) -> String? {
                    own.first { $0.actor == dot.actor.rawValue && $0.counter == Int64(dot.counter) }?.user
                }
                var explained: Set<Dot> = []
                func step(_ event: String, _ entry: FieldEntry?, date: String? = nil, user named: String? = nil, _ details: [String: FieldValue] = [:]) {
                    guard let entry else { return }
                    explained.insert(entry.dot)
                    steps.append(JourneyStep(event: event, entity: kind, id: recordID, at: entry.hlc, date: date, actor: entry.dot.actor,
                                             byThisReplica: entry.dot.actor == actor, user: named ?? user(of: entry.dot),
                                             details: details.filter { !$0.value.isNull }))
                }
                let provider = state.value(.providerId)
                let providerDetails: [String: FieldValue] = ["providerId": provider, "providerName": provider.stringValue.flatMap { providerNames[$0] }.map(FieldValue.string) ?? .null]
                switch kind {
                case .client:
                    step("registered", (state.entries(.clientType).first ?? state.entries(.municipality).first),
                         ["clientType": state.value(.clientType), "municipality": state.value(.municipality)])
                    step("profiled", state.entries(.riskGroupProposal).first,
                         ["riskGroupProposal": state.value(.riskGroupProposal), "profilingModelVersion": state.value(.profilingModelVersion)])
                    step("risk_group_confirmed", state.entries(.riskGroup).first, user: state.value(.riskGroupConfirmedBy).stringValue,
                         ["riskGroup": state.value(.riskGroup), "profilingModelVersion": state.value(.profilingModelVersion)])
                case .referral:
                    step("referred", state.entries(.clientId).first, providerDetails.merging(["chosenBy": state.value(.chosenBy)]) { $1 })
                    step("referral_activated", state.entries(.startDate).first, date: state.value(.startDate).stringValue, providerDetails)
                    let current = state.value(.state).stringValue ?? "pending"
                    if !["pending", "active"].contains(current) {
                        step("referral_\(current)", state.entries(.state).first, date: state.value(.endDate).stringValue,
                             providerDetails.merging(["endReason": state.value(.endReason)]) { $1 })
                    }
                case .contact:
                    step("contact", state.entries(.clientId).first, date: state.value(.date).stringValue,
                         providerDetails.merging(["kind": state.value(.kind), "note": state.value(.note)]) { $1 })
                case .hours:
                    step("hours_reported", state.entries(.hours).first, date: state.value(.month).stringValue.map { "\($0)-01" },
                         providerDetails.merging(["month": state.value(.month), "hours": state.value(.hours), "verifiedHours": state.value(.verifiedHours)]) { $1 })
                case .event:
                    step("event", state.entries(.clientId).first, date: state.value(.date).stringValue,
                         providerDetails.merging(["kind": state.value(.kind)]) { $1 })
                case .assessment:
                    // Providers hold only the outcome and needs; notes and participants stay out of the timeline.
                    let needs = Self.listText(state.value(.needs))
                    step("assessment", state.entries(.clientId).first, date: state.value(.date).stringValue, ["needs": needs])
                    step("assessment_completed", state.entries(.completedAt).first, date: state.value(.date).stringValue,
                         user: state.value(.completedBy).stringValue, ["outcome": state.value(.outcome), "needs": needs])
                case .enrolment:
                    let service = state.value(.serviceId).stringValue.flatMap { serviceNames[$0] }
                    let serviceDetails: [String: FieldValue] = ["serviceId": state.value(.serviceId), "serviceName": service?.name.map(FieldValue.string) ?? .null,
                                                                "category": service?.category.map(FieldValue.string) ?? .null]
                    step("enrolment_planned", state.entries(.clientId).first, date: state.value(.startDate).stringValue, serviceDetails)
                    step("enrolment_started", state.entries(.startedOn).first, date: state.value(.startedOn).stringValue, serviceDetails)
                    let current = state.value(.state).stringValue ?? "planned"
                    if !["planned", "started"].contains(current) {
                        step("enrolment_\(current)", state.entries(.state).first, date: state.value(.endedOn).stringValue,
                             serviceDetails.merging(["endReason": state.value(.endReason)]) { $1 })
                    }
                case .provider, .service, .baseline, .invoice, .tariff:
                    break
                }
                if state.isDeleted { step("deleted", state.fields[EntitySchema.deletedField]?.first) }
                // This replica's other writes to the record: who changed which fields.
                for write in own where !explained.contains(Dot(ActorID(rawValue: write.actor), UInt64(write.counter))) {
                    steps.append(JourneyStep(event: "updated", entity: kind, id: recordID, at: HLC(rawValue: UInt64(bitPattern: write.hlc)), date: nil,
                                             actor: ActorID(rawValue: write.actor), byThisReplica: write.actor == actor.rawValue, user: write.user,
                                             details: ["fields": .string(write.fields)]))
                }
            }
            steps.sort { $0.sortKey < $1.sortKey }
            let conflicts = records.flatMap { kind, recordID, state in
                state.conflicts.map { ConflictReport(kind: kind, id: recordID, conflict: $0) }
            }
            let enrolments = records.filter { $0.0 == .enrolment && !$0.2.isDeleted }.map { (id: $0.1, values: $0.2.values) }
            let services = try enrolments.compactMap { $0.values[.serviceId]?.stringValue }.compactMap { serviceID in
                try Self.loadState(db, .service, serviceID).map { (id: serviceID, values: $0.values) }
            }
            let overlaps = ServiceOverlaps(services: services, enrolments: enrolments, today: today).clients
            return Journey(client: Record(kind: .client, id: id, state: client), steps: steps, conflicts: conflicts, serviceOverlaps: overlaps)
        }
    }

    /// An array field's items as one comma-separated text, for a timeline line.
    static func listText(_ value: FieldValue) -> FieldValue {
        guard let text = value.stringValue, let items = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String], !items.isEmpty else { return .null }
        return .string(items.joined(separator: ", "))
    }
}
