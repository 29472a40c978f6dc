import Foundation

/// Which persons a pilot area refers only after a multi-professional assessment (issue 14,
/// item 3): a versioned rule per pilot area, kept as data (`Resources/assessment-gate.json`)
/// like the tariff. The replica checks it before `referral/create` commits; the central store
/// checks the same rule, with its own view of the client and its assessments, when the
/// referral arrives.
///
/// ```swift
/// let gate = AssessmentGate.shipped
/// gate.refusal(area: "MK06", on: today, clientID: id, client: client, assessments: [])
/// // assessment_required: … risk group 3 …
/// ```
public struct AssessmentGate: Sendable, Hashable {
    /// What one area requires.
    public struct Rule: Sendable, Hashable, Codable {
        /// Confirmed risk groups that need an assessment first.
        public var riskGroups: Set<Int>
        /// Whether a person the case worker marks (`needsAssessment`) needs one first.
        public var whenMarked: Bool
    }

    /// The rule of every configured area from a day on; an area absent from a version has no gate.
    public struct Version: Sendable, Hashable, Codable {
        public var version: Int
        public var validFrom: String
        public var areas: [String: Rule]
    }

    /// Oldest first.
    public let versions: [Version]

    /// Outcomes after which a gated person may be referred to a pilot provider.
    public static let allowingOutcomes: Set<String> = ["direct_referral", "service_manager"]

    /// The gate shipped with the product.
    public static let shipped: AssessmentGate = {
        guard let url = Bundle.module.url(forResource: "assessment-gate", withExtension: "json"),
              let data = try? Data(contentsOf: url), let gate = try? AssessmentGate(json: data)
        else { fatalError("KasvuDomain resource assessment-gate.json is missing or invalid") }
        return gate
    }()

    /// Decodes and checks a gate document: versions numbered upwards with increasing
    /// `validFrom` dates, areas given as region codes, risk groups 1–3.
    public init(json: Data) throws(KasvuError) {
        struct Document: Decodable { var versions: [Version] }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: json) } catch {
            throw .validationFailed(field: "versions", "not a gate document: \(error)")
        }
        var errors: [FieldError] = []
        var previous: (number: Int, from: CalendarDate)?
        for (index, version) in document.versions.enumerated() {
            guard let from = try? CalendarDate(iso: version.validFrom) else {
                errors.append(FieldError(field: "versions.\(index).validFrom", message: "must be a date YYYY-MM-DD"))
                continue
            }
            if let previous, version.version <= previous.number || from <= previous.from {
                errors.append(FieldError(field: "versions.\(index)", message: "versions must increase in number and validFrom"))
            }
            for (area, rule) in version.areas {
                if Municipalities.shipped.region(area)?.code != area {
                    errors.append(FieldError(field: "versions.\(index).areas.\(area)", message: "must be a region code such as MK06"))
                }
                if !rule.riskGroups.isSubset(of: [1, 2, 3]) {
                    errors.append(FieldError(field: "versions.\(index).areas.\(area).riskGroups", message: "must be risk groups 1–3"))
                }
            }
            previous = (version.version, from)
        }
        guard errors.isEmpty else { throw .validationFailed(errors) }
        versions = document.versions
    }

    /// The version in force on `day` and its rule for `area`; nil when the area has no gate then.
    public func rule(area: String, on day: CalendarDate) -> (version: Int, rule: Rule)? {
        guard let version = versions.last(where: { (try? CalendarDate(iso: $0.validFrom)).map { $0 <= day } ?? false }),
              let rule = version.areas[area] else { return nil }
        return (version.version, rule)
    }

    /// Why a pilot referral of this person to a provider of `area` may not be made on `day`, or
    /// nil. `assessments` are the client's live assessments; the latest completed one counts.
    /// The message names ids and codes only, never personal data.
    public func refusal(area: String, on day: CalendarDate, clientID: String, client: [String: FieldValue],
                        assessments: [(id: String, values: [String: FieldValue])]) -> KasvuError? {
        guard let (version, rule) = rule(area: area, on: day) else { return nil }
        let group = client[.riskGroup]?.intValue.map(Int.init)
        let why: String
        if let group, rule.riskGroups.contains(group) {
            why = "is in risk group \(group)"
        } else if rule.whenMarked, client[.needsAssessment]?.boolValue == true {
            why = "is marked for assessment"
        } else {
            return nil
        }
        if let latest = Self.latestCompleted(assessments), let outcome = latest.values[.outcome]?.stringValue, Self.allowingOutcomes.contains(outcome) {
            return nil
        }
        let seen = Self.latestCompleted(assessments).flatMap { $0.values[.outcome]?.stringValue }
        return KasvuError(.assessmentRequired, """
            client \(clientID) \(why), and pilot area \(area) refers such persons only after a multi-professional assessment \
            (assessment gate version \(version)): \(seen.map { "the latest completed assessment's outcome is \($0)" } ?? "no assessment is complete"); \
            complete one with outcome direct_referral or service_manager (assessment/create, assessment/complete)
            """, fieldErrors: [FieldError(field: "clientId", message: "needs a completed assessment with outcome direct_referral or service_manager")])
    }

    /// The client's assessment that counts: completed, live, latest by date, then by completion
    /// time, then by id (so every replica and the central store pick the same one).
    public static func latestCompleted(_ assessments: [(id: String, values: [String: FieldValue])]) -> (id: String, values: [String: FieldValue])? {
        assessments
            .filter { $0.values[.state]?.stringValue == "completed" && $0.values[EntitySchema.deletedField]?.boolValue != true }
            .max { a, b in
                let left = (a.values[.date]?.stringValue ?? "", a.values[.completedAt]?.stringValue ?? "", a.id)
                let right = (b.values[.date]?.stringValue ?? "", b.values[.completedAt]?.stringValue ?? "", b.id)
                return left < right
            }
    }
}
