import Foundation

/// One request as the test server saw it.
struct RecordedRequest: Decodable {
    let method: String
    let path: String
    /// Lowercased names.
    let headers: [String: String]
    /// Base64, so arbitrary bytes survive JSON.
    let body: String
    let clientPort: Int
    /// The server's id of the TCP connection; equal ids mean a reused connection.
    let connection: Int

    var bodyBytes: [UInt8] { Array(Data(base64Encoded: body) ?? Data()) }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

/// The Python server of `testServerScript`, running in its own process for one test.
final class TestServer: Sendable {
    let port: Int
    let scheme: String
    private let process: Process
    private let logFile: URL
    /// Lines the server printed after its port, e.g. `hang`.
    let output: AsyncStream<String>

    /// Starts the server in `directory` and waits until it has printed its port.
    init(in directory: URL, certificate: (cert: URL, key: URL)? = nil) async throws {
        let script = directory.appendingPathComponent("server.py")
        try testServerScript.write(to: script, atomically: true, encoding: .utf8)
        logFile = directory.appendingPathComponent("requests.jsonl")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--log", logFile.path]
            + (certificate.map { ["--cert", $0.cert.path, "--key", $0.key.path] } ?? [])
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: {
            let url = directory.appendingPathComponent("server.stderr")
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
            return url
        }())
        try process.run()
        self.process = process
        scheme = certificate == nil ? "http" : "https"
        output = Self.lines(of: stdout.fileHandleForReading)

        var iterator = output.makeAsyncIterator()
        guard let first = await iterator.next(), first.hasPrefix("port "), let port = Int(first.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let stderr = (try? String(contentsOf: directory.appendingPathComponent("server.stderr"), encoding: .utf8)) ?? ""
            throw TestFailure(description: "test server did not start: \(stderr)")
        }
        self.port = port
    }

    func url(_ pathAndQuery: String) -> String {
        "\(scheme)://127.0.0.1:\(port)\(pathAndQuery)"
    }

    /// Every request received so far, oldest first.
    func requests() throws -> [RecordedRequest] {
        try String(contentsOf: logFile, encoding: .utf8)
            .split(separator: "\n")
            .map { try JSONDecoder().decode(RecordedRequest.self, from: Data($0.utf8)) }
    }

    /// SIGKILL rather than `terminate()`: Foundation starts children with the
    /// parent thread's blocked-signal mask, in which SIGTERM may be blocked.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Lines from a pipe, read on a plain thread so that the blocking reads
    /// never occupy the cooperative pool. Ends at EOF, when the server exits.
    private static func lines(of handle: FileHandle) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let thread = Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[..<newline], as: UTF8.self))
                    pending = Data(pending[pending.index(after: newline)...])
                }
            }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}

/// Runs `body` with a plain-HTTP server started in a fresh temporary directory;
/// server and directory are gone afterwards, whatever `body` does.
func withTestServer<Result>(_ body: (TestServer) async throws -> Result) async throws -> Result {
    try await withTemporaryDirectory { directory in
        let server = try await TestServer(in: directory)
        defer { server.stop() }
        return try await body(server)
    }
}

func withTemporaryDirectory<Result>(_ body: (URL) async throws -> Result) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("kasvu-curl-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}
