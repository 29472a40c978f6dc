import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One `kasvu central serve` child process on a loopback port: the server under load, in a
/// process of its own so that its CPU time is measured apart from the load generator's.
final class CentralProcess {
    let url: String
    private let process: Process

    /// Starts the server on `database` and waits for its `listening on URL` line.
    static func start(kasvu: String, database: String, log: String, maxConcurrentSyncs: Int?) async throws -> CentralProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kasvu)
        process.arguments = ["central", "serve", "--db", database, "--listen", "127.0.0.1:0", "--no-dashboard", "--log-level", "warning"]
            + (maxConcurrentSyncs.map { ["--max-concurrent-syncs", String($0)] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        // The blocking read runs on a dispatch thread, off the cooperative pool.
        let line: String? = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while let chunk = try? output.fileHandleForReading.read(upToCount: 1), let byte = chunk.first, byte != UInt8(ascii: "\n") {
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        guard let line, line.hasPrefix("listening on ") else {
            process.terminate()
            throw LoadError("kasvu central serve did not start (see \(log))")
        }
        return CentralProcess(url: String(line.dropFirst("listening on ".count)), process: process)
    }

    private init(url: String, process: Process) {
        self.url = url
        self.process = process
    }

    /// The server's CPU time so far (user + system), from `/proc/PID/stat`.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGTERM (a graceful shutdown) and the wait for the process to end.
    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// This process's own CPU time (user + system).
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
