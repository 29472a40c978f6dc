/// The `error` member of a JSON-RPC response.
///
/// Handlers throw a `ResponseError` to choose exactly what the client sees;
/// the server sends it unchanged. Use the static constructors for the
/// standard codes:
///
/// ```swift
/// throw ResponseError.invalidParams(
///     "invalid tree",
///     errors: [(field: "height", message: "must be positive")]
/// )
/// // {"code":-32602,"data":{"errors":[{"field":"height","message":"must be positive"}]},"message":"invalid tree"}
/// ```
public struct ResponseError: Error, Sendable, Hashable {
    /// A JSON-RPC error code; the standard ones are the `…Code` constants.
    public var code: Int
    /// A short description of the error.
    public var message: String
    /// Optional structured detail.
    public var data: JSONValue?

    /// Creates an error with any code.
    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }
}

// MARK: - Standard codes

extension ResponseError {
    /// -32700: the message is not valid JSON or could not be framed.
    public static let parseErrorCode = -32700
    /// -32600: the JSON is not a valid request object.
    public static let invalidRequestCode = -32600
    /// -32601: no handler is registered for the method.
    public static let methodNotFoundCode = -32601
    /// -32602: the parameters are invalid for the method.
    public static let invalidParamsCode = -32602
    /// -32603: the handler failed unexpectedly.
    public static let internalErrorCode = -32603
    /// -32800: the client cancelled the request (LSP's `RequestCancelled`).
    public static let requestCancelledCode = -32800

    /// A -32700 error.
    public static func parseError(_ message: String) -> ResponseError {
        ResponseError(code: parseErrorCode, message: message)
    }

    /// A -32600 error.
    public static func invalidRequest(_ message: String) -> ResponseError {
        ResponseError(code: invalidRequestCode, message: message)
    }

    /// A -32601 error whose message names the missing method.
    ///
    /// ```swift
    /// ResponseError.methodNotFound("tree/grow").message
    /// // "Method not found: tree/grow"
    /// ```
    public static func methodNotFound(_ method: String) -> ResponseError {
        ResponseError(code: methodNotFoundCode, message: "Method not found: \(method)")
    }

    /// A -32602 error, optionally listing per-field problems.
    ///
    /// When `errors` is not empty, `data` is
    /// `{"errors": [{"field": …, "message": …}, …]}` in the given order so
    /// that clients can point at each offending field.
    public static func invalidParams(
        _ message: String,
        errors: [(field: String, message: String)] = []
    ) -> ResponseError {
        let data: JSONValue? = errors.isEmpty ? nil : [
            "errors": .array(errors.map { ["field": .string($0.field), "message": .string($0.message)] }),
        ]
        return ResponseError(code: invalidParamsCode, message: message, data: data)
    }

    /// A -32603 error.
    public static func internalError(_ message: String) -> ResponseError {
        ResponseError(code: internalErrorCode, message: message)
    }

    /// The -32800 error sent for a request cancelled by `$/cancelRequest`.
    public static let requestCancelled = ResponseError(
        code: requestCancelledCode,
        message: "Request cancelled"
    )
}

// MARK: - Wire form

extension ResponseError {
    /// The error object as sent on the wire: `{"code":…,"message":…,"data":…}`
    /// (`data` omitted when `nil`).
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "code": .int(Int64(code)),
            "message": .string(message),
        ]
        if let data {
            members["data"] = data
        }
        return .object(members)
    }
}

extension ResponseError: CustomStringConvertible {
    /// `"<message> (<code>)"`, for logs.
    public var description: String { "\(message) (\(code))" }
}
