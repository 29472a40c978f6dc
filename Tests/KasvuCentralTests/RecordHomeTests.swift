import Foundation
@testable import KasvuCentral
import KasvuDomain
import KasvuSync
import KasvuTestSupport
import Testing

/// `RecordHome.fill`, which the migration to homes runs over a store's records in SQL, gives
/// every record the home `RecordHome.of` gives it when it is saved, on both databases.
@Suite struct RecordHomeTests {
    static func state(_ values: [String: FieldValue]) -> RecordState {
        var state = RecordState()
        state.write(values, dot: Dot(ActorID(rawValue: "00000000000000a1"), 1), hlc: HLC(millis: 1_000))
        return state
    }

    static let client = RecordID.random(), records: [(EntityKind, String, RecordState)] = [
        (.client, client, state(["municipality": .string("749")])),
        (.client, RecordID.random(), state(["municipality": .int(749)])),
        (.referral, RecordID.random(), state(["clientId": .string(client)])),
        (.contact, RecordID.random(), state(["clientId": .string(RecordID.random())])),  // its client unknown
        (.hours, RecordID.random(), state(["clientId": .bool(true)])),
        (.provider, RecordID.random(), state(["name": .string("Työpolku Oy")])),
        (.tariff, RecordID.random(), state(["version": .int(1)])),
        (.invoice, RecordID.random(), state(["clientId": .string(client)])),
    ]

    @Test(arguments: CentralBackend.allCases)
    func theMigrationsHomesAreTheSavedOnes(_ backend: CentralBackend) async throws {
        let directory = try TemporaryDirectory()
        let store = try await backend.openStore(in: directory, nowMillis: { 1_000 })
        let (saved, filled) = try await store.write { db in
            for (sequence, record) in Self.records.enumerated() {
                try SQLCentralStore.save(db, record.0, record.1, record.2, sequence: Int64(sequence + 1), new: true)
            }
            let homes = { try db.all("SELECT id, home FROM record").reduce(into: [String: String]()) { $0[try $1["id"]] = try $1["home"] as String? ?? "null" } }
            let saved = try homes()
            try db.execute("UPDATE record SET home = NULL")
            try RecordHome.fill(db)
            return (saved, try homes())
        }
        await store.close()
        #expect(filled == saved)
        #expect(saved[Self.records[0].1] == "749" && saved[Self.records[2].1] == "749" && saved[Self.records[5].1] == "*")
        #expect(saved[Self.records[1].1] == "null" && saved[Self.records[7].1] == "null")
    }
}
