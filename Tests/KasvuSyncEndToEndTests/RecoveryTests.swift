import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// A database restored from a backup or copied to a second laptop writes under dots the central
/// store already holds: refused with replica_rewound whatever record the reused dot lands on,
/// the original laptop unaffected, and `kasvu recover` continues without losing local work.
/// `kasvu sync` and `kasvu recover` run as the real binary, as a user would run them.
@Suite("Restored and copied replicas", .serialized)
struct RecoveryTests {
    let directory: TemporaryDirectory
    let central: CentralProcess

    init(_ backend: CentralBackend) async throws {
        directory = try TemporaryDirectory()
        central = try CentralProcess(backend, in: directory)
    }

    static func person(_ n: Int) -> [String: FieldValue] {
        ["hetu": .string(testHetu(n)), "firstName": .string("Aino"), "lastName": .string("Virtanen \(n)"), "municipality": .string("749")]
    }

    /// A file-level copy of a replica (database, write-ahead log, token), as a backup or a cloned
    /// disk, made by another process (`cp`) as it would be. Not with FileManager in this process:
    /// closing its descriptor of the database would drop every POSIX lock this process holds on
    /// the file (SQLite's too), and the next `kasvu` process to close it would take itself for
    /// the last and delete the write-ahead log under this process's open connections.
    func copy(_ replica: Replica, to name: String) throws -> String {
        let target = directory.path(name)
        for suffix in ["", "-wal", ".token"] where FileManager.default.fileExists(atPath: replica.path + suffix) {
            let cp = Process()
            cp.executableURL = URL(fileURLWithPath: "/bin/cp")
            cp.arguments = [replica.path + suffix, target + suffix]
            try cp.run()
            cp.waitUntilExit()
            #expect(cp.terminationStatus == 0)
        }
        return target
    }

    func lastNames(_ path: String) async throws -> Set<String> {
        Set(try await Replica.open(at: path).list(.client, limit: 100).items.compactMap { $0["lastName"].stringValue })
    }

    func centralClients() async throws -> Set<String> {
        let admin = try TestReplica("admin-\(UUID().uuidString.prefix(8).lowercased())", in: directory, central: central, role: "admin")
        try await admin.sync()
        return try await lastNames(admin.replica.path)
    }

    @Test(arguments: CentralBackend.allCases) static func aRestoredReplicaThatWroteIsRefusedThenRecoversEverything(_ backend: CentralBackend) async throws { try await Self(backend).aRestoredReplicaThatWroteIsRefusedThenRecoversEverything() }
    func aRestoredReplicaThatWroteIsRefusedThenRecoversEverything() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: Self.person(1))
        try await office.sync()
        let backup = try copy(office.replica, to: "backup.sqlite")
        _ = try await office.replica.create(.client, fields: Self.person(2))  // write 2 of the actor
        try await office.sync()

        // Restored from the backup, the laptop writes again: a different write 2.
        _ = try await Replica.open(at: backup).create(.client, fields: Self.person(3))
        let refused = try KasvuBinary.run(["sync", "--db", backup])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("replica_rewound") && refused.stderr.contains("kasvu recover"), "\(refused.stderr)")
        #expect(try await centralClients() == ["Virtanen 1", "Virtanen 2"])

        // The laptop that wrote first syncs on, unaffected.
        _ = try await office.replica.create(.client, fields: Self.person(4))
        try await office.sync()

        let recovered = try KasvuBinary.run(["recover", "--db", backup])
        #expect(recovered.status == 0, "\(recovered.stderr)")
        #expect(recovered.stdout.contains("1 records stamped again"))
        let synced = try KasvuBinary.run(["sync", "--db", backup])
        #expect(synced.status == 0, "\(synced.stderr)")
        let everyone: Set = ["Virtanen 1", "Virtanen 2", "Virtanen 3", "Virtanen 4"]
        #expect(try await centralClients() == everyone, "\(synced.stdout)")
        #expect(try await lastNames(backup) == everyone)
        try await office.sync()
        #expect(try await lastNames(office.replica.path) == everyone)
    }

    @Test(arguments: CentralBackend.allCases) static func aCopiedDatabaseIsRefusedAndBothLaptopsKeepTheirWork(_ backend: CentralBackend) async throws { try await Self(backend).aCopiedDatabaseIsRefusedAndBothLaptopsKeepTheirWork() }
    func aCopiedDatabaseIsRefusedAndBothLaptopsKeepTheirWork() async throws {
        let first = try TestReplica("office", in: directory, central: central)
        let shared = try await first.replica.create(.client, fields: Self.person(1)).id
        try await first.sync()
        let second = try copy(first.replica, to: "second-laptop.sqlite")

        // Both laptops write under the same actor: a new client each, and the same phone field.
        _ = try await first.replica.create(.client, fields: Self.person(2))
        _ = try await first.replica.update(.client, id: shared, set: ["phone": .string("040 111 1111")])
        try await first.sync()
        let copy = try Replica.open(at: second)
        _ = try await copy.create(.client, fields: Self.person(3))
        _ = try await copy.update(.client, id: shared, set: ["phone": .string("040 222 2222")])

        #expect(try KasvuBinary.run(["sync", "--db", second]).stderr.contains("replica_rewound"))
        #expect(try KasvuBinary.run(["recover", "--db", second]).status == 0)
        let synced = try KasvuBinary.run(["sync", "--db", second])
        #expect(synced.status == 0, "\(synced.stderr)")
        try await first.sync()

        for path in [first.replica.path, second] {
            let replica = try Replica.open(at: path)
            #expect(try await lastNames(path) == ["Virtanen 1", "Virtanen 2", "Virtanen 3"])
            // Both phones survive as a conflict, on both laptops: nothing typed is dropped.
            let phones = try await replica.get(.client, id: shared).conflicts.first { $0.field == "phone" }?.entries.map(\.value)
            #expect(Set(phones ?? []) == [.string("040 111 1111"), .string("040 222 2222")])
        }
        // The second laptop now writes under its own actor: its next writes sync like anyone's.
        _ = try await Replica.open(at: second).create(.client, fields: Self.person(4))
        #expect(try KasvuBinary.run(["sync", "--db", second]).status == 0)
    }

    /// A backup taken before a sync holds writes the central store acknowledged afterwards. The
    /// restored laptop has no acknowledgement of them; `kasvu recover` asks the store which it
    /// holds (`GET /v1/writes`) and stamps again only the write made after the restore. Stamped
    /// again, the deleted client would come back: its old name as a new write beside the delete.
    @Test(arguments: CentralBackend.allCases) static func aRecoveryKeepsTheWritesTheStoreHolds(_ backend: CentralBackend) async throws { try await Self(backend).aRecoveryKeepsTheWritesTheStoreHolds() }
    func aRecoveryKeepsTheWritesTheStoreHolds() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let colleague = try TestReplica("office-2", in: directory, central: central)
        let erased = try await office.replica.create(.client, fields: Self.person(1)).id
        let backup = try copy(office.replica, to: "backup.sqlite")  // the client not yet pushed
        try await office.sync()
        try await colleague.sync()
        try await colleague.replica.delete(.client, id: erased)
        try await colleague.sync()
        _ = try await office.replica.create(.client, fields: Self.person(2))
        try await office.sync()

        let restored = try Replica.open(at: backup)
        _ = try await restored.create(.client, fields: Self.person(3))  // reuses write 2
        let twin = directory.path("twin.sqlite")
        try await restored.backup(to: twin)
        try FileManager.default.copyItem(atPath: backup + ".token", toPath: twin + ".token")
        #expect(try KasvuBinary.run(["sync", "--db", backup]).stderr.contains("replica_rewound"))
        let recovered = try KasvuBinary.run(["recover", "--db", backup])
        #expect(recovered.status == 0, "\(recovered.stderr)")
        #expect(recovered.stdout.contains("writes up to 1 are known to the central store; 1 records stamped again"), "\(recovered.stdout)")
        #expect(try KasvuBinary.run(["sync", "--db", backup]).status == 0)

        // The deleted client stays deleted and erased, with no conflict: its creation kept its dot.
        let state = try #require(try await restored.state(.client, id: erased))
        #expect(state.isDeleted && state.conflicts.isEmpty)
        #expect(try !databaseFilesContain(backup, testHetu(1)))
        #expect(try await lastNames(backup) == ["Virtanen 2", "Virtanen 3"])
        try await colleague.sync()
        #expect(try await colleague.replica.conflicts().isEmpty)

        // Offline, the same recovery cannot know: it stamps again every write it has no acknowledgement of.
        let offline = try KasvuBinary.run(["recover", "--db", twin, "--offline"])
        #expect(offline.stdout.contains("writes up to 0 are known to the central store; 2 records stamped again"), "\(offline.stdout)")
    }

    /// A client created on a laptop whose database was then copied, before it synced: each
    /// copy may send the creation under another dot (kept, or stamped again by `kasvu recover`).
    /// The store takes it once, whichever way each arrives: no twin values in conflict, no
    /// refusal of the create-only henkilötunnus.
    @Test(arguments: CentralBackend.allCases, [false, true]) static func aWriteTwoCopiesHeldLandsOnce(_ backend: CentralBackend, originalRecoversFirst: Bool) async throws {
        try await Self(backend).aWriteTwoCopiesHeldLandsOnce(originalRecoversFirst: originalRecoversFirst)
    }
    func aWriteTwoCopiesHeldLandsOnce(originalRecoversFirst: Bool) async throws {
        let first = try TestReplica("office", in: directory, central: central)
        let shared = try await first.replica.create(.client, fields: Self.person(1)).id
        let second = try copy(first.replica, to: "second-laptop.sqlite")
        if originalRecoversFirst {
            // Restored and recovered offline: the creation is stamped again, then pushed; the
            // copy, still under the old actor, pushes it under its first dot.
            #expect(try KasvuBinary.run(["recover", "--db", first.replica.path, "--offline"]).status == 0)
            #expect(try KasvuBinary.run(["sync", "--db", first.replica.path]).status == 0)
        } else {
            // Pushed under its first dot; the copy, recovered offline, stamps it again.
            try await first.sync()
            #expect(try KasvuBinary.run(["recover", "--db", second, "--offline"]).status == 0)
        }
        _ = try await Replica.open(at: second).create(.client, fields: Self.person(3))
        let synced = try KasvuBinary.run(["sync", "--db", second])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try KasvuBinary.run(["sync", "--db", first.replica.path]).status == 0)
        for path in [first.replica.path, second] {
            let replica = try Replica.open(at: path)
            #expect(try await replica.syncStatus().rejections.isEmpty)
            #expect(try await replica.get(.client, id: shared).conflicts.isEmpty)
            #expect(try await lastNames(path) == ["Virtanen 1", "Virtanen 3"])
        }
        #expect(try await centralClients() == ["Virtanen 1", "Virtanen 3"])
    }

    /// A restored narrow office pushes again, under its new actor, what its former actor wrote
    /// and the store holds, for a client that has since left its scope: nothing new, so no
    /// refusal (which would tell the case worker a write failed); the client is evicted.
    @Test(arguments: CentralBackend.allCases) static func aRecoveredLaptopRepeatingHeldWritesOutsideItsScopeIsNotRefused(_ backend: CentralBackend) async throws { try await Self(backend).aRecoveredLaptopRepeatingHeldWritesOutsideItsScopeIsNotRefused() }
    func aRecoveredLaptopRepeatingHeldWritesOutsideItsScopeIsNotRefused() async throws {
        let office = try TestReplica("office", in: directory, central: central, scope: ["--municipalities", "749"])
        let admin = try TestReplica("admin", in: directory, central: central, role: "admin")
        let moved = try await office.replica.create(.client, fields: Self.person(1)).id
        let backup = try copy(office.replica, to: "backup.sqlite")  // the client not yet pushed
        try await office.sync()
        try await admin.sync()
        _ = try await admin.replica.update(.client, id: moved, set: ["municipality": .string("402")])
        try await admin.sync()
        _ = try await office.replica.create(.client, fields: Self.person(3))  // write 2 of the actor
        try await office.sync()

        let restored = try Replica.open(at: backup)
        _ = try await restored.create(.client, fields: Self.person(2))  // a different write 2
        #expect(try KasvuBinary.run(["sync", "--db", backup]).stderr.contains("replica_rewound"))
        #expect(try KasvuBinary.run(["recover", "--db", backup]).status == 0)
        let synced = try KasvuBinary.run(["sync", "--db", backup])
        #expect(synced.status == 0, "\(synced.stderr)")
        let reopened = try Replica.open(at: backup)
        #expect(try await reopened.syncStatus().rejections.isEmpty)
        #expect(try await reopened.state(.client, id: moved) == nil)
        #expect(try await lastNames(backup) == ["Virtanen 2", "Virtanen 3"])
        #expect(try await centralClients() == ["Virtanen 1", "Virtanen 2", "Virtanen 3"])
    }

    /// A copy's write under a number the original used for a write it superseded before
    /// pushing (so the store never registered that number), on a record whose vector the
    /// original has since raised: merged, it would vanish into the vector, acknowledged and
    /// lost. It is refused as rewound (by the store, `DotRegistry.checkNotHidden`, and failing
    /// that by the copy's pull guard); recovered, the copy's write lands beside the original's.
    @Test(arguments: CentralBackend.allCases) static func aCopysWriteTheRecordsVectorWouldHideIsRefused(_ backend: CentralBackend) async throws { try await Self(backend).aCopysWriteTheRecordsVectorWouldHideIsRefused() }
    func aCopysWriteTheRecordsVectorWouldHideIsRefused() async throws {
        let first = try TestReplica("office", in: directory, central: central)
        let shared = try await first.replica.create(.client, fields: Self.person(1)).id
        let other = try await first.replica.create(.client, fields: Self.person(2)).id
        try await first.sync()
        let second = directory.path("second-laptop.sqlite")
        try await first.replica.backup(to: second)
        try FileManager.default.copyItem(atPath: first.replica.path + ".token", toPath: second + ".token")
        // Write 3 is superseded by write 4 before any push; write 5 raises the shared record's vector.
        for phone in ["040 111 1111", "040 333 3333"] { _ = try await first.replica.update(.client, id: other, set: ["phone": .string(phone)]) }
        _ = try await first.replica.update(.client, id: shared, set: ["language": .string("sv")])
        try await first.sync()

        let copy = try Replica.open(at: second)
        _ = try await copy.update(.client, id: shared, set: ["status": .string("assessment")])  // write 3 of the copy
        let refused = try KasvuBinary.run(["sync", "--db", second])
        #expect(refused.stderr.contains("replica_rewound"), "\(refused.stderr)")
        #expect(try KasvuBinary.run(["recover", "--db", second]).status == 0)
        #expect(try KasvuBinary.run(["sync", "--db", second]).status == 0)
        try await first.sync()
        let merged = try await first.replica.get(.client, id: shared)
        #expect(merged["status"] == .string("assessment") && merged["language"] == .string("sv"))
    }

    /// Which writes the store holds is told only to the replica they belong to.
    @Test(arguments: CentralBackend.allCases) static func heldWritesAreToldOnlyToTheirReplica(_ backend: CentralBackend) async throws { try await Self(backend).heldWritesAreToldOnlyToTheirReplica() }
    func heldWritesAreToldOnlyToTheirReplica() async throws {
        let office = try TestReplica("office", in: directory, central: central)
        let other = try TestReplica("office-2", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: Self.person(1))
        try await office.sync()
        let own = try CurlSyncTransport(centralURL: central.url, token: office.token)
        let held = try await own.heldWrites(of: office.replica.actor, after: 0)
        #expect(held.keys.sorted() == [1])
        await #expect(throws: KasvuError.self) {
            _ = try await CurlSyncTransport(centralURL: central.url, token: other.token).heldWrites(of: office.replica.actor, after: 0)
        }
        // An actor the store never saw holds nothing yet; a malformed one is a 400.
        #expect(try await own.heldWrites(of: ActorID(rawValue: "00000000000000ff"), after: 0).isEmpty)
        await #expect(throws: KasvuError.self) { _ = try await own.heldWrites(of: ActorID(rawValue: "NOT-HEX"), after: 0) }
    }
}

/// A central server that accepts the connection and never answers: the sync gives up after its
/// timeout with sync_timeout, says what it waited for, and keeps every local write.
@Suite struct SyncTimeoutTests {
    @Test func aServerThatNeverAnswersEndsTheSyncWithSyncTimeout() async throws {
        let directory = try TemporaryDirectory()
        let silent = try SilentListener()
        let db = directory.path("office.sqlite")
        #expect(try KasvuBinary.run(["init", "--db", db, "--replica-id", "office", "--central", silent.url, "--token", "kasvu_x"]).status == 0)
        _ = try await Replica.open(at: db).create(.client, fields: RecoveryTests.person(1))

        let sync = try KasvuBinary.run(["sync", "--db", db, "--timeout", "1"])
        #expect(sync.status != 0)
        #expect(sync.stderr.contains("sync_timeout") && sync.stderr.contains("the central server's answer to round trip 1"), "\(sync.stderr)")
        let status = try await Replica.open(at: db).syncStatus()
        #expect(status.pendingChanges == 1)
        #expect(status.lastError?.contains("sync_timeout") == true)
    }
}
