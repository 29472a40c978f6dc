import Foundation

/// How a field's values are checked, and the same constraints stated as data so that the API
/// catalogue (OpenRPC) is generated from the rule itself and cannot drift from it.
public struct FieldRule: Sendable {
    /// The constraints a client can read before sending: JSON-Schema facets and a sentence.
    public struct Format: Sendable {
        public var allowed: [String]?
        public var pattern: String?
        public var range: ClosedRange<Int64>?
        public var maxLength: Int?
        /// A JSON-Schema `format` (`uuid`, `date`, `email`).
        public var format: String?
        public var description: String?
        /// For an array or object field: what it holds, and how many items there may be.
        public var structure: Structure?
        public var maxItems: Int?

        /// What an array or object field holds.
        public enum Structure: Sendable {
            /// Distinct codes from a fixed list.
            case codes([String])
            /// Free texts of at most this many characters.
            case texts(maxLength: Int)
            /// Objects `{role, name}`: a role from the list and a name.
            case participants(roles: [String], nameMaxLength: Int)
            /// Municipality codes.
            case municipalities
            /// A service's target group: an object `{clientTypes, riskGroups, minAge, maxAge}`.
            case serviceTarget(clientTypes: [String])
        }

        init(allowed: [String]? = nil, pattern: String? = nil, range: ClosedRange<Int64>? = nil, maxLength: Int? = nil,
             format: String? = nil, description: String? = nil, structure: Structure? = nil, maxItems: Int? = nil) {
            self.allowed = allowed
            self.pattern = pattern
            self.range = range
            self.maxLength = maxLength
            self.format = format
            self.description = description
            self.structure = structure
            self.maxItems = maxItems
        }
    }

    public let format: Format
    /// Checks a value and returns its canonical form.
    public let check: @Sendable (FieldValue) throws(FieldError) -> FieldValue
}

/// Field rules shared by the entity schemas. Each check returns the canonical value or throws a
/// ``FieldError`` naming the field.
enum Check {
    static func string(_ name: String, _ value: FieldValue) throws(FieldError) -> String {
        guard case .string(let text) = value else { throw FieldError(field: name, message: "must be a string") }
        return text
    }

    static func text(_ name: String, maxLength: Int = 200) -> FieldRule {
        FieldRule(format: .init(maxLength: maxLength, description: "not blank, no control characters but line breaks")) { value throws(FieldError) in
            let text = try string(name, value)
            // Most texts are ASCII: one pass over the bytes says all the checks below would.
            if text.utf8.count <= maxLength, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 == 0x0A }),
               text.utf8.contains(where: { $0 != 0x20 && $0 != 0x0A }) {
                return .string(text)
            }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw FieldError(field: name, message: "must not be blank")
            }
            guard text.count <= maxLength else { throw FieldError(field: name, message: "at most \(maxLength) characters") }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) else {
                throw FieldError(field: name, message: "must not contain control characters")
            }
            return .string(text)
        }
    }

    static func oneOf(_ name: String, _ allowed: [String]) -> FieldRule {
        FieldRule(format: .init(allowed: allowed)) { value throws(FieldError) in
            let text = try string(name, value)
            guard allowed.contains(text) else {
                throw FieldError(field: name, message: "must be one of \(allowed.joined(separator: ", ")), got '\(text)'")
            }
            return .string(text)
        }
    }

    static func id(_ name: String) -> FieldRule {
        FieldRule(format: .init(format: "uuid", description: "UUID, lowercase canonical form")) { value throws(FieldError) in
            .string(try RecordID.validate(try string(name, value), field: name))
        }
    }

    static let hetu = FieldRule(format: .init(
        pattern: #"^\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]$"#,
        description: "henkilötunnus, validated in full including the 2023 century signs; temporary identifiers (individual number 900–999) are refused"
    )) { value throws(FieldError) in
        .string(try PersonalIdentityCode(try string("hetu", value)).value)
    }

    static func businessID(_ name: String) -> FieldRule {
        FieldRule(format: .init(pattern: #"^\d{7}-\d$"#, description: "Y-tunnus with a valid check digit")) { value throws(FieldError) in
            .string(try BusinessID(try string(name, value), field: name).value)
        }
    }

    static let municipality = FieldRule(format: .init(
        pattern: #"^\d{3}$"#, description: "kuntanumero from the shipped municipality list, or 198/199/200"
    )) { value throws(FieldError) in
        .string(try Municipalities.shipped.validate(try string("municipality", value)).code)
    }

    static func date(_ name: String) -> FieldRule {
        FieldRule(format: .init(pattern: #"^\d{4}-\d{2}-\d{2}$"#, format: "date", description: "ISO date YYYY-MM-DD")) { value throws(FieldError) in
            .string(try CalendarDate(iso: try string(name, value), field: name).description)
        }
    }

    static let pilotArea = FieldRule(format: .init(
        pattern: #"^MK\d{2}$"#,
        description: "region code from the municipality list (MK01–MK21); also accepted by the region's Finnish name (Pohjois-Savo → MK11)"
    )) { value throws(FieldError) in
        let text = try string("pilotArea", value)
        guard let region = Municipalities.shipped.region(text) else {
            throw FieldError(field: "pilotArea", message: "unknown pilot area '\(text)': give a region code such as MK11 or a region name such as Pohjois-Savo")
        }
        return .string(region.code)
    }

    static let period = FieldRule(format: .init(pattern: #"^\d{4}-T[1-3]$"#, description: "four-month period YYYY-T1, -T2 or -T3")) { value throws(FieldError) in
        .string(try BillingPeriod(iso: try string("period", value), field: "period").description)
    }

    static let month = FieldRule(format: .init(pattern: #"^\d{4}-\d{2}$"#, description: "YYYY-MM")) { value throws(FieldError) in
        .string(try YearMonth(iso: try string("month", value), field: "month").description)
    }

    static func decimal(_ name: String, maxFractionDigits: Int, allowNegative: Bool = false) -> FieldRule {
        let pattern = "^\(allowNegative ? "-?" : "")\\d+(\\.\\d{1,\(maxFractionDigits)})?$"
        return FieldRule(format: .init(pattern: pattern, description: "exact decimal string, at most \(maxFractionDigits) decimals")) { value throws(FieldError) in
            .string(try DecimalText(try string(name, value), field: name, maxFractionDigits: maxFractionDigits, allowNegative: allowNegative).text)
        }
    }

    static func int(_ name: String, _ range: ClosedRange<Int64>) -> FieldRule {
        FieldRule(format: .init(range: range)) { value throws(FieldError) in
            guard case .int(let number) = value, range.contains(number) else {
                throw FieldError(field: name, message: "must be an integer in \(range.lowerBound)…\(range.upperBound)")
            }
            return value
        }
    }

    static let email = FieldRule(format: .init(maxLength: 254, format: "email")) { value throws(FieldError) in
        let text = try string("email", value)
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !text.contains(" "), text.count <= 254 else {
            throw FieldError(field: "email", message: "must be an e-mail address like name@example.fi")
        }
        return value
    }

    static func bool(_ name: String) -> FieldRule {
        FieldRule(format: .init()) { value throws(FieldError) in
            guard case .bool = value else { throw FieldError(field: name, message: "must be true or false") }
            return value
        }
    }

    static let phone = FieldRule(format: .init(pattern: #"^[0-9 +()-]+$"#, description: "5–20 digits; +, spaces, hyphens and parentheses allowed")) { value throws(FieldError) in
        let text = try string("phone", value)
        let digits = text.filter(\.isNumber).count
        guard (5...20).contains(digits), text.allSatisfy({ $0.isASCII && ($0.isNumber || " +-()".contains($0)) }) else {
            throw FieldError(field: "phone", message: "must be a phone number of 5–20 digits (+, spaces, hyphens allowed)")
        }
        return value
    }

    /// A registered association's number in the Finnish Register of Associations
    /// (*yhdistysrekisterinumero*): 1–6 digits, written with a dot before the last three.
    static let associationNumber = FieldRule(format: .init(
        pattern: #"^\d{1,3}(\.?\d{3})?$"#, description: "yhdistysrekisterinumero, 1–6 digits such as 123.456 (canonical form with the dot)"
    )) { value throws(FieldError) in
        let text = try string("associationNumber", value)
        let digits = text.replacingOccurrences(of: ".", with: "")
        guard (1...6).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), !digits.hasPrefix("0"),
              text == digits || (digits.count > 3 && text == "\(digits.dropLast(3)).\(digits.suffix(3))") else {
            throw FieldError(field: "associationNumber", message: "must be a register number of 1–6 digits such as 123.456")
        }
        return .string(digits.count > 3 ? "\(digits.dropLast(3)).\(digits.suffix(3))" : digits)
    }

    // MARK: Arrays (stored as canonical JSON text; see ``FieldSpec/ValueType/array``)

    /// The items of an array field's JSON text; the text must be a JSON array.
    static func items(_ name: String, _ value: FieldValue, maxItems: Int) throws(FieldError) -> [Any] {
        let text = try string(name, value)
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]), let items = parsed as? [Any] else {
            throw FieldError(field: name, message: "must be an array")
        }
        guard items.count <= maxItems else { throw FieldError(field: name, message: "at most \(maxItems) items") }
        return items
    }

    /// A JSON string literal. Texts here hold no control characters but line breaks (``text(_:maxLength:)``).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Distinct codes from `allowed`, kept in the list's order (so equal sets are equal texts).
    static func codes(_ name: String, _ allowed: [String], description: String) -> FieldRule {
        FieldRule(format: .init(description: description, structure: .codes(allowed), maxItems: allowed.count)) { value throws(FieldError) in
            var chosen: Set<String> = []
            for (index, item) in try items(name, value, maxItems: allowed.count).enumerated() {
                guard let code = item as? String, allowed.contains(code) else {
                    throw FieldError(field: "\(name)[\(index)]", message: "must be one of \(allowed.joined(separator: ", ")), got \(item is String ? "'\(item)'" : "a non-string")")
                }
                guard chosen.insert(code).inserted else { throw FieldError(field: "\(name)[\(index)]", message: "'\(code)' is given twice") }
            }
            return .string("[" + allowed.filter(chosen.contains).map(quoted).joined(separator: ",") + "]")
        }
    }

    /// Free texts, in the order given.
    static func texts(_ name: String, maxItems: Int, maxLength: Int) -> FieldRule {
        let rule = text(name, maxLength: maxLength)
        return FieldRule(format: .init(description: "each item not blank, no control characters", structure: .texts(maxLength: maxLength), maxItems: maxItems)) { value throws(FieldError) in
            var out: [String] = []
            for (index, item) in try items(name, value, maxItems: maxItems).enumerated() {
                guard let text = item as? String else { throw FieldError(field: "\(name)[\(index)]", message: "must be a string") }
                do throws(FieldError) { out.append(try rule.check(.string(text)).stringValue ?? text) } catch {
                    throw FieldError(field: "\(name)[\(index)]", message: error.message)
                }
            }
            return .string("[" + out.map(quoted).joined(separator: ",") + "]")
        }
    }

    /// Who took part in an assessment: `[{role, name}]`, in the order given.
    static func participants(_ name: String, roles: [String], maxItems: Int) -> FieldRule {
        let nameRule = text("name", maxLength: 100)
        return FieldRule(format: .init(description: "each {role, name}", structure: .participants(roles: roles, nameMaxLength: 100), maxItems: maxItems)) { value throws(FieldError) in
            var out: [String] = []
            for (index, item) in try items(name, value, maxItems: maxItems).enumerated() {
                let path = "\(name)[\(index)]"
                guard let object = item as? [String: Any] else { throw FieldError(field: path, message: "must be an object {role, name}") }
                if let extra = object.keys.sorted().first(where: { !["role", "name"].contains($0) }) {
                    throw FieldError(field: "\(path).\(extra)", message: "unknown member; a participant has role and name")
                }
                guard let role = object["role"] as? String, roles.contains(role) else {
                    throw FieldError(field: "\(path).role", message: "must be one of \(roles.joined(separator: ", "))")
                }
                guard let person = object["name"] as? String else { throw FieldError(field: "\(path).name", message: "is required (a string)") }
                let canonical: String
                do throws(FieldError) { canonical = try nameRule.check(.string(person)).stringValue ?? person } catch {
                    throw FieldError(field: "\(path).name", message: error.message)
                }
                out.append("{\"name\":\(quoted(canonical)),\"role\":\(quoted(role))}")
            }
            return .string("[" + out.joined(separator: ",") + "]")
        }
    }

    /// Distinct municipality codes, at least one, in ascending order.
    static func municipalities(_ name: String) -> FieldRule {
        FieldRule(format: .init(description: "kuntanumerot of the shipped list, at least one", structure: .municipalities, maxItems: 400)) { value throws(FieldError) in
            var codes: Set<String> = []
            for (index, item) in try items(name, value, maxItems: 400).enumerated() {
                guard let text = item as? String else { throw FieldError(field: "\(name)[\(index)]", message: "must be a municipality code string") }
                do throws(FieldError) { codes.insert(try Municipalities.shipped.validate(text).code) } catch {
                    throw FieldError(field: "\(name)[\(index)]", message: error.message)
                }
            }
            guard !codes.isEmpty else { throw FieldError(field: name, message: "must name at least one municipality") }
            return .string("[" + codes.sorted().map(quoted).joined(separator: ",") + "]")
        }
    }

    /// A service's target group `{clientTypes, riskGroups, minAge, maxAge}`, every member
    /// optional (absent: anyone); canonical with sorted keys and sets in order. Decoded with
    /// `JSONDecoder`, which keeps `true` from passing for 1 (as `JSONSerialization`'s NSNumber would).
    static func serviceTarget(_ name: String, clientTypes allowedTypes: [String]) -> FieldRule {
        struct Target: Decodable { var clientTypes: [String]?; var riskGroups: [Int]?; var minAge: Int?; var maxAge: Int? }
        return FieldRule(format: .init(description: "who the service is for; an absent member does not restrict", structure: .serviceTarget(clientTypes: allowedTypes))) { value throws(FieldError) in
            let text = try string(name, value)
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]), let object = parsed as? [String: Any] else {
                throw FieldError(field: name, message: "must be an object {clientTypes, riskGroups, minAge, maxAge}")
            }
            if let extra = object.keys.sorted().first(where: { !["clientTypes", "riskGroups", "minAge", "maxAge"].contains($0) }) {
                throw FieldError(field: "\(name).\(extra)", message: "unknown member; a target has clientTypes, riskGroups, minAge and maxAge")
            }
            let target: Target
            do { target = try JSONDecoder().decode(Target.self, from: Data(text.utf8)) } catch {
                let member = ["clientTypes", "riskGroups", "minAge", "maxAge"].first { "\(error)".contains($0) } ?? ""
                throw FieldError(field: member.isEmpty ? name : "\(name).\(member)",
                                 message: "clientTypes: client types; riskGroups: risk groups 1–3; minAge, maxAge: integer ages 0–120")
            }
            var members: [String] = []
            if let types = target.clientTypes {
                let chosen = try codes("\(name).clientTypes", allowedTypes, description: "").check(.string("[" + types.map(quoted).joined(separator: ",") + "]"))
                members.append("\"clientTypes\":\(chosen.stringValue ?? "[]")")
            }
            for (key, age) in [("minAge", target.minAge), ("maxAge", target.maxAge)] where age.map({ !(0...120).contains($0) }) ?? false {
                throw FieldError(field: "\(name).\(key)", message: "must be an integer age 0–120")
            }
            if let minAge = target.minAge, let maxAge = target.maxAge, minAge > maxAge { throw FieldError(field: "\(name).maxAge", message: "must not be below minAge") }
            if let maxAge = target.maxAge { members.append("\"maxAge\":\(maxAge)") }
            if let minAge = target.minAge { members.append("\"minAge\":\(minAge)") }
            if let groups = target.riskGroups {
                guard !groups.isEmpty else { throw FieldError(field: "\(name).riskGroups", message: "must be a non-empty array of risk groups 1–3") }
                var chosen: Set<Int> = []
                for (index, group) in groups.enumerated() where !(1...3).contains(group) || !chosen.insert(group).inserted {
                    throw FieldError(field: "\(name).riskGroups[\(index)]", message: "must be a distinct risk group 1, 2 or 3")
                }
                members.append("\"riskGroups\":[\(chosen.sorted().map(String.init).joined(separator: ","))]")
            }
            return .string("{" + members.joined(separator: ",") + "}")
        }
    }

    static let language = FieldRule(format: .init(pattern: "^[a-z]{2}$", description: "ISO 639-1 code")) { value throws(FieldError) in
        let text = try string("language", value)
        guard text.count == 2, text.allSatisfy({ $0.isASCII && $0.isLowercase }) else {
            throw FieldError(field: "language", message: "must be a two-letter ISO 639-1 code such as fi, sv or en")
        }
        return value
    }
}

/// The field lists of DESIGN section 5. Names are a public contract: extend, never rename.
enum Schemas {
    static let clientTypes = ["person", "company", "community"]
    static let clientStatuses = ["registered", "assessment", "referred", "closed"]
    static let contactKinds = ["meeting", "phone", "online", "service"]
    static let assessmentNeeds = ["employment", "education", "health", "social", "housing", "finance", "language", "rehabilitation", "life_management"]
    static let participantRoles = ["te_office", "municipal_social", "health", "kela", "provider", "education", "other"]
    static let assessmentOutcomes = ["direct_referral", "service_manager", "other_services", "no_service"]
    static let assessmentStates = ["draft", "completed"]
    static let contractKinds = ["pilot_provider", "service_manager"]
    static let organiserKinds = ["te_office", "municipality", "kela", "wellbeing_services_county", "education", "ngo", "provider"]
    static let serviceCategories = ["job_search", "coaching", "work_try_out", "rehabilitative_work_activity", "wage_subsidy", "training",
                                    "education", "health", "social_work", "mental_health_substance", "rehabilitation", "housing",
                                    "debt_counselling", "business_services", "recruitment"]
    static let enrolmentStates = EnrolmentState.allCases.map(\.rawValue)
    static let eventKinds = ["education_started", "business_started", "employed", "employment_ended", "education_completed"]

    static let client = EntitySchema(
        kind: .client,
        fields: [
            FieldSpec(.clientType, access: .createOnly, indexed: true,
                      summary: "person (default), company, or community (association, foundation, platform); decides the required fields", check: Check.oneOf("clientType", clientTypes)),
            FieldSpec(.hetu, access: .createOnly, indexed: true, personal: true, summary: "a person's henkilötunnus (required for a person, refused for others)", check: Check.hetu),
            FieldSpec(.businessId, access: .createOnly, indexed: true, personal: true, summary: "Y-tunnus of a company (required) or a community (this or associationNumber); a sole trader's identifies a person, so it is erased too", check: Check.businessID("businessId")),
            FieldSpec(.associationNumber, access: .createOnly, indexed: true, personal: true, summary: "a registered association's number, for a community without a Y-tunnus", check: Check.associationNumber),
            FieldSpec(.firstName, personal: true, summary: "a person's first name", check: Check.text("firstName", maxLength: 100)),
            FieldSpec(.lastName, indexed: true, personal: true, summary: "a person's last name (required for a person)", check: Check.text("lastName", maxLength: 100)),
            // A company's or community's name identifies the people of a one-person business or a
            // small association, so it is erased with the rest.
            FieldSpec(.name, indexed: true, personal: true, summary: "a company's or community's name (required for them)", check: Check.text("name", maxLength: 200)),
            FieldSpec(.contactPerson, personal: true, summary: "the person to contact at a company or community", check: Check.text("contactPerson", maxLength: 200)),
            FieldSpec(.municipality, required: true, indexed: true, check: Check.municipality),
            FieldSpec(.phone, personal: true, check: Check.phone),
            FieldSpec(.email, personal: true, check: Check.email),
            FieldSpec(.language, personal: true, check: Check.language),
            FieldSpec(.riskGroup, type: .integer, access: .system, indexed: true, summary: "confirmed risk group (1 easily employed, 2 average, 3 hard to employ); set by client/confirmRiskGroup only", check: Check.int("riskGroup", 1...3)),
            FieldSpec(.status, indexed: true, check: Check.oneOf("status", clientStatuses)),
            FieldSpec(.needsAssessment, type: .boolean, confidential: true, personal: true,
                      summary: "the case worker marks a person for a multi-professional assessment; where the pilot area's assessment gate applies, no pilot referral until one is complete",
                      check: Check.bool("needsAssessment")),
            FieldSpec(.duplicateOf, access: .system,
                      summary: "another live client with the same henkilötunnus, flagged by the central store (conflict/list kind duplicate_identity)",
                      check: Check.id("duplicateOf")),
            FieldSpec(.mergedInto, access: .system, summary: "the client this one was merged into (client/merge), which holds its records now",
                      check: Check.id("mergedInto")),
            // Profiling inputs (never delivered to providers once scopes apply).
            FieldSpec(.monthsUnemployed, type: .integer, confidential: true, personal: true, check: Check.int("monthsUnemployed", 0...600)),
            FieldSpec(.educationLevel, confidential: true, personal: true, check: Check.oneOf("educationLevel", ["none", "basic", "vocational", "higher"])),
            FieldSpec(.monthsEmployedLast24, type: .integer, confidential: true, personal: true, check: Check.int("monthsEmployedLast24", 0...24)),
            FieldSpec(.languageSkills, confidential: true, personal: true, check: Check.oneOf("languageSkills", ["native", "good", "basic", "none"])),
            // The system's proposal and the person's confirmation (GDPR Art. 22).
            FieldSpec(.riskGroupProposal, type: .integer, access: .system, confidential: true, personal: true, check: Check.int("riskGroupProposal", 1...3)),
            FieldSpec(.riskGroupScore, access: .system, confidential: true, personal: true, check: Check.decimal("riskGroupScore", maxFractionDigits: 6, allowNegative: true)),
            FieldSpec(.profilingModelVersion, access: .system, confidential: true, check: Check.text("profilingModelVersion")),
            FieldSpec(.riskGroupConfirmedBy, access: .system, confidential: true, personal: true, summary: "the case worker who confirmed the group (kept from provider replicas)", check: Check.text("riskGroupConfirmedBy")),
            FieldSpec(.riskGroupConfirmedAt, access: .system, personal: true, check: Check.text("riskGroupConfirmedAt")),
            FieldSpec(.riskGroupReason, access: .system, confidential: true, personal: true, check: Check.text("riskGroupReason", maxLength: 2000)),
        ],
        defaults: ["clientType": .string("person"), "status": .string("registered")],
        recordRule: { record in clientTypeErrors(record) }
    )

    /// Fields only a person has: identity, name, and everything profiling and pilot referral use.
    static let personOnlyFields: [FieldKey] = [
        .hetu, .firstName, .lastName, .needsAssessment, .monthsUnemployed, .educationLevel, .monthsEmployedLast24, .languageSkills,
        .riskGroup, .riskGroupProposal, .riskGroupScore, .profilingModelVersion, .riskGroupConfirmedBy, .riskGroupConfirmedAt, .riskGroupReason,
    ]
    /// Fields only a company or community has.
    static let organisationOnlyFields: [FieldKey] = [.businessId, .associationNumber, .name, .contactPerson]

    /// Each client type's required and refused fields (issue 14, item 1). A record with no
    /// `clientType` is a person: rows from before types were stored read as persons. Before
    /// `name` existed, a company's or community's name could only be kept in `lastName`; such
    /// records stay valid (the name is required in one of the two), so that they still sync.
    static func clientTypeErrors(_ record: [String: FieldValue]) -> [FieldError] {
        let type = record[.clientType]?.stringValue ?? "person"
        let has = { (key: FieldKey) in !(record[key] ?? .null).isNull }
        var errors: [FieldError] = []
        func require(_ key: FieldKey, _ what: String) {
            if !has(key) { errors.append(FieldError(field: key.rawValue, message: "is required for a \(what)")) }
        }
        func refuse(_ keys: [FieldKey], _ why: String) {
            for key in keys where has(key) { errors.append(FieldError(field: key.rawValue, message: why)) }
        }
        switch type {
        case "person":
            require(.hetu, "person client")
            require(.lastName, "person client")
            refuse(organisationOnlyFields, "is for company and community clients, not a person")
        case "company":
            require(.businessId, "company client")
            if !has(.lastName) { require(.name, "company client") }
            refuse(personOnlyFields.filter { $0 != .lastName }, "is for person clients; profiling, risk groups and pilot referrals apply to persons only")
            refuse([.associationNumber], "is for a registered association (a community client)")
        default:
            if !has(.lastName) { require(.name, "community client") }
            if !has(.businessId) && !has(.associationNumber) {
                errors.append(FieldError(field: "businessId", message: "a community client needs a Y-tunnus or an associationNumber"))
            }
            refuse(personOnlyFields.filter { $0 != .lastName }, "is for person clients; profiling, risk groups and pilot referrals apply to persons only")
        }
        return errors
    }

    static let provider = EntitySchema(
        kind: .provider,
        fields: [
            FieldSpec(.name, required: true, indexed: true, check: Check.text("name")),
            FieldSpec(.businessId, required: true, access: .createOnly, indexed: true, check: Check.businessID("businessId")),
            FieldSpec(.pilotArea, required: true, indexed: true, summary: "the region the provider serves", check: Check.pilotArea),
            FieldSpec(.cap, type: .integer, required: true, check: Check.int("cap", 0...1_000_000)),
            FieldSpec(.capitationBase, required: true, summary: "monthly capitation base, euros", check: Check.decimal("capitationBase", maxFractionDigits: 2)),
            FieldSpec(.hourlyRate, required: true, summary: "outcome fee per hour worked, euros", check: Check.decimal("hourlyRate", maxFractionDigits: 2)),
            FieldSpec(.contractKind, summary: "pilot_provider (default) runs the service process; service_manager finds clients services in the catalogue and writes their enrolments",
                      check: Check.oneOf("contractKind", contractKinds)),
        ],
        defaults: ["contractKind": .string("pilot_provider")],
        recordRule: { record in
            // Contract terms must lie within the purchaser's ranges of the tariff in force.
            guard let base = record[.capitationBase]?.stringValue, let rate = record[.hourlyRate]?.stringValue else { return [] }
            return Tariff.current.checkTerms(capitationBase: base, hourlyRate: rate)
        }
    )

    static let referral = EntitySchema(
        kind: .referral,
        fields: [
            FieldSpec(.clientId, required: true, access: .createOnly, indexed: true, check: Check.id("clientId")),
            FieldSpec(.providerId, required: true, access: .createOnly, indexed: true, check: Check.id("providerId")),
            FieldSpec(.chosenBy, required: true, access: .createOnly, check: Check.oneOf("chosenBy", ["client", "assigned"])),
            // The client's confirmed risk group when the referral was made (the tariff uses it).
            FieldSpec(.riskGroup, type: .integer, access: .system, summary: "the client's confirmed risk group when the referral was made", check: Check.int("riskGroup", 1...3)),
            FieldSpec(.state, access: .system, indexed: true, summary: "change with referral/transition; active and waitlisted are decided by the central office", check: Check.oneOf("state", ReferralState.allCases.map(\.rawValue))),
            FieldSpec(.startDate, access: .system, summary: "the day the referral became active, decided by the central office", check: Check.date("startDate")),
            FieldSpec(.endDate, access: .system, check: Check.date("endDate")),
            FieldSpec(.endReason, access: .system, check: Check.text("endReason")),
            FieldSpec(.importedBy, access: .system, summary: "who imported it with its history (kasvu import), which the central store accepts from the central office only",
                      check: Check.text("importedBy")),
            FieldSpec(.leaseId, access: .system, summary: "the capacity lease the office activated it under, offline, when it was made (CapacityLeases)",
                      check: Check.id("leaseId")),
        ],
        defaults: ["state": .string(ReferralState.pending.rawValue)]
    )

    static let contact = EntitySchema(
        kind: .contact,
        fields: [
            FieldSpec(.clientId, required: true, access: .createOnly, indexed: true, check: Check.id("clientId")),
            FieldSpec(.providerId, required: true, access: .createOnly, indexed: true, check: Check.id("providerId")),
            FieldSpec(.date, required: true, indexed: true, check: Check.date("date")),
            FieldSpec(.kind, required: true, check: Check.oneOf("kind", contactKinds)),
            FieldSpec(.note, personal: true, check: Check.text("note", maxLength: 4000)),
        ]
    )

    static let hours = EntitySchema(
        kind: .hours,
        fields: [
            FieldSpec(.clientId, required: true, access: .createOnly, indexed: true, check: Check.id("clientId")),
            FieldSpec(.providerId, required: true, access: .createOnly, indexed: true, check: Check.id("providerId")),
            FieldSpec(.month, required: true, access: .createOnly, indexed: true, check: Check.month),
            FieldSpec(.hours, required: true, summary: "hours worked in the month, at most 744", check: Check.decimal("hours", maxFractionDigits: 2)),
            FieldSpec(.employerBusinessId, summary: "the employer's Y-tunnus", check: Check.businessID("employerBusinessId")),
            // The register finding of an audit (audit/record).
            FieldSpec(.verifiedHours, access: .system, summary: "the register finding, set by audit/record", check: Check.decimal("verifiedHours", maxFractionDigits: 2)),
            FieldSpec(.auditedBy, access: .system, check: Check.text("auditedBy")),
            // A correction reported after the audit changes `hours`; the audited claim stays.
            FieldSpec(.auditedHours, access: .system, summary: "the reported hours the audit checked, set by audit/record", check: Check.decimal("auditedHours", maxFractionDigits: 2)),
            FieldSpec(.auditedAt, access: .system, check: Check.text("auditedAt")),
        ],
        recordRule: { record in
            // A month has at most 31 × 24 = 744 hours; more is a typing error, not a claim.
            if let text = record[.hours]?.stringValue, let whole = Int(text.split(separator: ".").first ?? ""), whole > 744 {
                return [FieldError(field: "hours", message: "at most 744 hours in a month, got \(text)")]
            }
            return []
        }
    )

    static let event = EntitySchema(
        kind: .event,
        fields: [
            FieldSpec(.clientId, required: true, access: .createOnly, indexed: true, check: Check.id("clientId")),
            FieldSpec(.providerId, required: true, access: .createOnly, indexed: true, check: Check.id("providerId")),
            FieldSpec(.date, required: true, indexed: true, check: Check.date("date")),
            FieldSpec(.kind, required: true, indexed: true, check: Check.oneOf("kind", eventKinds)),
            FieldSpec(.note, personal: true, check: Check.text("note", maxLength: 4000)),
        ]
    )

    /// A multi-professional service-need assessment (*monialainen palvelutarvearviointi*) of a
    /// person client. Offices and the central office write it; a provider receives only the
    /// client's latest completed one, without the confidential fields (participants' names,
    /// recommendations, notes).
    static let assessment = EntitySchema(
        kind: .assessment,
        fields: [
            FieldSpec(.clientId, required: true, access: .createOnly, indexed: true, check: Check.id("clientId")),
            FieldSpec(.date, required: true, indexed: true, summary: "the day of the assessment meeting", check: Check.date("date")),
            FieldSpec(.participants, type: .array, confidential: true, personal: true,
                      summary: "who took part: [{role, name}], role one of \(participantRoles.joined(separator: ", "))",
                      check: Check.participants("participants", roles: participantRoles, maxItems: 20)),
            FieldSpec(.needs, type: .array, personal: true,
                      summary: "the service needs found: \(assessmentNeeds.joined(separator: ", "))",
                      check: Check.codes("needs", assessmentNeeds, description: "distinct codes, returned in the list's order")),
            FieldSpec(.outcome, indexed: true, summary: "required to complete: direct_referral (to a pilot provider), service_manager, other_services, no_service",
                      check: Check.oneOf("outcome", assessmentOutcomes)),
            FieldSpec(.recommendedServices, type: .array, confidential: true, personal: true, summary: "services recommended, as free texts",
                      check: Check.texts("recommendedServices", maxItems: 20, maxLength: 200)),
            FieldSpec(.notes, confidential: true, personal: true, check: Check.text("notes", maxLength: 8000)),
            FieldSpec(.state, access: .system, indexed: true, summary: "draft until assessment/complete; a completed assessment no longer changes",
                      check: Check.oneOf("state", assessmentStates)),
            FieldSpec(.completedAt, access: .system, summary: "when assessment/complete was called, ISO 8601", check: Check.text("completedAt")),
            FieldSpec(.completedBy, access: .system, confidential: true, summary: "the case worker who completed it", check: Check.text("completedBy")),
        ],
        defaults: ["state": .string("draft")],
        recordRule: { record in
            guard record[.state]?.stringValue == "completed", (record[.outcome] ?? .null).isNull else { return [] }
            return [FieldError(field: "outcome", message: "is required to complete an assessment")]
        }
    )

    /// A service of the catalogue: what the TE office, municipalities, Kela and others already
    /// offer. The central office writes it; every replica receives it (no personal data).
    static let service = EntitySchema(
        kind: .service,
        fields: [
            FieldSpec(.name, required: true, indexed: true, check: Check.text("name")),
            FieldSpec(.organiserKind, required: true, indexed: true, summary: "who organises it", check: Check.oneOf("organiserKind", organiserKinds)),
            FieldSpec(.organiserName, required: true, check: Check.text("organiserName")),
            FieldSpec(.organiserBusinessId, summary: "the organiser's Y-tunnus", check: Check.businessID("organiserBusinessId")),
            FieldSpec(.category, required: true, indexed: true, check: Check.oneOf("category", serviceCategories)),
            FieldSpec(.target, type: .object, summary: "who it is for: {clientTypes, riskGroups, minAge, maxAge}, each optional",
                      check: Check.serviceTarget("target", clientTypes: clientTypes)),
            FieldSpec(.municipalities, type: .array, required: true, summary: "the municipalities it serves", check: Check.municipalities("municipalities")),
            FieldSpec(.validFrom, required: true, check: Check.date("validFrom")),
            FieldSpec(.validTo, summary: "the last day it is offered; open when null", check: Check.date("validTo")),
            FieldSpec(.capacity, type: .integer, summary: "places at a time", check: Check.int("capacity", 0...1_000_000)),
            FieldSpec(.unitCostPerMonth, summary: "euros per client and month, exact", check: Check.decimal("unitCostPerMonth", maxFractionDigits: 2)),
        ],
        recordRule: { record in
            guard let from = record[.validFrom]?.stringValue, let to = record[.validTo]?.stringValue, to < from else { return [] }
            return [FieldError(field: "validTo", message: "must not be before validFrom \(from)")]
        }
    )

    /// A client's place in a catalogue service, planned, started and ended (``EnrolmentState``).
    static let enrolment = EntitySchema(
        kind: .enrolment,
        fields: [
            FieldSpec(.clientId, required: true, access: .createOnly, indexed: true, check: Check.id("clientId")),
            FieldSpec(.serviceId, required: true, access: .createOnly, indexed: true, check: Check.id("serviceId")),
            FieldSpec(.providerId, access: .createOnly, indexed: true, summary: "the service manager that arranged it (required when a provider writes it)", check: Check.id("providerId")),
            FieldSpec(.startDate, required: true, summary: "planned start", check: Check.date("startDate")),
            FieldSpec(.endDate, summary: "planned end", check: Check.date("endDate")),
            FieldSpec(.state, access: .system, indexed: true, summary: "change with enrolment/transition", check: Check.oneOf("state", enrolmentStates)),
            FieldSpec(.startedOn, access: .system, summary: "the day it started", check: Check.date("startedOn")),
            FieldSpec(.endedOn, access: .system, summary: "the day it completed, was interrupted, or was found not to start", check: Check.date("endedOn")),
            FieldSpec(.endReason, access: .system, personal: true, summary: "why it was interrupted or did not start", check: Check.text("endReason", maxLength: 500)),
        ],
        defaults: ["state": .string(EnrolmentState.planned.rawValue)],
        recordRule: { record in
            var errors: [FieldError] = []
            if let start = record[.startDate]?.stringValue, let end = record[.endDate]?.stringValue, end < start {
                errors.append(FieldError(field: "endDate", message: "must not be before startDate \(start)"))
            }
            if let started = record[.startedOn]?.stringValue, let ended = record[.endedOn]?.stringValue, ended < started {
                errors.append(FieldError(field: "endedOn", message: "must not be before startedOn \(started)"))
            }
            if ["interrupted", "not_started"].contains(record[.state]?.stringValue ?? ""), (record[.endReason] ?? .null).isNull {
                errors.append(FieldError(field: "endReason", message: "is required when an enrolment is interrupted or does not start"))
            }
            return errors
        }
    )

    /// What an area's clients cost per client in a period before the pilot, for the savings
    /// goal (`report/costs`); one per area and period (its id is derived from them).
    static let baseline = EntitySchema(
        kind: .baseline,
        fields: [
            FieldSpec(.pilotArea, required: true, access: .createOnly, indexed: true, check: Check.pilotArea),
            FieldSpec(.period, required: true, access: .createOnly, indexed: true, check: Check.period),
            FieldSpec(.costPerClient, required: true, summary: "euros per client in the period, exact", check: Check.decimal("costPerClient", maxFractionDigits: 2)),
        ]
    )

    /// An issued invoice (`invoice/issue`): written once by the central office, never changed
    /// or deleted; its id and number are derived from its provider, kind and month or period
    /// (``IssuedInvoice``). Only central-office replicas hold invoices.
    static let invoice = EntitySchema(
        kind: .invoice,
        fields: [
            FieldSpec(.providerId, required: true, access: .system, indexed: true, check: Check.id("providerId")),
            FieldSpec(.kind, required: true, access: .system, indexed: true, check: Check.oneOf("kind", ["capitation", "outcome"])),
            FieldSpec(.month, access: .system, indexed: true, summary: "a capitation invoice's month", check: Check.month),
            FieldSpec(.period, access: .system, indexed: true, summary: "an outcome invoice's four-month period", check: Check.period),
            FieldSpec(.number, required: true, access: .system, indexed: true, summary: "CAP-YYYY-MM-… or OUT-YYYY-Tn-…, derived", check: Check.text("number", maxLength: 40)),
            FieldSpec(.issuedAt, required: true, access: .system, summary: "when it was issued, ISO 8601", check: Check.text("issuedAt")),
            FieldSpec(.issuedBy, required: true, access: .system, check: Check.text("issuedBy")),
            FieldSpec(.tariffVersion, required: true, access: .system, check: Check.text("tariffVersion")),
            FieldSpec(.amount, required: true, access: .system, summary: "the invoice's own total, exact",
                      check: Check.decimal("amount", maxFractionDigits: 2, allowNegative: true)),
            FieldSpec(.total, required: true, access: .system, summary: "what is payable: amount and correction lines, exact",
                      check: Check.decimal("total", maxFractionDigits: 2, allowNegative: true)),
            FieldSpec(.document, required: true, access: .system, summary: "the issued invoice as compact JSON, served byte for byte",
                      check: Check.text("document", maxLength: IssuedInvoice.maxDocumentLength)),
        ],
        recordRule: { record in IssuedInvoice.recordErrors(record) }
    )

    /// A version of a pilot area's tariff (`tariff/set`), valid from a date until the area's
    /// next version (``TariffSchedule``); one per area and date (its id is derived from them,
    /// so setting it again corrects it). The central office writes it; every replica receives it.
    static let tariff = EntitySchema(
        kind: .tariff,
        fields: [
            FieldSpec(.pilotArea, required: true, access: .system, indexed: true, check: Check.pilotArea),
            FieldSpec(.validFrom, required: true, access: .system, indexed: true, summary: "the first day it applies to", check: Check.date("validFrom")),
            FieldSpec(.version, required: true, access: .system, summary: "the tariff document's version", check: Check.text("version", maxLength: 100)),
            FieldSpec(.document, required: true, access: .system, summary: "the tariff as JSON, in the form of Resources/tariff.json",
                      check: Check.text("document", maxLength: Tariff.maxDocumentLength)),
        ],
        recordRule: { record in
            guard let text = record[.document]?.stringValue else { return [] }
            do throws(KasvuError) {
                let tariff = try Tariff(json: Data(text.utf8))
                if record[.version]?.stringValue != tariff.version {
                    return [FieldError(field: "version", message: "must be the document's version '\(tariff.version)'")]
                }
                return []
            } catch {
                return error.fieldErrors.isEmpty ? [FieldError(field: "document", message: error.message)]
                    : error.fieldErrors.map { FieldError(field: "document.\($0.field)", message: $0.message) }
            }
        }
    )
}
