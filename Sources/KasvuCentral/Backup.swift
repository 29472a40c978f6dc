import Foundation
import GRDB
import KasvuSQL
import KasvuDomain
import KasvuStorage
import KasvuSync

/// Backing up and restoring the central store (issue 12, item 2).
///
/// A backup is a consistent copy made while the server runs (`VACUUM INTO` reads one snapshot),
/// readable by its owner only. A restored store has lost whatever was merged after its backup,
/// although replicas were told it was acknowledged and cleared their outboxes. So every backup,
/// and every restore, begins a new *incarnation*: a new incarnation id, which every sync answer
/// carries, and a new actor for the central store's own decisions (the old one's decisions made
/// after the backup live on in replicas only; no one may write under it again). A replica that
/// sees the incarnation change re-syncs: it pulls everything, keeps its own writes, lets go of
/// other writers' writes the store no longer has (their writers send them again), and pushes
/// what the store lacks (``KasvuSync/RecordState/rebased(on:own:)``).
///
/// ```swift
/// try await store.backup(to: "/backups/central-2026-11-30.sqlite")      // while serving
/// try SQLCentralStore.restore(from: "/backups/central-2026-11-30.sqlite", to: "central.sqlite")
/// ```
extension SQLCentralStore {
    /// Writes a consistent copy of the store to `path` (a new file, owner-only), as a new incarnation.
    ///
    /// A store on PostgreSQL is written in the same form, an SQLite central store file, from one
    /// snapshot of the database (``StoreCopy``): one kind of backup restores onto either.
    public func backup(to path: String) async throws {
        if let file {
            do { try await Snapshot.write(file, to: path) } catch let error as DatabaseError {
                throw KasvuError(storage: error, in: "central backup")
            }
        } else {
            guard !FileManager.default.fileExists(atPath: path) else { throw KasvuError(.alreadyExists, "\(path) exists; a backup never overwrites") }
            let copy = try SQLCentralStore(path: path)
            guard let target = copy.file else { return }
            do {
                _ = try await read { source in try target.write { db in try StoreCopy.copyTables(from: source, to: SQLiteConnection(db)) } }
            } catch {
                try? FileManager.default.removeItem(atPath: path)
                throw error
            }
        }
        let copy = try SQLCentralStore(path: path, nowMillis: nowMillis)
        try await copy.write { db in try copy.beginIncarnation(db, .backup) }
    }

    /// Puts a backup (a central store file, ``backup(to:)``) in place of everything `store`
    /// holds, in one transaction, as a new incarnation. For a store on PostgreSQL; the servers
    /// on it must be stopped.
    public static func restore(from backup: String, into store: SQLCentralStore) async throws {
        try checkIsBackup(backup)
        // Read from a copy: opening the backup itself as a store would migrate it in place.
        let copy = NSTemporaryDirectory() + "kasvu-restore-\(UInt64.random(in: 0...UInt64.max)).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) } }
        do { try PrivateFile.replace(atPath: copy, with: Array(try Data(contentsOf: URL(fileURLWithPath: backup)))) } catch {
            throw KasvuError(.storageFailed, "cannot read the backup \(backup): \(error)")
        }
        guard let file = try SQLCentralStore(path: copy).file else { return }
        // One transaction: the store is either as it was or the backup under a new incarnation.
        _ = try await store.write { target in
            try StoreCopy.wipe(target)
            let report = try file.read { db in try StoreCopy.copyTables(from: SQLiteConnection(db), to: target) }
            try store.beginIncarnation(target, .restore)
            return report
        }
    }

    /// Refuses anything that is not a central store backup before touching a store (read-only:
    /// opening it as a store would migrate whatever file it is).
    static func checkIsBackup(_ backup: String) throws {
        guard FileManager.default.fileExists(atPath: backup) else { throw KasvuError(.notFound, "no backup at \(backup)") }
        var readOnly = Configuration()
        readOnly.readonly = true
        let isStore = try? DatabaseQueue(path: backup, configuration: readOnly).read { db in
            try db.tableExists("record") && db.tableExists("sequence") && db.tableExists("central_actor")
        }
        guard isStore == true else { throw KasvuError.validationFailed(field: "from", "\(backup) is not a central store backup") }
    }

    /// Puts a backup in place of the store at `path` (the server must be stopped), as a new
    /// incarnation: restoring the same backup twice still tells replicas both times.
    public static func restore(from backup: String, to path: String, nowMillis: @escaping @Sendable () -> UInt64 = SQLCentralStore.systemMillis) async throws {
        try checkIsBackup(backup)
        // The copy is written beside the store and renamed into place: a restore cut short
        // leaves the old store as it was. Its write-ahead log belongs to the old file and goes.
        let copy = path + ".restoring"
        do {
            try PrivateFile.replace(atPath: copy, with: Array(try Data(contentsOf: URL(fileURLWithPath: backup))))
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.removeItem(atPath: path + suffix)
            }
            if rename(copy, path) != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(atPath: copy)
            throw KasvuError(.storageFailed, "cannot put the backup in place of \(path): \(error)")
        }
        try await SQLCentralStore(path: path, nowMillis: nowMillis).beginIncarnation()
    }

    /// A new incarnation id and a new actor for the store's own writes (the old one is retired);
    /// then every provider's undecided referrals are decided again, as the store that made the
    /// backup would have gone on to. ``backup(to:)`` and the restores call it; call it yourself
    /// after putting a store back by other means (`pg_restore`, point-in-time recovery, a copy
    /// of the file), before any server serves from it.
    public func beginIncarnation() async throws {
        try await write { db in try self.beginIncarnation(db, .restore) }
    }

    /// Why an incarnation begins. A backup and a restore note their time, for the leases a
    /// restore lost (``LeaseLedger/Restore``); a copy to another database is a restore from a
    /// backup taken now (a server left running on the old one may acknowledge more).
    enum IncarnationStart { case backup, restore, copy }

    /// ``beginIncarnation()`` inside the caller's write transaction.
    func beginIncarnation(_ db: any SQLConnection, _ start: IncarnationStart) throws {
        switch start {
        case .backup: try LeaseLedger.noteBackup(db, nowMillis: nowMillis())
        case .restore, .copy: try LeaseLedger.noteRestore(db, nowMillis: nowMillis(), copy: start == .copy)
        }
        try db.execute("UPDATE central_state SET value = ? WHERE name = 'incarnation'", [CentralSchema.newIncarnation()])
        if let former = try db.value(String.self, "SELECT actor FROM central_actor") {
            try db.execute("INSERT INTO former_central_actor (actor) VALUES (?) ON CONFLICT DO NOTHING", [former])
            try db.execute("UPDATE central_actor SET actor = ?, counter = 0", [ActorID.random().rawValue])
        }
        try schedule(db, providers: Set(try db.values(String.self, "SELECT id FROM record WHERE entity = 'provider'")))
    }
}
