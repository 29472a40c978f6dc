import JSONBytes
import KasvuDomain

// The body of `POST /v1/sync` as the central server reads it. (The replica writes it with
// `SyncRequest.jsonBytes`; this is the one reader.)

/// A ``SyncRequest`` as the server reads it: each pushed record on its own, so that one
/// malformed record is rejected without losing the rest of the batch. Text that is not JSON
/// at all fails the whole request.
public struct CentralSyncRequest: Sendable {
    public let header: SyncHeader
    public let push: [PushedRecord]
    /// ``SyncRequest/waiting``.
    public let waiting: [RecordKey]

    public init(_ request: SyncRequest) {
        header = request.header
        push = request.push.map { PushedRecord(entity: $0.entity.rawValue, id: $0.id, result: .success($0)) }
        waiting = request.waiting
    }

    public init(json: some Collection<UInt8>) throws {
        (header, push, waiting) = try JSONReader.read(json) { reader in
            var header: SyncHeader?, push: [PushedRecord] = [], waiting: [RecordKey] = []
            try reader.members { reader, name in
                switch name {
                case "header": header = try SyncHeader(reading: &reader)
                case "push": try reader.elements { push.append(try PushedRecord(reading: &$0)) }
                case "waiting":
                    var count = 0
                    try reader.elements { reader in
                        count += 1
                        guard count <= SyncLimits.maxWaitingKeys else { throw reader.shape("at most \(SyncLimits.maxWaitingKeys) waiting records per request") }
                        if let key = try Self.waitingKey(&reader) { waiting.append(key) }
                    }
                default: try reader.skipValue()
                }
            }
            guard let header else { throw reader.shape("a sync request needs a header") }
            return (header, push, waiting)
        }
    }

    /// One waiting record; nil for an entity this store does not know (no such record was collected).
    private static func waitingKey(_ reader: inout JSONReader) throws -> RecordKey? {
        var entity: String?, id: String?
        try reader.members { reader, name in
            switch name {
            case "entity": entity = try reader.string()
            case "id": id = try reader.string()
            default: try reader.skipValue()
            }
        }
        guard let entity, let id else { throw reader.shape("a waiting record needs entity and id") }
        return EntityKind(rawValue: entity).map { RecordKey(entity: $0, id: id) }
    }
}

/// One element of a push: a decoded envelope, or why it could not be decoded.
public struct PushedRecord: Sendable {
    public let entity: String
    public let id: String
    public let result: Result<RecordEnvelope, KasvuError>

    public init(entity: String, id: String, result: Result<RecordEnvelope, KasvuError>) {
        self.entity = entity
        self.id = id
        self.result = result
    }

    /// Reads one element; valid JSON of the wrong shape becomes a rejection of this record.
    public init(reading reader: inout JSONReader) throws {
        let start = reader.position
        do {
            let envelope = try RecordEnvelope(reading: &reader)
            self.init(entity: envelope.entity.rawValue, id: envelope.id, result: .success(envelope))
        } catch let error as JSONReadError where !error.isSyntax {
            // Read it again for its syntax and whatever names it carries.
            reader.rewind(to: start)
            var entity = "", id = ""
            if try reader.nextKind() == .object {
                try reader.members { reader, name in
                    switch (name, try reader.nextKind()) {
                    case ("entity", .string): entity = try reader.string()
                    case ("id", .string): id = try reader.string()
                    default: try reader.skipValue()
                    }
                }
            } else {
                try reader.skipValue()
            }
            self.init(entity: entity, id: id, result: .failure(.validationFailed(field: "push", "malformed record: \(error.message)")))
        }
    }
}
