import Foundation
import KasvuSQL
import NIOCore
import NIOSSL
import PostgresNIO

/// postgres-nio's errors as ``SQLError``s.
///
/// - A statement PostgreSQL refused: its SQLSTATE and its primary message (never the
///   `DETAIL`, which quotes row values; bound values the message quotes are cut out).
/// - No connection could be made: SQLSTATE `08001` (or the server's own code, e.g. `28P01`
///   for a refused password, `3D000` for a missing database) and a message naming the
///   redacted URL.
/// - A connection lost mid-transaction: `08006`.
///
/// Transient, worth retrying the whole transaction: `40001` (serialization failure), `40P01`
/// (deadlock), class `08` (connection), `57P01`/`57P02`/`57P03` (shutdown, crash, starting up),
/// `53300` (too many connections), `55P03` and `57014` (the lock or statement timeout of
/// ``PostgresDatabase/sessionLimits``, under load). A server without TLS when the URL requires it, and a
/// certificate that fails verification, are not transient.
enum PostgresErrors {
    static func isTransient(sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03", "57014"].contains(sqlState)
    }

    /// A statement's error (or a connection lost while it ran).
    static func sqlError(_ error: any Error, sql: String?, arguments: [SQLValue], url: PostgresURL) -> SQLError {
        if let error = error as? SQLError { return error }
        guard let error = error as? PSQLError else {
            return SQLError(code: "08006", message: "lost the connection to PostgreSQL at \(url.redacted): \(describe(error))", sql: sql, isTransient: true)
        }
        if error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? "XX000"
            let message = scrub(error.serverInfo?[.message] ?? "PostgreSQL gave no message", arguments)
            return SQLError(code: state, message: message, sql: sql, isTransient: isTransient(sqlState: state))
        }
        switch error.code {
        case .queryCancelled:
            return SQLError(code: "57014", message: "the statement was cancelled", sql: sql)
        case .tooManyParameters:
            return SQLError(code: "54023", message: "the statement has more than 65535 arguments", sql: sql)
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            let cause = error.underlying.map { ": \(describe($0))" } ?? ""
            return SQLError(code: "08006", message: "lost the connection to PostgreSQL at \(url.redacted)\(cause)", sql: sql, isTransient: true)
        default:
            let cause = error.underlying.map { ": \(describe($0))" } ?? ""
            return SQLError(code: "08P01", message: "the connection to PostgreSQL at \(url.redacted) failed (\(error.code))\(cause)", sql: sql, isTransient: true)
        }
    }

    /// A failure to open a connection.
    static func connectError(_ error: any Error, url: PostgresURL) -> SQLError {
        let prefix = "cannot connect to PostgreSQL at \(url.redacted)"
        if let error = error as? SQLError { return error }
        if let error = error as? PSQLError {
            if error.code == .server {
                let state = error.serverInfo?[.sqlState] ?? "08001"
                return SQLError(code: state, message: "\(prefix): \(error.serverInfo?[.message] ?? "refused")", isTransient: isTransient(sqlState: state))
            }
            if error.code == .sslUnsupported {
                return SQLError(code: "08001", message: "\(prefix): the server does not offer TLS, which sslmode=\(url.sslMode.rawValue) requires")
            }
            if let underlying = error.underlying, isTLSFailure(underlying) {
                return SQLError(code: "08001", message: "\(prefix): TLS failed: \(describe(underlying))")
            }
            let cause = error.underlying.map(describe) ?? "\(error.code)"
            return SQLError(code: "08001", message: "\(prefix): \(cause)", isTransient: true)
        }
        if isTLSFailure(error) {
            return SQLError(code: "08001", message: "\(prefix): TLS failed: \(describe(error))")
        }
        return SQLError(code: "08001", message: "\(prefix): \(describe(error))", isTransient: true)
    }

    private static func isTLSFailure(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            return error.underlying.map(describe) ?? "\(error.code)"
        }
        return String(describing: error)
    }

    /// The message without the bound values it quotes (`invalid input syntax for type integer:
    /// "…"`): arguments may be personal data and error messages end up in logs.
    static func scrub(_ message: String, _ arguments: [SQLValue]) -> String {
        var message = message
        for argument in arguments {
            let text: String
            switch argument {
            case .null: continue
            case .integer(let number): text = String(number)
            case .text(let value): text = value
            }
            guard !text.isEmpty else { continue }
            message = message.replacingOccurrences(of: "\"\(text)\"", with: "\"…\"")
            if case .text = argument, text.count >= 6 {
                message = message.replacingOccurrences(of: text, with: "…")
            }
        }
        return message
    }
}
