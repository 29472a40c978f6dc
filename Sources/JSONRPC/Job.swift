/// One unit of sequential work handed from the router to the executor: a
/// single message or a whole batch, answered together.
struct Job: Sendable {
    enum Entry: Sendable {
        /// A response decided while routing (parse or invalid-request error).
        case reply(JSONValue)
        /// A request to dispatch; its response goes into the reply.
        case request(CancellationRegistry.Ticket, method: String, params: JSONValue?)
        /// A notification to dispatch; it never produces a response.
        case notification(method: String, params: JSONValue?)
    }

    /// The framing of the incoming message, used for everything written
    /// on its behalf.
    var framing: Framing
    /// Batches are answered with one array (or nothing), single messages
    /// with a single response object (or nothing).
    var isBatch: Bool
    var entries: [Entry]
}
