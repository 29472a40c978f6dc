import Foundation

/// Who may be enrolled in a catalogue service, and when (issue 15). The replica checks these
/// before `enrolment/create` commits; the central store checks the same when the enrolment
/// arrives, with its own copy of the service and the client.
///
/// ```swift
/// ServiceRules.enrolmentErrors(serviceID: id, service: service, client: client, start: start, end: nil)
/// // [clientId: the service does not serve municipality 837]
/// ```
public enum ServiceRules {
    /// Every reason `client` may not be enrolled in `service` from `start` to `end`; empty when
    /// it may. Messages name codes and dates, never the client's personal data.
    public static func enrolmentErrors(serviceID: String, service: [String: FieldValue]?, client: [String: FieldValue],
                                       start: CalendarDate, end: CalendarDate?) -> [FieldError] {
        guard let service, service[EntitySchema.deletedField]?.boolValue != true else {
            return [FieldError(field: "serviceId", message: "no service with id \(serviceID)")]
        }
        var errors: [FieldError] = []
        if let from = service[.validFrom]?.stringValue, start.description < from {
            errors.append(FieldError(field: "startDate", message: "the service is offered from \(from)"))
        }
        if let to = service[.validTo]?.stringValue, (end ?? start).description > to {
            errors.append(FieldError(field: end == nil ? "startDate" : "endDate", message: "the service is offered until \(to)"))
        }
        let municipality = client[.municipality]?.stringValue ?? ""
        if let served = strings(service[.municipalities]), !served.contains(municipality) {
            errors.append(FieldError(field: "clientId", message: "the service does not serve the client's municipality \(municipality)"))
        }
        let target = object(service[.target]) ?? [:]
        let type = client[.clientType]?.stringValue ?? "person"
        if let types = target["clientTypes"] as? [String], !types.contains(type) {
            errors.append(FieldError(field: "clientId", message: "the service is for \(types.joined(separator: ", ")) clients, not a \(type)"))
        }
        if let groups = target["riskGroups"] as? [Int] {
            let group = client[.riskGroup]?.intValue.map(Int.init)
            if group.map({ !groups.contains($0) }) ?? true {
                errors.append(FieldError(field: "clientId", message: "the service is for risk groups \(groups.map(String.init).joined(separator: ", ")); the client's confirmed group is \(group.map(String.init) ?? "not set")"))
            }
        }
        let minAge = target["minAge"] as? Int, maxAge = target["maxAge"] as? Int
        if minAge != nil || maxAge != nil {
            let born = client[.hetu]?.stringValue.flatMap { try? PersonalIdentityCode($0, allowTemporary: true).birthDate }
            let age = born.map { start.year - $0.year - ((start.month, start.day) < ($0.month, $0.day) ? 1 : 0) }
            if age.map({ $0 < (minAge ?? 0) || $0 > (maxAge ?? 200) }) ?? true {
                errors.append(FieldError(field: "clientId", message: "the service is for ages \(minAge ?? 0)–\(maxAge.map(String.init) ?? ""); the client's age on \(start) is outside it or unknown"))
            }
        }
        return errors
    }

    /// An array field's strings (``FieldSpec/ValueType/array``).
    public static func strings(_ value: FieldValue?) -> [String]? {
        value?.stringValue.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String] }
    }

    static func object(_ value: FieldValue?) -> [String: Any]? {
        value?.stringValue.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}
