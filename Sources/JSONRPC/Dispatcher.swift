/// Maps method names to handlers.
///
/// A `Dispatcher` is a plain value: build it up front, then hand it to
/// ``JSONRPCServer``. Handlers run one at a time in arrival order, and should
/// check for cancellation (`try Task.checkCancellation()`) during long work so
/// that `$/cancelRequest` can stop them.
///
/// ```swift
/// var dispatcher = Dispatcher()
/// dispatcher.register("echo") { params, _ in
///     params ?? .null
/// }
/// dispatcher.register("divide") { params, _ in
///     guard let a = params?["a"]?.intValue, let b = params?["b"]?.intValue, b != 0 else {
///         throw ResponseError.invalidParams("need a and a non-zero b")
///     }
///     return .int(a / b)
/// }
/// ```
public struct Dispatcher: Sendable {
    /// A method implementation: receives the `params` member (`nil` when
    /// absent) and returns the `result`. Throwing a ``ResponseError`` sends
    /// it unchanged; any other error goes through the server's error mapper.
    public typealias Handler = @Sendable (_ params: JSONValue?, _ context: RequestContext) async throws -> JSONValue

    private var handlers: [String: Handler] = [:]
    private let authorize: @Sendable (_ method: String) throws -> Void

    /// Creates a dispatcher with no methods.
    ///
    /// - Parameter authorize: runs before every known method's handler; throwing refuses the
    ///   call with that error (for example a permission check), before any work is done.
    public init(authorize: @escaping @Sendable (_ method: String) throws -> Void = { _ in }) {
        self.authorize = authorize
    }

    /// Registers `handler` for `method`, replacing any earlier registration.
    public mutating func register(
        _ method: String,
        _ handler: @escaping @Sendable (_ params: JSONValue?, _ context: RequestContext) async throws -> JSONValue
    ) {
        handlers[method] = handler
    }

    /// The registered method names, sorted.
    public var methodNames: [String] {
        handlers.keys.sorted()
    }

    /// Runs the handler for `method`.
    ///
    /// - Throws: ``ResponseError/methodNotFound(_:)`` for an unknown method,
    ///   otherwise whatever the handler throws.
    public func dispatch(
        method: String,
        params: JSONValue?,
        context: RequestContext
    ) async throws -> JSONValue {
        guard let handler = handlers[method] else {
            throw ResponseError.methodNotFound(method)
        }
        try authorize(method)
        return try await handler(params, context)
    }
}
