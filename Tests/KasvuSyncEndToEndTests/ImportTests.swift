import Foundation
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// `kasvu import` and `kasvu export` (issue 16, item 5): a pilot's existing providers,
/// clients, referrals with their history, contacts, hours and events loaded into the central
/// office's replica, accepted by the central store, and read back in the same shapes.
@Suite("Import and export", .serialized)
struct ImportTests {
    static let provider = "0b2d1c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
    static let aino = "1f6b1d52-8c1f-4c7e-9a51-3f1e0c2b7a10", eino = "2a7c2e63-9d2a-4d8f-8b62-4a2f1d3c8b21"

    static let files: [(EntityKind, String, String)] = [
        (.provider, "providers.csv", """
            id,name,businessId,pilotArea,cap,capitationBase,hourlyRate
            \(provider),"Savon Työ Oy",1572860-0,Pohjois-Savo,700,200.00,10.00

            """),
        (.client, "clients.csv", """
            id,hetu,firstName,lastName,municipality,riskGroup,riskGroupConfirmedBy
            \(aino),131052-308T,Aino,Virtanen,749,2,"Virtanen, Kaisa"
            \(eino),290260V4112,Eino,"Korhonen
            (""Eikka"")",402,3,import

            """),
        (.referral, "referrals.jsonl", """
            {"id":"3b8d3f74-ae3b-4e90-9c73-5b3e2e4d9c32","clientId":"\(aino)","providerId":"\(provider)","chosenBy":"client","state":"ended","startDate":"2024-02-01","endDate":"2024-09-30","endReason":"employed"}
            {"id":"4c9e4085-bf4c-4fa1-8d84-6c4f3f5e0d43","clientId":"\(eino)","providerId":"\(provider)","chosenBy":"assigned","state":"active","startDate":"2024-03-15"}

            """),
        (.contact, "contacts.csv", """
            clientId,providerId,date,kind,note
            \(eino),\(provider),2024-04-02,meeting,
            \(aino),\(provider),2024-03-05,phone,"called, no answer"

            """),
        (.hours, "hours.csv", """
            clientId,providerId,month,hours
            \(aino),\(provider),2024-10,120.5

            """),
        (.event, "events.jsonl", """
            {"clientId":"\(aino)","providerId":"\(provider)","date":"2024-10-01","kind":"employed"}

            """),
    ]

    static func write(_ directory: TemporaryDirectory) throws {
        for (_, name, text) in files {
            try text.replacingOccurrences(of: "\n            ", with: "\n").write(toFile: directory.path(name), atomically: true, encoding: .utf8)
        }
    }

    static func records(_ replica: Replica) async throws -> [String: [String: [String: FieldValue]]] {
        var all: [String: [String: [String: FieldValue]]] = [:]
        for kind in Replica.importKinds {
            all[kind.rawValue] = Dictionary(uniqueKeysWithValues: try await replica.allStates(kind).map { ($0.id, $0.state.values) })
        }
        return all
    }

    @Test(arguments: CentralBackend.allCases)
    func aPilotsRecordsWithTheirHistoryImportSyncAndExportUnchanged(_ backend: CentralBackend) async throws {
        let directory = try TemporaryDirectory()
        try Self.write(directory)
        let central = try CentralProcess(backend, in: directory)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        for (kind, name, _) in Self.files {
            let imported = try KasvuBinary.run(["import", "--db", admin.replica.path, "--entity", kind.rawValue, directory.path(name)])
            #expect(imported.status == 0 && imported.stdout.hasPrefix("Imported"), "\(kind): \(imported)")
        }
        let referral = try #require(try await admin.replica.state(.referral, id: "4c9e4085-bf4c-4fa1-8d84-6c4f3f5e0d43"))
        #expect(referral.value(.state) == .string("active") && referral.value(.startDate) == .string("2024-03-15") && referral.value(.riskGroup) == .int(3))
        #expect(referral.value(.importedBy).stringValue != nil)
        #expect(try await admin.replica.get(.client, id: Self.eino)["lastName"] == .string("Korhonen\n(\"Eikka\")"))

        // The central store accepts the history from the central office, and an office receives it.
        let summary = try await admin.sync()
        #expect(summary.rejections.isEmpty, "\(summary.rejections)")
        let office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749,402"])
        try await office.sync()
        #expect(try await office.replica.state(.referral, id: "3b8d3f74-ae3b-4e90-9c73-5b3e2e4d9c32")?.value(.state) == .string("ended"))
        #expect(try await office.replica.state(.referral, id: "4c9e4085-bf4c-4fa1-8d84-6c4f3f5e0d43")?.value(.state) == .string("active"))
        // An office may not import history: its replica refuses, and so does the central store.
        let refused = try KasvuBinary.run(["import", "--db", office.replica.path, "--entity", "client", directory.path("clients.csv")])
        #expect(refused.status != 0 && refused.stderr.contains("permission_denied"), "\(refused)")
        let forger = Forger(office)
        let forged = forger.state(["clientId": .string(Self.aino), "providerId": .string(Self.provider), "chosenBy": .string("client"),
                                   "state": .string("active"), "startDate": .string("2024-01-01"), "riskGroup": .int(2), "importedBy": .string("office")])
        #expect(try await forger.post([RecordEnvelope(entity: .referral, id: RecordID.random(), state: forged)]).response?.rejections.map(\.kind) == ["permission_denied"])

        // The central store judges an imported history itself: it must hang together, fit the
        // provider's cap, and importedBy never lands on a referral it holds.
        let adminForger = Forger(admin)
        func imported(_ fields: [String: FieldValue], counter: UInt64, id: String = RecordID.random()) async throws -> [String] {
            var state = RecordState()
            state.write(["clientId": .string(Self.aino), "providerId": .string(Self.provider), "chosenBy": .string("client"), "riskGroup": .int(2),
                         "importedBy": .string("forger")].merging(fields) { $1 }, dot: Dot(adminForger.actor, counter), hlc: adminForger.hlc)
            let answer = try await adminForger.post([RecordEnvelope(entity: .referral, id: id, state: state)], counter: counter)
            return answer.response?.rejections.map(\.kind) ?? ["\(answer.status) \(answer.error?.kind ?? "") \(answer.error?.message ?? "")"]
        }
        #expect(try await imported(["state": .string("ended"), "startDate": .string("2024-05-01"), "endDate": .string("2024-04-01"),
                                    "endReason": .string("employed")], counter: 1_000) == ["validation_failed"])
        #expect(try await imported(["state": .string("active"), "startDate": .string("2099-01-01")], counter: 1_001) == ["validation_failed"])
        var held = try #require(try await admin.replica.state(.referral, id: "3b8d3f74-ae3b-4e90-9c73-5b3e2e4d9c32"))
        held.write(["importedBy": .string("again")], dot: Dot(adminForger.actor, 1_002), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .referral, id: "3b8d3f74-ae3b-4e90-9c73-5b3e2e4d9c32", state: held)], counter: 1_002)
            .response?.rejections.map(\.kind) == ["invalid_transition"])
        var full = try #require(try await admin.replica.state(.provider, id: Self.provider))
        full.write(["cap": .int(1)], dot: Dot(adminForger.actor, 1_003), hlc: adminForger.hlc)
        #expect(try await adminForger.post([RecordEnvelope(entity: .provider, id: Self.provider, state: full)], counter: 1_003).response?.rejections.isEmpty == true)
        #expect(try await imported(["state": .string("active"), "startDate": .string("2024-05-01")], counter: 1_004) == ["capacity_exceeded"])

        // Export, and import into a fresh replica: the same records.
        let fresh = try Replica.create(at: directory.path("fresh.sqlite"), replicaID: "fresh", role: .admin)
        for kind in Replica.importKinds {
            for format in ["csv", "jsonl"] {
                let file = directory.path("export-\(kind.rawValue).\(format)")
                let exported = try KasvuBinary.run(["export", "--db", admin.replica.path, "--entity", kind.rawValue, "--output", file])
                #expect(exported.status == 0, "\(exported)")
                #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
                guard format == ([.client, .provider].contains(kind) ? "csv" : "jsonl") else { continue }  // both shapes, one import each
                let imported = try KasvuBinary.run(["import", "--db", fresh.path, "--entity", kind.rawValue, file])
                #expect(imported.status == 0, "\(kind) \(format): \(imported)")
            }
        }
        #expect(try await Self.records(fresh) == (try await Self.records(admin.replica)))
    }

    @Test func aFileWithOneBadRowImportsNothingAndNamesTheRowFieldAndReason() async throws {
        let directory = try TemporaryDirectory()
        try Self.write(directory)
        let path = directory.path("admin.sqlite")
        let replica = try Replica.create(at: path, replicaID: "admin", role: .admin)
        _ = try KasvuBinary.run(["import", "--db", path, "--entity", "provider", directory.path("providers.csv")])
        let rows = (0..<50).map { n in "\(n == 37 ? "999" : "749"),Asiakas,\(n)" }
        try ("municipality,lastName,firstName\n" + rows.joined(separator: "\n") + "\n").write(toFile: directory.path("bad.csv"), atomically: true, encoding: .utf8)
        let result = try KasvuBinary.run(["import", "--db", path, "--entity", "client", directory.path("bad.csv")])
        #expect(result.status == 1)
        // Row 39: the header is line 1; the 38th record (n = 37) is line 39. hetu is required of a person.
        #expect(result.stderr.contains("row 39, municipality: unknown municipality code 999"), "\(result)")
        #expect(result.stderr.contains("row 2, hetu: is required"))
        #expect(try await replica.allStates(.client).isEmpty)
        // A spreadsheet's UTF-8 CSV: a byte-order mark and CRLF line ends, a line break in a cell.
        try "\u{FEFF}hetu,lastName,municipality,phone\r\n131052-308T,Virtanen,749,\r\n311299W222C,\"Korhonen\r\nJr\",402,040 123\r\n"
            .write(toFile: directory.path("excel.csv"), atomically: true, encoding: .utf8)
        let excel = try KasvuBinary.run(["import", "--db", path, "--entity", "client", directory.path("excel.csv")])
        #expect(excel.status == 0 && excel.stdout.contains("Imported 2 of 2"), "\(excel)")
        #expect(try await replica.allStates(.client).contains { $0.state.value(.lastName) == .string("Korhonen\nJr") })
        try "{\"hetu\":\"290260V4112\",\"lastName\":\"Mäkinen\",\"municipality\":\"749\"}\r\n".write(toFile: directory.path("crlf.jsonl"), atomically: true, encoding: .utf8)
        let crlf = try KasvuBinary.run(["import", "--db", path, "--entity", "client", directory.path("crlf.jsonl")])
        #expect(crlf.status == 0 && crlf.stdout.contains("Imported 1 of 1"), "\(crlf)")
        // What the system derives is not imported.
        try "hetu,lastName,municipality,riskGroupProposal\n070780U555P,Laine,749,3\n".write(toFile: directory.path("derived.csv"), atomically: true, encoding: .utf8)
        let derived = try KasvuBinary.run(["import", "--db", path, "--entity", "client", directory.path("derived.csv")])
        #expect(derived.status != 0 && derived.stderr.contains("unknown column 'riskGroupProposal'"), "\(derived)")
        // An unknown column stops the file before any row.
        try "id,lastName,shoeSize\n,Virtanen,44\n".write(toFile: directory.path("columns.csv"), atomically: true, encoding: .utf8)
        let columns = try KasvuBinary.run(["import", "--db", path, "--entity", "client", directory.path("columns.csv")])
        #expect(columns.status != 0 && columns.stderr.contains("unknown column 'shoeSize'"), "\(columns)")
        // A referral whose history does not hang together.
        try #"{"clientId":"\#(Self.aino)","providerId":"\#(Self.provider)","chosenBy":"client","state":"ended","startDate":"2024-05-01","endDate":"2024-04-01","endReason":"employed"}"#
            .write(toFile: directory.path("r.jsonl"), atomically: true, encoding: .utf8)
        let referral = try KasvuBinary.run(["import", "--db", path, "--entity", "referral", directory.path("r.jsonl")])
        #expect(referral.status == 1 && referral.stderr.contains("row 1, clientId: no client with id \(Self.aino)")
                && referral.stderr.contains("row 1, endDate: is before startDate 2024-05-01"), "\(referral)")
    }
}
