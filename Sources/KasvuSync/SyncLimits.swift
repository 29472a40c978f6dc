import KasvuDomain

/// The bounds the central store puts on what a replica sends, each with the reason for its
/// value. Honest replicas stay far below every one of them; a request or record beyond one is
/// refused before it costs the central store memory or time.
public enum SyncLimits {
    /// Actors in one record's version vector. One actor per replica database that ever wrote
    /// the record (offices, providers, the central office, the central store itself): a
    /// record touched by a thousand laptops is not a case record any more.
    public static let maxVersionVectorActors = 1_000
    /// Entries in one field's register: concurrent writes of one field, one per actor at most.
    public static let maxEntriesPerField = 64
    /// The stored text of one merged record state. The largest honest record (a client with
    /// every field at its maximum length and a few conflicts) is about 20 KB.
    public static let maxRecordStateBytes = 256 << 10
    /// An issued invoice, which only the central office writes: its document lists every line
    /// and input of a provider's month or period (``IssuedInvoice/maxDocumentLength`` characters).
    public static let maxInvoiceStateBytes = 8 << 20

    /// The bound on one merged record state of `kind`.
    public static func maxRecordStateBytes(_ kind: EntityKind) -> Int {
        kind == .invoice ? maxInvoiceStateBytes : maxRecordStateBytes
    }
    /// Records in one push: the replica's batch size (``SyncBatch/maxRecords``).
    public static let maxPushRecords = SyncBatch.maxRecords
    /// Waiting records named in one request (``SyncRequest/waiting``): a replica names more
    /// over several syncs.
    public static let maxWaitingKeys = 1_000
    /// A `userName` for the audit trail.
    public static let maxUserNameLength = 200
    /// Write notes (``WriteNote``) in one push: one per local write of the pushed records, so
    /// ten per record of a full batch. A replica whose records hold more unsent notes sends
    /// them over several round trips; one record's notes beyond it keep the newest.
    public static let maxWriteNotesPerPush = 50_000

    /// Lease ids one header may return: a replica holds at most one lease per provider.
    public static let maxLeasesReturned = 1_000

    /// The `unpushed` count a header may say: a laptop's records number far fewer, and the
    /// count is kept as a 32-bit integer (`kasvu central replicas`).
    public static let maxUnpushed = 1_000_000_000

    /// A replica's `appVersion`, as `kasvu central replicas` lists it.
    public static let maxAppVersionLength = 64

    /// An app version the list of replicas keeps: at most ``maxAppVersionLength`` printable ASCII characters.
    public static func isAcceptableAppVersion(_ version: String) -> Bool {
        version.utf8.count <= maxAppVersionLength && version.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// A user name the audit trail keeps: at most ``maxUserNameLength`` characters, none of
    /// them control characters (a name is printed in logs and tables).
    public static func isAcceptableUserName(_ name: String) -> Bool {
        name.unicodeScalars.count <= maxUserNameLength && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
    /// The stored text of the records in one pull batch: a batch stops growing here (and says
    /// `more`), so one answer stays a few MB however large the records (5,000 honest records
    /// are about 5 MB).
    public static let maxPullBytes = 16 << 20
    /// Concurrent `POST /v1/sync` bodies being read or merged: each may be 32 MiB, and 2 cores
    /// merge no faster with more at once. Beyond it: 503 with `Retry-After`.
    public static let maxConcurrentSyncs = 8
}

/// The size of one sync round trip, in records.
public enum SyncBatch {
    /// Records per push and per pull: large enough that a 100,000-record initial sync takes
    /// 20 round trips, small enough that one batch's body stays a few MB.
    public static let maxRecords = 5_000
}

extension ActorID {
    /// Actor ids are 16 lowercase hexadecimal digits (64 random bits).
    public var isWellFormed: Bool {
        rawValue.utf8.count == 16 && rawValue.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
