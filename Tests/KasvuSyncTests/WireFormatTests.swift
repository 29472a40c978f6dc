import JSONBytes
import Foundation
import KasvuDomain
import KasvuSync
import KasvuTestSupport
import Testing

@Suite("Wire format: record states and sync messages")
struct WireFormatTests {
    static let actor = ActorID(hex: 0xa1)
    static let other = ActorID(hex: 0xb2)

    static var deletedState: RecordState {
        var state = RecordState()
        state.write(["lastName": .string("Virtanen"), "riskGroup": .int(2)], dot: Dot(actor, 1), hlc: HLC(millis: 1000))
        state.write(["deleted": .bool(true)], dot: Dot(actor, 2), hlc: HLC(millis: 2000, logical: 1))
        return state
    }

    @Test("a state is written in the compact form, each write once")
    func compactForm() throws {
        let state = Self.deletedState
        #expect(state.jsonText == """
            {"vv":{"00000000000000a1":2},"w":[["00000000000000a1",2,131072001],["00000000000000a1",1,65536000]],\
            "f":{"deleted":[[true,0,{"00000000000000a1":1}]],"lastName":[["Virtanen",1]],"riskGroup":[[2,1]]}}
            """)
        #expect(try RecordState(json: state.jsonText.utf8) == state)
    }

    @Test("a restamped entry names its origin in \"o\"; a state with an origin survives a round trip")
    func origins() throws {
        let restamped = try #require(Self.deletedState.restamped(former: Self.actor, after: 0, as: (Dot(Self.other, 1), HLC(millis: 3000))))
        #expect(restamped.fields["lastName"]?.first?.origin == FieldEntry.Write(dot: Dot(Self.actor, 1), hlc: HLC(millis: 1000)))
        #expect(restamped.jsonText == """
            {"vv":{"00000000000000b2":1},"w":[["00000000000000b2",1,196608000],["00000000000000a1",2,131072001],["00000000000000a1",1,65536000]],\
            "f":{"deleted":[[true,0,{"00000000000000b2":1}]],"lastName":[["Virtanen",0]],"riskGroup":[[2,0]]},\
            "o":{"deleted":[[0,1]],"lastName":[[0,2]],"riskGroup":[[0,2]]}}
            """)
        #expect(try RecordState(json: restamped.jsonText.utf8) == restamped)
        // Stamped again once more, an entry keeps the write it first was.
        let again = try #require(restamped.restamped(former: Self.other, after: 0, as: (Dot(ActorID(hex: 0xc3), 1), HLC(millis: 4000))))
        #expect(again.fields["lastName"]?.first?.origin == FieldEntry.Write(dot: Dot(Self.actor, 1), hlc: HLC(millis: 1000)))
    }

    @Test("an origin naming no entry, or a write not in \"w\", is refused", arguments: [
        #"{"vv":{},"w":[["00000000000000a1",1,5]],"f":{"lastName":[["V",0]]},"o":{"lastName":[[0,3]]}}"#,
        #"{"vv":{},"w":[["00000000000000a1",1,5],["00000000000000b2",1,5]],"f":{"lastName":[["V",0]]},"o":{"phone":[[0,1]]}}"#,
        #"{"vv":{},"w":[["00000000000000a1",1,5]],"f":{"lastName":[["V",0]]},"o":{"lastName":[[0,0]]}}"#,
    ])
    func badOrigins(text: String) {
        #expect(throws: JSONReadError.self) { try RecordState(json: text.utf8) }
    }

    @Test("states written in the earlier per-entry form are still read")
    func earlierForm() throws {
        let text = """
            {"vv":{"00000000000000a1":2},"f":{"deleted":[[true,"00000000000000a1",2,131072001,{"00000000000000a1":1}]],\
            "lastName":[["Virtanen","00000000000000a1",1,65536000]],"riskGroup":[[2,"00000000000000a1",1,65536000]]}}
            """
        #expect(try RecordState(json: text.utf8) == Self.deletedState)
    }

    @Test("\"f\" before \"w\" and unknown members are read too")
    func memberOrder() throws {
        let text = #"{"f":{"a":[["x",0]]},"future":[1,{"x":null}],"w":[["00000000000000a1",1,5]],"vv":{"00000000000000a1":1}}"#
        let state = try RecordState(json: text.utf8)
        #expect(state.fields["a"]?.first?.dot == Dot(Self.actor, 1))
        #expect(state.fields["a"]?.first?.hlc == HLC(rawValue: 5))
    }

    @Test("random merged states survive a round trip", arguments: Array(UInt64(1)...40))
    func roundTrip(seed: UInt64) throws {
        for state in randomStates(seed: seed) {
            let text = state.jsonText
            #expect(try RecordState(json: text.utf8) == state)
            // Foundation's strict parser agrees that it is JSON.
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil)
        }
    }

    @Test("strings and integers at their edges", arguments: [
        FieldValue.string("quote \" backslash \\ slash / tab \t newline \n nul \u{0} bell \u{7} del \u{7F}"),
        .string("Äänekoski 😀 \u{2028} 日本"), .string(""), .int(.min), .int(.max), .int(0), .int(-1), .bool(false), .null,
    ])
    func valuesRoundTrip(value: FieldValue) throws {
        var state = RecordState()
        state.write(["v": value], dot: Dot(Self.actor, .max), hlc: HLC(rawValue: .max))
        let decoded = try RecordState(json: state.jsonText.utf8)
        #expect(decoded == state)
        #expect(decoded.value("v") == value)
    }

    @Test("escapes are decoded, including surrogate pairs")
    func escapes() throws {
        let text = #"{"vv":{"a":1},"w":[["a",1,1]],"f":{"v":[["\u00e4\ud83d\ude00\n\/\"",0]]}}"#
        #expect(try RecordState(json: text.utf8).value("v") == .string("ä😀\n/\""))
    }

    static let malformed: [(String, Bool)] = [
        (#"{"vv":{},"w":[],"f":{"v":[["\#u{1}",0]]}}"#, true),          // raw control character
        (#"{"vv":{},"w":[],"f":{"v":[["\ud800",0]]}}"#, true),          // lone high surrogate
        (#"{"vv":{},"w":[],"f":{"v":[["\udc00",0]]}}"#, true),          // lone low surrogate
        (#"{"vv":{},"w":[],"f":{"v":[["\x",0]]}}"#, true),              // unknown escape
        (#"{"vv":{"a":01},"w":[],"f":{}}"#, true),                      // leading zero
        (#"{"vv":{},"w":[],"f":{}} x"#, true),                          // trailing text
        (#"{"vv":{},"w":[],"f":{}"#, true),                             // truncated
        (#"{"vv":{},"w":[],"f":{},}"#, true),                           // trailing comma
        (#"{"vv":{"a":1.5},"w":[],"f":{}}"#, false),                    // fraction where an integer belongs
        (#"{"vv":{"a":-1},"w":[],"f":{}}"#, false),                     // negative counter
        (#"{"vv":{"a":18446744073709551616},"w":[],"f":{}}"#, false),   // beyond UInt64
        (#"{"vv":{},"w":[["a",0,1]],"f":{}}"#, false),                  // dot counter 0
        (#"{"vv":{"a":1},"w":[["a",1,1]],"f":{"v":[["x",1]]}}"#, false), // write index not in "w"
        (#"{"vv":{"a":1},"w":[["a",1,1]],"f":{"v":[[[1],0]]}}"#, false), // array as a field value
        (#"{"vv":{"a":1},"w":[["a",1,1]]}"#, false),                    // no "f"
        (#"[1,2]"#, false),                                             // not an object
    ]

    @Test("malformed text is refused, syntax told apart from shape", arguments: malformed)
    func refusals(text: String, isSyntax: Bool) {
        do {
            _ = try RecordState(json: text.utf8)
            Issue.record("accepted \(text)")
        } catch let error as JSONReadError {
            #expect(error.isSyntax == isSyntax, "\(text): \(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("invalid UTF-8 in a string is refused")
    func invalidUTF8() {
        var bytes = Array(#"{"vv":{},"w":[],"f":{"v":[["ab",0]]}}"#.utf8)
        bytes[bytes.firstIndex(of: UInt8(ascii: "b"))!] = 0xC3  // a lead byte with no continuation
        #expect(throws: JSONReadError.self) { try RecordState(json: bytes) }
    }

    @Test("skipping an unknown member stops at a depth limit instead of the stack's")
    func deepNesting() {
        let text = #"{"vv":{},"w":[],"f":{},"x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: JSONReadError.self) { try RecordState(json: text.utf8) }
    }

    @Test("sync requests and responses round-trip; unknown members are skipped")
    func messages() throws {
        let envelope = RecordEnvelope(entity: .client, id: "00000000-0000-4000-8000-000000000001", state: Self.deletedState)
        let noted = RecordEnvelope(entity: .client, id: envelope.id, state: Self.deletedState, writes: [
            WriteNote(counter: 3, hlc: HLC(millis: 4), user: "Liisa \"L\"", changes: [.init(field: "deleted", old: .null, new: .bool(true)), .init(field: "lastName")]),
            WriteNote(counter: 4, hlc: HLC(millis: 5), user: nil, changes: [.init(field: "status", old: .string("a"), new: .null)]),
        ])
        let request = SyncRequest(header: SyncHeader(schemaVersion: SyncSchema.version, replicaID: "office-1", actor: Self.actor,
                                                     actorCounter: 9, clock: HLC(millis: 5), cursor: -1, pullLimit: 10, userName: "Liisa \"L\"", unpushed: 3),
                                  push: [envelope, noted])
        let decoded = try CentralSyncRequest(json: request.jsonBytes)
        #expect(decoded.header == request.header)
        #expect(try decoded.push.map { try $0.result.get() } == request.push)
        let response = SyncResponse(schemaVersion: SyncSchema.version, accepted: 1,
                                    rejections: [SyncRejection(entity: "client", id: "x", error: KasvuError(.permissionDenied, "no"))],
                                    pull: [envelope], cursor: 77, more: true, clock: HLC(millis: 9),
                                    evict: [RecordKey(entity: .referral, id: "y")], incarnation: "0a1b", horizon: 41)
        #expect(try SyncResponse(json: response.jsonBytes) == response)
        var extended = String(decoding: response.jsonBytes, as: UTF8.self)
        extended.removeLast()
        extended += #","newInVersion9":{"a":[true,null,1e5,-0.5,"s"]}}"#
        #expect(try SyncResponse(json: extended.utf8) == response)
    }

    @Test("capacity leases travel in the header and the response; none said is not an empty list")
    func leases() throws {
        let header = SyncHeader(schemaVersion: SyncSchema.version, replicaID: "office-1", actor: Self.actor, actorCounter: 9, clock: HLC(millis: 5),
                                cursor: 3, pullLimit: 10, leasesWanted: true, leasesReturned: ["l-1", "l-2"])
        #expect(try CentralSyncRequest(json: SyncRequest(header: header, push: []).jsonBytes).header == header)
        let leased = SyncResponse(schemaVersion: SyncSchema.version, accepted: 0, rejections: [], pull: [], cursor: 3, more: false,
                                  clock: HLC(millis: 9), leases: [CapacityLease(id: "l-3", providerID: "p", places: 9, expiresAt: 1_800_000_000_000)])
        #expect(try SyncResponse(json: leased.jsonBytes) == leased)
        let silent = SyncResponse(schemaVersion: SyncSchema.version, accepted: 0, rejections: [], pull: [], cursor: 3, more: false, clock: HLC(millis: 9))
        #expect(try SyncResponse(json: silent.jsonBytes).leases == nil)
        var none = leased
        none.leases = []
        #expect(try SyncResponse(json: none.jsonBytes).leases == [])
    }

    @Test("a response of another schema version reads as just that version")
    func otherVersion() throws {
        let response = try SyncResponse(json: #"{"schemaVersion":99,"pull":"something new"}"#.utf8)
        #expect(response.schemaVersion == 99)
    }
}
