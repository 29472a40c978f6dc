import Foundation
import KasvuDomain
import KasvuTestSupport
import Testing

@Suite struct MunicipalityTests {
    /// Every code of the shared list is accepted, with its region.
    @Test func shippedListMatchesSharedFile() throws {
        let csv = try String(contentsOf: SharedData.directory.appendingPathComponent("municipalities.csv"), encoding: .utf8)
        let lines = csv.split(whereSeparator: \.isNewline).dropFirst()
        #expect(lines.count > 300)
        for line in lines {
            let cells = line.split(separator: ",").map(String.init)
            let municipality = try Municipalities.shipped.validate(cells[0])
            #expect(municipality.name == cells[1])
            #expect(municipality.regionCode == cells[2])
        }
    }

    @Test(arguments: ["198", "199", "200"])
    func specialCodesAreAccepted(_ code: String) throws {
        #expect(try Municipalities.shipped.validate(code).code == code)
    }

    @Test(arguments: ["", "74", "7490", "abc", "001", " 749"])
    func invalidCodesAreRefused(_ code: String) {
        #expect(throws: FieldError.self) { try Municipalities.shipped.validate(code) }
    }

    @Test func pilotMunicipalitiesAreInPohjoisSavo() {
        #expect(Municipalities.shipped["749"]?.regionName == "Pohjois-Savo")
        #expect(Municipalities.shipped["402"]?.regionName == "Pohjois-Savo")
    }

    @Test(arguments: [("MK11", "MK11"), ("mk11", "MK11"), (" Pohjois-Savo ", "MK11"), ("pohjois-savo", "MK11"),
                      ("Pa\u{0308}ija\u{0308}t-Ha\u{0308}me", "MK07"), ("Päijät-Häme", "MK07")])
    func regionsByCodeOrName(text: String, code: String) {
        #expect(Municipalities.shipped.region(text)?.code == code)
    }

    @Test func unknownRegionsAreNone() {
        #expect(Municipalities.shipped.region("MK99") == nil && Municipalities.shipped.region("Savo") == nil && Municipalities.shipped.region("") == nil)
        #expect(Municipalities.shipped.regions.count == 19)
    }
}
