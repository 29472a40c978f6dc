import Foundation
@testable import KasvuCentral
import KasvuDomain
import KasvuSync
import KasvuTestSupport
import Testing

/// An office's pull decides most records' visibility from two values it reads in SQL beside
/// the state (`SQLCentralStore.scopeValues`), without decoding it. They must be exactly what
/// the decoded state says (`RecordState.value(_:).stringValue`): the winner of a conflict, and
/// nothing for a value that is not a string. Were they to differ, an office could be sent a
/// record of another municipality's client.
@Suite struct PullScopeValuesTests {
    static let first = ActorID(rawValue: "00000000000000a1"), second = ActorID(rawValue: "00000000000000b2")

    /// A state written once by each actor in `writes`, merged: concurrent writes of one field conflict.
    static func state(_ writes: [[String: FieldValue]]) -> RecordState {
        writes.enumerated().map { index, changes in
            var state = RecordState()
            state.write(changes, dot: Dot(index == 0 ? first : second, 1), hlc: HLC(millis: 1_000 + UInt64(index)))
            return state
        }.reduce(RecordState()) { $0.merged(with: $1) }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String, entity: EntityKind, state: RecordState
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a client", entity: .client, state: state([["municipality": .string("749")]])),
        Case(name: "a client whose municipality is in conflict", entity: .client,
             state: state([["municipality": .string("749")], ["municipality": .string("091")]])),
        Case(name: "a client whose municipality is in conflict, the other order", entity: .client,
             state: state([["municipality": .string("091")], ["municipality": .string("749")]])),
        Case(name: "a client with a number for a municipality", entity: .client, state: state([["municipality": .int(749)]])),
        Case(name: "a client with a null municipality", entity: .client, state: state([["municipality": .null]])),
        Case(name: "a client with a clientId field", entity: .client, state: state([["clientId": .string("c-1"), "municipality": .string("749")]])),
        Case(name: "a referral", entity: .referral, state: state([["clientId": .string("c-1")]])),
        Case(name: "a referral whose client is in conflict", entity: .referral,
             state: state([["clientId": .string("c-1")], ["clientId": .string("c-2")]])),
        Case(name: "a contact with a number for a client", entity: .contact, state: state([["clientId": .int(7)]])),
        Case(name: "a contact with a boolean for a client", entity: .contact, state: state([["clientId": .bool(true)]])),
        Case(name: "an event with a municipality and no client", entity: .event, state: state([["municipality": .string("749")]])),
        Case(name: "a provider", entity: .provider, state: state([["name": .string("Työpolku Oy")]])),
    ]

    @Test(arguments: CentralBackend.allCases, cases)
    func theValuesReadInSQLAreTheDecodedStatesWinningStrings(_ backend: CentralBackend, _ example: Case) async throws {
        let directory = try TemporaryDirectory()
        let store = try await backend.openStore(in: directory, nowMillis: { 1_000 })
        let text = SQLCentralStore.encode(example.state)
        let row = try await store.read { db in
            try db.one("SELECT \(SQLCentralStore.scopeValues(db.dialect)) FROM (SELECT ? AS entity, ? AS state) r", [example.entity.rawValue, text])
        }
        await store.close()
        let decoded = try SQLCentralStore.decode(text)
        let municipality: String? = try #require(row)["municipality"]
        let client: String? = try #require(row)["client_id"]
        #expect(municipality == (example.entity == .client ? decoded.value(.municipality).stringValue : nil))
        #expect(client == (example.entity == .client ? nil : decoded.value(.clientId).stringValue))
        if example.name.contains("conflict") {
            // The case holds a real conflict, whose winner the SQL found.
            #expect(decoded.fields[example.entity == .client ? "municipality" : "clientId"]?.count == 2)
            #expect((municipality ?? client) != nil)
        }
    }
}
