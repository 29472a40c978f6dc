import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing


let aino: [String: FieldValue] = [
    "hetu": .string("131052-308T"), "firstName": .string("Aino"), "lastName": .string("Virtanen"), "municipality": .string("749"),
]
let tyopolku: [String: FieldValue] = [
    "name": .string("Työpolku Oy"), "businessId": .string("2077474-0"), "pilotArea": .string("Pohjois-Savo"),
    "cap": .int(700), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
]

@Suite struct ReplicaTests {
    let directory: TemporaryDirectory
    let replica: Replica

    init() throws {
        directory = try TemporaryDirectory()
        replica = try Replica.create(at: directory.path("admin.sqlite"), replicaID: "admin", role: .admin)
    }

    @Test func createWritesRecordAndOutboxTogether() async throws {
        let client = try await replica.create(.client, fields: aino)
        #expect(client["status"] == .string("registered"))
        #expect(try await replica.get(.client, id: client.id)["lastName"] == .string("Virtanen"))
        #expect(try await replica.info().pendingChanges == 1)
        _ = try await replica.update(.client, id: client.id, set: ["phone": .string("040 123 4567")])
        // Coalesced: two writes to one record travel once.
        let pending = try await replica.pendingPush(limit: 10)
        #expect(pending.count == 1)
        #expect(pending[0].envelope.state.value("phone") == .string("040 123 4567"))
    }

    /// A pulled write under this database's own actor and dot with another time is a copy's
    /// (a restored backup, a cloned disk): merged, each write would hide the other. The pull is
    /// refused as `replica_rewound` and changes nothing.
    @Test func aPulledWriteOfACopyUnderOurDotIsRefused() async throws {
        let client = try await replica.create(.client, fields: aino)
        _ = try await replica.update(.client, id: client.id, set: ["phone": .string("040 1234567")])
        let stored = try #require(try await replica.state(.client, id: client.id))
        let mine = try #require(stored.fields["phone"]?.first)
        // The copy wrote another field under the same dot at another time.
        var fields = stored.fields
        fields["phone"] = nil
        fields["language"] = [FieldEntry(value: .string("sv"), dot: mine.dot, hlc: HLC(rawValue: mine.hlc.rawValue + 7))]
        let copy = RecordState(vv: stored.vv, fields: fields)
        let before = try await replica.state(.client, id: client.id)
        await #expect { try await replica.merge([RecordEnvelope(entity: .client, id: client.id, state: copy)], cursor: 5) } throws: { error in
            (error as? KasvuError)?.kind == .replicaRewound
        }
        #expect(try await replica.state(.client, id: client.id) == before)
        #expect(try await replica.syncStatus().cursor == 0)
        // A write numbered beyond this database's counter is a copy's as well.
        var ahead = try #require(before)
        ahead.write(["language": .string("sv")], dot: Dot(replica.actor, 99), hlc: HLC(millis: 1))
        await #expect(throws: KasvuError.self) { try await replica.merge([RecordEnvelope(entity: .client, id: client.id, state: ahead)]) }
        // Its own state comes back as a no-op.
        try await replica.merge([RecordEnvelope(entity: .client, id: client.id, state: try #require(before))])
    }

    @Test func invalidInputChangesNothing() async throws {
        var bad = aino
        bad["hetu"] = .string("131052-308U")
        await #expect(throws: KasvuError.self) { try await replica.create(.client, fields: bad) }
        let client = try await replica.create(.client, fields: aino)
        await #expect(throws: KasvuError.self) { try await replica.update(.client, id: client.id, set: ["municipality": .string("999")]) }
        #expect(try await replica.get(.client, id: client.id)["municipality"] == .string("749"))
        #expect(try await replica.info().pendingChanges == 1)
    }

    /// With values that are valid in themselves, so that only the access rule can refuse them.
    @Test func createOnlyAndSystemFieldsAreNotUpdated() async throws {
        let client = try await replica.create(.client, fields: aino)
        for (field, value, message) in [("hetu", FieldValue.string("311299W222C"), "cannot be changed after create"),
                                        ("riskGroup", .int(2), "is set by the system, not by update")] {
            #expect(try EntityKind.client.schema.validateValue(field, value) == value)  // valid in itself
            await #expect { try await replica.update(.client, id: client.id, set: [field: value]) } throws: {
                ($0 as? KasvuError)?.fieldErrors == [FieldError(field: field, message: message)]
            }
        }
        #expect(try await replica.get(.client, id: client.id)["hetu"] == .string("131052-308T"))
        #expect(try await replica.get(.client, id: client.id)["riskGroup"] == .null)
    }

    @Test func acknowledgeClearsOnlyWhatWasNotWrittenAgain() async throws {
        let client = try await replica.create(.client, fields: aino)
        let sent = try await replica.pendingPush(limit: 10)
        _ = try await replica.update(.client, id: client.id, set: ["language": .string("fi")])
        try await replica.acknowledge(sent)
        #expect(try await replica.info().pendingChanges == 1)
        try await replica.acknowledge(try await replica.pendingPush(limit: 10))
        #expect(try await replica.info().pendingChanges == 0)
    }

    @Test func listPagesAndFilters() async throws {
        for (index, municipality) in ["749", "402", "749", "749", "402"].enumerated() {
            var fields = aino
            for key in ["hetu", "firstName", "lastName"] { fields[key] = nil }
            fields["clientType"] = .string("company")
            fields["businessId"] = .string("2077474-0")
            fields["name"] = .string("Client \(index) Oy")
            fields["municipality"] = .string(municipality)
            _ = try await replica.create(.client, fields: fields)
        }
        let first = try await replica.list(.client, where: ["municipality": .string("749")], limit: 2)
        #expect(first.items.count == 2)
        let second = try await replica.list(.client, where: ["municipality": .string("749")], limit: 2, after: first.next)
        #expect(second.items.count == 1 && second.next == nil)
        #expect(Set((first.items + second.items).map(\.id)).count == 3)
        await #expect(throws: KasvuError.self) { try await replica.list(.client, where: ["phone": .string("1")]) }
    }

    @Test func referralFollowsItsStateMachine() async throws {
        let client = try await profiledClient()
        let provider = try await replica.create(.provider, fields: tyopolku)
        let referral = try await replica.createReferral([
            "clientId": .string(client.id), "providerId": .string(provider.id), "chosenBy": .string("client"),
        ])
        #expect(referral["state"] == .string("pending") && referral["riskGroup"] == .int(2))
        // Only the central office confirms a pending referral against the cap.
        for next in [ReferralState.active, .waitlisted] {
            do {
                _ = try await replica.transitionReferral(id: referral.id, to: next, date: nil, reason: nil)
                Issue.record("pending → \(next) was allowed locally")
            } catch let error as KasvuError {
                #expect(error.kind == .invalidTransition)
            }
        }
        // The central office's decision arrives as a write of another actor.
        var decided = try #require(try await replica.state(.referral, id: referral.id))
        decided.write(["state": .string("active"), "startDate": .string("2026-01-05")], dot: Dot(ActorID(hex: 0xCE), 1), hlc: HLC(millis: 1))
        try await replica.merge([RecordEnvelope(entity: .referral, id: referral.id, state: decided)])
        await #expect(throws: KasvuError.self) {
            try await replica.transitionReferral(id: referral.id, to: .ended, date: CalendarDate(year: 2026, month: 3, day: 1), reason: nil)
        }
        let ended = try await replica.transitionReferral(id: referral.id, to: .ended, date: CalendarDate(year: 2026, month: 3, day: 1), reason: "employed")
        #expect(ended["endReason"] == .string("employed") && ended["endDate"] == .string("2026-03-01"))
        await #expect(throws: KasvuError.self) {
            try await replica.transitionReferral(id: referral.id, to: .cancelled, date: nil, reason: nil)
        }
    }

    /// A person client with profiling inputs, profiled and confirmed in group 2.
    func profiledClient(_ fields: [String: FieldValue] = aino) async throws -> Record {
        let client = try await replica.create(.client, fields: fields.merging([
            "monthsUnemployed": .int(10), "educationLevel": .string("vocational"),
            "monthsEmployedLast24": .int(6), "languageSkills": .string("native"),
        ]) { $1 })
        let proposal = try await replica.profile(clientID: client.id)
        return try await replica.confirmRiskGroup(clientID: client.id, group: 2, reason: proposal.group == 2 ? nil : "test", confirmedBy: "tester")
    }

    /// A client referred to a provider, the referral confirmed by the central office (its
    /// decision arrives as a write of its actor) from `start`.
    func referredClient(to provider: String, start: String) async throws -> Record {
        let client = try await profiledClient()
        let referral = try await replica.createReferral(["clientId": .string(client.id), "providerId": .string(provider), "chosenBy": .string("client")])
        var decided = try #require(try await replica.state(.referral, id: referral.id))
        decided.write(["state": .string("active"), "startDate": .string(start)], dot: Dot(ActorID(hex: 0xCE), 1), hlc: HLC(millis: 1))
        try await replica.merge([RecordEnvelope(entity: .referral, id: referral.id, state: decided)])
        return client
    }

    @Test func profilingIsExplainedAndNeedsAPerson() async throws {
        let client = try await replica.create(.client, fields: aino.merging([
            "monthsUnemployed": .int(14), "educationLevel": .string("basic"),
            "monthsEmployedLast24": .int(3), "languageSkills": .string("good"),
        ]) { $1 })
        await #expect(throws: KasvuError.self) { try await replica.confirmRiskGroup(clientID: client.id, group: 2, reason: nil, confirmedBy: "x") }
        let proposal = try await replica.profile(clientID: client.id)
        #expect(proposal.modelVersion == ProfilingModel.current.version)
        #expect(proposal.explanation.map(\.factor) == ProfilingModel.current.factors.map(\.name))
        #expect(proposal.score == proposal.explanation.reduce(Decimal(string: ProfilingModel.current.intercept)!) { $0 + $1.contribution })
        // 0.5 + 14×0.08 + (age over 50)×0.05 + 1.0 − 0.3 + 0.3 with the shipped model: group 3 for a 74-year-old.
        #expect(proposal.group == 3)
        #expect(try await replica.get(.client, id: client.id)["riskGroup"] == .null)

        let other = proposal.group == 1 ? 2 : 1
        do {
            _ = try await replica.confirmRiskGroup(clientID: client.id, group: other, reason: "  ", confirmedBy: "aino.case-worker")
            Issue.record("an override without a reason was accepted")
        } catch let error as KasvuError {
            #expect(error.fieldErrors.map(\.field) == ["reason"])
        }
        let overridden = try await replica.confirmRiskGroup(clientID: client.id, group: other, reason: "recent work history", confirmedBy: "aino.case-worker")
        #expect(overridden["riskGroup"] == .int(Int64(other)))
        #expect(overridden["riskGroupConfirmedBy"] == .string("aino.case-worker"))
        #expect(overridden["riskGroupReason"] == .string("recent work history"))
        #expect(overridden["profilingModelVersion"] == .string(ProfilingModel.current.version))
        #expect(overridden["riskGroupConfirmedAt"] != .null)

        var missing = aino
        missing["hetu"] = .string("010101A123N")
        let incomplete = try await replica.create(.client, fields: missing)
        await #expect(throws: KasvuError.self) { try await replica.profile(clientID: incomplete.id) }
    }

    @Test func oneOpenReferralPerClientAndSwitching() async throws {
        let client = try await profiledClient()
        let first = try await replica.create(.provider, fields: tyopolku)
        let second = try await replica.create(.provider, fields: tyopolku.merging(["name": .string("Uraverkko ry"), "businessId": .string("0112038-9")]) { $1 })
        let referral = try await replica.createReferral(["clientId": .string(client.id), "providerId": .string(first.id), "chosenBy": .string("client")])
        await #expect(throws: KasvuError.self) {
            try await replica.createReferral(["clientId": .string(client.id), "providerId": .string(second.id), "chosenBy": .string("client")])
        }
        let moved = try await replica.createReferral(["clientId": .string(client.id), "providerId": .string(second.id), "chosenBy": .string("client")],
                                                     switchProvider: true)
        #expect(try await replica.get(.referral, id: referral.id)["state"] == .string("cancelled"))
        #expect(try await replica.get(.referral, id: referral.id)["endReason"] == .string("provider_switched"))
        #expect(moved["providerId"] == .string(second.id))
    }

    @Test func unprofiledClientsCannotBeReferred() async throws {
        let client = try await replica.create(.client, fields: aino)
        let provider = try await replica.create(.provider, fields: tyopolku)
        do {
            _ = try await replica.createReferral(["clientId": .string(client.id), "providerId": .string(provider.id), "chosenBy": .string("client")])
            Issue.record("a client without a confirmed group was referred")
        } catch let error as KasvuError {
            #expect(error.message.contains("risk group"))
        }
    }

    @Test func assignmentPicksTheRegionsProviderWithMostFreePlaces() async throws {
        let client = try await profiledClient()  // Siilinjärvi: Pohjois-Savo
        let small = try await replica.create(.provider, fields: tyopolku.merging(["cap": .int(5)]) { $1 })
        let large = try await replica.create(.provider, fields: tyopolku.merging(["cap": .int(50), "businessId": .string("0112038-9")]) { $1 })
        _ = try await replica.create(.provider, fields: tyopolku.merging(["cap": .int(900), "pilotArea": .string("Pirkanmaa")]) { $1 })
        let assigned = try await replica.createReferral(["clientId": .string(client.id), "chosenBy": .string("assigned")])
        #expect(assigned["providerId"] == .string(large.id))
        #expect(assigned["providerId"] != .string(small.id))
        await #expect(throws: KasvuError.self) {
            try await replica.createReferral(["clientId": .string(client.id), "chosenBy": .string("client")])
        }
    }

    /// Pilot areas are regions: stored as the region code whether given as code or name, an
    /// unknown one refused, and one area is one report row even for providers stored by name.
    @Test func pilotAreasAreRegionCodes() async throws {
        let byCode = try await replica.create(.provider, fields: tyopolku.merging(["pilotArea": .string("mk11")]) { $1 })
        let byName = try await replica.create(.provider, fields: tyopolku.merging(["pilotArea": .string("Pohjois-Savo"), "businessId": .string("0112038-9")]) { $1 })
        #expect(byCode["pilotArea"] == .string("MK11") && byName["pilotArea"] == .string("MK11"))
        await #expect { try await replica.create(.provider, fields: tyopolku.merging(["pilotArea": .string("MK99")]) { $1 }) } throws: {
            ($0 as? KasvuError)?.fieldErrors.first?.field == "pilotArea"
        }
        // A provider entered by code is assigned to the region's clients (it never was).
        let client = try await profiledClient()  // Siilinjärvi, MK11
        let assigned = try await replica.createReferral(["clientId": .string(client.id), "chosenBy": .string("assigned")])
        #expect([byCode.id, byName.id].contains(assigned["providerId"].stringValue ?? ""))
        // A provider stored by name before codes counts in the same area.
        var old = RecordState()
        old.write(tyopolku.merging(["pilotArea": .string("Pohjois-Savo")]) { $1 }, dot: Dot(ActorID(hex: 0xCE), 1), hlc: HLC(millis: 1))
        try await replica.merge([RecordEnvelope(entity: .provider, id: RecordID.random(), state: old)])
        let rows = try await replica.caseloadReport()
        #expect(rows.count == 3 && Set(rows.map(\.pilotArea)) == ["MK11"] && Set(rows.map(\.pilotAreaName)) == ["Pohjois-Savo"])
    }

    /// One person, one client: a second registration of a henkilötunnus names the first client
    /// (never the henkilötunnus itself); once that client is erased, the person may register anew.
    @Test func aHenkilotunnusIsRegisteredOnce() async throws {
        let first = try await replica.create(.client, fields: aino)
        do {
            _ = try await replica.create(.client, fields: aino.merging(["firstName": .string("Another")]) { $1 })
            Issue.record("a henkilötunnus was registered twice")
        } catch let error as KasvuError {
            #expect(error.kind == .duplicateIdentity && error.code == 1010)
            #expect(error.fieldErrors.first?.field == "hetu" && error.message.contains(first.id))
            #expect(!error.message.contains(aino["hetu"]?.stringValue ?? "-"))
        }
        #expect(try await replica.list(.client).items.count == 1)
        try await replica.delete(.client, id: first.id)
        #expect(try await replica.create(.client, fields: aino).id != first.id)
    }

    /// Resolving a conflict of a referral's state picks one of the competing states or a state
    /// the machine allows from all of them, as the central store checks on push.
    @Test func aReferralStateConflictResolvesByTheStateMachine() async throws {
        let provider = try await replica.create(.provider, fields: tyopolku)
        let client = try await profiledClient()
        let referral = try await replica.createReferral(["clientId": .string(client.id), "providerId": .string(provider.id), "chosenBy": .string("client")])
        var elsewhere = try #require(try await replica.state(.referral, id: referral.id))
        _ = try await replica.transitionReferral(id: referral.id, to: .rejected, date: nil, reason: "no fit")
        elsewhere.write(["state": .string("cancelled")], dot: Dot(ActorID(hex: 0xBEEF), 1), hlc: HLC(millis: 1))
        try await replica.merge([RecordEnvelope(entity: .referral, id: referral.id, state: elsewhere)])
        #expect(try await replica.conflicts(of: .referral).count == 1)
        await #expect { _ = try await replica.resolveConflict(.referral, id: referral.id, field: "state", value: .string("pending")) } throws: {
            ($0 as? KasvuError)?.kind == .invalidTransition
        }
        let resolved = try await replica.resolveConflict(.referral, id: referral.id, field: "state", value: .string("cancelled"))
        #expect(resolved["state"] == .string("cancelled") && resolved.conflicts.isEmpty)
    }

    @Test func invoicesAreForMonthsAndPeriodsThatHaveBegun() async throws {
        let provider = try await replica.create(.provider, fields: tyopolku)
        let today = CalendarDate.today()
        let next = try YearMonth(iso: String(format: "%04d-%02d", today.month == 12 ? today.year + 1 : today.year, today.month % 12 + 1))
        await #expect { _ = try await replica.capitationInvoice(providerID: provider.id, month: next) } throws: {
            ($0 as? KasvuError)?.fieldErrors.first?.field == "month"
        }
        let nextYear = try BillingPeriod(iso: "\(today.year + 1)-T1")
        await #expect { _ = try await replica.outcomeInvoice(providerID: provider.id, period: nextYear) } throws: {
            ($0 as? KasvuError)?.fieldErrors.first?.field == "period"
        }
        let thisMonth = try YearMonth(iso: String(format: "%04d-%02d", today.year, today.month))
        #expect(try await replica.capitationInvoice(providerID: provider.id, month: thisMonth).total == 0)
    }

    @Test func aProviderKnownToBeFullAnswersCapacityExceeded() async throws {
        let provider = try await replica.create(.provider, fields: tyopolku.merging(["cap": .int(1)]) { $1 })
        let first = try await profiledClient()
        let referral = try await replica.createReferral(["clientId": .string(first.id), "providerId": .string(provider.id), "chosenBy": .string("client")])
        var decided = try #require(try await replica.state(.referral, id: referral.id))
        decided.write(["state": .string("active"), "startDate": .string("2026-01-05")], dot: Dot(ActorID(hex: 0xCE), 1), hlc: HLC(millis: 1))
        try await replica.merge([RecordEnvelope(entity: .referral, id: referral.id, state: decided)])
        let second = try await profiledClient(aino.merging(["hetu": .string("311299W222C")]) { $1 })
        do {
            _ = try await replica.createReferral(["clientId": .string(second.id), "providerId": .string(provider.id), "chosenBy": .string("client")])
            Issue.record("a full provider accepted a referral offline")
        } catch let error as KasvuError {
            #expect(error.kind == .capacityExceeded)
        }
    }

    @Test func providerTermsMustLieWithinTheTariffRanges() async throws {
        do {
            _ = try await replica.create(.provider, fields: tyopolku.merging(["capitationBase": .string("99.00"), "hourlyRate": .string("15.01")]) { $1 })
            Issue.record("out-of-range terms accepted")
        } catch let error as KasvuError {
            #expect(error.kind == .validationFailed)
            #expect(Set(error.fieldErrors.map(\.field)) == ["capitationBase", "hourlyRate"])
        }
        let provider = try await replica.create(.provider, fields: tyopolku)
        await #expect(throws: KasvuError.self) { try await replica.update(.provider, id: provider.id, set: ["hourlyRate": .string("4.99")]) }
        #expect(try await replica.update(.provider, id: provider.id, set: ["hourlyRate": .string("15.00")])["hourlyRate"] == .string("15.00"))
    }

    @Test func referencesMustExist() async throws {
        do {
            _ = try await replica.create(.contact, fields: [
                "clientId": .string(RecordID.random()), "providerId": .string(RecordID.random()),
                "date": .string("2026-01-05"), "kind": .string("meeting"),
            ])
            Issue.record("dangling references accepted")
        } catch let error as KasvuError {
            #expect(Set(error.fieldErrors.map(\.field)) == ["clientId", "providerId"])
        }
    }

    /// A merge moves an hours report to the id derived for the kept client, with its values,
    /// and the referral it rests on; the removed client is erased.
    @Test func aMergeMovesHoursToTheKeptClientsReport() async throws {
        let provider = try await replica.create(.provider, fields: tyopolku)
        let remove = try await referredClient(to: provider.id, start: "2026-01-05")
        let keep = try await profiledClient(aino.merging(["hetu": .string(testHetu(5)), "lastName": .string("Oikea")]) { $1 })
        let report = try await replica.reportHours(["clientId": .string(remove.id), "providerId": .string(provider.id),
                                                    "month": .string("2026-03"), "hours": .string("37.5")])
        let summary = try await replica.mergeClients(keep: keep.id, remove: remove.id)
        #expect(summary.moved == 2)  // the referral and the hours report
        let moved = try await replica.get(.hours, id: WriteRules.hoursID(clientID: keep.id, providerID: provider.id, month: "2026-03"))
        #expect(moved["hours"] == .string("37.5") && moved["clientId"] == .string(keep.id))
        await #expect(throws: KasvuError.self) { try await replica.get(.hours, id: report.id) }
        #expect(try await replica.list(.referral, where: ["clientId": .string(keep.id)]).items.count == 1)
        let removed = try #require(try await replica.state(.client, id: remove.id))
        #expect(removed.isDeleted && removed.value(.hetu) == .null && removed.value(.mergedInto) == .string(keep.id))
        // Merging into itself, or a client that is gone, changes nothing.
        await #expect(throws: KasvuError.self) { try await replica.mergeClients(keep: keep.id, remove: keep.id) }
        await #expect(throws: KasvuError.self) { try await replica.mergeClients(keep: keep.id, remove: remove.id) }
    }

    @Test func hoursAreOneRecordPerClientProviderAndMonth() async throws {
        let provider = try await replica.create(.provider, fields: tyopolku)
        let client = try await referredClient(to: provider.id, start: "2019-03-20")
        let report: [String: FieldValue] = ["clientId": .string(client.id), "providerId": .string(provider.id), "month": .string("2019-03"), "hours": .string("80")]
        // Not before the referral's start month, nor for another provider.
        await #expect { try await replica.reportHours(report.merging(["month": .string("2019-02")]) { $1 }) } throws: {
            ($0 as? KasvuError)?.fieldErrors.first?.field == "month"
        }
        let other = try await replica.create(.provider, fields: tyopolku.merging(["businessId": .string("0112038-9")]) { $1 })
        await #expect(throws: KasvuError.self) { try await replica.reportHours(report.merging(["providerId": .string(other.id)]) { $1 }) }
        let first = try await replica.reportHours(report)
        let corrected = try await replica.reportHours(report.merging(["hours": .string("120.5")]) { $1 })
        #expect(first.id == corrected.id)
        #expect(try await replica.list(.hours).items.map { $0["hours"] } == [.string("120.5")])
    }

    @Test func concurrentEditsFromAnotherReplicaSurfaceAndResolve() async throws {
        let client = try await replica.create(.client, fields: aino)
        let other = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office-1", role: .office)
        try await other.merge(try await replica.allStates(.client))
        _ = try await replica.update(.client, id: client.id, set: ["phone": .string("040 111 1111"), "language": .string("fi")])
        _ = try await other.update(.client, id: client.id, set: ["phone": .string("040 222 2222"), "email": .string("aino@example.fi")])
        try await replica.merge(try await other.allStates(.client), cursor: 1)

        let merged = try await replica.get(.client, id: client.id)
        #expect(merged["language"] == .string("fi") && merged["email"] == .string("aino@example.fi"))
        #expect(merged.conflicts.map(\.field) == ["phone"])
        #expect(try await replica.conflicts().count == 1)

        let resolved = try await replica.resolveConflict(.client, id: client.id, field: "phone", value: .string("040 333 3333"))
        #expect(resolved.conflicts.isEmpty && resolved["phone"] == .string("040 333 3333"))
        #expect(try await replica.conflicts().isEmpty)
        try await other.merge(try await replica.allStates(.client))
        #expect(try await other.get(.client, id: client.id) == resolved)
    }

    @Test func deleteVsEditIsShownNotHidden() async throws {
        let client = try await replica.create(.client, fields: aino)
        let other = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office-1", role: .office)
        try await other.merge(try await replica.allStates(.client))
        try await replica.delete(.client, id: client.id)
        _ = try await other.update(.client, id: client.id, set: ["phone": .string("040 222 2222")])
        try await replica.merge(try await other.allStates(.client))
        let shown = try await replica.get(.client, id: client.id)
        #expect(shown.isDeleted)
        #expect(shown.conflicts.first?.kind == .deleteVsEdit)
        // The delete erased the name: the record cannot come back to life without one.
        await #expect { _ = try await replica.resolveConflict(.client, id: client.id, field: "deleted", value: .bool(false)) } throws: {
            ($0 as? KasvuError)?.fieldErrors.map(\.field) == ["hetu", "lastName"]
        }
        let kept = try await replica.resolveConflict(.client, id: client.id, field: "deleted", value: .bool(true))
        #expect(kept.isDeleted && kept.conflicts.isEmpty && kept["phone"] == .null)
    }

    @Test func replicaIsCreatedOnceAndReopened() async throws {
        let path = directory.path("admin.sqlite")
        #expect(throws: KasvuError.self) { try Replica.create(at: path, replicaID: "again", role: .office) }
        let client = try await replica.create(.client, fields: aino)
        let reopened = try Replica.open(at: path)
        #expect(reopened.actor == replica.actor)
        #expect(try await reopened.get(.client, id: client.id).id == client.id)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        try reopened.saveToken("admin." + String(repeating: "a", count: 64))
        #expect((try FileManager.default.attributesOfItem(atPath: reopened.tokenPath)[.posixPermissions] as? Int) == 0o600)
        #expect(reopened.loadToken() == "admin." + String(repeating: "a", count: 64))
    }

    /// The write rules the central store applies on push, applied here before commit.
    @Test func rolesWriteOnlyWhatTheyMay() async throws {
        let office = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office-1", role: .office)
        await #expect { try await office.create(.provider, fields: tyopolku) } throws: { ($0 as? KasvuError)?.kind == .permissionDenied }
        let provider = try await replica.create(.provider, fields: tyopolku)
        let client = try await referredClient(to: provider.id, start: "2026-01-05")
        let hours = try await replica.reportHours(["clientId": .string(client.id), "providerId": .string(provider.id),
                                                   "month": .string("2026-01"), "hours": .string("80")])
        try await office.merge(try await replica.allStates(.client) + replica.allStates(.provider) + replica.allStates(.hours))
        // An office corrects hours; audit findings are the central office's.
        #expect(try await office.update(.hours, id: hours.id, set: ["hours": .string("81")])["hours"] == .string("81"))
        await #expect { try await office.recordAudit(hoursID: hours.id, verifiedHours: "1", auditedBy: "x") } throws: {
            ($0 as? KasvuError)?.kind == .permissionDenied
        }
        #expect(try await replica.recordAudit(hoursID: hours.id, verifiedHours: "80", auditedBy: "auditor")["verifiedHours"] == .string("80"))
        let provider1 = try Replica.create(at: directory.path("provider.sqlite"), replicaID: "provider-1", role: .provider)
        try await provider1.merge(try await replica.allStates(.client))
        await #expect { try await provider1.update(.client, id: client.id, set: ["phone": .string("040 123 4567")]) } throws: {
            ($0 as? KasvuError)?.kind == .permissionDenied
        }
        // A future month is refused.
        let next = CalendarDate.today().year + 1
        await #expect { try await self.replica.reportHours(["clientId": .string(client.id), "providerId": .string(provider.id),
                                                            "month": .string("\(next)-01"), "hours": .string("1")]) } throws: {
            ($0 as? KasvuError)?.fieldErrors.first?.field == "month"
        }
    }
}
