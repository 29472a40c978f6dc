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
        }
    }

    public init(reading reader: inout JSONReader) throws {
        var entity: EntityKind?, id: String?, state: RecordState?
        try reader.members { reader, name in
            switch name {
            case "entity":
                let text = try reader.string()
                guard let kind = EntityKind(rawValue: text) else { throw reader.shape("unknown entity \(text)") }
                entity = kind
            case "id": id = try reader.string()
            case "state": state = try RecordState(reading: &reader)
            default: try reader.skipValue()
            }
        }
        guard let entity, let id, let state else { throw reader.shape("a record needs entity, id and state") }
        self.init(entity: entity, id: id, state: state)
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
        }
    }

    public init(reading reader: inout JSONReader) throws {
        var schemaVersion: Int?, replicaID: String?, actor: String?, actorCounter: UInt64?, clock: UInt64?
        var cursor: Int64?, pullLimit: Int?, userName: String?
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
            default: try reader.skipValue()
            }
        }
        guard let schemaVersion, let replicaID, let actor, let actorCounter, let clock, let cursor, let pullLimit else {
            throw reader.shape("the header needs schemaVersion, replicaId, actor, actorCounter, clock, cursor and pullLimit")
        }
        self.init(schemaVersion: schemaVersion, replicaID: replicaID, actor: ActorID(rawValue: actor), actorCounter: actorCounter,
                  clock: HLC(rawValue: clock), cursor: cursor, pullLimit: pullLimit, userName: userName)
    }
}

extension SyncRequest {
    /// The request body.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(capacity: 1024 + push.count * 600)
        writer.object { object in
            object.member("header") { header.write(to: &$0) }
            object.member("push") { $0.array(push) { writer, envelope in envelope.write(to: &writer) } }
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
            object.member("evict") {
                $0.array(evict) { writer, key in
                    writer.object { object in
                        object.member("entity") { $0.string(key.entity.rawValue) }
                        object.member("id") { $0.string(key.id) }
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
        var rejections: [SyncRejection] = [], pull: [RecordEnvelope] = [], evict: [RecordKey] = []
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
            default: try reader.skipValue()
            }
        }
        guard let schemaVersion, let accepted, let cursor, let more, let clock else {
            throw reader.shape("a sync response needs schemaVersion, accepted, cursor, more and clock")
        }
        self.init(schemaVersion: schemaVersion, accepted: accepted, rejections: rejections, pull: pull, cursor: cursor,
                  more: more, clock: HLC(rawValue: clock), evict: evict)
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
    init(reading reader: inout JSONReader) throws {
        var entity: EntityKind?, id: String?
        try reader.members { reader, name in
            switch name {
            case "entity": entity = EntityKind(rawValue: try reader.string())
            case "id": id = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let entity, let id else { throw reader.shape("an eviction needs a known entity and an id") }
        self.init(entity: entity, id: id)
    }
}
