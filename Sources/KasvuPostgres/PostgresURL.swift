import Foundation

/// Where a PostgreSQL database is and how to reach it, parsed from a libpq-style URL.
///
/// ```
/// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&...]
/// postgresql://USER@/DATABASE?host=/run/postgresql          (unix socket)
/// ```
///
/// The user, password, host, database and every parameter are percent-decoded (a password
/// with `@`, `:`, `/`, `?`, `#`, `&` or `%` must be percent-encoded). Parameters:
///
/// - `sslmode`: `disable` (the default), `require` (TLS without verifying the server's
///   certificate) or `verify-full` (TLS, the certificate verified against the system's trust
///   roots, or against `sslrootcert` when given, and the host name checked). Like libpq,
///   TLS is never used over a unix socket.
/// - `sslrootcert=PATH`: a PEM file of trusted root certificates, for `verify-full`.
/// - `host=/socket/directory`: connect over the unix socket `/socket/directory/.s.PGSQL.PORT`
///   instead of TCP; the host part of the URL may then be empty. A `host` that does not start
///   with `/` replaces the host part. The host part itself may be a percent-encoded directory
///   (`postgres://user@%2Frun%2Fpostgresql/db`).
/// - `port=PORT`: the port (default 5432), in place of the one after the host; with a unix
///   socket it only names the socket file.
/// - `connect_timeout=SECONDS`: how long opening a connection may take (default 10).
/// - `application_name=NAME`: shown in `pg_stat_activity`.
///
/// Any other parameter is an error, so that a misspelt `sslmode` never silently means
/// "no TLS".
///
/// ```swift
/// let url = try PostgresURL("postgres://kasvu:s%40cret@db.example:5432/central?sslmode=verify-full")
/// print(url.redacted)   // postgres://kasvu:***@db.example:5432/central?sslmode=verify-full
/// let database = PostgresDatabase(url: url)
/// ```
///
/// Neither ``description``, ``redacted`` nor any ``PostgresURLError`` contains the password.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// How the connection uses TLS.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS, the server's certificate not verified: protects against eavesdropping, not
        /// against an impostor.
        case require
        /// TLS, the certificate verified and the host name checked.
        case verifyFull = "verify-full"
    }

    /// Where the connection goes.
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// The full path of the socket file, `DIRECTORY/.s.PGSQL.PORT`.
        case unixSocket(path: String)
    }

    /// `postgres` or `postgresql`, as written.
    public let scheme: String
    public let user: String
    public let password: String?
    /// The TCP host, or empty when the URL names none (a unix socket through `host=`).
    public let host: String
    public let port: Int
    /// Whether the URL named the port (after the host or as `port=`).
    public let hasExplicitPort: Bool
    public let database: String
    /// The unix socket directory (`host=/path`, or a host part starting with `/`), if any.
    public let socketDirectory: String?
    public let sslMode: SSLMode
    /// `sslrootcert`: a PEM file of trusted roots for `verify-full`.
    public let sslRootCertificate: String?
    /// `connect_timeout` in seconds, if given.
    public let connectTimeout: Int?
    /// `application_name`, if given.
    public let applicationName: String?

    /// The query parameters as written (decoded), in order: what ``redacted`` prints back.
    private let parameters: [Parameter]
    /// The host part as written (decoded), for ``redacted``.
    private let authorityHost: String
    private let authorityPort: Int?

    private struct Parameter: Sendable, Hashable {
        let name: String
        let value: String
    }

    /// The default port of PostgreSQL.
    public static let defaultPort = 5432

    /// Parses a `postgres://` or `postgresql://` URL; throws ``PostgresURLError`` (never
    /// containing the password) when it is not one.
    public init(_ string: String) throws(PostgresURLError) {
        guard let separator = string.range(of: "://") else {
            throw PostgresURLError(.scheme, "a PostgreSQL URL starts with postgres:// or postgresql://")
        }
        let scheme = String(string[..<separator.lowerBound]).lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresURLError(.scheme, "the scheme must be postgres or postgresql, not \(Self.quoted(scheme, limit: 20))")
        }
        var rest = Substring(string[separator.upperBound...])
        if rest.contains("#") {
            throw PostgresURLError(.syntax, "a PostgreSQL URL has no #fragment (percent-encode a # in the password as %23)")
        }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?"), rest[mark...].contains("@") {
            // An unencoded ? in the password: nothing after it may be quoted in a message.
            throw PostgresURLError(.syntax, "the user or password holds a character a URL reserves: percent-encode it (? as %3F, / as %2F, @ as %40)")
        }
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let authority: Substring
        let path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = nil
        }

        // USER[:PASSWORD]@
        guard let at = authority.lastIndex(of: "@") else {
            throw PostgresURLError(.user, "the URL names no user (postgres://USER@HOST/DATABASE)")
        }
        let userInfo = authority[..<at]
        let hostPort = authority[authority.index(after: at)...]
        let user: String
        let password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            user = try Self.decode(userInfo[..<colon], "user")
            password = try Self.decode(userInfo[userInfo.index(after: colon)...], "password")
        } else {
            user = try Self.decode(userInfo, "user")
            password = nil
        }
        guard !user.isEmpty else {
            throw PostgresURLError(.user, "the URL names no user (postgres://USER@HOST/DATABASE)")
        }

        // HOST[:PORT], HOST possibly [IPv6]
        var authorityHost: String
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw PostgresURLError(.host, "an IPv6 host lacks its closing ]")
            }
            authorityHost = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw PostgresURLError(.host, "unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
            guard !authorityHost.isEmpty else { throw PostgresURLError(.host, "the IPv6 host is empty") }
        } else if let colon = hostPort.firstIndex(of: ":") {
            authorityHost = try Self.decode(hostPort[..<colon], "host")
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            authorityHost = try Self.decode(hostPort, "host")
        }
        let authorityPort = try portText.map { text throws(PostgresURLError) in try Self.port(text) }

        // /DATABASE
        guard let path, !path.isEmpty else {
            throw PostgresURLError(.database, "the URL names no database (postgres://USER@HOST/DATABASE)")
        }
        guard !path.contains("/") else {
            throw PostgresURLError(.database, "the database name contains a /: percent-encode it as %2F")
        }
        let database = try Self.decode(path, "database")
        guard !database.isEmpty else {
            throw PostgresURLError(.database, "the URL names no database (postgres://USER@HOST/DATABASE)")
        }

        // ?PARAM=VALUE&...
        var parameters: [Parameter] = []
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw PostgresURLError(.parameter, "the parameter \(Self.quoted(pair, limit: 40)) has no =VALUE")
            }
            let name = try Self.decode(pair[..<equals], "parameter name")
            let value = try Self.decode(pair[pair.index(after: equals)...], "value of parameter \(Self.quoted(name, limit: 40))")
            parameters.append(Parameter(name: name, value: value))
        }
        var sslMode = SSLMode.disable
        var sslRootCertificate: String?
        var queryHost: String?
        var queryPort: Int?
        var connectTimeout: Int?
        var applicationName: String?
        for parameter in parameters {
            switch parameter.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: parameter.value) else {
                    throw PostgresURLError(.sslMode, "sslmode=\(Self.quoted(parameter.value, limit: 20)) is not supported: use disable, require or verify-full")
                }
                sslMode = mode
            case "sslrootcert":
                guard !parameter.value.isEmpty else { throw PostgresURLError(.parameter, "sslrootcert is empty") }
                sslRootCertificate = parameter.value
            case "host":
                guard !parameter.value.isEmpty else { throw PostgresURLError(.host, "host= is empty") }
                queryHost = parameter.value
            case "port":
                queryPort = try Self.port(Substring(parameter.value))
            case "connect_timeout":
                guard let seconds = Int(parameter.value), seconds > 0, seconds <= 86_400 else {
                    throw PostgresURLError(.parameter, "connect_timeout must be a whole number of seconds between 1 and 86400")
                }
                connectTimeout = seconds
            case "application_name":
                applicationName = parameter.value
            default:
                throw PostgresURLError(.parameter, "unknown parameter \(Self.quoted(parameter.name, limit: 40)) (known: sslmode, sslrootcert, host, port, connect_timeout, application_name)")
            }
        }

        let hostValue = queryHost ?? authorityHost
        let socketDirectory: String?
        let host: String
        if hostValue.hasPrefix("/") {
            socketDirectory = hostValue.count > 1 && hostValue.hasSuffix("/") ? String(hostValue.dropLast()) : hostValue
            host = ""
        } else {
            socketDirectory = nil
            host = hostValue
            guard !host.isEmpty else {
                throw PostgresURLError(.host, "the URL names no host: give one after the @ or a unix socket directory as ?host=/path")
            }
        }

        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = queryPort ?? authorityPort ?? Self.defaultPort
        self.hasExplicitPort = queryPort != nil || authorityPort != nil
        self.database = database
        self.socketDirectory = socketDirectory
        self.sslMode = sslMode
        self.sslRootCertificate = sslRootCertificate
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.parameters = parameters
        self.authorityHost = authorityHost
        self.authorityPort = authorityPort
        if let socketPath = socketDirectory.map({ "\($0)/.s.PGSQL.\(self.port)" }), socketPath.utf8.count > 107 {
            throw PostgresURLError(.host, "the unix socket path \(socketPath) is longer than the 107 bytes the system allows")
        }
    }

    /// Where connections go: the unix socket when the URL names a socket directory, else TCP.
    public var endpoint: Endpoint {
        if let socketDirectory {
            .unixSocket(path: "\(socketDirectory)/.s.PGSQL.\(port)")
        } else {
            .tcp(host: host, port: port)
        }
    }

    /// Whether connections use TLS: `sslmode` other than `disable`, over TCP.
    public var usesTLS: Bool {
        sslMode != .disable && socketDirectory == nil
    }

    /// The URL with the password replaced by `***`: what logs and error messages show.
    public var redacted: String {
        var text = "\(scheme)://\(Self.encode(user, Self.userAllowed))"
        if password != nil { text += ":***" }
        text += "@"
        if authorityHost.contains(":") {
            text += "[\(authorityHost)]"
        } else {
            text += Self.encode(authorityHost, Self.hostAllowed)
        }
        if let authorityPort { text += ":\(authorityPort)" }
        text += "/" + Self.encode(database, Self.userAllowed)
        if !parameters.isEmpty {
            text += "?" + parameters.map { "\(Self.encode($0.name, Self.userAllowed))=\(Self.encode($0.value, Self.valueAllowed))" }
                .joined(separator: "&")
        }
        return text
    }

    public var description: String { redacted }
    public var debugDescription: String { "PostgresURL(\(redacted))" }

    /// `dump(url)` and the debugger show the redacted URL, not the password.
    public var customMirror: Mirror {
        Mirror(self, children: ["redacted": redacted], displayStyle: .struct)
    }

    // MARK: Parsing helpers

    private static func decode(_ text: Substring, _ what: String) throws(PostgresURLError) -> String {
        guard text.contains("%") else { return String(text) }
        guard let decoded = String(text).removingPercentEncoding else {
            // Never echo the text: it may be the password.
            throw PostgresURLError(.percentEncoding, "the \(what) has an invalid percent-encoding (% must be followed by two hex digits and form UTF-8)")
        }
        return decoded
    }

    private static func port(_ text: Substring) throws(PostgresURLError) -> Int {
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let port = Int(text), (1...65535).contains(port) else {
            throw PostgresURLError(.port, "the port \(quoted(text, limit: 10)) is not a number between 1 and 65535")
        }
        return port
    }

    /// A short, quoted excerpt of a part of the URL that is not the password, for messages.
    private static func quoted<S: StringProtocol>(_ text: S, limit: Int) -> String {
        text.count > limit ? "'\(text.prefix(limit))…'" : "'\(text)'"
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    private static let userAllowed = unreserved
    private static let hostAllowed = unreserved
    private static let valueAllowed = unreserved.union(CharacterSet(charactersIn: "/:"))

    private static func encode(_ text: String, _ allowed: CharacterSet) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// A PostgreSQL URL that does not parse: a stable ``code`` and a message for people. Neither
/// contains the password.
///
/// ```swift
/// do { _ = try PostgresURL("postgres://kasvu@db:99999/central") }
/// catch { print(error.code) }   // "port"
/// ```
public struct PostgresURLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, stable across releases.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not `postgres://` or `postgresql://`.
        public static let scheme = Code(rawValue: "scheme")
        /// A fragment or other malformed structure.
        public static let syntax = Code(rawValue: "syntax")
        /// No user.
        public static let user = Code(rawValue: "user")
        /// No host nor socket directory, or a malformed one.
        public static let host = Code(rawValue: "host")
        /// A port that is not 1...65535.
        public static let port = Code(rawValue: "port")
        /// No database, or one with a raw `/`.
        public static let database = Code(rawValue: "database")
        /// A `%` not followed by two hex digits forming UTF-8.
        public static let percentEncoding = Code(rawValue: "percent_encoding")
        /// An unknown or malformed query parameter.
        public static let parameter = Code(rawValue: "parameter")
        /// An `sslmode` other than disable, require, verify-full.
        public static let sslMode = Code(rawValue: "sslmode")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "invalid PostgreSQL URL (\(code)): \(message)" }
}
