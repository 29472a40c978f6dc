import Foundation
@testable import KasvuDashboard
import KasvuDomain
import Testing

@Suite("Dashboard parts")
struct DashboardPartTests {
    static let table = Table(id: "t", caption: "T", columns: [("name", "Name", false), ("amount", "Amount", true)], rows: [
        [.text("b"), .decimal(text: "10.00")],
        [.text("A"), .decimal(text: "9.50")],
        [.text("c"), .decimal(text: "100.00")],
        [.text("a2"), .decimal(text: "9.50")],
    ])

    @Test func numbersSortAsNumbersTextAsTextAndTiesKeepTheirOrder() {
        #expect(Self.table.sorted(by: "amount", descending: false).rows.map(\.[0].text) == ["A", "a2", "b", "c"])
        #expect(Self.table.sorted(by: "amount", descending: true).rows.map(\.[0].text) == ["c", "b", "A", "a2"])
        #expect(Self.table.sorted(by: "name", descending: false).rows.map(\.[0].text) == ["A", "a2", "b", "c"])
        #expect(Self.table.sorted(by: "nosuch", descending: true).rows.map(\.[0].text) == ["b", "A", "c", "a2"])
    }

    @Test(arguments: [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("@x", "'@x"), ("-x", "'-x"), ("a,b", "\"a,b\""), ("Työ \"Oy\"", "\"Työ \"\"Oy\"\"\""),
                     ("x\r\n=1", "\"x\r\n=1\"")])  // CRLF is one Character: quoted all the same
    func textThatASpreadsheetWouldRunIsQuoted(_ text: String, _ expected: String) {
        let csv = Table(id: "t", caption: "", columns: [("name", "", false), ("amount", "", true)], rows: [[.text(text), .decimal(-5)]]).csv()
        #expect(csv == "name,amount\r\n\(expected),-5.00\r\n")  // a negative amount stays a number
    }

    @Test func onlyAWholeDecimalIsANumber() {
        #expect(Table.Cell.decimal(text: "-12.50").number == Decimal(string: "-12.50"))
        #expect(Table.Cell.decimal(text: "1+cmd|' /C calc'!A0").number == nil)
        let csv = Table(id: "t", caption: "", columns: [("amount", "", true)], rows: [[.decimal(text: "-1+2")]]).csv()
        #expect(csv == "amount\r\n'-1+2\r\n")
    }

    @Test func theHeaderLinksToTheOtherOrder() throws {
        let context = Self.table.context(path: "/p", sortedBy: "t.amount", descending: false, language: .en)
        let columns = try #require(context["columns"] as? [[String: Any]])
        #expect(columns.map { $0["href"] as? String } == ["/p?sort=t.name&dir=asc", "/p?sort=t.amount&dir=desc"])
        #expect(columns.map { $0["ariaSort"] as? String } == ["none", "ascending"])
    }

    @Test func barsAreScaledToTheLargestValueOrMark() throws {
        let chart = BarChart(id: "c", title: "C", bars: [
            .init(label: "a", value: 5, text: "5", mark: 10), .init(label: "b", value: 10, text: "10"), .init(label: "z", value: 0, text: "0"),
        ])
        let bars = try #require(chart.context()["bars"] as? [[String: Any]])
        let plot = BarChart.width - BarChart.labelWidth - BarChart.valueWidth
        #expect(bars.map { $0["barWidth"] as? Int } == [plot / 2, plot, 0])
        #expect(bars[0]["markX"] as? Int == BarChart.labelWidth + plot && bars[1]["hasMark"] == nil)
    }

    @Test(arguments: [
        (String?.none, String?.none, String?.none, Language.fi), ("en", nil, "fi-FI", .en), (nil, "en", "fi", .en),
        (nil, nil, "en-GB,en;q=0.8", .en), (nil, nil, "sv-FI, en", .fi), ("xx", "yy", "en", .en),
    ])
    func theLanguageComesFromTheLinkThenTheCookieThenTheBrowser(_ query: String?, _ cookie: String?, _ accept: String?, _ expected: Language) {
        #expect(Language.choose(query: query, cookie: cookie, acceptLanguage: accept) == expected)
    }

    @Test func everyLabelHasBothLanguages() {
        for (key, pair) in Labels.texts { #expect(!pair.0.isEmpty && !pair.1.isEmpty, "\(key)") }
        #expect(Language.fi.text("caseload") == "Asiakasmäärät" && Language.en.text("caseload") == "Caseload")
    }

    @Test func aSessionEndsAtItsExpiryOrWhenClosed() {
        let sessions = Sessions()
        let now = Date()
        let id = sessions.open(token: "t", replicaID: "admin", now: now)
        #expect(id.count == 64 && sessions.session(id, now: now)?.replicaID == "admin")
        #expect(sessions.session(id, now: now.addingTimeInterval(Sessions.lifetime + 1)) == nil)
        #expect(sessions.session(id, now: now) == nil)  // gone for good once expired
        let other = sessions.open(token: "t", replicaID: "admin", now: now)
        sessions.close(other)
        #expect(sessions.session(other, now: now) == nil && sessions.session(nil) == nil)
        #expect(Sessions.same("abc", "abc") && !Sessions.same("abc", "abd") && !Sessions.same("", "") && !Sessions.same(nil, "a"))
    }
}
