import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuTestSupport
import Testing

/// A fixed-seed corpus of mutated messages fed to the real `kasvu rpc` in both framings:
/// no crash, no hang, every answer well-formed JSON-RPC, and the database changes only by
/// the writes that were answered with success.
@Suite("Fuzzing kasvu rpc", .serialized)
struct RPCFuzzTests {
    static let seeds: [UInt64] = Array(1...UInt64(ProcessInfo.processInfo.environment["KASVU_FUZZ_SEEDS"].flatMap(Int.init) ?? 4))

    static let valid: [String] = [
        #"{"jsonrpc":"2.0","id":1,"method":"client/create","params":{"hetu":"131052-308U","lastName":"Virtanen","municipality":"749"}}"#,
        #"{"jsonrpc":"2.0","id":2,"method":"client/list","params":{"where":{"municipality":"749"},"limit":10}}"#,
        #"{"jsonrpc":"2.0","id":"x","method":"client/update","params":{"id":"0d9c7c1e-8a4b-4c59-9f43-2f5b8f6f1a2b","set":{"phone":"040"}}}"#,
        #"[{"jsonrpc":"2.0","id":3,"method":"replica/info"},{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":3}}]"#,
        #"{"jsonrpc":"2.0","id":4,"method":"referral/transition","params":{"id":"0d9c7c1e-8a4b-4c59-9f43-2f5b8f6f1a2b","to":"ended"}}"#,
        #"{"jsonrpc":"2.0","id":5,"method":"provider/create","params":{"name":"A","businessId":"2077474-1","pilotArea":"P","cap":-1,"capitationBase":"1e3","hourlyRate":"x"}}"#,
    ]

    @Test(arguments: seeds)
    func mutatedMessagesGetWellFormedAnswers(seed: UInt64) async throws {
        let directory = try TemporaryDirectory()
        let db = directory.path("fuzz.sqlite")
        #expect(try KasvuBinary.run(["init", "--db", db, "--replica-id", "fuzz", "--role", "admin"]).status == 0)
        var mutator = Mutator(seed: seed)
        var stream: [UInt8] = []
        for index in 0..<150 {
            let body = mutator.mutate(Array(Self.valid[index % Self.valid.count].utf8))
            switch index % 3 {
            case 0: stream += body.filter { $0 != UInt8(ascii: "\n") } + [UInt8(ascii: "\n")]
            case 1: stream += Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
            default:  // a hostile header: negative, huge or wrong Content-Length
                let length = [-1, Int.max, body.count + 7, body.count - 3][Int.random(in: 0..<4, using: &mutator.random)]
                stream += Array("Content-Length: \(length)\r\n\r\n".utf8) + body + [UInt8(ascii: "\n")]
            }
        }
        let rpc = try RPCProcess(db: db)
        // Written from another thread: the stream is larger than a pipe's buffer, and the
        // server's answers must be read meanwhile.
        let input = stream
        DispatchQueue.global().async {
            rpc.send(bytes: input)
            rpc.closeInput()
        }
        var answers = 0, created = 0
        while let answer = await rpc.receive() {
            for message in answer.message.arrayValue ?? [answer.message] {
                answers += 1
                #expect(message["jsonrpc"] == "2.0")
                let result = message["result"], error = message["error"]
                #expect((result == nil) != (error == nil), "not a response: \(message.jsonString.prefix(200))")
                if let code = error?["code"]?.intValue { #expect(code < 0 || (1000...2999).contains(code)) }
                if result?["id"] != nil, result?["lastName"] != nil || result?["name"] != nil { created += 1 }
            }
        }
        rpc.process.waitUntilExit()
        #expect(rpc.process.terminationStatus == 0)
        #expect(answers > 0)
        let replica = try Replica.open(at: db)
        var stored = 0
        for kind in EntityKind.allCases { stored += try await replica.allStates(kind).count }
        #expect(stored == created)
    }
}
