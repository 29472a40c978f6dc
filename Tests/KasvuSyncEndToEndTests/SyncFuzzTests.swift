import JSONBytes
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

    @Test(arguments: CentralBackend.allCases, seeds)
    func mutatedSyncBodiesGetWellFormedAnswers(_ backend: CentralBackend, seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(backend, in: directory, extraArguments: ["--max-body-bytes", "1000000"])
        let office = try TestReplica("office", in: directory, central: central)
        for index in 0..<3 {
            _ = try await office.replica.create(.client, fields: companyClient.merging(["name": .string("Asiakas \(index)")]) { $1 })
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
                    return try? JSONReader.read(data) { try RecordEnvelope(reading: &$0) }
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
        #expect(!accepted.isEmpty)  // some mutated bodies landed: the comparison above compares something
    }
}

/// Structure-aware fuzzing: valid JSON whose record states and header are forged — dots of
/// other actors, counters at the integer limits, huge vectors, many entries, wrong types.
/// Every answer is 200 or a 4xx with a JSON body; nothing but the pusher's own writes ever
/// lands; and an honest replica syncs as before afterwards.
@Suite("Fuzzing the sync API with forged structure", .serialized)
struct StructuredSyncFuzzTests {
    static let limits: [UInt64] = [0, 1, 2, 1 << 31, (1 << 53) + 1, UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max]

    @Test(arguments: CentralBackend.allCases, SyncFuzzTests.seeds)
    func forgedStatesNeverLandForeignWrites(_ backend: CentralBackend, seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let central = try CentralProcess(backend, in: directory, extraArguments: ["--max-body-bytes", "4000000"])
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let known = try await admin.replica.create(.client, fields: companyClient)
        try await admin.sync()
        let office = try TestReplica("office", in: directory, central: central)
        try await office.sync()
        let stored = try #require(try await office.replica.state(.client, id: known.id))
        var random = SeededGenerator(seed: seed)
        var options = HTTPClientOptions()
        options.maxAttempts = 1
        let client = try CurlHTTPClient(options: options)
        let me = office.replica.actor
        func limit() -> UInt64 { Self.limits.randomElement(using: &random)! }
        func someActor() -> ActorID { [me, admin.replica.actor, ActorID(hex: random.next())].randomElement(using: &random)! }
        for round in 0..<80 {
            let counter = Bool.random(using: &random) ? 1_000 : limit()
            let own = Dot(me, min(counter, UInt64(Int64.max)))
            let hlc = HLC(millis: Replica.systemMillis())
            var base = Bool.random(using: &random) ? stored : RecordState()
            base.write(["name": .string("Forged \(round)"), "municipality": .string("749"), "clientType": .string("company"),
                        "businessId": .string("2077474-0")], dot: own, hlc: hlc)
            var vv = base.vv.counters, fields = base.fields
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<7, using: &random) {
                case 0: vv[someActor()] = limit()
                case 1: for _ in 0..<Int.random(in: 1...3_000, using: &random) { vv[ActorID(hex: random.next())] = 1 }
                case 2: fields["phone", default: []].append(FieldEntry(value: .string("040 123 4567"), dot: Dot(someActor(), limit()), hlc: hlc))
                case 3: fields["lastName"] = (0..<Int.random(in: 2...200, using: &random)).map {
                    FieldEntry(value: .string("X\($0)"), dot: Dot(someActor(), UInt64($0 + 1)), hlc: hlc)
                }
                case 4: fields["deleted"] = [FieldEntry(value: .bool(true), dot: own, hlc: hlc, context: VersionVector([someActor(): limit()]))]
                case 5: fields.removeValue(forKey: fields.keys.sorted().randomElement(using: &random) ?? "")
                default: fields["lastName"] = fields["lastName"].map { $0.map { FieldEntry(value: .int(Int64(bitPattern: limit())), dot: $0.dot, hlc: $0.hlc) } }
                }
            }
            let id = Bool.random(using: &random) ? known.id : RecordID.random()
            var header = try await office.replica.syncHeader(pullLimit: Int(truncatingIfNeeded: limit()), userName: nil)
            header.actorCounter = counter
            header.cursor = Int64(bitPattern: Bool.random(using: &random) ? 0 : limit())
            let body = SyncRequest(header: header, push: [RecordEnvelope(entity: .client, id: id, state: RecordState(vv: VersionVector(vv), fields: fields))]).jsonBytes
            let response = try await client.send(HTTPRequest(
                method: "POST", url: central.url + "/v1/sync",
                headers: [(name: "Authorization", value: "Bearer \(office.token)"), (name: "Content-Type", value: "application/json")], body: body))
            #expect(response.status == 200 || (400..<500).contains(response.status), "HTTP \(response.status)")
            if response.status != 200 {
                #expect((try? JSONDecoder().decode(SyncErrorBody.self, from: Data(response.body))) != nil)
            }
        }
        #expect(try await client.send(HTTPRequest(method: "GET", url: central.url + "/healthz")).status == 200)
        // The central office writes on and syncs; what landed holds only writes their actors made.
        _ = try await admin.replica.update(.client, id: known.id, set: ["lastName": .string("Oy Oikea")])
        let summary = try await admin.sync()
        #expect(summary.rejections.isEmpty)
        let adminWrite = try #require(try await admin.replica.state(.client, id: known.id)?.fields["lastName"]?.first { $0.value == .string("Oy Oikea") })
        #expect(adminWrite.dot.actor == admin.replica.actor)
        for state in try await admin.replica.allStates(.client).map(\.state) {
            for entry in state.fields.values.joined() {
                #expect(entry.dot.actor == me || entry.dot.actor == admin.replica.actor)
                if entry.dot.actor == me { #expect(entry.dot.counter <= UInt64(Int64.max)) }
            }
            #expect(state.vv.counters.count <= 2)
            #expect(state.vv[admin.replica.actor] < 1_000)
        }
    }
}
