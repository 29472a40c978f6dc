import Dispatch
import Foundation
import GRDB
@testable import KasvuCentral
import KasvuDomain
import KasvuReplica
import KasvuStorage
import KasvuSync
import KasvuTestSupport
import Testing

/// The embedded store answers an erasing sync before it scrubs its file (on 1,000,000 clients
/// the scrub inside the sync made that sync time out), then scrubs: no byte of the erased
/// values stays.
@Suite struct BackgroundScrubTests {
    @Test func theErasingSyncIsAnsweredFirstAndTheScrubFollows() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("central.sqlite")
        let release = DispatchSemaphore(value: 0)
        // Holds every scrub until the test releases it; bounded, so that a sync waiting for the
        // scrub would end, with the scrub done, and fail the checks below instead of hanging.
        let store = try SQLCentralStore(path: path, nowMillis: SQLCentralStore.systemMillis, whilePulling: nil, scrubGate: {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    if release.wait(timeout: .now() + 60) == .success { release.signal() }  // stays open for later scrubs
                    continuation.resume()
                }
            }
        })
        let token = try await store.addReplica(id: "office", role: .office, scope: .municipalities(["749"]))
        let office = try Replica.create(at: directory.path("office.sqlite"), replicaID: "office", role: .office)
        let sync = SyncClient(replica: office, transport: OutcomeWindowTests.DirectTransport(store: store, token: token))
        let client = try await office.create(.client, fields: [
            "hetu": .string(testHetu(4401)), "lastName": .string("Pyyhittava"), "municipality": .string("749"),
        ])
        _ = try await sync.run()
        try await office.delete(.client, id: client.id)
        let erasing = try await sync.run()
        #expect(erasing.rejections.isEmpty)

        let owed = { try await store.file?.read(Scrub.isPending) }
        #expect(try await owed() == true)
        #expect(try databaseFilesContain(path, "Pyyhittava"))
        release.signal()
        await store.backgroundScrub?.idle()
        #expect(try await owed() == false)
        #expect(try !databaseFilesContain(path, "Pyyhittava"))
        #expect(try !databaseFilesContain(path, testHetu(4401)))
        // The merge was committed before the answer: the tombstone is there.
        let text = try await store.file?.read { db in try String.fetchOne(db, sql: "SELECT state FROM record WHERE id = ?", arguments: [client.id]) }
        #expect(try RecordState(json: Array(try #require(text).utf8)).isDeleted)
    }

    /// Erasures that arrive while a scrub runs are scrubbed by one more run, not one each.
    @Test func requestsDuringAScrubShareTheNextOne() async throws {
        let runs = RunCounter()
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let scrub = BackgroundScrub(gate: {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    entered.signal()
                    _ = release.wait(timeout: .now() + 60)
                    continuation.resume()
                }
            }
        }) { await runs.add(); return true }
        await scrub.request()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { _ = entered.wait(timeout: .now() + 60); continuation.resume() }
        }
        for _ in 0..<5 { await scrub.request() }  // while the first scrub is held at its gate
        release.signal()
        release.signal()
        await scrub.idle()
        #expect(await runs.count == 2)
    }

    actor RunCounter {
        private(set) var count = 0
        func add() { count += 1 }
    }
}
