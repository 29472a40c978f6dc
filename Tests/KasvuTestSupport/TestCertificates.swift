import Foundation

/// A throw-away CA and a server certificate for 127.0.0.1, made with the `openssl` CLI.
public struct TestCertificates: Sendable {
    public let ca: URL
    /// A second, unrelated CA: trusting only it must make verification fail.
    public let otherCA: URL
    public let server: (cert: URL, key: URL)

    public static func make(in directory: URL) throws -> TestCertificates {
        func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
        // An own config, so the system openssl.cnf cannot add or clash with extensions.
        try """
        [req]
        distinguished_name = dn
        x509_extensions = ca
        prompt = no
        [dn]
        CN = Kasvu Test CA
        [ca]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        """.write(to: file("openssl.cnf"), atomically: true, encoding: .utf8)
        try """
        subjectAltName = IP:127.0.0.1
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth
        """.write(to: file("server.ext"), atomically: true, encoding: .utf8)

        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for name in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-config", "openssl.cnf", "-days", "2"] + key
                + ["-keyout", "\(name).key", "-out", "\(name).pem"], in: directory)
        }
        try openssl(["req", "-new", "-config", "openssl.cnf", "-subj", "/CN=127.0.0.1"] + key
            + ["-keyout", "server.key", "-out", "server.csr"], in: directory)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
                    in: directory)
        return TestCertificates(ca: file("ca.pem"), otherCA: file("other-ca.pem"),
                                server: (file("server.pem"), file("server.key")))
    }

    private static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateFailure(description: "openssl \(arguments.joined(separator: " ")): "
                + String(decoding: message, as: UTF8.self))
        }
    }
}

public struct CertificateFailure: Error, CustomStringConvertible {
    public let description: String
}
