import Foundation
import KasvuDomain
import KasvuSync

/// The real sync transport: `POST /v1/sync` over libcurl (``CurlHTTPClient``).
///
/// HTTP outcomes become sync errors: 413 → ``SyncBatchTooLarge`` (the loop halves the batch),
/// 401 → `sync_unauthorized`, a JSON error body → its `kind`, an unreachable server (after the
/// client's retries) → `sync_unreachable`.
///
/// ```swift
/// let transport = try CurlSyncTransport(centralURL: "https://kasvu.example.fi", token: token)
/// let summary = try await SyncClient(replica: replica, transport: transport).run()
/// ```
public struct CurlSyncTransport: SyncTransport {
    let client: CurlHTTPClient
    let base: String
    let endpoint: String
    let token: String

    public init(centralURL: String, token: String, options: HTTPClientOptions = HTTPClientOptions()) throws {
        var base = centralURL
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        endpoint = base + "/v1/sync"
        self.token = token
        do { client = try CurlHTTPClient(options: options) } catch {
            throw KasvuError(.syncUnreachable, "cannot set up the HTTP client: \(error)")
        }
    }

    public func exchange(_ request: SyncRequest) async throws -> SyncResponse {
        let request = HTTPRequest(
            method: "POST", url: endpoint,
            headers: [(name: "Authorization", value: "Bearer \(token)"), (name: "Content-Type", value: "application/json")],
            body: request.jsonBytes, idempotent: true)
        let response: HTTPResponse
        switch await send(request) {
        case .success(let answer): response = answer
        case .failure(let error): throw KasvuError(.syncUnreachable, "central server unreachable: \(error)")
        }
        return try Self.interpret(response)
    }

    /// The central store's audit trail of one record (admin replicas only).
    public func auditTrail(entity: EntityKind, id: String) async throws -> [AuditEntry] {
        let request = HTTPRequest(method: "GET", url: "\(base)/v1/audit?entity=\(entity.rawValue)&id=\(id.lowercased())",
                                  headers: [(name: "Authorization", value: "Bearer \(token)")])
        let response: HTTPResponse
        switch await send(request) {
        case .success(let answer): response = answer
        case .failure(let error): throw KasvuError(.syncUnreachable, "central server unreachable: \(error)")
        }
        guard response.status == 200 else { throw Self.error(from: response) }
        return try JSONDecoder().decode([String: [AuditEntry]].self, from: Data(response.body))["items"] ?? []
    }

    /// Every write of `actor` above counter `after` that the central store holds (all pages),
    /// by counter: what `kasvu recover` must not stamp again.
    public func heldWrites(of actor: ActorID, after: UInt64) async throws -> [UInt64: HLC] {
        var held: [UInt64: HLC] = [:]
        var after = after
        while true {
            let request = HTTPRequest(method: "GET", url: "\(base)/v1/writes?actor=\(actor.rawValue)&after=\(after)",
                                      headers: [(name: "Authorization", value: "Bearer \(token)")], idempotent: true)
            let response: HTTPResponse
            switch await send(request) {
            case .success(let answer): response = answer
            case .failure(let error): throw KasvuError(.syncUnreachable, "central server unreachable: \(error)")
            }
            guard response.status == 200 else { throw Self.error(from: response) }
            let page: HeldWritesPage
            do { page = try JSONDecoder().decode(HeldWritesPage.self, from: Data(response.body)) } catch {
                throw KasvuError(.syncUnreachable, "the central server sent an unreadable answer: \(error)")
            }
            for write in page.writes { held[write.counter] = write.hlc }
            guard page.more, let last = page.writes.last?.counter, last > after else { return held }
            after = last
        }
    }

    private func send(_ request: HTTPRequest) async -> Result<HTTPResponse, HTTPClientError> {
        do { return .success(try await client.send(request)) } catch { return .failure(error) }
    }

    static func interpret(_ response: HTTPResponse) throws -> SyncResponse {
        switch response.status {
        case 200:
            do { return try SyncResponse(json: response.body) } catch {
                throw KasvuError(.syncUnreachable, "the central server sent an unreadable sync response: \(error)")
            }
        case 413:
            throw SyncBatchTooLarge()
        default:
            throw error(from: response)
        }
    }

    /// The sync error an HTTP error answer stands for, from its JSON body when it has one.
    static func error(from response: HTTPResponse) -> KasvuError {
        let detail = try? JSONDecoder().decode(SyncErrorBody.self, from: Data(response.body)).error
        if response.status == 401 {
            return KasvuError(.syncUnauthorized, detail?.message ?? "the central server refused the token (HTTP 401)")
        }
        let kind = detail.flatMap { KasvuError.Kind(rawValue: $0.kind) } ?? .syncUnreachable
        return KasvuError(kind, detail?.message ?? "central server answered HTTP \(response.status)")
    }
}
