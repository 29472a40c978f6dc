@testable import KasvuReplica
import KasvuTestSupport
import Testing

/// The ASCII fast path of the search index's words gives exactly what the Unicode path gives.
@Suite struct SearchWordsTests {
    @Test(arguments: ["Virtanen", "  Oy  Asiakas-Palvelu 2 ", "O'Brien,Mary", "A1b2 C3", "", "---", "tab\tand\nnew line", "ZZ top 99"])
    func asciiWordsAreTheUnicodeWords(_ text: String) {
        #expect(ClientSearch.asciiWords(text) == ClientSearch.unicodeWords(text))
    }

    @Test func randomASCIITextsGiveTheSameWords() {
        var random = SplitMix64(seed: 16)
        for _ in 0..<2_000 {
            let text = String(decoding: (0..<Int.random(in: 0...24, using: &random)).map { _ in UInt8.random(in: 0...127, using: &random) }, as: UTF8.self)
            #expect(ClientSearch.asciiWords(text) == ClientSearch.unicodeWords(text), "\(Array(text.utf8))")
        }
    }

    @Test func nonASCIITakesTheUnicodePath() {
        #expect(ClientSearch.words("Äijälä Öörni") == ["äijälä", "öörni"])
    }
}
