import JSONBytes
import KasvuDomain

// The stored and wire form of a record state, compact because it is most of every replica file
// and every sync body:
//
//     {"vv":{"<actor>":7},
//      "w":[["<actor>",7,<hlc>]],
//      "f":{"lastName":[["Virtanen",0]],"deleted":[[true,0,{"<actor>":6}]]}}
//
// `w` lists each write (dot and HLC) once; a field entry is `[value, write index]`, plus the
// delete's context for `deleted`. An entry a recovery stamped again names the write it first
// was in `"o":{"<field>":[[entry's write index, origin's write index]]}` (absent when none; a
// reader that does not know `o` skips it). Most fields of a record come from a few writes, so this is
// about half the size of repeating the dot and HLC in every entry. The replica's generated
// columns read the winning value at `$.f.<field>[0][0]`. Entries in the earlier form
// `[value, actor, counter, hlc, context?]` are still read.
extension RecordState {
    /// Reads a state written by ``write(to:)`` (or an entry list in the earlier form).
    public init(json: some Collection<UInt8>) throws {
        self = try JSONReader.read(json) { try RecordState(reading: &$0) }
    }

    /// The compact JSON text, as stored in the replica and the central store.
    public var jsonText: String {
        var writer = JSONWriter(capacity: 512)
        write(to: &writer)
        return writer.text
    }

    public func write(to writer: inout JSONWriter) {
        var writes: [(dot: Dot, hlc: HLC)] = []
        func writeIndex(_ entry: FieldEntry) -> Int {
            if let index = writes.firstIndex(where: { $0.dot == entry.dot && $0.hlc == entry.hlc }) { return index }
            writes.append((entry.dot, entry.hlc))
            return writes.count - 1
        }
        let names = fields.keys.sorted()
        let indexed = names.map { name in fields[name]!.map { (entry: $0, write: writeIndex($0)) } }
        var origins: [(name: String, pairs: [(entry: Int, origin: Int)])] = []
        for (name, entries) in zip(names, indexed) {
            var pairs: [(entry: Int, origin: Int)] = []
            for item in entries {
                guard let origin = item.entry.origin else { continue }
                pairs.append((item.write, writeIndex(FieldEntry(value: .null, dot: origin.dot, hlc: origin.hlc))))
            }
            if !pairs.isEmpty { origins.append((name, pairs)) }
        }
        writer.object { object in
            object.member("vv") { vv.write(to: &$0) }
            object.member("w") {
                $0.array(writes) { writer, write in
                    writer.punctuation("[")
                    writer.string(write.dot.actor.rawValue)
                    writer.punctuation(",")
                    writer.uint64(write.dot.counter)
                    writer.punctuation(",")
                    writer.uint64(write.hlc.rawValue)
                    writer.punctuation("]")
                }
            }
            object.member("f") { writer in
                writer.object { object in
                    for (name, entries) in zip(names, indexed) {
                        object.member(name) {
                            $0.array(entries) { writer, item in
                                writer.punctuation("[")
                                item.entry.value.write(to: &writer)
                                writer.punctuation(",")
                                writer.int(item.write)
                                if let context = item.entry.context {
                                    writer.punctuation(",")
                                    context.write(to: &writer)
                                }
                                writer.punctuation("]")
                            }
                        }
                    }
                }
            }
            if !origins.isEmpty {
                object.member("o") { writer in
                    writer.object { object in
                        for (name, pairs) in origins {
                            object.member(name) {
                                $0.array(pairs) { writer, pair in
                                    writer.punctuation("[")
                                    writer.int(pair.entry)
                                    writer.punctuation(",")
                                    writer.int(pair.origin)
                                    writer.punctuation("]")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Reads one state value from `reader`.
    public init(reading reader: inout JSONReader) throws {
        var vv: VersionVector?
        var writes: [(dot: Dot, hlc: HLC)]?
        var fieldsStart: JSONReader.Position?
        var fields: [String: [FieldEntry]]?
        var originsStart: JSONReader.Position?
        try reader.members { reader, name in
            switch name {
            case "vv": vv = try VersionVector(reading: &reader)
            case "w": writes = try Self.readWrites(&reader)
            case "o":  // read once "f" is
                originsStart = reader.position
                try reader.skipValue()
            case "f":
                if let writes {
                    fields = try Self.readFields(&reader, writes: writes)
                } else {  // written before "w": read it once "w" is known
                    fieldsStart = reader.position
                    try reader.skipValue()
                }
            default: try reader.skipValue()
            }
        }
        if fields == nil, let fieldsStart {
            var again = reader  // a copy reads the earlier member; the original stays at the end
            again.rewind(to: fieldsStart)
            fields = try Self.readFields(&again, writes: writes ?? [])
        }
        guard let vv, var fields else { throw reader.shape("a record state needs \"vv\" and \"f\"") }
        if let originsStart {
            var again = reader
            again.rewind(to: originsStart)
            try Self.readOrigins(&again, writes: writes ?? [], into: &fields)
        }
        self.init(vv: vv, fields: fields)
    }

    /// Sets each named entry's origin: `{"<field>":[[entry's write, origin's write]]}`.
    private static func readOrigins(_ reader: inout JSONReader, writes: [(dot: Dot, hlc: HLC)], into fields: inout [String: [FieldEntry]]) throws {
        let form = "an origin is [entry's write, origin's write]"
        try reader.members { reader, name in
            try reader.elements { reader in
                guard try reader.beginArray() else { throw reader.shape(form) }
                let entryWrite = try reader.int()
                guard try reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape(form) }
                let originWrite = try reader.int()
                guard try !reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape(form) }
                guard writes.indices.contains(entryWrite), writes.indices.contains(originWrite) else {
                    throw reader.shape("write index in \"o\" is not in \"w\"")
                }
                let write = writes[entryWrite], origin = writes[originWrite]
                guard let index = fields[name]?.firstIndex(where: { $0.dot == write.dot && $0.hlc == write.hlc }), let entry = fields[name]?[index],
                      entry.origin == nil, origin.dot != write.dot else {
                    throw reader.shape("\"o\" names no entry of \(name) under write \(entryWrite), or names one twice")
                }
                fields[name]![index] = FieldEntry(value: entry.value, dot: entry.dot, hlc: entry.hlc, context: entry.context,
                                                  origin: FieldEntry.Write(dot: origin.dot, hlc: origin.hlc))
            }
        }
    }

    private static func readWrites(_ reader: inout JSONReader) throws -> [(dot: Dot, hlc: HLC)] {
        var writes: [(dot: Dot, hlc: HLC)] = []
        try reader.elements { reader in
            guard try reader.beginArray() else { throw reader.shape("a write is [actor, counter, hlc]") }
            let actor = ActorID(rawValue: try reader.string())
            guard try reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape("a write is [actor, counter, hlc]") }
            let counter = try readCounter(&reader)
            guard try reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape("a write is [actor, counter, hlc]") }
            let hlc = HLC(rawValue: try reader.uint64())
            guard try !reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape("a write is [actor, counter, hlc]") }
            writes.append((Dot(actor, counter), hlc))
        }
        return writes
    }

    private static func readCounter(_ reader: inout JSONReader) throws -> UInt64 {
        let counter = try reader.uint64()
        guard counter > 0 else { throw reader.shape("dot counter must be positive") }
        return counter
    }

    private static func readFields(_ reader: inout JSONReader, writes: [(dot: Dot, hlc: HLC)]) throws -> [String: [FieldEntry]] {
        var fields: [String: [FieldEntry]] = [:]
        try reader.members { reader, name in
            var entries: [FieldEntry] = []
            try reader.elements { reader in entries.append(try readEntry(&reader, writes: writes)) }
            fields[name] = entries
        }
        return fields
    }

    private static func readEntry(_ reader: inout JSONReader, writes: [(dot: Dot, hlc: HLC)]) throws -> FieldEntry {
        let form = "a field entry is [value, write, context?]"
        guard try reader.beginArray() else { throw reader.shape(form) }
        let value = try FieldValue(reading: &reader)
        guard try reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape(form) }
        let write: (dot: Dot, hlc: HLC)
        if try reader.nextKind() == .string {  // the earlier form: [value, actor, counter, hlc, context?]
            let actor = ActorID(rawValue: try reader.string())
            guard try reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape(form) }
            let counter = try readCounter(&reader)
            guard try reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape(form) }
            write = (Dot(actor, counter), HLC(rawValue: try reader.uint64()))
        } else {
            let index = try reader.int()
            guard writes.indices.contains(index) else { throw reader.shape("write index \(index) is not in \"w\"") }
            write = writes[index]
        }
        var context: VersionVector?
        if try reader.next(closing: UInt8(ascii: "]")) {
            context = try VersionVector(reading: &reader)
            guard try !reader.next(closing: UInt8(ascii: "]")) else { throw reader.shape(form) }
        }
        return FieldEntry(value: value, dot: write.dot, hlc: write.hlc, context: context)
    }
}

extension VersionVector {
    /// `{"<actor>":counter}`, actors in order.
    public func write(to writer: inout JSONWriter) {
        writer.object { object in
            for (actor, counter) in counters.sorted(by: { $0.key < $1.key }) {
                object.member(actor.rawValue) { $0.uint64(counter) }
            }
        }
    }

    public init(reading reader: inout JSONReader) throws {
        var counters: [ActorID: UInt64] = [:]
        try reader.members { reader, actor in counters[ActorID(rawValue: actor)] = try reader.uint64() }
        self.init(counters)
    }
}

extension FieldValue {
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .int(let value): writer.int64(value)
        case .string(let value): writer.string(value)
        }
    }

    public init(reading reader: inout JSONReader) throws {
        switch try reader.nextKind() {
        case .string: self = .string(try reader.string())
        case .number: self = .int(try reader.int64())
        case .bool: self = .bool(try reader.bool())
        case .null: _ = try reader.null(); self = .null
        case .array, .object: throw reader.shape("a field value is a string, an integer, a boolean or null")
        }
    }
}
