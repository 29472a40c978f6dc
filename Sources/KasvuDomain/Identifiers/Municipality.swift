import Foundation

/// A Finnish municipality (*kunta*) and the region (*maakunta*) it belongs to.
public struct Municipality: Sendable, Hashable, Codable {
    /// Three-digit municipality number (*kuntanumero*), e.g. `"749"`.
    public let code: String
    public let name: String
    /// Region code such as `MK11`; empty for the special codes 198–200.
    public let regionCode: String
    public let regionName: String
}

/// The municipality list the product ships (`Resources/municipalities.csv`, codes as of the
/// pilots' era) plus the special codes 198 (no home municipality in Finland), 199 (unknown)
/// and 200 (abroad).
///
/// ```swift
/// try Municipalities.shipped.validate("749")    // Siilinjärvi
/// Municipalities.shipped["402"]?.regionName     // "Pohjois-Savo"
/// ```
public struct Municipalities: Sendable {
    public let all: [String: Municipality]
    /// Every region of the list, by code.
    public let regions: [String: Region]

    public static let special: [Municipality] = [
        Municipality(code: "198", name: "No home municipality in Finland", regionCode: "", regionName: ""),
        Municipality(code: "199", name: "Unknown", regionCode: "", regionName: ""),
        Municipality(code: "200", name: "Abroad", regionCode: "", regionName: ""),
    ]

    /// The list shipped in the module's bundle. Loading it can only fail if the package is
    /// built without its resource, which is a packaging bug worth crashing on.
    public static let shipped: Municipalities = {
        guard let url = Bundle.module.url(forResource: "municipalities", withExtension: "csv"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("KasvuDomain resource municipalities.csv is missing from the bundle") }
        return Municipalities(csv: text)
    }()

    /// Parses `code,name,regionCode,regionName` lines (the first line is a header).
    public init(csv: String) {
        var all: [String: Municipality] = [:]
        for line in csv.split(whereSeparator: \.isNewline).dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cells.count >= 4 else { continue }
            all[cells[0]] = Municipality(code: cells[0], name: cells[1], regionCode: cells[2], regionName: cells[3])
        }
        for special in Self.special { all[special.code] = special }
        self.all = all
        regions = all.values.reduce(into: [:]) { regions, municipality in
            if !municipality.regionCode.isEmpty { regions[municipality.regionCode] = Region(code: municipality.regionCode, name: municipality.regionName) }
        }
    }

    public subscript(code: String) -> Municipality? { all[code] }

    /// A region (*maakunta*): the pilot areas are regions.
    public struct Region: Sendable, Hashable {
        /// `MK11`: the canonical form a pilot area is stored in.
        public let code: String
        public let name: String
    }


    /// The region a text names: its code (`MK11`, `mk11`) or its Finnish name (`Pohjois-Savo`,
    /// any case, composed or decomposed Unicode); nil for anything else.
    public func region(_ text: String) -> Region? {
        let wanted = text.trimmingCharacters(in: .whitespaces).precomposedStringWithCanonicalMapping.lowercased()
        return regions.values.first { $0.code.lowercased() == wanted || $0.name.precomposedStringWithCanonicalMapping.lowercased() == wanted }
    }

    /// Returns the municipality for `code` or throws a field error naming the problem.
    @discardableResult
    public func validate(_ code: String, field: String = "municipality") throws(FieldError) -> Municipality {
        guard code.count == 3, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw FieldError(field: field, message: "must be a 3-digit municipality code, got '\(code)'")
        }
        guard let municipality = all[code] else {
            throw FieldError(field: field, message: "unknown municipality code \(code)")
        }
        return municipality
    }
}
