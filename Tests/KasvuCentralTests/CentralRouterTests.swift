import Foundation
import Hummingbird
import HummingbirdTesting
import KasvuCentral
import KasvuDomain
import KasvuSync
import KasvuTestSupport
import Logging
import Testing

/// The central server's routes and middleware in process, through Hummingbird's router test
/// client (no socket): fast checks of status codes, headers and JSON error bodies. The process
/// tests in KasvuSyncEndToEndTests run the same server over real sockets with libcurl.
@Suite struct CentralRouterTests {
    let directory: TemporaryDirectory
    let store: SQLCentralStore

    init() throws {
        directory = try TemporaryDirectory()
        store = try SQLCentralStore(path: directory.path("central.sqlite"))
    }

    func application() throws -> some ApplicationProtocol {
        try CentralServer.application(store: store, host: "127.0.0.1", port: 0, logger: Logger(label: "test"))
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    static func syncBody(replica: String, actor: UInt64) -> ByteBuffer {
        let request = SyncRequest(header: SyncHeader(schemaVersion: SyncSchema.version, replicaID: replica, actor: ActorID(hex: actor),
                                                     actorCounter: 0, clock: HLC(millis: UInt64(Date().timeIntervalSince1970 * 1000)),
                                                     cursor: 0, pullLimit: 100), push: [])
        return ByteBuffer(bytes: request.jsonBytes)
    }

    /// `{"error": {"code", "kind", "message"}}`, the body of every refusal.
    static func errorKind(_ body: ByteBuffer) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
        return (object?["error"] as? [String: Any])?["kind"] as? String
    }

    @Test func healthIsAnsweredWithoutCredentials() async throws {
        try await application().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func aSyncWithoutAValidTokenIsRefusedWithAJSONBody() async throws {
        try await application().test(.router) { client in
            try await client.execute(uri: "/v1/sync", method: .post, body: Self.syncBody(replica: "nobody", actor: 1)) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.errorKind(response.body) == "sync_unauthorized")
            }
            try await client.execute(uri: "/v1/sync", method: .post, headers: Self.bearer("forged"),
                                     body: Self.syncBody(replica: "nobody", actor: 1)) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func anEmptySyncAnswersTheCursor() async throws {
        let token = try await store.addReplica(id: "office-1", role: .office, scope: .municipalities(["749"]))
        try await application().test(.router) { client in
            try await client.execute(uri: "/v1/sync", method: .post, headers: Self.bearer(token),
                                     body: Self.syncBody(replica: "office-1", actor: 7)) { response in
                #expect(response.status == .ok)
                let answer = try SyncResponse(json: Array(buffer: response.body))
                #expect(answer.cursor == 0 && answer.pull.isEmpty && !answer.more)
            }
        }
    }

    @Test func aBodyThatIsNotJSONIsABadRequestThatChangesNothing() async throws {
        let token = try await store.addReplica(id: "office-1", role: .office, scope: .municipalities(["749"]))
        try await application().test(.router) { client in
            try await client.execute(uri: "/v1/sync", method: .post, headers: Self.bearer(token), body: ByteBuffer(string: "{\"header\":")) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorKind(response.body) == "validation_failed")
            }
        }
        #expect(try await store.statistics().records == 0)
    }

    @Test func anUnsupportedMethodNamesTheAllowedOnes() async throws {
        try await application().test(.router) { client in
            try await client.execute(uri: "/v1/sync", method: .put) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(Self.errorKind(response.body) != nil)
            }
        }
    }

    @Test func metricsAreTheCentralOfficesOnly() async throws {
        let office = try await store.addReplica(id: "office-1", role: .office, scope: .municipalities(["749"]))
        let admin = try await store.addReplica(id: "ely", role: .admin, scope: .all)
        try await application().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer(office)) { response in
                #expect(response.status == .forbidden)
                #expect(Self.errorKind(response.body) == "permission_denied")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer(admin)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("kasvu_syncs_in_progress 0"))
            }
        }
    }
}
