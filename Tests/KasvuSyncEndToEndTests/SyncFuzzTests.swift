import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// A fixed-seed corpus of mutated `POST /v1/sync` bodies against the real central server:
/// every answer is 200 or a 4xx with a JSON error body, the server stays up, and the store
/// holds exactly the records it reported as accepted.
@Suite("Fuzzing the sync API", .serialized)
struct SyncFuzzTests {
    static let seeds: [UInt64] = Array(1...UInt64(ProcessInfo.processInfo.environment["KASVU_FUZZ_SEEDS"].flatMap(Int.init) ?? 3))

    @Test(arguments: seeds)
    func mutatedSyncBodiesGetWellFormedAnswers(seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(db: directory.path("central.sqlite"), extraArguments: ["--max-body-bytes", "1000000"])
        let office = try TestReplica("office", in: directory, central: central)
        for index in 0..<3 {
            _ = try await office.replica.create(.client, fields: companyClient.merging(["lastName": .string("Asiakas \(index)")]) { $1 })
        }
        let header = try await office.replica.syncHeader(pullLimit: 10, userName: nil)
        let valid = SyncRequest(header: header, push: try await office.replica.pendingPush(limit: 10).map(\.envelope)).jsonBytes
        var options = HTTPClientOptions()
        options.maxAttempts = 1
        let client = try CurlHTTPClient(options: options)
        var mutator = Mutator(seed: seed)
        var accepted: Set<String> = []
        for _ in 0..<60 {
            let body = mutator.mutate(valid)
            let response = try await client.send(HTTPRequest(
                method: "POST", url: central.url + "/v1/sync",
                headers: [(name: "Authorization", value: "Bearer \(office.token)"), (name: "Content-Type", value: "application/json")],
                body: body))
            #expect(response.status == 200 || (400..<500).contains(response.status), "HTTP \(response.status)")
            #expect(response.header("content-type") == "application/json")
            if response.status == 200 {
                let answer = try SyncResponse(json: response.body)
                // Decode each pushed record on its own, as the server does.
                let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
                let pushed = (object?["push"] as? [Any] ?? []).compactMap { element -> RecordEnvelope? in
                    guard let data = try? JSONSerialization.data(withJSONObject: element) else { return nil }
                    return try? WireReader.read(data) { try RecordEnvelope(reading: &$0) }
                }
                let rejected = Set(answer.rejections.map(\.id))
                #expect(answer.accepted == pushed.filter { !rejected.contains($0.id) }.count)
                for record in pushed where !rejected.contains(record.id) { accepted.insert(record.id) }
            } else {
                #expect((try? JSONDecoder().decode(SyncErrorBody.self, from: Data(response.body))) != nil)
            }
        }
        let health = try await client.send(HTTPRequest(method: "GET", url: central.url + "/healthz"))
        #expect(health.status == 200)
        // Whatever landed is exactly what was accepted: ask as an admin replica.
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        try await admin.sync()
        var stored: Set<String> = []
        for kind in EntityKind.allCases { stored.formUnion(try await admin.replica.allStates(kind).map(\.id)) }
        #expect(accepted.isSubset(of: stored))
        #expect(stored.isSubset(of: accepted))
    }
}
