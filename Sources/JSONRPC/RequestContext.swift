/// What a handler knows about the message it is serving, and its channel for
/// sending notifications back to the client.
///
/// ```swift
/// dispatcher.register("tree/import") { params, context in
///     await context.notify("$/progress", ["token": "import", "value": ["percentage": 50]])
///     return ["imported": 12]
/// }
/// ```
public struct RequestContext: Sendable {
    /// The request's id, or `nil` when serving a notification.
    public let id: RequestID?
    /// The framing the message arrived in; replies use the same framing.
    public let framing: Framing

    private let notificationSink: @Sendable (_ method: String, _ params: JSONValue) async -> Void

    /// Creates a context. The server builds these itself; the initializer is
    /// public so handlers can be exercised directly in tests.
    ///
    /// ```swift
    /// let context = RequestContext(id: 1, framing: .newline) { method, params in
    ///     recorded.append((method, params))
    /// }
    /// let result = try await dispatcher.dispatch(method: "ping", params: nil, context: context)
    /// ```
    ///
    /// - Parameter notificationSink: Receives every ``notify(_:_:)`` call;
    ///   ignores them by default.
    public init(
        id: RequestID?,
        framing: Framing,
        notificationSink: @escaping @Sendable (_ method: String, _ params: JSONValue) async -> Void = { _, _ in }
    ) {
        self.id = id
        self.framing = framing
        self.notificationSink = notificationSink
    }

    /// Sends a notification (a message without `id`) to the client, in this
    /// request's framing. It is written before the request's response, and
    /// returns once it has been written.
    ///
    /// `params` should be an object or an array; pass `.null` to omit it.
    public func notify(_ method: String, _ params: JSONValue) async {
        await notificationSink(method, params)
    }
}
