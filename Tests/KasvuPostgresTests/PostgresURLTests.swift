import KasvuPostgres
import Testing

/// `PostgresURL`: what parses to what, what is refused with which code, and that the password
/// shows nowhere.
@Suite struct PostgresURLTests {
    struct Valid: Sendable, CustomTestStringConvertible {
        let url: String
        let user: String
        var password: String? = nil
        let database: String
        let endpoint: PostgresURL.Endpoint
        var sslMode: PostgresURL.SSLMode = .disable
        var sslRootCertificate: String? = nil
        var connectTimeout: Int? = nil
        var applicationName: String? = nil
        var testDescription: String { url }
    }

    static let valid: [Valid] = [
        Valid(url: "postgres://kasvu:secret@db.example:5433/central", user: "kasvu", password: "secret", database: "central",
              endpoint: .tcp(host: "db.example", port: 5433)),
        Valid(url: "postgresql://kasvu@localhost/central", user: "kasvu", database: "central", endpoint: .tcp(host: "localhost", port: 5432)),
        Valid(url: "POSTGRES://kasvu@localhost/central", user: "kasvu", database: "central", endpoint: .tcp(host: "localhost", port: 5432)),
        Valid(url: "postgres://user@/db?host=/tmp/x", user: "user", database: "db", endpoint: .unixSocket(path: "/tmp/x/.s.PGSQL.5432")),
        Valid(url: "postgres://kasvu@/db?host=/tmp/kpg-abc&port=41234", user: "kasvu", database: "db",
              endpoint: .unixSocket(path: "/tmp/kpg-abc/.s.PGSQL.41234")),
        Valid(url: "postgres://kasvu@localhost:6000/db?host=/run/postgresql/", user: "kasvu", database: "db",
              endpoint: .unixSocket(path: "/run/postgresql/.s.PGSQL.6000")),
        Valid(url: "postgres://k@%2Frun%2Fpostgresql/db", user: "k", database: "db", endpoint: .unixSocket(path: "/run/postgresql/.s.PGSQL.5432")),
        Valid(url: "postgres://us%40er:p%40ss%2Fw%3Ard%25@h/my%20db?sslmode=require", user: "us@er", password: "p@ss/w:rd%",
              database: "my db", endpoint: .tcp(host: "h", port: 5432), sslMode: .require),
        Valid(url: "postgres://k:@h/db", user: "k", password: "", database: "db", endpoint: .tcp(host: "h", port: 5432)),
        Valid(url: "postgres://k:p@ss@h/db", user: "k", password: "p@ss", database: "db", endpoint: .tcp(host: "h", port: 5432)),
        Valid(url: "postgres://k@[::1]:5444/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem", user: "k", database: "db",
              endpoint: .tcp(host: "::1", port: 5444), sslMode: .verifyFull, sslRootCertificate: "/etc/ca.pem"),
        Valid(url: "postgres://k@h/db?host=other.example&port=7000", user: "k", database: "db", endpoint: .tcp(host: "other.example", port: 7000)),
        Valid(url: "postgres://k@h/db?connect_timeout=3&application_name=kasvu%20central&sslmode=disable", user: "k", database: "db",
              endpoint: .tcp(host: "h", port: 5432), connectTimeout: 3, applicationName: "kasvu central"),
        Valid(url: "postgres://k@h/%C3%A4%C3%B6", user: "k", database: "äö", endpoint: .tcp(host: "h", port: 5432)),
    ]

    @Test(arguments: valid)
    func parses(_ valid: Valid) throws {
        let url = try PostgresURL(valid.url)
        #expect(url.user == valid.user)
        #expect(url.password == valid.password)
        #expect(url.database == valid.database)
        #expect(url.endpoint == valid.endpoint)
        #expect(url.sslMode == valid.sslMode)
        #expect(url.sslRootCertificate == valid.sslRootCertificate)
        #expect(url.connectTimeout == valid.connectTimeout)
        #expect(url.applicationName == valid.applicationName)
        // The redacted form parses back to the same place.
        let again = try PostgresURL(url.redacted)
        #expect(again.endpoint == url.endpoint)
        #expect(again.user == url.user)
        #expect(again.database == url.database)
        #expect(again.sslMode == url.sslMode)
        #expect(again.password == url.password.map { _ in "***" })
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        let url: String
        let code: PostgresURLError.Code
        var testDescription: String { url }
    }

    static let invalid: [Invalid] = [
        Invalid(url: "mysql://k@h/db", code: .scheme),
        Invalid(url: "k@h/db", code: .scheme),
        Invalid(url: "", code: .scheme),
        Invalid(url: "postgres://h/db", code: .user),
        Invalid(url: "postgres://:pw@h/db", code: .user),
        Invalid(url: "postgres://k@h:99999/db", code: .port),
        Invalid(url: "postgres://k@h:0/db", code: .port),
        Invalid(url: "postgres://k@h:abc/db", code: .port),
        Invalid(url: "postgres://k@h:/db", code: .port),
        Invalid(url: "postgres://k@h/db?port=-1", code: .port),
        Invalid(url: "postgres://k@h", code: .database),
        Invalid(url: "postgres://k@h/", code: .database),
        Invalid(url: "postgres://k@h/a/b", code: .database),
        Invalid(url: "postgres://k@/db", code: .host),
        Invalid(url: "postgres://k@[::1/db", code: .host),
        Invalid(url: "postgres://k@/db?host=", code: .host),
        Invalid(url: "postgres://k@/db?host=/" + String(repeating: "d", count: 100), code: .host),
        Invalid(url: "postgres://k@h/db?sslmode=prefer", code: .sslMode),
        Invalid(url: "postgres://k@h/db?sslmode=REQUIRE", code: .sslMode),
        Invalid(url: "postgres://k@h/db?sslmod=require", code: .parameter),
        Invalid(url: "postgres://k@h/db?sslmode", code: .parameter),
        Invalid(url: "postgres://k@h/db?connect_timeout=0", code: .parameter),
        Invalid(url: "postgres://k:p%zz@h/db", code: .percentEncoding),
        Invalid(url: "postgres://k@h/d%C3", code: .percentEncoding),
        Invalid(url: "postgres://k@h/db#fragment", code: .syntax),
    ]

    @Test(arguments: invalid)
    func refuses(_ invalid: Invalid) {
        let error = #expect(throws: PostgresURLError.self) { try PostgresURL(invalid.url) }
        #expect(error?.code == invalid.code)
    }

    /// Refusals whose URL holds a password: neither the message nor the description shows it.
    @Test(arguments: [
        "postgres://k:hunter2secret@h:99999/db",
        "postgres://k:hunter2secret@h/db?bad=1",
        "postgres://k:hunter2%zzsecret@h/db",
        "postgres://k:hunter2secret@/db",
        "postgres://k:hunter2secret@h/db#x",
        "postgres://k:hunter2secret/db",
        "postgres://k:hunter2secret@h/db?sslmode=on",
        "mysql://k:hunter2secret@h/db",
        "postgres://k:hunter2?secret@h/db",
        "postgres://k:hun?ter2secret@h/db?sslmode=require",
    ])
    func errorsHideThePassword(_ text: String) {
        do {
            _ = try PostgresURL(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(!error.message.contains("hunter2"))
            #expect(!"\(error)".contains("hunter2"))
            #expect(!String(reflecting: error).contains("hunter2"))
        }
    }

    @Test func redactedHidesThePassword() throws {
        let url = try PostgresURL("postgres://kasvu:s%40cret@db.example:5432/central?sslmode=verify-full")
        #expect(url.password == "s@cret")
        #expect(url.redacted == "postgres://kasvu:***@db.example:5432/central?sslmode=verify-full")
        #expect(url.description == url.redacted)
        #expect("\(url)" == url.redacted)
        #expect(!String(reflecting: url).contains("cret"))
        var dumped = ""
        dump(url, to: &dumped)
        #expect(!dumped.contains("cret"))
        let bare = try PostgresURL("postgres://kasvu@/db?host=/tmp/x&port=5999")
        #expect(bare.redacted == "postgres://kasvu@/db?host=/tmp/x&port=5999")
    }
}
