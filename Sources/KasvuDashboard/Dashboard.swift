import Foundation
import HTTPTypes
import Hummingbird
import KasvuCentral
import KasvuDomain
import KasvuReplica
import Logging
import Mustache
import NIOCore
import ServiceLifecycle

/// The central office's web dashboard, served by `kasvu central serve` at `/`.
///
/// Sign-in exchanges an admin replica's token for a session cookie (HttpOnly,
/// `SameSite=Strict`, `Secure` over HTTPS); every form carries a CSRF token; every page is
/// computed by the replica's report code over ``DashboardMirror`` and rendered from Mustache
/// templates with SVG charts, sortable tables and a CSV download per table, in Finnish or
/// English. Nothing is loaded from anywhere but this server: it works on a closed network.
///
/// ```swift
/// let dashboard = try await Dashboard(store: store, mirrorPath: "central.sqlite.dashboard")
/// try await CentralServer.serve(store: store, host: "127.0.0.1", port: 8080, extensions: [dashboard.serverExtension], logger: logger)
/// ```
public final class Dashboard: Sendable {
    public struct Options: Sendable {
        /// Days without a sync after which the replicas page warns about a replica.
        public var staleAfterDays = 7
        /// Cookies only over HTTPS: set when the server serves TLS.
        public var secureCookies = false
        /// How often the mirror is refreshed when nobody is looking, so that erasures reach it.
        public var refreshInterval: Duration = .seconds(60)
        public init() {}
    }

    let store: any CentralStore
    let mirror: DashboardMirror
    let options: Options
    let templates: MustacheLibrary
    let stylesheet: Data
    let sessions = Sessions()
    let logger: Logger

    public init(store: any CentralStore, mirrorPath: String, options: Options = Options(), logger: Logger = Logger(label: "kasvu.dashboard")) async throws {
        self.store = store
        self.mirror = DashboardMirror(store: store, path: mirrorPath)
        self.options = options
        self.logger = logger
        guard let directory = Bundle.module.url(forResource: "Templates", withExtension: nil)?.path else {
            throw KasvuError(.storageFailed, "the dashboard's templates are missing from the installation")
        }
        self.templates = try await MustacheLibrary(directory: directory)
        guard let css = Bundle.module.url(forResource: "Static", withExtension: nil)?.appendingPathComponent("dashboard.css"),
              let stylesheet = try? Data(contentsOf: css) else {
            throw KasvuError(.storageFailed, "the dashboard's stylesheet is missing from the installation")
        }
        self.stylesheet = stylesheet
    }

    /// The routes and the refresh service, for ``CentralServer/serve(store:host:port:limits:tls:extensions:logger:onRunning:)``.
    public var serverExtension: CentralServer.Extension {
        CentralServer.Extension(routes: { router, throttle in self.addRoutes(to: router, throttle: throttle) },
                                services: [DashboardService(dashboard: self)])
    }

    static let sessionCookie = "kasvu_session"
    static let loginCookie = "kasvu_login"
    static let languageCookie = "kasvu_lang"
    static let maxFormBytes = 8192
    static let formTimeout: Duration = .seconds(30)

    func addRoutes(to router: Router<CentralRequestContext>, throttle: AuthenticationThrottle) {
        router.get("/") { request, _ in
            let signedIn = try await self.signedIn(request) != nil
            return Self.redirect(signedIn ? "/caseload" : "/login")
        }
        router.get("/static/dashboard.css") { _, _ in
            Self.response(.ok, contentType: "text/css; charset=utf-8", body: self.stylesheet, cache: "max-age=3600")
        }
        router.get("/login") { request, _ in
            let language = self.language(request)
            return self.loginPage(language: language, status: .ok, message: nil)
        }
        router.post("/login") { request, context in
            try await self.signIn(request, address: context.peer, throttle: throttle)
        }
        router.post("/logout") { request, _ in
            let form = try await Self.form(request)
            // Another site's post must not sign anyone out, not even in the browser.
            guard let id = Self.cookie(request, Self.sessionCookie), let session = self.sessions.session(id),
                  Sessions.same(form["csrf"], session.csrf) else {
                return Self.response(.forbidden, contentType: "text/plain; charset=utf-8", body: Data(self.language(request).text("formExpired").utf8))
            }
            self.sessions.close(id)
            var response = Self.redirect("/login")
            response.headers.append(HTTPField(name: .setCookie, value: self.cookie(Self.sessionCookie, "", maxAge: 0)))
            return response
        }
        for key in Page.keys {
            router.get(RouterPath(stringLiteral: "/\(key)")) { request, _ in try await self.page(key, request) }
        }
        router.get("/invoices/:id") { request, context in
            try await self.invoice(context.parameters.get("id") ?? "", request)
        }
    }

    // MARK: Signing in

    private func signIn(_ request: Request, address: String, throttle: AuthenticationThrottle) async throws -> Response {
        let language = language(request)
        let form = try await Self.form(request)
        // The login form's token must match the cookie set with it (double submit): another
        // site cannot read the cookie, so it cannot sign a browser in to its own session.
        guard Sessions.same(form["csrf"], Self.cookie(request, Self.loginCookie)) else {
            return loginPage(language: language, status: .forbidden, message: language.text("formExpired"))
        }
        // Unlike a sync, a person signing in waits out the throttle even with the right token:
        // guesses from a blocked address are not even checked.
        if let wait = throttle.blockedFor(address) {
            var response = loginPage(language: language, status: .tooManyRequests, message: language.text("tooMany"))
            response.headers[.retryAfter] = "\(wait)"
            return response
        }
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if !token.isEmpty, let replica = try await store.authenticate(token: token), replica.role == .admin {
            let id = sessions.open(token: token, replicaID: replica.id)
            var response = Self.redirect("/caseload")
            response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.sessionCookie, id, maxAge: Int(Sessions.lifetime))))
            response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.loginCookie, "", maxAge: 0)))
            return response
        }
        throttle.recordFailure(address)
        return loginPage(language: language, status: .unauthorized, message: language.text("signInFailed"))
    }

    /// The session of a request whose token is still an admin's; nil otherwise (a revoked
    /// replica's sessions end at its next request).
    func signedIn(_ request: Request) async throws -> Sessions.Session? {
        let id = Self.cookie(request, Self.sessionCookie)
        guard let session = sessions.session(id) else { return nil }
        guard let replica = try await store.authenticate(token: session.token), replica.role == .admin else {
            sessions.close(id)
            return nil
        }
        return session
    }

    private func loginPage(language: Language, status: HTTPResponse.Status, message: String?) -> Response {
        let csrf = Sessions.randomToken()
        let html = render("login", base(language: language, current: nil, session: nil).merging([
            "title": language.text("signIn"), "csrf": csrf, "hasMessage": message != nil, "message": message ?? "",
        ]) { $1 })
        var response = Self.response(status, contentType: "text/html; charset=utf-8", body: Data(html.utf8))
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.loginCookie, csrf, maxAge: 3600)))
        return response
    }

    // MARK: Pages

    private func page(_ key: String, _ request: Request) async throws -> Response {
        guard let session = try await signedIn(request) else { return Self.redirect("/login") }
        let language = language(request)
        guard let replica = await mirror(language) else { return Self.unavailable(language) }
        let pages = Pages(replica: replica, store: store, language: language, staleAfterDays: options.staleAfterDays, now: Date())
        guard let page = try await pages.page(key) else { return Response(status: .notFound) }
        let view = Self.view(page.tables, request) { "\(key)-\($0.id).csv" }
        if let csv = view.csv { return csv }
        let html = render("page", base(language: language, current: key, session: session).merging([
            "title": language.text(key),
            "hasWarnings": !page.warnings.isEmpty, "warnings": page.warnings,
            "charts": page.charts.map { $0.context() },
            "tables": view.tables.map { $0.context(path: "/\(key)", sortedBy: view.sort, descending: view.descending, language: language) },
        ]) { $1 })
        var response = Self.response(.ok, contentType: "text/html; charset=utf-8", body: Data(html.utf8))
        if let chosen = request.uri.queryParameters.get("lang").flatMap({ Language(rawValue: String($0)) }) {
            response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.languageCookie, chosen.rawValue, maxAge: 365 * 86400, httpOnly: true)))
        }
        return response
    }

    private func invoice(_ id: String, _ request: Request) async throws -> Response {
        guard let session = try await signedIn(request) else { return Self.redirect("/login") }
        let language = language(request)
        guard let replica = await mirror(language) else { return Self.unavailable(language) }
        guard (try? RecordID.validate(id)) == id, let record = try? await replica.issuedInvoice(id) else {
            return Self.response(.notFound, contentType: "text/plain; charset=utf-8", body: Data(language.text("notFound").utf8))
        }
        let provider = try? await replica.get(.provider, id: record.providerId)
        let page = try InvoicePage(record: record, providerName: provider?.values["name"]?.stringValue ?? record.providerId,
                                   businessID: provider?.values["businessId"]?.stringValue ?? "", language: language)
        let view = Self.view(page.tables, request) { "\(record.number)-\($0.id).csv" }
        if let csv = view.csv { return csv }
        let html = render("invoice", base(language: language, current: "invoices", session: session).merging([
            "title": "\(language.text("invoice")) \(record.number)", "facts": page.facts,
            "tables": view.tables.map { $0.context(path: "/invoices/\(id)", sortedBy: view.sort, descending: view.descending, language: language) },
        ]) { $1 })
        return Self.response(.ok, contentType: "text/html; charset=utf-8", body: Data(html.utf8))
    }

    /// `tables` sorted as the request asks (`sort=TABLE.COLUMN`, `dir=asc|desc`), and the answer
    /// when it asks for one of them as CSV (`format=csv&table=ID`; 404 for an unknown table).
    private static func view(_ tables: [Table], _ request: Request, filename: (Table) -> String)
        -> (tables: [Table], sort: String?, descending: Bool, csv: Response?) {
        let sort = request.uri.queryParameters.get("sort").map { String($0) }
        let descending = request.uri.queryParameters.get("dir") == "desc"
        let sorted = tables.map { table in
            sort.flatMap { $0.hasPrefix(table.id + ".") ? table.sorted(by: String($0.dropFirst(table.id.count + 1)), descending: descending) : nil } ?? table
        }
        guard request.uri.queryParameters.get("format") == "csv" else { return (sorted, sort, descending, nil) }
        let name = request.uri.queryParameters.get("table").map { String($0) } ?? ""
        return (sorted, sort, descending, sorted.first { $0.id == name }.map { csv($0, filename: filename($0)) } ?? Response(status: .notFound))
    }

    /// The mirror, refreshed; nil (logged by its kind only) when it could not sync.
    private func mirror(_ language: Language) async -> Replica? {
        do { return try await mirror.refreshed() } catch {
            logger.error("dashboard: the mirror could not sync", metadata: ["kind": "\((error as? KasvuError)?.kind.rawValue ?? "internal")"])
            return nil
        }
    }

    private static func unavailable(_ language: Language) -> Response {
        response(.serviceUnavailable, contentType: "text/plain; charset=utf-8", body: Data(language.text("unavailable").utf8))
    }

    // MARK: Rendering

    private func base(language: Language, current: String?, session: Sessions.Session?) -> [String: Any] {
        let other: Language = language == .fi ? .en : .fi
        return [
            "lang": language.rawValue, "labels": language.labels,
            "otherLang": other.rawValue, "otherLangHref": "?lang=\(other.rawValue)",
            "signedIn": session != nil, "user": session?.replicaID ?? "", "csrf": session?.csrf ?? "",
            "nav": Page.keys.map { key in ["href": "/\(key)", "label": language.text(key), "current": key == current] },
        ]
    }

    private func render(_ template: String, _ context: [String: Any]) -> String {
        templates.render(context, withTemplate: template) ?? ""
    }

    func language(_ request: Request) -> Language {
        Language.choose(query: request.uri.queryParameters.get("lang").map { String($0) }, cookie: Self.cookie(request, Self.languageCookie),
                        acceptLanguage: request.headers[.acceptLanguage])
    }

    // MARK: HTTP

    /// Every dashboard response: nothing from elsewhere, no framing, no caching of data.
    static func response(_ status: HTTPResponse.Status, contentType: String, body: Data, cache: String = "no-store") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = cache
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func redirect(_ location: String) -> Response {
        var response = response(.seeOther, contentType: "text/plain; charset=utf-8", body: Data())
        response.headers[.location] = location
        return response
    }

    static func csv(_ table: Table, filename: String) -> Response {
        var response = response(.ok, contentType: "text/csv; charset=utf-8", body: Data(table.csv().utf8))
        response.headers[.contentDisposition] = "attachment; filename=\"\(filename)\""
        return response
    }

    func cookie(_ name: String, _ value: String, maxAge: Int, httpOnly: Bool = true) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); SameSite=Strict" + (httpOnly ? "; HttpOnly" : "") + (options.secureCookies ? "; Secure" : "")
    }

    static func cookie(_ request: Request, _ name: String) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name { return parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return nil
    }

    /// An `application/x-www-form-urlencoded` body of at most ``maxFormBytes``, arriving within
    /// ``formTimeout`` (a sender trickling bytes holds a connection no longer).
    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await request.body.collect(upTo: maxFormBytes) }
            group.addTask { try await Task.sleep(for: formTimeout); return nil }
            defer { group.cancelAll() }
            guard let body = try await group.next() ?? nil else { throw HTTPError(.requestTimeout) }
            return body
        }
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields[decode(parts[0])] = parts.count == 2 ? decode(parts[1]) : ""
        }
        return fields
    }
}

/// Keeps the mirror in step while nobody is looking, once a sign-in has created it: an
/// erasure at the central store reaches the mirror's file within a minute.
struct DashboardService: Service {
    let dashboard: Dashboard

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: dashboard.options.refreshInterval) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled, dashboard.mirror.exists else { continue }
            do { _ = try await dashboard.mirror.refreshed() } catch {
                dashboard.logger.warning("dashboard: refreshing the mirror failed", metadata: ["kind": "\((error as? KasvuError)?.kind.rawValue ?? "internal")"])
            }
        }
    }
}
