import ArgumentParser
import Foundation
import KasvuCentral
import KasvuDomain

/// The load generator of issue 17: many simulated office replicas in one process, each a real
/// replica file syncing through its own libcurl connection, against one `kasvu central serve`.
@main
struct KasvuLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kasvu-load",
        abstract: "Load one kasvu central serve with many simulated office replicas syncing small changes over real HTTP.",
        discussion: """
            Each replica is a real replica file (synchronous = NORMAL: the generator's own fsyncs would \
            otherwise compete with the server's) with one client of its own, in a municipality of its \
            own scope. At each level the first N replicas each change their client's phone number and \
            sync, every --interval seconds from a random offset, for --duration seconds. A sync is \
            timed from when it was due, so a server that falls behind shows in the latencies instead \
            of slowing the load (no coordinated omission). Prints one Markdown row per level and the \
            first level that breaks the target (p99 round trip over --target-ms, or any failed sync).
            """
    )

    @Option(help: "The kasvu executable that serves (default: kasvu beside this executable).")
    var kasvu: String?

    @Option(help: "Replica counts to run, in order, comma-separated.")
    var replicas: String = "100,250,500,1000"

    @Option(help: "Seconds between one replica's syncs.")
    var interval: Double = 3

    @Option(help: "Seconds each level runs.")
    var duration: Double = 20

    @Option(help: "The p99 round trip a level must stay under, in milliseconds.")
    var targetMs: Double = 50

    @Option(help: "Passed to kasvu central serve (default: its own).")
    var maxConcurrentSyncs: Int?

    @Option(help: "Folder for the central store and the replica files (default: a temporary folder, removed afterwards).")
    var work: String?

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    var levels: [Int] { replicas.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !levels.isEmpty, levels.allSatisfy({ $0 > 0 }) else { throw ValidationError("--replicas must list positive counts") }
        guard interval > 0, duration > 0, targetMs > 0 else { throw ValidationError("--interval, --duration and --target-ms must be positive") }
    }

    func run() async throws {
        let count = levels.max() ?? 0
        let folder = work ?? FileManager.default.temporaryDirectory.appendingPathComponent("kasvu-load-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if work == nil { try? FileManager.default.removeItem(atPath: folder) } }
        raiseOpenFileLimit()

        let database = "\(folder)/central.sqlite"
        note("registering \(count) office replicas")
        let codes = Municipalities.shipped.all.values.filter { !$0.regionCode.isEmpty }.map(\.code).sorted()
        let store = try SQLCentralStore(path: database)
        var tokens: [String] = []
        for index in 0..<count {
            tokens.append(try await store.addReplica(id: "load-\(index)", role: .office, scope: .municipalities([codes[index % codes.count]])))
        }
        await store.close()

        let central = try await CentralProcess.start(kasvu: kasvu ?? Self.sibling("kasvu"), database: database,
                                                     log: "\(folder)/central.log", maxConcurrentSyncs: maxConcurrentSyncs)
        defer { central.stop() }
        note("central server at \(central.url); creating \(count) replicas")
        let recorder = Recorder()
        var fleet: [SimulatedReplica] = []
        for index in 0..<count {
            fleet.append(try await SimulatedReplica.create(index: index, folder: folder, municipality: codes[index % codes.count],
                                                           centralURL: central.url, token: tokens[index], recorder: recorder))
        }
        note("first sync of each replica (pushes its client)")
        try await SimulatedReplica.firstSyncs(fleet)

        var results: [LevelResult] = []
        for level in levels {
            note("\(level) replicas, a change every \(interval) s, for \(duration) s")
            let result = await LevelResult.measure(fleet: Array(fleet.prefix(level)), interval: interval, duration: duration,
                                                   central: central, recorder: recorder)
            note(result.summary)
            results.append(result)
        }
        print(LevelResult.table(results, interval: interval, targetMs: targetMs))
        if let json {
            let data = try JSONSerialization.data(withJSONObject: results.map(\.json), options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json))
        }
    }

    static func sibling(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Each replica holds a few files open (database, WAL, its curl connection): lift the soft
    /// limit to the hard one.
    private func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// Progress on stderr, so that stdout holds only the table.
func note(_ text: String) {
    FileHandle.standardError.write(Data("kasvu-load: \(text)\n".utf8))
}
