import JSONRPC
import Synchronization
import Testing

/// Group commit (`commitBarrier`): no answer is written before a barrier that ran after its
/// request's handler, and a failed barrier turns the held answers into errors.
@Suite("Server: group commit", .timeLimit(.minutes(5)))
struct ServerGroupCommitTests {
    /// Counts handled requests; each answer is the count when it ran.
    final class Counter: Sendable {
        let handled = Mutex(0)
        func next() -> Int { handled.withLock { $0 += 1; return $0 } }
        var value: Int { handled.withLock { $0 } }
    }

    static func counting(_ counter: Counter) -> Dispatcher {
        var dispatcher = Dispatcher()
        dispatcher.register("count") { _, _ in .int(Int64(counter.next())) }
        return dispatcher
    }

    @Test("every answer follows a barrier that ran after its handler, in the same output")
    func answersWaitForTheirBarrier() async throws {
        let counter = Counter()
        let barriers = Mutex(0)
        let harness = ServerHarness(dispatcher: Self.counting(counter), commitBarrier: { output in
            barriers.withLock { $0 += 1 }
            // Written straight to the output: it lands before any answer the server still holds.
            writeAll(output, MessageReader.encode(notification("barrier", ["handled": .int(Int64(counter.value))]).bytes, framing: .newline))
        })
        let count = 40
        harness.sendRaw((1...count).map { request(.int(Int64($0)), "count") + "\n" }.joined())
        var covered = 0, answered: [Int64] = []
        while answered.count < count, let message = await harness.nextMessage()?.value {
            if message["method"] == "barrier" {
                covered = Int(message["params"]?["handled"]?.intValue ?? 0)
            } else {
                let handledAs = try #require(message["result"]?.intValue)
                #expect(handledAs <= covered, "answer \(handledAs) was written before a barrier covered it (covered: \(covered))")
                answered.append(handledAs)
            }
        }
        #expect(answered == (1...Int64(count)).map { $0 })
        #expect(await harness.finish().isEmpty)
        // At most one barrier per request, at least one per group of the most the server holds.
        #expect((1...count).contains(barriers.withLock { $0 }))
    }

    @Test("a failed barrier answers the held requests with an error, and nothing more runs")
    func aFailedBarrierAnswersWithErrors() async {
        struct DiskFull: Error {}
        let counter = Counter()
        let harness = ServerHarness(dispatcher: Self.counting(counter), errorMapper: { _ in .internalError("not durable") },
                                    commitBarrier: { _ in throw DiskFull() })
        harness.send(request(1, "count"))
        let single = await harness.nextMessage()?.value
        #expect(single?["id"] == 1 && single?["error"]?["message"] == "not durable" && single?["result"] == nil)
        harness.send("[" + request(2, "count") + "," + request(3, "count") + "]")
        let batch = await harness.nextMessage()?.value.arrayValue ?? []
        #expect(batch.map { $0["id"] } == [2, 3])
        #expect(batch.allSatisfy { $0["error"]?["message"] == "not durable" })
        _ = await harness.finish()
        #expect(counter.value == 1)  // the batch after the failure did not run
    }
}
