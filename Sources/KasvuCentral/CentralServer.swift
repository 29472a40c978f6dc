import JSONBytes
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import KasvuDomain
import KasvuSync
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The central HTTP server: `POST /v1/sync`, `GET /healthz`, `GET /metrics`.
///
/// Every request is bounded in size (``Limits/maxBodyBytes``) and time
/// (``Limits/requestTimeout``); every error answers with a JSON body
/// `{"error": {"code", "kind", "message"}}`. `runService()` shuts down gracefully on SIGTERM.
///
/// ```swift
/// let app = CentralServer.application(store: store, host: "127.0.0.1", port: 8080, logger: logger)
/// try await app.runService()
/// ```
public enum CentralServer {
    /// A certificate chain and private key (PEM files) to serve HTTPS instead of plain HTTP.
    public struct TLSFiles: Sendable {
        public var certificateChain: String
        public var privateKey: String
        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }

        func configuration() throws -> TLSConfiguration {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificateChain).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
                return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            } catch {
                throw KasvuError.validationFailed(field: "tls", "cannot load the certificate or key: \(error)")
            }
        }
    }

    public struct Limits: Sendable {
        public var maxBodyBytes = 32 << 20
        public var requestTimeout: Duration = .seconds(60)
        /// A body that takes longer than this to arrive gets 408: a slow sender holds a
        /// concurrent-sync slot (``SyncLimits/maxConcurrentSyncs``) while it trickles.
        public var bodyTimeout: Duration = .seconds(30)
        public var maxConcurrentSyncs = SyncLimits.maxConcurrentSyncs
        /// How long a sync waits for a free slot before it is refused with 503 (zero: refused at
        /// once). Below the refusal's `Retry-After` second, so that waiting never costs more.
        public var admissionPatience: Duration = .milliseconds(500)
        public var idleTimeout: Duration = .seconds(60)
        /// How often the periodic jobs run (``MaintenanceService``): hourly is far finer than
        /// the day the outcome window is counted in.
        public var maintenanceInterval: Duration = .seconds(3600)
        /// Days after it last pushed everything it had that a replica no longer holds back tombstone collection.
        public var replicaInactiveAfterDays = SQLCentralStore.defaultInactiveAfterDays
        public init() {}
    }

    /// Routes and services served beside the sync API by a module above this one (the
    /// dashboard), given the server's authentication throttle so that guessing a token is
    /// slowed down the same way on every path.
    public struct Extension: Sendable {
        public var routes: @Sendable (Router<CentralRequestContext>, AuthenticationThrottle) -> Void
        public var services: [any Service]
        public init(routes: @escaping @Sendable (Router<CentralRequestContext>, AuthenticationThrottle) -> Void, services: [any Service] = []) {
            self.routes = routes
            self.services = services
        }
    }

    /// Builds the server and runs it until SIGTERM or SIGINT, then shuts down gracefully.
    public static func serve(store: any CentralStore, host: String, port: Int, limits: Limits = Limits(), tls: TLSFiles? = nil,
                             extensions: [Extension] = [], logger: Logger,
                             onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(store: store, host: host, port: port, limits: limits, tls: tls, extensions: extensions, logger: logger,
                              onRunning: onRunning)
            .runService()
    }

    public static func application(store: any CentralStore, host: String, port: Int, limits: Limits = Limits(),
                                   tls: TLSFiles? = nil, extensions: [Extension] = [], logger: Logger,
                                   onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let metrics = ServerMetrics()
        let throttle = AuthenticationThrottle()
        let admission = Admission(limit: limits.maxConcurrentSyncs, patience: limits.admissionPatience)
        let router = Router(context: CentralRequestContext.self)
        router.add(middleware: JSONErrorMiddleware(metrics: metrics))
        router.add(middleware: MethodGuard(allowed: ["/v1/sync": ["POST"], "/v1/audit": ["GET"], "/v1/writes": ["GET"], "/healthz": ["GET"], "/metrics": ["GET"]]))
        router.post("/v1/sync") { request, context -> Response in
            try await withTimeout(limits.requestTimeout) {
                try await handleSync(request, address: context.peer, store: store, limits: limits, metrics: metrics,
                                     throttle: throttle, admission: admission, logger: context.logger)
            }
        }
        router.get("/v1/audit") { request, context -> Response in
            try await handleAudit(request, address: context.peer, store: store, throttle: throttle)
        }
        router.get("/v1/writes") { request, context -> Response in
            try await handleHeldWrites(request, address: context.peer, store: store, throttle: throttle)
        }
        router.get("/healthz") { _, _ -> Response in
            json(.ok, Data(#"{"status":"ok"}"#.utf8))
        }
        // Counts of records and replicas are the central office's business: admin token only.
        router.get("/metrics") { request, context -> Response in
            let replica = try await authenticate(request, address: context.peer, store: store, throttle: throttle)
            guard replica.role == .admin else {
                throw ServerError(.forbidden, KasvuError(.permissionDenied, "only the central office reads the metrics"))
            }
            let statistics = try? await store.statistics()
            let health = (try? await store.replicaHealth()) ?? []
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText(
                statistics, replicas: health, syncsInProgress: admission.running, syncsWaiting: admission.waiting))))
        }
        for added in extensions { added.routes(router, throttle) }
        let nanoseconds = limits.idleTimeout.components.seconds * 1_000_000_000
        let http: HTTPServerBuilder = .http1(configuration: .init(idleTimeout: .nanoseconds(nanoseconds)))
        return Application(
            router: router,
            server: try tls.map { try .tls(http, tlsConfiguration: try $0.configuration()) } ?? http,
            configuration: .init(address: .hostname(host, port: port), serverName: "kasvu-central"),
            services: [MaintenanceService(store: store, interval: limits.maintenanceInterval, inactiveAfterDays: limits.replicaInactiveAfterDays, logger: logger)]
                + extensions.flatMap(\.services),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    static func handleSync(_ request: Request, address: String, store: any CentralStore, limits: Limits, metrics: ServerMetrics,
                           throttle: AuthenticationThrottle, admission: Admission, logger: Logger) async throws -> Response {
        // The token is never logged; failures are counted per address by the throttle.
        let replica = try await authenticate(request, address: address, store: store, throttle: throttle)
        do {
            return try await sync(request, replica: replica, store: store, limits: limits, metrics: metrics, admission: admission, logger: logger)
        } catch let error as ServerError {
            // Noted for the central office's list of replicas; a note that fails must not
            // change the answer (the store may be what failed). A busy server is not the
            // replica's failure, and noting it would add writes just when there are too many.
            if error.error.kind != .syncBusy { try? await store.recordSyncFailure(replicaID: replica.id, kind: error.error.kind) }
            throw error
        }
    }

    static func sync(_ request: Request, replica: RegisteredReplica, store: any CentralStore, limits: Limits, metrics: ServerMetrics,
                     admission: Admission, logger: Logger) async throws -> Response {
        guard await admission.enter() else {
            throw ServerError(.serviceUnavailable, KasvuError(.syncBusy, "the central store is serving \(limits.maxConcurrentSyncs) syncs; retry shortly"),
                              retryAfter: 1)
        }
        defer { admission.leave() }
        let body = try await collectBody(request, limits: limits)
        let syncRequest: CentralSyncRequest
        do { syncRequest = try CentralSyncRequest(json: body.readableBytesView) } catch let error as JSONReadError {
            let problem = error.isSyntax ? "request body is not valid JSON (RFC 8259, UTF-8)" : "malformed sync request"
            throw ServerError(.badRequest, KasvuError(.validationFailed, "\(problem): \(error)"))
        }
        guard syncRequest.push.count <= SyncLimits.maxPushRecords else {
            throw ServerError(.contentTooLarge, KasvuError(.validationFailed, "at most \(SyncLimits.maxPushRecords) records in one push; send smaller batches"))
        }
        do {
            let response = try await store.sync(syncRequest, from: replica)
            metrics.recordSync(pushed: syncRequest.push.count, rejected: response.rejections.count, pulled: response.pull.count)
            logger.debug("sync", metadata: ["replica": .string(replica.id), "pushed": .stringConvertible(syncRequest.push.count),
                                            "pulled": .stringConvertible(response.pull.count)])
            return json(.ok, response.jsonBytes)
        } catch let error as KasvuError {
            if error.kind == .storageFault {
                logger.error("storage fault", metadata: ["kind": .string(error.kind.rawValue), "detail": .string(error.message)])
            }
            throw ServerError(status(for: error), error)
        }
    }

    /// The body, within the size limit (413) and the time limit (408); a body the HTTP parser
    /// refuses (a bad chunk size, say) is the client's error (400).
    static func collectBody(_ request: Request, limits: Limits) async throws -> ByteBuffer {
        do {
            return try await withTimeout(limits.bodyTimeout, onTimeout: ServerError(.requestTimeout, KasvuError(.requestTimeout, "the request body took longer than \(limits.bodyTimeout) to arrive"))) {
                var request = request
                return try await request.collectBody(upTo: limits.maxBodyBytes)
            }
        } catch is NIOTooManyBytesError {
            throw ServerError(.contentTooLarge, KasvuError(.validationFailed, "request body over \(limits.maxBodyBytes) bytes; send smaller batches"))
        } catch let error as ServerError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ServerError(.badRequest, KasvuError(.validationFailed, "the request body is not valid HTTP: \(error)"))
        }
    }

    /// `GET /v1/audit?entity=client&id=…`: the audit trail of one record, for admin replicas only.
    static func handleAudit(_ request: Request, address: String, store: any CentralStore,
                            throttle: AuthenticationThrottle) async throws -> Response {
        let replica = try await authenticate(request, address: address, store: store, throttle: throttle)
        guard replica.role == .admin else {
            throw ServerError(.forbidden, KasvuError(.permissionDenied, "only the central office reads the audit trail"))
        }
        guard let entity = request.uri.queryParameters.get("entity").flatMap(EntityKind.init(rawValue:)),
              let id = request.uri.queryParameters.get("id"), (try? RecordID.validate(id)) == id else {
            throw ServerError(.badRequest, KasvuError.validationFailed(field: "entity", "give ?entity=client|provider|…&id=UUID (lowercase)"))
        }
        let entries = try await store.auditTrail(entity: entity, id: id)
        return json(.ok, try JSONEncoder().encode(["items": entries]))
    }

    /// Which writes of one of its actors the store holds, for `kasvu recover` on that replica.
    static func handleHeldWrites(_ request: Request, address: String, store: any CentralStore,
                                 throttle: AuthenticationThrottle) async throws -> Response {
        let replica = try await authenticate(request, address: address, store: store, throttle: throttle)
        guard let actor = request.uri.queryParameters.get("actor").map({ ActorID(rawValue: String($0)) }), actor.isWellFormed,
              let after = UInt64(request.uri.queryParameters.get("after") ?? "0"), after <= UInt64(Int64.max) else {
            throw ServerError(.badRequest, KasvuError.validationFailed(field: "actor", "give ?actor=16 lowercase hex digits&after=COUNTER"))
        }
        do {
            return json(.ok, try JSONEncoder().encode(try await store.heldWrites(of: actor, after: after, for: replica)))
        } catch let error as KasvuError where error.kind == .permissionDenied {
            throw ServerError(.forbidden, error)
        }
    }

    static func authenticate(_ request: Request, address: String, store: any CentralStore,
                             throttle: AuthenticationThrottle) async throws -> RegisteredReplica {
        // A valid token always gets through: the throttle slows down guessing from one
        // address, it must not lock out the honest replicas behind that address (one NAT).
        let token = bearerToken(request.headers[.authorization])
        if let token, let replica = try await store.authenticate(token: token) {
            return replica
        }
        // No credentials at all is no guess: 401, neither counted nor throttled.
        if token != nil, let wait = throttle.blockedFor(address) {
            throw ServerError(.tooManyRequests, KasvuError(.syncUnauthorized, "too many failed authentications from this address; retry in \(wait) s"),
                              retryAfter: wait)
        }
        if token != nil { throttle.recordFailure(address) }
        throw ServerError(.unauthorized, KasvuError(.syncUnauthorized, "missing, unknown or revoked token; ask the central office for a new one"))
    }

    /// The credentials of `Authorization: Bearer <token>`; the scheme name is case-insensitive
    /// (RFC 9110, section 11.1).
    static func bearerToken(_ header: String?) -> String? {
        guard let header, let space = header.firstIndex(of: " "), header[..<space].lowercased() == "bearer" else { return nil }
        let token = header[header.index(after: space)...].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func status(for error: KasvuError) -> HTTPResponse.Status {
        switch error.kind {
        case .validationFailed: .badRequest
        case .syncUnauthorized: .unauthorized
        case .permissionDenied: .forbidden
        case .replicaRewound, .clockSkew, .schemaMismatch, .alreadyExists: .conflict
        case .storageFailed, .syncBusy: .serviceUnavailable
        case .requestTimeout: .requestTimeout
        default: .internalServerError
        }
    }

    static func json(_ status: HTTPResponse.Status, _ data: some Sequence<UInt8>) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func withTimeout<T: Sendable>(_ limit: Duration, onTimeout: ServerError? = nil,
                                         _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw onTimeout ?? ServerError(.serviceUnavailable, KasvuError(.storageFailed, "request took longer than \(limit); retry"))
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// Answers 405 with `Allow` for a method a known path does not take (not 404: the path exists).
struct MethodGuard<Context: RequestContext>: RouterMiddleware {
    let allowed: [String: Set<String>]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let methods = allowed[request.uri.path], !methods.contains(request.method.rawValue) else {
            return try await next(request, context)
        }
        var response = JSONErrorMiddleware<Context>.body(.methodNotAllowed, SyncErrorBody(code: 405, kind: "http_405",
                                                                                          message: "\(request.uri.path) takes \(methods.sorted().joined(separator: ", "))"))
        response.headers[.allow] = methods.sorted().joined(separator: ", ")
        return response
    }
}

/// The concurrent-sync slots. A sync that finds them all taken waits, first come first served,
/// up to `patience` for one to free: a burst of syncs is served a few milliseconds late instead
/// of being sent away for the whole `Retry-After` second. At most `maxWaiting` wait; beyond
/// that, and after `patience`, the sync is refused (503), so that an overloaded server sheds
/// load instead of queueing without end.
final class Admission: Sendable {
    let limit: Int
    let maxWaiting: Int
    let patience: Duration
    private struct State {
        var running = 0
        var waiting: [(ticket: UInt64, admit: CheckedContinuation<Bool, Never>)] = []
        var nextTicket: UInt64 = 0
        /// Each waiting sync's timer, cancelled when it is admitted (a long `patience` would
        /// otherwise leave one sleeping task per admitted sync).
        var timers: [UInt64: Task<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    init(limit: Int, patience: Duration, maxWaiting: Int? = nil) {
        self.limit = limit
        self.patience = patience
        self.maxWaiting = maxWaiting ?? 4 * limit
    }

    var running: Int { state.withLock { $0.running } }
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// Takes a slot, waiting for one up to `patience`; false when refused.
    func enter() async -> Bool {
        await withCheckedContinuation { (admit: CheckedContinuation<Bool, Never>) in
            let ticket: UInt64? = state.withLock { state in
                if state.running < limit {
                    state.running += 1
                    return nil
                }
                guard patience > .zero, state.waiting.count < maxWaiting else { return UInt64.max }  // refused
                state.nextTicket += 1
                state.waiting.append((state.nextTicket, admit))
                return state.nextTicket
            }
            switch ticket {
            case nil: admit.resume(returning: true)
            case UInt64.max?: admit.resume(returning: false)
            case let ticket?:
                let timer = Task { [patience] in
                    guard (try? await Task.sleep(for: patience)) != nil else { return }
                    self.giveUp(ticket)
                }
                // Admitted (or timed out) already: the timer has nothing left to do.
                let decided = state.withLock { state in
                    guard state.waiting.contains(where: { $0.ticket == ticket }) else { return true }
                    state.timers[ticket] = timer
                    return false
                }
                if decided { timer.cancel() }
            }
        }
    }

    /// Frees a slot: handed to the first sync waiting, if any.
    func leave() {
        let next = state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return (CheckedContinuation<Bool, Never>, Task<Void, Never>?)?.none
            }
            let first = state.waiting.removeFirst()
            return (first.admit, state.timers.removeValue(forKey: first.ticket))
        }
        next?.1?.cancel()
        next?.0.resume(returning: true)
    }

    private func giveUp(_ ticket: UInt64) {
        let refused = state.withLock { state in
            state.timers[ticket] = nil
            return state.waiting.firstIndex { $0.ticket == ticket }.map { state.waiting.remove(at: $0).admit }
        }
        refused?.resume(returning: false)
    }
}

/// An error with the HTTP status to answer it with.
struct ServerError: Error {
    let status: HTTPResponse.Status
    let error: KasvuError
    let retryAfter: Int?
    init(_ status: HTTPResponse.Status, _ error: KasvuError, retryAfter: Int? = nil) {
        self.status = status
        self.error = error
        self.retryAfter = retryAfter
    }
}

/// Turns every error — ours, Hummingbird's (404, 405, …) and unexpected ones — into a JSON body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ServerError {
            var answer = Self.body(error.status, SyncErrorBody(error.error))
            if let retryAfter = error.retryAfter { answer.headers[.retryAfter] = String(retryAfter) }
            response = answer
        } catch let error as HTTPError {
            response = Self.body(error.status, SyncErrorBody(code: error.status.code, kind: "http_\(error.status.code)",
                                                             message: error.body ?? error.status.reasonPhrase))
        } catch {
            context.logger.error("unexpected error", metadata: ["error": .string("\(error)")])
            response = Self.body(.internalServerError, SyncErrorBody(code: 500, kind: "internal", message: "internal server error"))
        }
        metrics.recordRequest(path: request.uri.path, status: response.status.code)
        return response
    }

    static func body(_ status: HTTPResponse.Status, _ error: SyncErrorBody) -> Response {
        CentralServer.json(status, (try? JSONEncoder().encode(error)) ?? Data())
    }
}
