import Foundation
import KasvuDomain
import KasvuTestSupport
import Testing

struct HetuVector: Sendable, CustomTestStringConvertible {
    let hetu: String
    let detail: String
    /// A well-formed code in the temporary range (individual number 900–999).
    var temporary = false
    var testDescription: String { "\"\(hetu)\" (\(detail))" }
}

enum Vectors {
    static var identifiers: [String: Any] { SharedData.json("identifier-vectors.json") }
    static var hetu: [String: [[String: Any]]] { identifiers["henkilotunnus"] as! [String: [[String: Any]]] }
    static var yTunnus: [String: Any] { identifiers["yTunnus"] as! [String: Any] }

    static let validHetu = hetu["valid"]!.map {
        HetuVector(hetu: $0["hetu"] as! String, detail: $0["birthDate"] as! String, temporary: $0["temporary"] as? Bool ?? false)
    }
    static let invalidHetu = hetu["invalid"]!.map { HetuVector(hetu: $0["hetu"] as! String, detail: $0["why"] as! String) }
    static let validBusinessIDs = yTunnus["valid"] as! [String]
    static let invalidBusinessIDs = (yTunnus["invalid"] as! [[String: String]]).map { HetuVector(hetu: $0["businessId"]!, detail: $0["why"]!) }
}

@Suite("Identifier vectors (Tests/Fixtures/domain)")
struct IdentifierVectorTests {
    /// Every valid vector is well-formed as written when temporary identifiers are allowed;
    /// by default, registration refuses exactly the ones the file marks `temporary`.
    @Test(arguments: Vectors.validHetu)
    func validHenkilotunnus(_ vector: HetuVector) throws {
        let hetu = try PersonalIdentityCode(vector.hetu, allowTemporary: true)
        #expect(hetu.birthDate.description == vector.detail)
        #expect(vector.temporary == (hetu.individualNumber >= 900))
        if vector.temporary {
            #expect { try PersonalIdentityCode(vector.hetu) } throws: { ($0 as? FieldError)?.message.contains("temporary") == true }
        } else {
            #expect(try PersonalIdentityCode(vector.hetu).birthDate == hetu.birthDate)
        }
    }

    @Test(arguments: Vectors.invalidHetu)
    func invalidHenkilotunnus(_ vector: HetuVector) {
        #expect(throws: FieldError.self) { try PersonalIdentityCode(vector.hetu) }
    }

    @Test(arguments: Vectors.validBusinessIDs)
    func validYTunnus(_ text: String) throws {
        #expect(try BusinessID(text).value == text)
    }

    @Test(arguments: Vectors.invalidBusinessIDs)
    func invalidYTunnus(_ vector: HetuVector) {
        #expect(throws: FieldError.self) { try BusinessID(vector.hetu) }
    }

    @Test func vectorFileIsNotEmpty() {
        #expect(Vectors.validHetu.count >= 10 && Vectors.invalidHetu.count >= 10)
        #expect(Vectors.validHetu.contains(where: \.temporary) && Vectors.validHetu.contains { !$0.temporary })
        #expect(Vectors.validBusinessIDs.count >= 5 && Vectors.invalidBusinessIDs.count >= 5)
    }
}

@Suite struct IdentifierMessageTests {
    @Test func errorsNameTheFieldAndTheReason() {
        do {
            _ = try PersonalIdentityCode("131052-308U")
            Issue.record("accepted a wrong check character")
        } catch {
            #expect(error.field == "hetu")
            #expect(error.message.contains("expected 'T'"))
        }
        do {
            _ = try BusinessID("2077474-1", field: "employerBusinessId")
            Issue.record("accepted a wrong check digit")
        } catch {
            #expect(error.field == "employerBusinessId")
            #expect(error.message.contains("expected 0"))
        }
    }

    @Test func temporaryIdentifiersOnlyWhenAllowed() throws {
        #expect(throws: FieldError.self) { try PersonalIdentityCode("010190Y999W") }
        // 900–999 are valid temporary numbers when explicitly allowed, with the same check rule.
        let temporary = try PersonalIdentityCode("010190Y999W", allowTemporary: true)
        #expect(temporary.individualNumber == 999)
    }
}
