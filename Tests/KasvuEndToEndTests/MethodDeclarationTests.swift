import Foundation
import JSONRPC
import KasvuDomain
import KasvuReplica
import KasvuRPC
import KasvuTestSupport
import Testing

/// The method declarations are the one source of the dispatcher, the role rules and the
/// OpenRPC catalogue: these tests hold the committed catalogue and the served behaviour to them.
@Suite("method declarations and the OpenRPC catalogue")
struct MethodDeclarationTests {
    static var committedCatalogue: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol/openrpc.json")
    }

    @Test func committedCatalogueIsWhatTheCodeGenerates() throws {
        let committed = try String(contentsOf: Self.committedCatalogue, encoding: .utf8)
        let generated = try ReplicaMethods.openRPCText()
        #expect(committed == generated, "Protocol/openrpc.json is stale: run `kasvu openrpc > Protocol/openrpc.json`")
        // Structurally too, so that a failure names the first differing method.
        let document = try JSONValue.parse(Data(committed.utf8), maxDepth: 256)
        for (old, new) in zip(document["methods"]?.arrayValue ?? [], ReplicaMethods.openRPCDocument["methods"]?.arrayValue ?? []) {
            #expect(old == new, "\(new["name"] ?? .null) differs")
        }
    }

    @Test func kasvuOpenrpcPrintsTheCommittedCatalogue() throws {
        let printed = try KasvuBinary.run(["openrpc"])
        #expect(printed.status == 0)
        #expect(printed.stdout == (try String(contentsOf: Self.committedCatalogue, encoding: .utf8)))
    }

    @Test func catalogueDocumentsEveryEntityFieldAndErrorKind() throws {
        let document = ReplicaMethods.openRPCDocument
        let schemas = try #require(document["components"]?["schemas"])
        for kind in EntityKind.allCases {
            let name = kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()
            let properties = try #require(schemas[name]?["properties"]?.objectValue)
            #expect(Set(properties.keys) == Set(kind.schema.fields.map(\.name) + ["id", "deleted", "conflicts"]))
        }
        // Facets come from the field rules themselves.
        #expect(schemas["Client"]?["properties"]?["municipality"]?["pattern"] == #"^\d{3}$"#)
        #expect(schemas["Provider"]?["properties"]?["cap"]?["maximum"] == 1_000_000)
        #expect(schemas["Hours"]?["properties"]?["hours"]?["pattern"] == #"^\d+(\.\d{1,2})?$"#)
        let errors = try #require(document["components"]?["errors"]?.objectValue)
        #expect(Set(errors.keys) == Set(KasvuError.Kind.allCases.map(\.rawValue)))
        #expect(errors["storage_fault"]?["code"] == 1009)
    }

    /// The documented required parameters are the ones the handler insists on: a call without
    /// any parameter names every one of them in its error.
    @Test func documentedRequiredParametersAreRequired() async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("admin.sqlite"), replicaID: "admin-1", role: .admin)
        let dispatcher = ReplicaMethods.dispatcher(for: replica)
        var checked = 0
        for method in ReplicaMethods.openRPCDocument["methods"]?.arrayValue ?? [] {
            let required = (method["params"]?.arrayValue ?? []).filter { $0["required"] == true }.compactMap { $0["name"]?.stringValue }
            guard let name = method["name"]?.stringValue, !required.isEmpty else { continue }
            var named: Set<String> = []
            do {
                _ = try await dispatcher.dispatch(method: name, params: .object([:]), context: RequestContext(id: 1, framing: .newline))
            } catch let error as ResponseError {
                named = Set(error.data?["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [])
            } catch let error as KasvuError {
                named = Set(error.fieldErrors.map(\.field))
            }
            #expect(named.isSuperset(of: required), "\(name): documented required \(required), refused \(named.sorted())")
            checked += 1
        }
        #expect(checked > 20)
    }

    /// Named here, not derived from the declarations, so that a wrong declaration fails.
    @Test(arguments: [
        (ReplicaRole.provider, "client/create", false), (.provider, "client/update", false), (.provider, "client/delete", false),
        (.provider, "client/profile", false), (.provider, "referral/create", false), (.provider, "referral/transition", false),
        (.provider, "provider/create", false), (.provider, "invoice/compute", false), (.provider, "report/caseload", false),
        (.provider, "contact/record", true), (.provider, "hours/report", true), (.provider, "event/record", true),
        (.provider, "client/get", true), (.provider, "referral/list", true), (.provider, "sync/status", true), (.provider, "conflict/resolve", true),
        (.office, "client/create", true), (.office, "referral/create", true), (.office, "client/confirmRiskGroup", true),
        (.office, "provider/create", false), (.office, "provider/update", false), (.office, "invoice/compute", false), (.office, "invoice/issue", false), (.office, "invoice/get", false),
        (.provider, "invoice/issue", false), (.provider, "invoice/list", false), (.admin, "invoice/issue", true), (.admin, "invoice/list", true),
        (.office, "audit/sample", false), (.office, "audit/record", false), (.office, "report/outcomes", false), (.office, "audit/trail", false),
        (.admin, "provider/create", true), (.admin, "audit/trail", true), (.admin, "report/caseload", true),
    ])
    func rolesMayCallWhatTheirWorkNeeds(role: ReplicaRole, method: String, allowed: Bool) async throws {
        let directory = try TemporaryDirectory()
        let replica = try Replica.create(at: directory.path("r.sqlite"), replicaID: "r-1", role: role)
        let dispatcher = ReplicaMethods.dispatcher(for: replica)
        var refused = false
        do {
            _ = try await dispatcher.dispatch(method: method, params: .object([:]), context: RequestContext(id: 1, framing: .newline))
        } catch let error as KasvuError {
            refused = error.kind == .permissionDenied
        } catch {}
        #expect(refused == !allowed)
        #expect(ReplicaMethods.declarations.first { $0.name == method }?.roles.contains(role) == allowed)
    }
}
