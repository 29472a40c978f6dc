import Foundation
import KasvuTestSupport
import Testing
@testable import KasvuCurl

@Suite struct TLSTests {
    @Test func trustsTheConfiguredCA() async throws {
        try await withTLSServer { server, certificates in
            let client = try CurlHTTPClient(options: .init(caCertificatePath: certificates.ca.path))
            for _ in 0..<2 {
                let response = try await client.send(HTTPRequest(url: server.url("/echo"), body: Array("secret".utf8)))
                #expect(response.status == 200)
                #expect(response.body == Array("secret".utf8))
            }
            // The TLS connection is kept alive too.
            #expect(Set(try server.requests().map(\.connection)).count == 1)
        }
    }

    @Test func failsVerificationAgainstAnotherCA() async throws {
        try await withTLSServer { server, certificates in
            let client = try CurlHTTPClient(options: .init(maxAttempts: 3, caCertificatePath: certificates.otherCA.path))
            let error = try await #require(throws: HTTPClientError.self) {
                try await client.send(HTTPRequest(url: server.url("/echo")))
            }
            #expect(error.kind == .tlsFailed)
            #expect(error.attempts == 1) // certificate errors are not retried
            #expect(error.message.contains("127.0.0.1:\(server.port)"))
            #expect(try server.requests().isEmpty)
        }
    }

    @Test func rejectsAnUnreadableCAFile() throws {
        let error = try #require(throws: HTTPClientError.self) {
            try CurlHTTPClient(options: .init(caCertificatePath: "/nonexistent/kasvu-ca.pem"))
        }
        #expect(error.kind == .tlsFailed)
    }

    private func withTLSServer(_ body: (TestServer, TestCertificates) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let certificates = try TestCertificates.make(in: directory)
            let server = try await TestServer(in: directory, certificate: certificates.server)
            defer { server.stop() }
            try await body(server, certificates)
        }
    }
}
