import Foundation
import Synchronization
@_exported import struct KasvuDomain.SplitMix64
import KasvuDomain

/// A fresh directory per test, removed when the value goes away.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kasvu-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The seeded generator of tests: a failing seed replays exactly.
public typealias SeededGenerator = SplitMix64

/// The domain data the tests reproduce (identifier vectors, the worked tariff example, the
/// municipality list): copies of the team's shared data in `Tests/Fixtures/domain`, so that a
/// clone of the repository alone passes its tests. `FixtureCopyTests` compares each copy with
/// the team's original when that folder is beside the repository.
public enum SharedData {
    public static let directory: URL = repositoryRoot.appendingPathComponent("Tests/Fixtures/domain")

    /// Where the team keeps the originals: `shared/domain` beside the repository, or
    /// `KASVU_SHARED_DOMAIN`.
    public static let upstream: URL = {
        if let override = ProcessInfo.processInfo.environment["KASVU_SHARED_DOMAIN"] {
            return URL(fileURLWithPath: override)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared").appendingPathComponent("domain")
    }()

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static func json(_ name: String) -> [String: Any] {
        let url = directory.appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            fatalError("cannot read the domain fixture \(url.path)")
        }
        return object
    }
}

/// A valid henkilötunnus for test person `n` (born in 1980).
public func testHetu(_ n: Int) -> String { PersonalIdentityCode.synthetic(n) }

/// Whether `text` is anywhere in the SQLite file at `path` or its write-ahead log, byte for byte
/// (the check that erased or evicted data is really gone).
public func databaseFilesContain(_ path: String, _ text: String) throws -> Bool {
    try [path, path + "-wal"].contains { file in
        try FileManager.default.fileExists(atPath: file) && Data(contentsOf: URL(fileURLWithPath: file)).range(of: Data(text.utf8)) != nil
    }
}

/// The real `kasvu` executable, built next to the test bundle by `swift build`.
public enum KasvuBinary {
    public static var path: String {
        ProcessInfo.processInfo.environment["KASVU_BIN"]
            ?? Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("kasvu").path
    }

    /// Runs `kasvu ARGS` to completion and returns its status and output; `input` (small: it
    /// must fit a pipe's buffer) is its whole standard input.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try Program.run(path, arguments, environment: environment, input: input)
    }
}

/// Any program, run to completion.
public enum Program {
    /// Runs `executable ARGS` and returns its status and output, both read as they come (a
    /// chatty standard error cannot block it); `input` (small) is its whole standard input.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let stderrData = Mutex(Data())
        let errorRead = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            stderrData.withLock { $0 = data }
            errorRead.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderrData.withLock { $0 }, as: UTF8.self))
    }
}
