import Foundation
import KasvuCurl
import KasvuDomain
import KasvuReplica
import KasvuSync
import KasvuTestSupport
import Testing

/// HTTPS end to end with a throw-away CA: the transport verifies the server's certificate.
@Suite("Sync over HTTPS", .serialized)
struct TLSTests {
    @Test func syncOverHTTPSAndAWrongCAIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let certificates = try TestCertificates.make(in: directory.url)
        let central = try CentralProcess(db: directory.path("central.sqlite"),
                                         extraArguments: ["--tls-cert", certificates.server.cert.path, "--tls-key", certificates.server.key.path])
        #expect(central.url.hasPrefix("https://127.0.0.1:"))
        let office = try TestReplica("office", in: directory, central: central)
        _ = try await office.replica.create(.client, fields: companyClient)

        do {
            try await office.sync(cacert: certificates.otherCA.path)
            Issue.record("a certificate from an untrusted CA was accepted")
        } catch let error as KasvuError {
            #expect(error.kind == .syncUnreachable)
            #expect(error.message.lowercased().contains("tls") || error.message.lowercased().contains("certificate"))
        }
        #expect(try await office.replica.info().pendingChanges == 1)

        #expect(try await office.sync(cacert: certificates.ca.path).pushed == 1)
        // The command line too: kasvu sync --cacert.
        _ = try await office.replica.create(.client, fields: companyClient)
        let synced = try KasvuBinary.run(["sync", "--db", office.replica.path, "--cacert", certificates.ca.path])
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try await office.replica.info().pendingChanges == 0)
    }

    @Test func plainHTTPToANonLoopbackHostIsRefusedUnlessAllowed() async throws {
        let transport = try CurlSyncTransport(centralURL: "http://kasvu.example.fi", token: "t.x")
        let request = SyncRequest(header: SyncHeader(schemaVersion: SyncSchema.version, replicaID: "r", actor: ActorID(hex: 1), actorCounter: 0,
                                                     clock: .zero, cursor: 0, pullLimit: 1), push: [])
        do {
            _ = try await transport.exchange(request)
            Issue.record("plain http to a remote host was attempted")
        } catch let error as KasvuError {
            #expect(error.kind == .syncUnreachable && error.message.contains("insecure"))
        }
    }
}
