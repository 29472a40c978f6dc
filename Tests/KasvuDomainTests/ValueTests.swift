import KasvuDomain
import Testing

@Suite struct ValueTests {
    @Test(arguments: ["2024-02-29", "2000-02-29", "1999-12-31", "2019-01-01"])
    func existingDates(_ text: String) throws {
        #expect(try CalendarDate(iso: text).description == text)
    }

    @Test(arguments: ["2023-02-29", "1900-02-29", "2019-04-31", "2019-13-01", "2019-1-01", "20190101", "2019-01-01T00:00"])
    func impossibleDates(_ text: String) {
        #expect(throws: FieldError.self) { try CalendarDate(iso: text) }
    }

    @Test(arguments: ["0", "200.00", "37.5", "151.25"])
    func decimals(_ text: String) throws {
        #expect(try DecimalText(text, field: "hours", maxFractionDigits: 2).text == text)
    }

    @Test(arguments: ["", "1e3", "1,5", " 1", "1.", ".5", "-1", "1.234", "NaN", "0x10"])
    func notDecimals(_ text: String) {
        #expect(throws: FieldError.self) { try DecimalText(text, field: "hours", maxFractionDigits: 2) }
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func derivedIDsAreStableUUIDs() throws {
        let a = RecordID.derived(["hours", "c1", "p1", "2019-03"])
        #expect(a == RecordID.derived(["hours", "c1", "p1", "2019-03"]))
        #expect(a != RecordID.derived(["hours", "c1", "p1", "2019-04"]))
        #expect(try RecordID.validate(a) == a)
    }

    @Test func newIDsAreTimeOrderedVersion7UUIDs() throws {
        let earlier = RecordID.random(nowMillis: 1_790_000_000_000)
        let later = RecordID.random(nowMillis: 1_790_000_000_001)
        for id in [earlier, later] {
            #expect(try RecordID.validate(id) == id)
            #expect(Array(id)[14] == "7")  // version
            #expect("89ab".contains(Array(id)[19]))  // variant
        }
        #expect(earlier.hasPrefix("01a0c450-6c00-7"))  // 1_790_000_000_000 ms = 0x01a0c4506c00
        #expect(earlier < later)
        #expect(RecordID.random(nowMillis: 5) != RecordID.random(nowMillis: 5))
    }
}

@Suite struct SchemaTests {
    let person: [String: FieldValue] = [
        "hetu": .string("131052-308T"), "firstName": .string("Aino"), "lastName": .string("Virtanen"), "municipality": .string("749"),
    ]

    @Test func createAppliesDefaults() throws {
        let values = try EntityKind.client.schema.validateCreate(person)
        #expect(values["clientType"] == .string("person"))
        #expect(values["status"] == .string("registered"))
    }

    @Test func createReportsEveryProblem() {
        var input = person
        input["hetu"] = .string("131052-308U")
        input["municipality"] = .string("999")
        input["riskGroup"] = .int(2)
        do {
            _ = try EntityKind.client.schema.validateCreate(input)
            Issue.record("accepted invalid input")
        } catch {
            #expect(error.kind == .validationFailed)
            #expect(Set(error.fieldErrors.map(\.field)) == ["hetu", "municipality", "riskGroup"])
        }
    }

    @Test func companyNeedsBusinessID() {
        #expect(throws: KasvuError.self) {
            try EntityKind.client.schema.validateCreate(["clientType": .string("company"), "name": .string("Oy"), "municipality": .string("091")])
        }
    }

    @Test func updateCannotChangeIdentityOrSystemFields() {
        for field in ["hetu", "riskGroup"] {
            #expect(throws: KasvuError.self) {
                try EntityKind.client.schema.validateUpdate([field: .string("x")], current: person)
            }
        }
    }

    @Test func referralStateMachine() throws {
        let today = CalendarDate(year: 2026, month: 11, day: 23)!
        let active = try ReferralState.pending.transition(to: .active, date: nil, reason: nil, today: today, startDate: nil)
        #expect(active["startDate"] == .string("2026-11-23"))
        #expect(throws: KasvuError.self) {
            try ReferralState.active.transition(to: .ended, date: nil, reason: " ", today: today, startDate: today)
        }
        for state in ReferralState.allCases {
            for next in ReferralState.allCases where !state.allowedNext.contains(next) {
                #expect(throws: KasvuError.self) {
                    try state.transition(to: next, date: nil, reason: "r", today: today, startDate: nil)
                }
            }
        }
        #expect(ReferralState.ended.isFinal && ReferralState.rejected.isFinal && ReferralState.cancelled.isFinal)
    }
}
