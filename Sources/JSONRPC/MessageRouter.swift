import Logging

/// Turns incoming frames into jobs for the executor.
///
/// Routing runs for every frame as soon as it is read, even while a request
/// is executing, which is what lets `$/cancelRequest` take effect right away:
/// it is acted upon here and never queued behind the request it cancels.
struct MessageRouter: Sendable {
    static let cancelMethod = "$/cancelRequest"

    let registry: CancellationRegistry
    let logger: Logger

    /// The job for `frame`, or `nil` when nothing is left to execute or
    /// answer (for example a lone `$/cancelRequest`).
    func route(_ frame: Frame) -> Job? {
        switch frame {
        case .malformed(let framing, let reason):
            logger.warning("Malformed JSON-RPC frame", metadata: ["reason": "\(reason)"])
            return Self.errorJob(.parseError("Parse error: \(reason)"), framing: framing)
        case .message(let framing, let body):
            let value: JSONValue
            do {
                value = try JSONValue.parse(body)
            } catch {
                logger.warning("Unparsable JSON-RPC message", metadata: ["reason": "\(error)"])
                return Self.errorJob(.parseError("Parse error: \(error)"), framing: framing)
            }
            return route(value, framing: framing)
        }
    }

    private func route(_ value: JSONValue, framing: Framing) -> Job? {
        guard case .array(let elements) = value else {
            return entry(for: value).map { Job(framing: framing, isBatch: false, entries: [$0]) }
        }
        guard !elements.isEmpty else {
            // JSON-RPC 2.0 answers an empty batch with a single error object.
            return Self.errorJob(.invalidRequest("Invalid Request: empty batch"), framing: framing)
        }
        let entries = elements.compactMap(entry(for:))
        return entries.isEmpty ? nil : Job(framing: framing, isBatch: true, entries: entries)
    }

    private func entry(for value: JSONValue) -> Job.Entry? {
        switch IncomingMessage(value) {
        case .invalid(let id, let reason):
            logger.debug("Invalid JSON-RPC request", metadata: ["reason": "\(reason)"])
            return .reply(OutgoingMessage.errorResponse(id: id, error: .invalidRequest(reason)))
        case .notification(method: Self.cancelMethod, let params):
            cancel(params)
            return nil
        case .notification(let method, let params):
            return .notification(method: method, params: params)
        case .request(let id, let method, let params):
            return .request(registry.register(id), method: method, params: params)
        }
    }

    private func cancel(_ params: JSONValue?) {
        guard let rawID = params?["id"], let id = RequestID(jsonValue: rawID) else {
            logger.debug("Ignoring $/cancelRequest without a valid id")
            return
        }
        let disposition = registry.cancel(id)
        logger.debug("Cancellation requested", metadata: ["id": "\(id)", "found": "\(disposition)"])
    }

    private static func errorJob(_ error: ResponseError, framing: Framing) -> Job {
        Job(framing: framing, isBatch: false, entries: [.reply(OutgoingMessage.errorResponse(id: nil, error: error))])
    }
}
