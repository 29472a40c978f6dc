/// The name of a record field, spelled once: code says `.clientId`, and a typo is a compile
/// error instead of a lookup that silently finds nothing. The entity schemas declare their
/// fields with these keys; on the wire and in SQL the ``rawValue`` is the camelCase name.
///
/// ```swift
/// let provider = state.value(.providerId).stringValue
/// values[.riskGroup] = .int(2)
/// ```
public struct FieldKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }
    public static func < (a: FieldKey, b: FieldKey) -> Bool { a.rawValue < b.rawValue }

    public static let associationNumber = FieldKey("associationNumber")
    public static let auditedAt = FieldKey("auditedAt")
    public static let auditedBy = FieldKey("auditedBy")
    public static let auditedHours = FieldKey("auditedHours")
    public static let businessId = FieldKey("businessId")
    public static let cap = FieldKey("cap")
    public static let capitationBase = FieldKey("capitationBase")
    public static let chosenBy = FieldKey("chosenBy")
    public static let clientId = FieldKey("clientId")
    public static let clientType = FieldKey("clientType")
    public static let contactPerson = FieldKey("contactPerson")
    public static let date = FieldKey("date")
    public static let duplicateOf = FieldKey("duplicateOf")
    public static let educationLevel = FieldKey("educationLevel")
    public static let email = FieldKey("email")
    public static let employerBusinessId = FieldKey("employerBusinessId")
    public static let endDate = FieldKey("endDate")
    public static let endReason = FieldKey("endReason")
    public static let firstName = FieldKey("firstName")
    public static let hetu = FieldKey("hetu")
    public static let hourlyRate = FieldKey("hourlyRate")
    public static let hours = FieldKey("hours")
    public static let kind = FieldKey("kind")
    public static let language = FieldKey("language")
    public static let languageSkills = FieldKey("languageSkills")
    public static let lastName = FieldKey("lastName")
    public static let mergedInto = FieldKey("mergedInto")
    public static let month = FieldKey("month")
    public static let monthsEmployedLast24 = FieldKey("monthsEmployedLast24")
    public static let monthsUnemployed = FieldKey("monthsUnemployed")
    public static let municipality = FieldKey("municipality")
    public static let name = FieldKey("name")
    public static let note = FieldKey("note")
    public static let phone = FieldKey("phone")
    public static let pilotArea = FieldKey("pilotArea")
    public static let profilingModelVersion = FieldKey("profilingModelVersion")
    public static let providerId = FieldKey("providerId")
    public static let riskGroup = FieldKey("riskGroup")
    public static let riskGroupConfirmedAt = FieldKey("riskGroupConfirmedAt")
    public static let riskGroupConfirmedBy = FieldKey("riskGroupConfirmedBy")
    public static let riskGroupProposal = FieldKey("riskGroupProposal")
    public static let riskGroupReason = FieldKey("riskGroupReason")
    public static let riskGroupScore = FieldKey("riskGroupScore")
    public static let startDate = FieldKey("startDate")
    public static let state = FieldKey("state")
    public static let status = FieldKey("status")
    public static let verifiedHours = FieldKey("verifiedHours")
    public static let completedAt = FieldKey("completedAt")
    public static let completedBy = FieldKey("completedBy")
    public static let needs = FieldKey("needs")
    public static let needsAssessment = FieldKey("needsAssessment")
    public static let notes = FieldKey("notes")
    public static let outcome = FieldKey("outcome")
    public static let participants = FieldKey("participants")
    public static let recommendedServices = FieldKey("recommendedServices")
    public static let capacity = FieldKey("capacity")
    public static let category = FieldKey("category")
    public static let contractKind = FieldKey("contractKind")
    public static let endedOn = FieldKey("endedOn")
    public static let amount = FieldKey("amount")
    public static let document = FieldKey("document")
    public static let importedBy = FieldKey("importedBy")
    public static let leaseId = FieldKey("leaseId")
    public static let issuedAt = FieldKey("issuedAt")
    public static let issuedBy = FieldKey("issuedBy")
    public static let number = FieldKey("number")
    public static let tariffVersion = FieldKey("tariffVersion")
    public static let total = FieldKey("total")
    public static let version = FieldKey("version")
    public static let municipalities = FieldKey("municipalities")
    public static let organiserBusinessId = FieldKey("organiserBusinessId")
    public static let organiserKind = FieldKey("organiserKind")
    public static let organiserName = FieldKey("organiserName")
    public static let serviceId = FieldKey("serviceId")
    public static let startedOn = FieldKey("startedOn")
    public static let target = FieldKey("target")
    public static let unitCostPerMonth = FieldKey("unitCostPerMonth")
    public static let validFrom = FieldKey("validFrom")
    public static let validTo = FieldKey("validTo")
    public static let costPerClient = FieldKey("costPerClient")
    public static let period = FieldKey("period")

    /// Every key, for the test that each names a field of some entity.
    public static let all: [FieldKey] = [.amount, .associationNumber, .auditedAt, .auditedBy, .auditedHours, .businessId, .cap, .capacity, .capitationBase, .category, .chosenBy, .clientId, .clientType, .completedAt, .completedBy, .contactPerson, .contractKind, .costPerClient, .date, .document, .duplicateOf, .educationLevel, .email, .employerBusinessId, .endDate, .endReason, .endedOn, .firstName, .hetu, .hourlyRate, .hours, .importedBy, .issuedAt, .issuedBy, .kind, .language, .languageSkills, .lastName, .leaseId, .mergedInto, .month, .monthsEmployedLast24, .monthsUnemployed, .municipalities, .municipality, .name, .needs, .needsAssessment, .note, .notes, .number, .organiserBusinessId, .organiserKind, .organiserName, .outcome, .participants, .period, .phone, .pilotArea, .profilingModelVersion, .providerId, .recommendedServices, .riskGroup, .riskGroupConfirmedAt, .riskGroupConfirmedBy, .riskGroupProposal, .riskGroupReason, .riskGroupScore, .serviceId, .startDate, .startedOn, .state, .status, .tariffVersion, .target, .total, .unitCostPerMonth, .validFrom, .validTo, .verifiedHours, .version]
}

extension Dictionary where Key == String, Value == FieldValue {
    /// The value of a field in a map of field values keyed by name.
    public subscript(key: FieldKey) -> FieldValue? {
        get { self[key.rawValue] }
        set { self[key.rawValue] = newValue }
    }
}
