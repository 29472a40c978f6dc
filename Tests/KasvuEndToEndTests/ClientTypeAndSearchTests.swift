import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuTestSupport
import Testing

/// Every kind of client and client search (issue 14, items 1 and 5), through a real `kasvu rpc`
/// over pipes, bad inputs included.
@Suite("Client types and search through kasvu rpc", .serialized)
struct ClientTypeAndSearchTests {
    let directory: TemporaryDirectory
    let db: String

    init() throws {
        directory = try TemporaryDirectory()
        db = try initializedAdminReplica(in: directory)
    }

    static let company: JSONValue = ["clientType": "company", "businessId": "2077474-0", "name": "Kone ja Kuljetus Oy",
                                     "contactPerson": "Maija Mäkelä", "municipality": "749"]
    static let association: JSONValue = ["clientType": "community", "associationNumber": "123456", "name": "Siilinjärven Nuorisoseura ry",
                                         "municipality": "749"]

    /// The fields a `validation_failed` answer names.
    static func failedFields(_ answer: JSONValue) -> [String] {
        #expect(answer["error"]?["data"]?["kind"] == "validation_failed", "\(answer)")
        return answer["error"]?["data"]?["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
    }

    static func merged(_ base: JSONValue, _ changes: [String: JSONValue]) -> JSONValue {
        .object((base.objectValue ?? [:]).merging(changes) { $1 })
    }

    @Test func eachTypeHasItsOwnRequiredFields() async throws {
        let rpc = try RPCProcess(db: db)
        let company = try await rpc.result("client/create", Self.company)
        #expect(company["clientType"] == "company" && company["name"] == "Kone ja Kuljetus Oy" && company["contactPerson"] == "Maija Mäkelä")
        let association = try await rpc.result("client/create", Self.association)
        #expect(association["associationNumber"] == "123.456")  // the register's written form
        _ = try await rpc.result("client/create", ["clientType": "community", "businessId": "0112038-9", "name": "Alustaosuuskunta", "municipality": "402"])

        // A person without a henkilötunnus; a company with one; a company without a Y-tunnus or a
        // name; a community with neither identifier; a person with a company's name.
        #expect(Self.failedFields(try await rpc.call("client/create", ["lastName": "Virtanen", "municipality": "749"])) == ["hetu"])
        #expect(Self.failedFields(try await rpc.call("client/create", Self.merged(Self.company, ["hetu": "131052-308T"]))) == ["hetu"])
        #expect(Set(Self.failedFields(try await rpc.call("client/create", ["clientType": "company", "municipality": "749"]))) == ["businessId", "name"])
        #expect(Self.failedFields(try await rpc.call("client/create", ["clientType": "community", "name": "Kerho", "municipality": "749"])) == ["businessId"])
        #expect(Self.failedFields(try await rpc.call("client/create", Self.merged(ainoParams, ["name": "Aino Oy"]))) == ["name"])
        #expect(Self.failedFields(try await rpc.call("client/create", Self.merged(Self.company, ["firstName": "Maija"]))) == ["firstName"])
        #expect(Self.failedFields(try await rpc.call("client/create", Self.merged(Self.association, ["associationNumber": "0123"]))) == ["associationNumber"])
        #expect(Self.failedFields(try await rpc.call("client/create", ["clientType": "platform", "name": "X", "municipality": "749"])) == ["clientType"])

        // The type is identity: it does not change, nor may an update break the type's rules.
        let id = try #require(company["id"])
        #expect(Self.failedFields(try await rpc.call("client/update", ["id": id, "set": ["clientType": "person"]])) == ["clientType"])
        #expect(Self.failedFields(try await rpc.call("client/update", ["id": id, "set": ["name": .null]])) == ["name"])
        #expect(Self.failedFields(try await rpc.call("client/update", ["id": id, "set": ["monthsUnemployed": 12]])) == ["monthsUnemployed"])
        let renamed = try await rpc.result("client/update", ["id": id, "set": ["name": "Kone & Kuljetus Oy"]])
        #expect(renamed["name"] == "Kone & Kuljetus Oy")
        #expect(try await rpc.result("client/list", ["where": ["clientType": "community"]])["items"]?.arrayValue?.count == 2)
        #expect(await rpc.finish() == 0)
    }

    /// Profiling, risk groups and pilot referrals are for persons; a company gets contacts.
    @Test func profilingAndReferralAreForPersonsOnly() async throws {
        let rpc = try RPCProcess(db: db)
        let provider = try await rpc.result("provider/create", providerParams)
        let company = try await rpc.result("client/create", Self.company)
        let profiled = try await rpc.call("client/profile", ["id": company["id"]!])
        #expect(Self.failedFields(profiled) == ["id"])
        #expect(profiled["error"]?["message"]?.stringValue?.contains("applies to person clients") == true)
        let referred = try await rpc.call("referral/create", ["clientId": company["id"]!, "providerId": provider["id"]!, "chosenBy": "client"])
        #expect(Self.failedFields(referred) == ["clientId"])
        let contact = try await rpc.result("contact/record", ["clientId": company["id"]!, "providerId": provider["id"]!, "date": "2026-12-01", "kind": "meeting"])
        #expect(contact["clientId"] == company["id"])
        #expect(await rpc.finish() == 0)
    }

    @Test func searchFindsByNameBeginningsInAnyCaseAndNormalForm() async throws {
        let rpc = try RPCProcess(db: db)
        var ids: [String: String] = [:]
        for (key, params) in [
            ("aino", ainoParams),
            ("ohman", ["hetu": .string(testHetu(701)), "firstName": "Eero", "lastName": "Öhman", "municipality": "749"] as JSONValue),
            ("virta", ["hetu": .string(testHetu(702)), "firstName": "Aili", "lastName": "Virta", "municipality": "402"] as JSONValue),
            ("company", Self.company), ("association", Self.association),
        ] {
            ids[key] = try #require(try await rpc.result("client/create", params)["id"]?.stringValue)
        }
        func found(_ text: String) async throws -> [String] {
            try await rpc.result("client/search", ["text": .string(text)])["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        }
        #expect(try await found("virtanen") == [ids["aino"]!])
        // "virta" is all of Virta's last name and the beginning of Virtanen's: Virta ranks first.
        #expect(try await found("VIRTA") == [ids["virta"]!, ids["aino"]!])
        #expect(try await found("aino") == [ids["aino"]!])  // first names too
        #expect(try await found("ai vir") == [ids["virta"]!, ids["aino"]!])  // every word must begin a name
        #expect(try await found("ai virtan") == [ids["aino"]!])
        // Öhman typed as O + combining diaeresis, as some keyboards send it.
        #expect(try await found("O\u{308}hm") == [ids["ohman"]!])
        #expect(try await found("öhman") == [ids["ohman"]!])
        #expect(try await found("ohman").isEmpty)  // ö is a letter of its own in Finnish
        #expect(try await found("kuljetus") == [ids["company"]!])
        #expect(try await found("nuorisoseura") == [ids["association"]!])
        // Whole identifiers, exactly.
        #expect(try await found("131052-308t") == [ids["aino"]!])
        #expect(try await found("2077474-0") == [ids["company"]!])
        #expect(try await found("123.456") == [ids["association"]!])
        #expect(try await found("131052").isEmpty)  // no partial henkilötunnus
        #expect(try await found("zzz").isEmpty)

        // Pages follow the ranking without repeating or skipping.
        for n in 0..<5 {
            _ = try await rpc.result("client/create", ["hetu": .string(testHetu(600 + n)), "lastName": .string("Sivu\(n)"), "municipality": "749"])
        }
        var seen: [String] = [], after: JSONValue = .null
        repeat {
            let page = try await rpc.result("client/search", ["text": "sivu", "limit": 2, "after": after])
            seen += page["items"]?.arrayValue?.compactMap { $0["lastName"]?.stringValue } ?? []
            after = page["next"] ?? .null
        } while after != .null
        #expect(seen == (0..<5).map { "Sivu\($0)" })

        // Bad input changes nothing and says what is wrong.
        #expect(Self.failedFields(try await rpc.call("client/search", ["text": "  "])) == ["text"])
        #expect(Self.failedFields(try await rpc.call("client/search", ["text": "a", "limit": 0])) == ["limit"])
        #expect(Self.failedFields(try await rpc.call("client/search", ["text": "a", "after": "not-a-cursor"])) == ["after"])
        let byHetu = try await rpc.call("client/get", ["hetu": "131052-308T"])
        #expect(byHetu["error"]?["code"] == -32602)
        #expect(byHetu["error"]?["data"]?["errors"]?.arrayValue?.first?["message"]?.stringValue?.contains("client/search") == true, "\(byHetu)")
        #expect(await rpc.finish() == 0)
    }

    /// A deleted client's words leave the index in the same write: search finds nothing and no
    /// byte of the name, in any case, is left in the replica's files.
    @Test func deletionEmptiesTheSearchIndex() async throws {
        let rpc = try RPCProcess(db: db)
        let client = try await rpc.result("client/create", ["hetu": "131052-308T", "firstName": "Unikkonimi", "lastName": "Erasmussen", "municipality": "749"])
        #expect(try await rpc.result("client/search", ["text": "erasm"])["items"]?.arrayValue?.count == 1)
        _ = try await rpc.result("client/delete", ["id": client["id"]!])
        #expect(try await rpc.result("client/search", ["text": "erasm"])["items"]?.arrayValue?.isEmpty == true)
        #expect(await rpc.finish() == 0)
        for secret in ["Erasmussen", "erasmussen", "unikkonimi", "131052-308T"] {
            #expect(try !databaseFilesContain(db, secret), "\(secret)")
        }
    }
}
