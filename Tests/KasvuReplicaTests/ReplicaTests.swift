import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import Testing

/// A fresh directory per test, removed afterwards.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kasvu-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

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
        replica = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office-1", role: .office)
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

    @Test func invalidInputChangesNothing() async throws {
        var bad = aino
        bad["hetu"] = .string("131052-308U")
        await #expect(throws: KasvuError.self) { try await replica.create(.client, fields: bad) }
        let client = try await replica.create(.client, fields: aino)
        await #expect(throws: KasvuError.self) { try await replica.update(.client, id: client.id, set: ["municipality": .string("999")]) }
        #expect(try await replica.get(.client, id: client.id)["municipality"] == .string("749"))
        #expect(try await replica.info().pendingChanges == 1)
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
            fields["hetu"] = nil
            fields["clientType"] = .string("company")
            fields["businessId"] = .string("2077474-0")
            fields["lastName"] = .string("Client \(index)")
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
        let client = try await replica.create(.client, fields: aino)
        let provider = try await replica.create(.provider, fields: tyopolku)
        let referral = try await replica.create(.referral, fields: [
            "clientId": .string(client.id), "providerId": .string(provider.id), "chosenBy": .string("client"),
        ])
        #expect(referral["state"] == .string("pending"))
        let active = try await replica.transitionReferral(id: referral.id, to: .active, date: CalendarDate(year: 2026, month: 1, day: 5), reason: nil)
        #expect(active["startDate"] == .string("2026-01-05"))
        do {
            _ = try await replica.transitionReferral(id: referral.id, to: .pending, date: nil, reason: nil)
            Issue.record("active → pending was allowed")
        } catch let error as KasvuError {
            #expect(error.kind == .invalidTransition)
        }
        let ended = try await replica.transitionReferral(id: referral.id, to: .ended, date: CalendarDate(year: 2026, month: 3, day: 1), reason: "employed")
        #expect(ended["endReason"] == .string("employed"))
    }

    @Test func referencesMustExist() async throws {
        do {
            _ = try await replica.create(.referral, fields: [
                "clientId": .string(RecordID.random()), "providerId": .string(RecordID.random()), "chosenBy": .string("client"),
            ])
            Issue.record("dangling references accepted")
        } catch let error as KasvuError {
            #expect(Set(error.fieldErrors.map(\.field)) == ["clientId", "providerId"])
        }
    }

    @Test func hoursAreOneRecordPerClientProviderAndMonth() async throws {
        let client = try await replica.create(.client, fields: aino)
        let provider = try await replica.create(.provider, fields: tyopolku)
        let report: [String: FieldValue] = ["clientId": .string(client.id), "providerId": .string(provider.id), "month": .string("2019-03"), "hours": .string("80")]
        let first = try await replica.reportHours(report)
        let corrected = try await replica.reportHours(report.merging(["hours": .string("120.5")]) { $1 })
        #expect(first.id == corrected.id)
        #expect(try await replica.list(.hours).items.map { $0["hours"] } == [.string("120.5")])
    }

    @Test func concurrentEditsFromAnotherReplicaSurfaceAndResolve() async throws {
        let client = try await replica.create(.client, fields: aino)
        let other = try Replica.create(at: directory.path("provider.sqlite"), replicaID: "provider-1", role: .provider)
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
        let other = try Replica.create(at: directory.path("provider.sqlite"), replicaID: "provider-1", role: .provider)
        try await other.merge(try await replica.allStates(.client))
        try await replica.delete(.client, id: client.id)
        _ = try await other.update(.client, id: client.id, set: ["phone": .string("040 222 2222")])
        try await replica.merge(try await other.allStates(.client))
        let shown = try await replica.get(.client, id: client.id)
        #expect(shown.isDeleted)
        #expect(shown.conflicts.first?.kind == .deleteVsEdit)
        let kept = try await replica.resolveConflict(.client, id: client.id, field: "deleted", value: .bool(false))
        #expect(!kept.isDeleted && kept["phone"] == .string("040 222 2222"))
    }

    @Test func replicaIsCreatedOnceAndReopened() async throws {
        let path = directory.path("office.sqlite")
        #expect(throws: KasvuError.self) { try Replica.create(at: path, replicaID: "again", role: .office) }
        let client = try await replica.create(.client, fields: aino)
        let reopened = try Replica.open(at: path)
        #expect(reopened.actor == replica.actor)
        #expect(try await reopened.get(.client, id: client.id).id == client.id)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
