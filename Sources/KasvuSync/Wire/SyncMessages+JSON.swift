import JSONBytes
import KasvuDomain

// The JSON bodies of `POST /v1/sync` (Protocol/sync-http.openapi.yaml), read and written by
// hand: they carry thousands of record states per round trip. Unknown members are skipped, so
// a newer peer may add some; missing required members are errors.

extension RecordEnvelope {
    public func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("entity") { $0.string(entity.rawValue) }
            object.member("id") { $0.string(id) }
            object.member("state") { state.write(to: &$0) }
            if !writes.isEmpty { object.member("writes") { $0.array(writes) { writer, note in note.write(to: &writer) } } }
        }
    }

    public init(reading reader: inout JSONReader) throws {
        var entity: EntityKind?, id: String?, state: RecordState?, writes: [WriteNote] = []
        try reader.members { reader, name in
            switch name {
            case "entity":
                let text = try reader.string()
                guard let kind = EntityKind(rawValue: text) else { throw reader.shape("unknown entity \(text)") }
                entity = kind
            case "id": id = try reader.string()
            case "state": state = try RecordState(reading: &reader)
            case "writes": try reader.elements { writes.append(try WriteNote(reading: &$0)) }
            default: try reader.skipValue()
            }
        }
        guard let entity, let id, let state else { throw reader.shape("a record needs entity, id and state") }
        self.init(entity: entity, id: id, state: state, writes: writes)
    }
}

extension WriteNote {
    /// `{"counter":12,"hlc":…,"user":"Liisa","changes":[{"field":"state","old":"pending","new":"cancelled"}]}`
    public func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("counter") { $0.uint64(counter) }
            object.member("hlc") { $0.uint64(hlc.rawValue) }
            if let user { object.member("user") { $0.string(user) } }
            object.member("changes") { Self.write(changes, to: &$0) }
        }
    }

    public init(reading reader: inout JSONReader) throws {
        var counter: UInt64?, hlc: UInt64?, user: String?, changes: [Change]?
        try reader.members { reader, name in
            switch name {
            case "counter": counter = try reader.uint64()
            case "hlc": hlc = try reader.uint64()
            case "user": user = try reader.null() ? nil : try reader.string()
            case "changes": changes = try Self.readChanges(&reader)
            default: try reader.skipValue()
            }
        }
        guard let counter, let hlc, let changes else { throw reader.shape("a write note needs counter, hlc and changes") }
        self.init(counter: counter, hlc: HLC(rawValue: hlc), user: user, changes: changes)
    }

    /// The changes as a JSON array (also how a replica keeps them until they are pushed).
    public static func changesText(_ changes: [Change]) -> String {
        var writer = JSONWriter(capacity: 128)
        write(changes, to: &writer)
        return writer.text
    }

    public static func changes(json: some Collection<UInt8>) throws -> [Change] {
        try JSONReader.read(json) { try readChanges(&$0) }
    }

    private static func write(_ changes: [Change], to writer: inout JSONWriter) {
        writer.array(changes) { writer, change in
            writer.object { object in
                object.member("field") { $0.string(change.field) }
                if let old = change.old { object.member("old") { old.write(to: &$0) } }
                if let new = change.new { object.member("new") { new.write(to: &$0) } }
            }
        }
    }

    private static func readChanges(_ reader: inout JSONReader) throws -> [Change] {
        var changes: [Change] = []
        try reader.elements { reader in
            var field: String?, old: FieldValue?, new: FieldValue?
            try reader.members { reader, name in
                switch name {
                case "field": field = try reader.string()
                case "old": old = try FieldValue(reading: &reader)
                case "new": new = try FieldValue(reading: &reader)
                default: try reader.skipValue()
                }
            }
            guard let field else { throw reader.shape("a change needs a field") }
            changes.append(Change(field: field, old: old, new: new))
        }
        return changes
    }
}

extension SyncHeader {
    public func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("schemaVersion") { $0.int(schemaVersion) }
            object.member("replicaId") { $0.string(replicaID) }
            object.member("actor") { $0.string(actor.rawValue) }
            object.member("actorCounter") { $0.uint64(actorCounter) }
            object.member("clock") { $0.uint64(clock.rawValue) }
            object.member("cursor") { $0.int64(cursor) }
            object.member("pullLimit") { $0.int(pullLimit) }
            if let userName { object.member("userName") { $0.string(userName) } }
            if let unpushed { object.member("unpushed") { $0.int(unpushed) } }
            if let incarnation { object.member("incarnation") { $0.string(incarnation) } }
            if let appVersion { object.member("appVersion") { $0.string(appVersion) } }
            if leasesWanted { object.member("leasesWanted") { $0.bool(true) } }
            if !leasesReturned.isEmpty { object.member("leasesReturned") { $0.array(leasesReturned) { writer, id in writer.string(id) } } }
        }
    }

    public init(reading reader: inout JSONReader) throws {
        var schemaVersion: Int?, replicaID: String?, actor: String?, actorCounter: UInt64?, clock: UInt64?
        var cursor: Int64?, pullLimit: Int?, userName: String?, unpushed: Int?, incarnation: String?, appVersion: String?
        var leasesWanted = false, leasesReturned: [String] = []
        try reader.members { reader, name in
            switch name {
            case "schemaVersion": schemaVersion = try reader.int()
            case "replicaId": replicaID = try reader.string()
            case "actor": actor = try reader.string()
            case "actorCounter": actorCounter = try reader.uint64()
            case "clock": clock = try reader.uint64()
            case "cursor": cursor = try reader.int64()
            case "pullLimit": pullLimit = try reader.int()
            case "userName": userName = try reader.null() ? nil : try reader.string()
            case "unpushed": unpushed = try reader.int()
            case "incarnation": incarnation = try reader.null() ? nil : try reader.string()
            case "appVersion": appVersion = try reader.null() ? nil : try reader.string()
            case "leasesWanted": leasesWanted = try reader.bool()
            case "leasesReturned": try reader.elements { leasesReturned.append(try $0.string()) }
            default: try reader.skipValue()
            }
        }
        guard let schemaVersion, let replicaID, let actor, let actorCounter, let clock, let cursor, let pullLimit else {
            throw reader.shape("the header needs schemaVersion, replicaId, actor, actorCounter, clock, cursor and pullLimit")
        }
        self.init(schemaVersion: schemaVersion, replicaID: replicaID, actor: ActorID(rawValue: actor), actorCounter: actorCounter,
                  clock: HLC(rawValue: clock), cursor: cursor, pullLimit: pullLimit, userName: userName, unpushed: unpushed,
                  incarnation: incarnation, appVersion: appVersion, leasesWanted: leasesWanted, leasesReturned: leasesReturned)
    }
}

extension SyncRequest {
    /// The request body.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(capacity: 1024 + push.count * 600)
        writer.object { object in
            object.member("header") { header.write(to: &$0) }
            object.member("push") { $0.array(push) { writer, envelope in envelope.write(to: &writer) } }
            if !waiting.isEmpty { object.member("waiting") { $0.array(waiting) { writer, key in key.write(to: &writer) } } }
        }
        return writer.bytes
    }
}

extension SyncResponse {
    /// The response body.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(capacity: 1024 + pull.count * 600)
        writer.object { object in
            object.member("schemaVersion") { $0.int(schemaVersion) }
            object.member("accepted") { $0.int(accepted) }
            object.member("rejections") {
                $0.array(rejections) { writer, rejection in
                    writer.object { object in
                        object.member("entity") { $0.string(rejection.entity) }
                        object.member("id") { $0.string(rejection.id) }
                        object.member("code") { $0.int(rejection.code) }
                        object.member("kind") { $0.string(rejection.kind) }
                        object.member("message") { $0.string(rejection.message) }
                    }
                }
            }
            object.member("pull") { $0.array(pull) { writer, envelope in envelope.write(to: &writer) } }
            object.member("cursor") { $0.int64(cursor) }
            object.member("more") { $0.bool(more) }
            object.member("clock") { $0.uint64(clock.rawValue) }
            object.member("evict") { $0.array(evict) { writer, key in key.write(to: &writer) } }
            if let incarnation { object.member("incarnation") { $0.string(incarnation) } }
            if horizon > 0 { object.member("horizon") { $0.int64(horizon) } }
            if let leases { object.member("leases") { $0.array(leases) { writer, lease in lease.write(to: &writer) } } }
            if let reservedPlaces {
                object.member("reservedPlaces") { writer in
                    writer.object { object in
                        for (provider, places) in reservedPlaces.sorted(by: { $0.key < $1.key }) { object.member(provider) { $0.int(places) } }
                    }
                }
            }
        }
        return writer.bytes
    }

    /// Reads a response body. A response of another schema version may differ in anything but
    /// `schemaVersion`: it reads as that version alone, for the caller to report the mismatch.
    public init(json: some Collection<UInt8>) throws {
        do {
            self = try JSONReader.read(json) { try SyncResponse(reading: &$0) }
        } catch let error as JSONReadError where !error.isSyntax {
            let version = try JSONReader.read(json) { reader in
                var version: Int?
                try reader.members { reader, name in
                    if name == "schemaVersion", try reader.nextKind() == .number { version = try reader.int() } else { try reader.skipValue() }
                }
                return version
            }
            guard let version, version != SyncSchema.version else { throw error }
            self.init(schemaVersion: version, accepted: 0, rejections: [], pull: [], cursor: 0, more: false, clock: .zero)
        }
    }

    private init(reading reader: inout JSONReader) throws {
        var schemaVersion: Int?, accepted: Int?, cursor: Int64?, more: Bool?, clock: UInt64?
        var rejections: [SyncRejection] = [], pull: [RecordEnvelope] = [], evict: [RecordKey] = [], incarnation: String?, horizon: Int64 = 0
        var leases: [CapacityLease]?, reservedPlaces: [String: Int]?
        try reader.members { reader, name in
            switch name {
            case "schemaVersion": schemaVersion = try reader.int()
            case "accepted": accepted = try reader.int()
            case "rejections": try reader.elements { rejections.append(try SyncRejection(reading: &$0)) }
            case "pull": try reader.elements { pull.append(try RecordEnvelope(reading: &$0)) }
            case "cursor": cursor = try reader.int64()
            case "more": more = try reader.bool()
            case "clock": clock = try reader.uint64()
            case "evict": try reader.elements { evict.append(try RecordKey(reading: &$0)) }
            case "incarnation": incarnation = try reader.string()
            case "horizon": horizon = try reader.int64()
            case "leases":
                var read: [CapacityLease] = []
                try reader.elements { read.append(try CapacityLease(reading: &$0)) }
                leases = read
            case "reservedPlaces":
                var read: [String: Int] = [:]
                try reader.members { reader, provider in read[provider] = try reader.int() }
                reservedPlaces = read
            default: try reader.skipValue()
            }
        }
        guard let schemaVersion, let accepted, let cursor, let more, let clock else {
            throw reader.shape("a sync response needs schemaVersion, accepted, cursor, more and clock")
        }
        self.init(schemaVersion: schemaVersion, accepted: accepted, rejections: rejections, pull: pull, cursor: cursor,
                  more: more, clock: HLC(rawValue: clock), evict: evict, incarnation: incarnation, horizon: horizon, leases: leases,
                  reservedPlaces: reservedPlaces)
    }
}

extension CapacityLease {
    func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("id") { $0.string(id) }
            object.member("providerId") { $0.string(providerID) }
            object.member("places") { $0.int(places) }
            object.member("expiresAt") { $0.uint64(expiresAt) }
        }
    }

    init(reading reader: inout JSONReader) throws {
        var id: String?, provider: String?, places: Int?, expiresAt: UInt64?
        try reader.members { reader, name in
            switch name {
            case "id": id = try reader.string()
            case "providerId": provider = try reader.string()
            case "places": places = try reader.int()
            case "expiresAt": expiresAt = try reader.uint64()
            default: try reader.skipValue()
            }
        }
        guard let id, let provider, let places, let expiresAt else { throw reader.shape("a lease needs id, providerId, places and expiresAt") }
        self.init(id: id, providerID: provider, places: places, expiresAt: expiresAt)
    }
}

extension SyncRejection {
    init(reading reader: inout JSONReader) throws {
        var entity: String?, id: String?, code: Int?, kind: String?, message: String?
        try reader.members { reader, name in
            switch name {
            case "entity": entity = try reader.string()
            case "id": id = try reader.string()
            case "code": code = try reader.int()
            case "kind": kind = try reader.string()
            case "message": message = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let entity, let id, let code, let kind, let message else {
            throw reader.shape("a rejection needs entity, id, code, kind and message")
        }
        self.init(entity: entity, id: id, code: code, kind: kind, message: message)
    }
}

extension RecordKey {
    func write(to writer: inout JSONWriter) {
        writer.object { object in
            object.member("entity") { $0.string(entity.rawValue) }
            object.member("id") { $0.string(id) }
        }
    }

    init(reading reader: inout JSONReader) throws {
        var entity: EntityKind?, id: String?
        try reader.members { reader, name in
            switch name {
            case "entity": entity = EntityKind(rawValue: try reader.string())
            case "id": id = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let entity, let id else { throw reader.shape("a record key needs a known entity and an id") }
        self.init(entity: entity, id: id)
    }
}
