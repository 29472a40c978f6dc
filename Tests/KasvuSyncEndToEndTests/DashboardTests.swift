import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// The central office's dashboard (issue 16, item 1) on a real `kasvu central serve`: signing
/// in, CSRF, sessions that end with the token, the mirror that forgets erased data, CSV.
@Suite("Dashboard over HTTP", .serialized)
struct DashboardHTTPTests {
    let directory: TemporaryDirectory
    let central: CentralProcess
    let admin: TestReplica
    let http: CurlHTTPClient

    init() throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(.sqlite, in: directory)
        admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        var options = HTTPClientOptions()
        options.maxAttempts = 1
        http = try CurlHTTPClient(options: options)
    }

    var mirrorPath: String { directory.path("central.sqlite.dashboard") }

    func get(_ path: String, cookies: [String: String] = [:]) async throws -> HTTPResponse {
        try await http.send(HTTPRequest(method: "GET", url: central.url + path, headers: Self.cookieHeader(cookies)))
    }

    func post(_ path: String, form: [String: String], cookies: [String: String] = [:]) async throws -> HTTPResponse {
        let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await http.send(HTTPRequest(method: "POST", url: central.url + path,
                                               headers: [("Content-Type", "application/x-www-form-urlencoded")] + Self.cookieHeader(cookies),
                                               body: Array(body.utf8), idempotent: false))
    }

    static func cookieHeader(_ cookies: [String: String]) -> [(name: String, value: String)] {
        cookies.isEmpty ? [] : [("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))]
    }

    /// The value a response's `Set-Cookie` gives `name`, and that cookie's attributes.
    static func setCookie(_ response: HTTPResponse, _ name: String) -> (value: String, attributes: String)? {
        guard let header = response.header("set-cookie"), let start = header.range(of: "\(name)=") else { return nil }
        let rest = header[start.upperBound...]
        let value = rest.prefix { $0 != ";" }
        let attributes = rest.dropFirst(value.count).prefix { $0 != "," }  // the next cookie of a folded header
        return (String(value), String(attributes))
    }

    /// Signs in as `token` through the login form; the session cookie.
    func signIn(_ token: String) async throws -> String? {
        let form = try await get("/login")
        let csrf = try #require(Self.setCookie(form, "kasvu_login")?.value)
        let answer = try await post("/login", form: ["csrf": csrf, "token": token], cookies: ["kasvu_login": csrf])
        return Self.setCookie(answer, "kasvu_session").map(\.value).flatMap { $0.isEmpty ? nil : $0 }
    }

    @Test func signingInTakesTheFormsTokenAndAnAdminToken() async throws {
        let office = try central.addReplica("office-1")
        let unsigned = try await get("/caseload")
        #expect(unsigned.status == 303 && unsigned.header("location") == "/login")

        let form = try await get("/login")
        #expect(form.status == 200)
        let csrf = try #require(Self.setCookie(form, "kasvu_login"))
        #expect(csrf.attributes.contains("HttpOnly") && csrf.attributes.contains("SameSite=Strict"))
        #expect(String(decoding: form.body, as: UTF8.self).contains(#"name="csrf" value="\#(csrf.value)""#))
        // Without the login form's own token (a cross-site post): 403; with a wrong, an office's or a made-up token: 401.
        // The altered form token differs in its first digit whatever that digit is (a random token may begin with 0).
        let altered = (csrf.value.first == "0" ? "1" : "0") + csrf.value.dropFirst()
        for (form, cookies, status) in [(["token": admin.token], ["kasvu_login": csrf.value], 403),
                                        (["token": admin.token, "csrf": altered], ["kasvu_login": csrf.value], 403),
                                        (["token": admin.token, "csrf": csrf.value], [:], 403),
                                        (["token": office, "csrf": csrf.value], ["kasvu_login": csrf.value], 401),
                                        (["token": "admin.0123456789abcdef", "csrf": csrf.value], ["kasvu_login": csrf.value], 401)] {
            let refused = try await post("/login", form: form, cookies: cookies)
            #expect(refused.status == status && Self.setCookie(refused, "kasvu_session") == nil, "\(refused.status) for \(form.keys.sorted())")
        }

        let signedIn = try await post("/login", form: ["csrf": csrf.value, "token": admin.token], cookies: ["kasvu_login": csrf.value])
        #expect(signedIn.status == 303 && signedIn.header("location") == "/caseload")
        let session = try #require(Self.setCookie(signedIn, "kasvu_session"))
        #expect(session.value.count == 64)
        #expect(session.attributes.contains("HttpOnly") && session.attributes.contains("SameSite=Strict") && session.attributes.contains("Path=/"))
        #expect(!FileManager.default.fileExists(atPath: mirrorPath), "no copy of the data before a page is read")

        let page = try await get("/caseload", cookies: ["kasvu_session": session.value])
        #expect(FileManager.default.fileExists(atPath: mirrorPath))
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.status == 200 && html.contains(#"<table id="caseload""#))
        #expect(page.header("content-security-policy")?.contains("default-src 'none'") == true)
        #expect(page.header("cache-control") == "no-store")
        // Nothing from elsewhere: no scripts, no external stylesheets, fonts or images.
        #expect(!html.contains("<script") && !html.contains(#"src="http"#) && !html.contains(#"href="http"#))

        // Signing out needs the session's CSRF token: without it, nothing changes, not even the browser's cookie.
        let forged = try await post("/logout", form: [:], cookies: ["kasvu_session": session.value])
        #expect(forged.status == 403 && forged.header("set-cookie") == nil)
        #expect(try await get("/caseload", cookies: ["kasvu_session": session.value]).status == 200)
        let token = try #require(html.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/)?.1)
        _ = try await post("/logout", form: ["csrf": String(token)], cookies: ["kasvu_session": session.value])
        #expect(try await get("/caseload", cookies: ["kasvu_session": session.value]).status == 303)
    }

    @Test func revokingTheReplicaEndsItsSessions() async throws {
        let session = try #require(try await signIn(admin.token))
        #expect(try await get("/replicas", cookies: ["kasvu_session": session]).status == 200)
        #expect(try KasvuBinary.run(["central", "revoke-replica", "--db", directory.path("central.sqlite"), "--id", "admin"]).status == 0)
        let after = try await get("/replicas", cookies: ["kasvu_session": session])
        #expect(after.status == 303 && after.header("location") == "/login")
    }

    @Test func theMirrorKeepsNoByteOfAnErasedClient() async throws {
        let hetu = testHetu(4242)
        let client = try await admin.replica.create(.client, fields: [
            "hetu": .string(hetu), "lastName": .string("Poistettava"), "municipality": .string("749"),
        ])
        try await admin.sync()
        let session = try #require(try await signIn(admin.token))
        #expect(try await get("/caseload", cookies: ["kasvu_session": session]).status == 200)  // makes the mirror
        #expect(try databaseFilesContain(mirrorPath, hetu))
        try await admin.replica.delete(.client, id: client.id)
        try await admin.sync()
        #expect(try await get("/conflicts", cookies: ["kasvu_session": session]).status == 200)  // refreshes the mirror
        #expect(try !databaseFilesContain(mirrorPath, hetu))
        #expect(try !databaseFilesContain(mirrorPath, "Poistettava"))
    }

    @Test func aTableDownloadsAsCSVThatNoSpreadsheetRunsAsAFormula() async throws {
        _ = try await admin.replica.create(.provider, fields: [
            "name": .string("=HYPERLINK(\"http://x\")"), "businessId": .string("2077474-0"), "pilotArea": .string("MK11"),
            "cap": .int(3), "capitationBase": .string("200.00"), "hourlyRate": .string("10.00"),
        ])
        try await admin.sync()
        let session = try #require(try await signIn(admin.token))
        let csv = try await get("/caseload?format=csv&table=caseload", cookies: ["kasvu_session": session])
        #expect(csv.status == 200 && csv.header("content-type") == "text/csv; charset=utf-8")
        #expect(csv.header("content-disposition") == #"attachment; filename="caseload-caseload.csv""#)
        let text = String(decoding: csv.body, as: UTF8.self)
        #expect(text == """
            provider,area,cap,active,pending,waitlisted,reserved,free,group1,group2,group3\r
            "'=HYPERLINK(""http://x"")",Pohjois-Savo,3,0,0,0,0,3,0,0,0\r

            """)
        #expect(try await get("/caseload?format=csv&table=nosuch", cookies: ["kasvu_session": session]).status == 404)
    }

    @Test func guessingTokensAtTheSignInIsThrottled() async throws {
        var statuses: [Int] = []
        for _ in 0..<11 {
            let form = try await get("/login")
            let csrf = try #require(Self.setCookie(form, "kasvu_login")?.value)
            statuses.append(try await post("/login", form: ["csrf": csrf, "token": "admin.guess"], cookies: ["kasvu_login": csrf]).status)
        }
        #expect(statuses.prefix(10).allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
        // A blocked address's tries are not even checked: the right token waits too.
        #expect(try await signIn(admin.token) == nil)
        // The sync API, which machines behind one address share, still lets a valid token through.
        #expect(try await admin.sync().rejections.isEmpty)
    }

    /// The dashboard's own replica, once the store no longer knows it (revoked here; a store
    /// made anew alike), is deleted and made again: it could not learn of erasures any more.
    @Test func aMirrorTheStoreNoLongerKnowsIsMadeAgain() async throws {
        let session = try #require(try await signIn(admin.token))
        #expect(try await get("/replicas", cookies: ["kasvu_session": session]).status == 200)
        let first = try Replica.open(at: mirrorPath)
        let firstID = try await first.info().replicaID
        #expect(try KasvuBinary.run(["central", "revoke-replica", "--db", directory.path("central.sqlite"), "--id", firstID]).status == 0)

        let page = try await get("/replicas", cookies: ["kasvu_session": session])
        #expect(page.status == 200)
        let secondID = try await Replica.open(at: mirrorPath).info().replicaID
        #expect(secondID != firstID && secondID.hasPrefix("dashboard-"))
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains(#"data-value="\#(secondID)""#) && !html.contains(firstID))
    }

    /// A server stopped after creating its replica's file and before saving the token: the
    /// file is replaced and the registration it may have made is revoked.
    @Test func aMirrorLeftWithoutItsTokenIsMadeAgain() async throws {
        let orphan = try Replica.create(at: mirrorPath, replicaID: "dashboard-0rphan", role: .admin)
        _ = try central.addReplica("dashboard-0rphan", role: "admin")
        _ = orphan
        let session = try #require(try await signIn(admin.token))
        #expect(try await get("/caseload", cookies: ["kasvu_session": session]).status == 200)
        #expect(try await Replica.open(at: mirrorPath).info().replicaID != "dashboard-0rphan")
        let listed = try KasvuBinary.run(["central", "replicas", "--db", directory.path("central.sqlite"), "--format", "json"])
        #expect(!listed.stdout.contains("dashboard-0rphan") && listed.stdout.contains("dashboard-"), "\(listed.stdout)")
    }
}

/// The dashboard in headless Chromium (issue 16, item 6): `Fixtures/dashboard_browser.py`
/// signs in, opens every page, sorts, opens an invoice, downloads a CSV and runs the axe-core
/// accessibility check; this test compares every number it read with the JSON-RPC reports of
/// an admin replica (`kasvu rpc`). Screenshots are kept in `.build/artefacts/dashboard`
/// (or `$KASVU_ARTEFACTS/dashboard`).
@Suite("Dashboard in a browser")
struct DashboardBrowserTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A pilot with something on every page: two providers (one full, with a waitlist), an
    /// ended, a cancelled and active referrals, a conflict, an issued invoice, an office replica.
    static func seed(_ admin: TestReplica, _ office: TestReplica) async throws {
        let providers = try await admin.createTwoProviders()
        _ = try await admin.replica.update(.provider, id: providers[0], set: ["cap": .int(2)])
        try await admin.sync()
        try await office.sync()
        var clients: [String] = []
        for n in 0..<5 { clients.append(try await CapTests.referableClient(office.replica, 700 + n)) }
        var referrals: [String] = []
        for (index, client) in clients.enumerated() {
            referrals.append(try await office.replica.createReferral([
                "clientId": .string(client), "providerId": .string(providers[index < 3 ? 0 : 1]), "chosenBy": .string("client"),
            ]).id)
        }
        _ = try await office.replica.transitionReferral(id: referrals[4], to: .cancelled, date: nil, reason: "moved away")
        try await office.sync()
        _ = try await office.replica.transitionReferral(id: referrals[3], to: .ended, date: nil, reason: "employed")
        try await office.sync()
        try await admin.sync()
        // One field written on two replicas that had not seen each other's write: a conflict.
        _ = try await office.replica.update(.client, id: clients[0], set: ["phone": .string("040 111 1111")])
        _ = try await admin.replica.update(.client, id: clients[0], set: ["phone": .string("040 222 2222")])
        try await office.sync()
        // A referral active since before last month, imported with its history, and its hours:
        // an invoice with a line, outcomes with hours.
        let today = CalendarDate.today(now: Date())
        let lastMonth = today.yearMonth.adding(months: -1).description
        let longStanding = try await CapTests.referableClient(office.replica, 710)
        try await office.sync()
        try await admin.sync()
        let started = today.yearMonth.adding(months: -3).description + "-01"
        _ = try await admin.replica.importRecords(.referral, rows: [ImportRow(row: 1, id: nil, values: [
            "clientId": .string(longStanding), "providerId": .string(providers[1]), "chosenBy": .string("client"),
            "state": .string("active"), "startDate": .string(started),
        ])], importedBy: "ely")
        _ = try await admin.replica.importRecords(.hours, rows: [ImportRow(row: 1, id: nil, values: [
            "clientId": .string(longStanding), "providerId": .string(providers[1]), "month": .string(lastMonth), "hours": .string("120.5"),
        ])], importedBy: "ely")
        try await admin.sync()
        _ = try await admin.replica.issueInvoice(providerID: providers[1], kind: .capitation, billed: lastMonth, issuedBy: "ely")
        try await admin.sync()
        try await office.sync()
        try await admin.sync()
    }

    /// The answers of `kasvu rpc` on `database` to `methods` (no parameters), by method.
    static func rpc(_ database: String, _ methods: [String]) throws -> [String: Any] {
        let input = methods.enumerated().map { #"{"jsonrpc":"2.0","id":\#($0.offset),"method":"\#($0.element)","params":{}}"# }.joined(separator: "\n") + "\n"
        let run = try KasvuBinary.run(["rpc", "--db", database], input: input)
        var results: [String: Any] = [:]
        for line in run.stdout.split(separator: "\n") {
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = try #require(answer["id"] as? Int)
            results[methods[id]] = answer["result"]  // an error answer leaves it absent: items() then fails naming it
        }
        return results
    }

    @Test func theDashboardShowsWhatTheReportsSayAndPassesTheAccessibilityCheck() async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(.sqlite, in: directory)
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let office = try TestReplica("office-749", in: directory, central: central, scope: ["--municipalities", "749"])
        try await Self.seed(admin, office)

        let environment = try Program.run(Self.repositoryRoot.appendingPathComponent("Tools/browser-env").path, [])
        try #require(environment.status == 0, "Tools/browser-env: \(environment.stderr)")
        let python = try #require(environment.stdout.split(separator: "\n").last.map(String.init))
        let artefacts = URL(fileURLWithPath: ProcessInfo.processInfo.environment["KASVU_ARTEFACTS"]
            ?? Self.repositoryRoot.appendingPathComponent(".build/artefacts").path).appendingPathComponent("dashboard")
        try? FileManager.default.removeItem(at: artefacts)
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dashboard_browser.py").path
        let run = try Program.run(python, [script, "--url", central.url, "--token", admin.token, "--artefacts", artefacts.path])
        try #require(run.status == 0, "the browser script failed: \(run.stderr.suffix(3000))")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let pages = try #require(seen["pages"] as? [String: [String: Any]])
        func table(_ page: String, _ id: String) throws -> [[String: String]] {
            try #require((pages[page]?["tables"] as? [String: [[String: String]]])?[id], "\(page) has no table \(id)")
        }

        #expect((seen["signInUrl"] as? String)?.hasSuffix("/login") == true)
        #expect((seen["afterSignIn"] as? String)?.hasSuffix("/caseload") == true)
        #expect((seen["afterSignOut"] as? String)?.hasSuffix("/login") == true)
        for (name, page) in pages {
            #expect((page["charts"] as? Int ?? 0) >= 1, "\(name) has no chart")
            #expect((page["h1"] as? String)?.isEmpty == false)
        }
        #expect(pages.count == 6)
        #expect(seen["finnishH1"] as? String == "Asiakasmäärät" && seen["htmlLang"] as? String == "fi")
        let violations = seen["violations"] as? [Any] ?? []
        #expect(violations.isEmpty, "axe-core: \(violations)")
        for name in ["login", "caseload", "funnel", "outcomes", "invoices", "replicas", "conflicts", "invoice"] {
            #expect(FileManager.default.fileExists(atPath: artefacts.appendingPathComponent("\(name).png").path), "no screenshot of \(name)")
        }

        let reports = try Self.rpc(admin.replica.path, ["report/caseload", "report/funnel", "report/outcomes", "invoice/list", "conflict/list"])
        func items(_ method: String, _ key: String = "items") throws -> [[String: Any]] {
            try #require((reports[method] as? [String: Any])?[key] as? [[String: Any]], "\(method): \(reports[method] ?? "nothing")")
        }
        func text(_ value: Any?) -> String { value.map { "\($0)" } ?? "" }

        // Caseload: every provider's figures, the full one flagged by a warning, the waitlist.
        let caseload = try items("report/caseload")
        let shown = try table("caseload", "caseload")
        #expect(shown.count == caseload.count && caseload.count == 2)
        for item in caseload {
            let row = try #require(shown.first { $0["provider"] == item["name"] as? String })
            for (key, field) in [("cap", "cap"), ("active", "active"), ("pending", "pending"), ("waitlisted", "waitlisted"), ("reserved", "reserved"), ("free", "free")] {
                #expect(row[key] == text(item[field]), "\(key) of \(item["name"] ?? "")")
            }
            let groups = try #require(item["activeByRiskGroup"] as? [String: Any])
            for group in 1...3 { #expect(row["group\(group)"] == text(groups["\(group)"])) }
        }
        #expect(Set(shown.map { $0["active"] }) == ["2", "1"])
        #expect(try table("caseload", "waitlist").map { [$0["provider"], $0["position"]] } == [["Työpolku Oy", "1"]])
        #expect((pages["caseload"]?["warnings"] as? [String])?.first?.contains("Työpolku Oy") == true)
        let sorted = try #require(seen["sorted"] as? [String: [String: Any]])
        #expect(sorted["asc"]?["active"] as? [String] == ["1", "2"] && sorted["asc"]?["aria"] as? String == "ascending")
        #expect(sorted["desc"]?["active"] as? [String] == ["2", "1"] && sorted["desc"]?["aria"] as? String == "descending")
        #expect(Set(pages["caseload"]?["chartValues"] as? [String] ?? []) == ["2 / 2", "1 / 10"])
        #expect((seen["shownDifferently"] as? [Any])?.isEmpty == true, "\(seen["shownDifferently"] ?? "")")

        // The funnel, row by row.
        let funnel = try items("report/funnel")
        let funnelShown = try table("funnel", "funnel")
        #expect(funnelShown.count == funnel.count && !funnel.isEmpty)
        for item in funnel {
            let row = try #require(funnelShown.first { $0["month"] == item["month"] as? String && $0["area"] == item["pilotAreaName"] as? String })
            for key in ["made", "pending", "waitlisted", "active", "rejected", "cancelled", "ended"] { #expect(row[key] == text(item[key]), "\(key)") }
        }
        func total(_ key: String) -> Int { funnel.reduce(0) { $0 + ($1[key] as? Int ?? 0) } }
        // What the seed made: 3 to the full provider (2 active, 1 waitlisted), 3 to the other (ended, cancelled, imported active).
        let totals: [Int] = ["made", "active", "waitlisted", "ended", "cancelled", "pending", "rejected"].map(total)
        #expect(totals == [6, 3, 1, 1, 1, 0, 0])
        #expect(try table("funnel", "endReasons").map { $0["reason"] } == ["employed"])

        // Outcomes.
        let outcomes = try items("report/outcomes")
        let outcomesShown = try table("outcomes", "outcomes")
        #expect(outcomesShown.count == outcomes.count && !outcomes.isEmpty)
        #expect(outcomesShown.contains { $0["totalHours"] == "120.50" })
        for item in outcomes {
            let row = try #require(outcomesShown.first { $0["riskGroup"] == text(item["riskGroup"]) && $0["area"] == item["pilotAreaName"] as? String })
            for key in ["clients", "clientsWithHours", "shareWithHours", "totalHours", "fees"] { #expect(row[key] == text(item[key]), "\(key)") }
        }

        // Invoices, and the printable page of the one issued.
        let invoices = try items("invoice/list", "invoices")
        let invoicesShown = try table("invoices", "invoices")
        #expect(invoices.count == 1 && invoicesShown.count == 1)
        #expect(invoicesShown.first?["number"] == invoices.first?["number"] as? String)
        #expect(invoicesShown.first?["total"] == invoices.first?["total"] as? String)
        let invoice = try #require(seen["invoice"] as? [String: Any])
        let facts = try #require(invoice["facts"] as? [String: String])
        #expect(facts["number"] == invoices.first?["number"] as? String && facts["total"] == invoices.first?["total"] as? String)
        #expect(facts["provider"] == "Uraverkko ry" && facts["businessId"] == "0112038-9")
        // One full month of capitation, less the sanction for a month without the minimum service (no contacts).
        let invoiceTables = try #require(invoice["tables"] as? [String: [[String: String]]])
        #expect(invoiceTables["lines"]?.map { $0["amount"] } == ["200.00"] && facts["subtotal"] == "200.00")
        #expect(invoiceTables["adjustments"]?.map { $0["reason"] } == ["minimum_service_not_delivered"])
        #expect(invoiceTables["adjustments"]?.map { $0["amount"] } == ["-100.00"] && facts["amount"] == "100.00")
        #expect((invoice["url"] as? String)?.hasSuffix("/invoices/\(text(invoices.first?["id"]))") == true)

        // Replica health, as `kasvu central replicas` reports it.
        let listed = try KasvuBinary.run(["central", "replicas", "--db", directory.path("central.sqlite"), "--format", "json"])
        let health = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        let replicasShown = try table("replicas", "replicas")
        #expect(Set(replicasShown.compactMap { $0["replica"] }) == Set(health.compactMap { $0["id"] as? String }))
        #expect(replicasShown.contains { $0["replica"]?.hasPrefix("dashboard-") == true })
        for replica in health where !(replica["id"] as? String ?? "").hasPrefix("dashboard-") {
            let row = try #require(replicasShown.first { $0["replica"] == replica["id"] as? String })
            #expect(row["role"] == text(replica["role"]) && row["recordsInScope"] == text(replica["recordsInScope"]))
            #expect(row["pendingChanges"] == (replica["pendingChanges"].flatMap { $0 is NSNull ? nil : text($0) } ?? ""))
        }

        // Conflicts: the one the seed made.
        let conflicts = try items("conflict/list")
        let conflictsShown = try table("conflicts", "conflicts")
        #expect(conflicts.count == 1 && conflictsShown.count == 1)
        #expect(conflictsShown.first?["record"] == conflicts.first?["id"] as? String && conflictsShown.first?["field"] == "phone")

        // The CSV the browser downloaded holds the caseload table's rows.
        let csv = try #require(seen["csv"] as? String)
        #expect(csv.hasPrefix("provider,area,cap,active,pending,waitlisted,reserved,free,group1,group2,group3\r\n"))
        #expect(csv.contains("Työpolku Oy,Pohjois-Savo,2,2,0,1,0,"))
    }
}
