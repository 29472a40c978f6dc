import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// Issued invoices across replicas (issue 16, item 3): they reach the central office's other
/// replicas byte for byte and no one else, and the central store keeps them unchanged against
/// every hand-made push. Tariff versions (item 4) reach every replica; only the central office
/// sets them.
@Suite("Issued invoices and tariff versions across replicas", .serialized)
struct InvoiceSyncTests {
    let directory: TemporaryDirectory
    let central: CentralProcess
    let admin: TestReplica
    let secondAdmin: TestReplica
    let office: TestReplica
    let provider: String

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
        admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        secondAdmin = try TestReplica("admin-2", in: directory, central: central, role: "admin")
        office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        provider = try await admin.createTwoProviders()[0]
        try await admin.sync()
        try await secondAdmin.sync()
        try await office.sync()
    }

    /// A month that is over, whatever day the tests run.
    static let lastMonth = CalendarDate.today(now: Date()).yearMonth.adding(months: -1).description

    @Test(arguments: CentralBackend.allCases) static func anIssuedInvoiceReachesTheCentralOfficeOnlyAndStaysAsIssued(_ backend: CentralBackend) async throws {
        try await Self(backend).anIssuedInvoiceReachesTheCentralOfficeOnlyAndStaysAsIssued()
    }

    func anIssuedInvoiceReachesTheCentralOfficeOnlyAndStaysAsIssued() async throws {
        // Issued through kasvu rpc, as the central office's scripts do.
        let answer = try KasvuBinary.run(["rpc", "--db", admin.replica.path], input: """
            {"jsonrpc":"2.0","id":1,"method":"invoice/issue","params":{"providerId":"\(provider)","kind":"capitation","month":"\(Self.lastMonth)"}}

            """)
        let number = "CAP-\(Self.lastMonth)-\(provider.suffix(8).uppercased())"
        #expect(answer.stdout.contains(#""number":"\#(number)""#), "\(answer)")
        let issued = try await admin.replica.issuedInvoice(number)
        // A laptop that had not seen it issues the same invoice offline: the first one stands.
        let duplicate = try await secondAdmin.replica.issueInvoice(providerID: provider, kind: .capitation, billed: Self.lastMonth, issuedBy: "other")
        #expect(duplicate.id == issued.id && duplicate.document != issued.document)
        #expect(try await admin.sync().rejections.isEmpty)
        let refused = try await secondAdmin.sync()
        #expect(refused.rejections.map(\.kind) == ["invalid_transition"], "\(refused)")

        let third = try TestReplica("admin-3", in: directory, central: central, role: "admin")
        try await third.sync()
        #expect(try await third.replica.issuedInvoice(number).document == issued.document)  // byte for byte
        try await office.sync()
        #expect(try await office.replica.allStates(.invoice).isEmpty)
        let listed = try KasvuBinary.run(["invoice", "list", "--db", third.replica.path, "--format", "csv"])
        #expect(listed.stdout.contains("\(number),\(provider),capitation,\(Self.lastMonth),"), "\(listed)")
        let shown = try KasvuBinary.run(["invoice", "show", number, "--db", third.replica.path])
        #expect(shown.stdout == issued.document + "\n")
    }

    @Test(arguments: CentralBackend.allCases) static func theCentralStoreKeepsAnIssuedInvoiceAsItWas(_ backend: CentralBackend) async throws {
        try await Self(backend).theCentralStoreKeepsAnIssuedInvoiceAsItWas()
    }

    func theCentralStoreKeepsAnIssuedInvoiceAsItWas() async throws {
        let issued = try await admin.replica.issueInvoice(providerID: provider, kind: .capitation, billed: Self.lastMonth, issuedBy: "ely")
        #expect(try await admin.sync().rejections.isEmpty)
        let stored = try #require(try await admin.replica.state(.invoice, id: issued.id))
        let adminForger = Forger(admin)
        // Changed, or deleted, by the central office itself: refused.
        var changed = stored
        changed.write(["issuedBy": .string("someone else")], dot: Dot(adminForger.actor, 1_000), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .invoice, id: issued.id, state: changed)], counter: 1_000)
            .response?.rejections.map(\.kind) == ["invalid_transition"])
        var deleted = stored
        deleted.write([EntitySchema.deletedField: .bool(true)], dot: Dot(adminForger.actor, 1_001), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .invoice, id: issued.id, state: deleted)], counter: 1_001)
            .response?.rejections.map(\.kind) == ["invalid_transition"])
        // A new invoice whose document or id does not say what its fields say.
        let period = "2026-T1"
        func forged(_ changes: [String: FieldValue], counter: UInt64) -> RecordState {
            var values: [String: FieldValue] = stored.values.filter { $0.key != EntitySchema.deletedField }
            values["month"] = nil
            values["period"] = .string(period)
            values["kind"] = .string("outcome")
            values["number"] = .string(IssuedInvoice.number(providerID: provider, kind: .outcome, billed: period))
            var state = RecordState()
            state.write(values.merging(changes) { $1 }, dot: Dot(adminForger.actor, counter), hlc: adminForger.hlc)
            return state
        }
        let outcomeID = IssuedInvoice.id(providerID: provider, kind: .outcome, billed: period)
        #expect(try await adminForger.post([RecordEnvelope(entity: .invoice, id: outcomeID, state: forged([:], counter: 1_002))], counter: 1_002)
            .response?.rejections.map(\.kind) == ["validation_failed"])  // the document is the capitation invoice's
        #expect(try await adminForger.post([RecordEnvelope(entity: .invoice, id: RecordID.random(), state: stored)], counter: 1_003)
            .response?.rejections.map(\.kind) == ["validation_failed"])  // an id its provider, kind and month do not make
        // An office issues none.
        let forger = Forger(office)
        var byOffice = RecordState()
        byOffice.write(stored.values.filter { $0.key != EntitySchema.deletedField }, dot: Dot(forger.actor, 1_000), hlc: forger.hlc)
        let otherMonth = IssuedInvoice.id(providerID: provider, kind: .capitation, billed: "2026-01")
        #expect(try await forger.post([RecordEnvelope(entity: .invoice, id: otherMonth, state: byOffice)], counter: 1_000)
            .response?.rejections.map(\.kind) == ["permission_denied"])
        // (The admin's own laptop is behind its forged counters now: a fresh one reads the store.)
        try await secondAdmin.sync()
        #expect(try await secondAdmin.replica.issuedInvoice(issued.id).document == issued.document)
        #expect(try await secondAdmin.replica.issuedInvoices().map(\.id) == [issued.id])
    }

    @Test(arguments: CentralBackend.allCases) static func aTariffVersionSetThroughRPCReachesEveryReplica(_ backend: CentralBackend) async throws {
        try await Self(backend).aTariffVersionSetThroughRPCReachesEveryReplica()
    }

    func aTariffVersionSetThroughRPCReachesEveryReplica() async throws {
        var document = try JSONSerialization.jsonObject(with: Data(Tariff.current.jsonText().utf8)) as! [String: Any]
        document["version"] = "savo-2027-1"
        document["bonus"] = ["educationStarted": ["amount": "300.00"],
                             "items": [["reason": "bonus_business_started", "event": "business_started", "amount": "500.00"]]]
        let tariff = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        let answer = try KasvuBinary.run(["rpc", "--db", admin.replica.path], input: """
            {"jsonrpc":"2.0","id":1,"method":"tariff/set","params":{"area":"Pohjois-Savo","validFrom":"2027-01-01","tariff":\(tariff)}}
            {"jsonrpc":"2.0","id":2,"method":"tariff/set","params":{"area":"MK11","validFrom":"2027-01-01","tariff":{"version":"broken"}}}

            """)
        #expect(answer.stdout.contains(#""version":"savo-2027-1""#) && answer.stdout.contains(#""area":"MK11""#), "\(answer)")
        #expect(answer.stdout.contains(#""kind":"validation_failed""#) && answer.stdout.contains(#""field":"tariff""#), "\(answer)")
        #expect(try await admin.sync().rejections.isEmpty)
        try await office.sync()
        let read = try KasvuBinary.run(["rpc", "--db", office.replica.path], input: """
            {"jsonrpc":"2.0","id":1,"method":"tariff/get","params":{"area":"MK11","date":"2027-02-01"}}
            {"jsonrpc":"2.0","id":2,"method":"tariff/get","params":{"area":"MK11","date":"2026-12-31"}}
            {"jsonrpc":"2.0","id":3,"method":"tariff/set","params":{"area":"MK11","validFrom":"2027-06-01","tariff":\(tariff)}}

            """)
        let lines = read.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(read)")
        #expect(lines.first { $0.contains(#""id":1"#) }?.contains(#""bonus_business_started""#) == true, "\(read)")
        #expect(lines.first { $0.contains(#""id":2"#) }?.contains(#""builtIn":true"#) == true)
        #expect(lines.first { $0.contains(#""id":3"#) }?.contains(#""kind":"permission_denied""#) == true)

        // The central store refuses a version from an office, and one under an id its area and day do not make.
        let stored = try #require(try await admin.replica.allStates(.tariff).first)
        let forger = Forger(office)
        var byOffice = RecordState()
        byOffice.write(stored.state.values, dot: Dot(forger.actor, 1_000), hlc: forger.hlc)
        #expect(try await forger.post([RecordEnvelope(entity: .tariff, id: Tariff.recordID(area: "MK11", validFrom: "2027-06-01"), state: byOffice)],
                                      counter: 1_000).response?.rejections.map(\.kind) == ["permission_denied"])
        let adminForger = Forger(admin)
        var misplaced = RecordState()
        misplaced.write(stored.state.values, dot: Dot(adminForger.actor, 1_000), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .tariff, id: RecordID.random(), state: misplaced)], counter: 1_000)
            .response?.rejections.map(\.kind) == ["validation_failed"])
        var broken = stored.state
        broken.write(["document": .string(#"{"version":"savo-2027-1"}"#)], dot: Dot(adminForger.actor, 1_001), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .tariff, id: stored.id, state: broken)], counter: 1_001)
            .response?.rejections.map(\.kind) == ["validation_failed"])
    }

    @Test(arguments: CentralBackend.allCases) static func twoLaptopsCannotBothCarryOneCorrection(_ backend: CentralBackend) async throws {
        try await Self(backend).twoLaptopsCannotBothCarryOneCorrection()
    }

    /// A late contact changes a month invoiced already. One central-office laptop carries the
    /// correction on its next invoice; another that had not synced since would carry it again:
    /// the central store refuses that invoice, so the change is paid once.
    func twoLaptopsCannotBothCarryOneCorrection() async throws {
        let thisMonth = CalendarDate.today(now: Date()).yearMonth
        let (m1, m2, m3) = (thisMonth.adding(months: -3).description, thisMonth.adding(months: -2).description, thisMonth.adding(months: -1).description)
        let client = RecordID.random()
        let clients = try await admin.replica.importRecords(.client, rows: [ImportRow(row: 2, id: client, values: [
            "hetu": .string("131052-308T"), "lastName": .string("Virtanen"), "municipality": .string("749"), "riskGroup": .int(2)])], importedBy: "test")
        let referrals = try await admin.replica.importRecords(.referral, rows: [ImportRow(row: 2, id: nil, values: [
            "clientId": .string(client), "providerId": .string(provider), "chosenBy": .string("client"), "state": .string("active"),
            "startDate": .string("2024-01-01")])], importedBy: "test")
        #expect(clients.imported == 1 && referrals.imported == 1, "\(clients.problems) \(referrals.problems)")
        let first = try await admin.replica.issueInvoice(providerID: provider, kind: .capitation, billed: m1, issuedBy: "a")
        #expect(try await admin.sync().rejections.isEmpty)
        try await secondAdmin.sync()
        _ = try await admin.replica.create(.contact, fields: ["clientId": .string(client), "providerId": .string(provider),
                                                              "date": .string("\(m1)-10"), "kind": .string("meeting")])
        #expect(try await admin.sync().rejections.isEmpty)
        try await secondAdmin.sync()
        let second = try await admin.replica.issueInvoice(providerID: provider, kind: .capitation, billed: m2, issuedBy: "a")
        #expect(second.document.contains(#""invoiceNumber":"\#(first.number)""#) && second.total != second.amount)
        #expect(try await admin.sync().rejections.isEmpty)

        let stale = try await secondAdmin.replica.issueInvoice(providerID: provider, kind: .capitation, billed: m3, issuedBy: "b")
        #expect(stale.document.contains(#""invoiceNumber":"\#(first.number)""#))  // it had not seen the second invoice
        let refused = try await secondAdmin.sync()
        #expect(refused.rejections.map(\.kind) == ["validation_failed"], "\(refused)")
        let third = try TestReplica("admin-3", in: directory, central: central, role: "admin")
        try await third.sync()
        #expect(try await third.replica.issuedInvoices(providerID: provider).map(\.number) == [first.number, second.number])
    }
}
