import Foundation
import KasvuSimulator

// kasvu-simulate [--seed N] [--schedules N] [--replicas N] [--steps N]
// Runs deterministic fault-injection schedules; prints one line per failing seed and a summary.
var arguments = [String: UInt64]()
var iterator = CommandLine.arguments.dropFirst().makeIterator()
while let flag = iterator.next() {
    guard flag.hasPrefix("--"), let value = iterator.next().flatMap(UInt64.init) else {
        FileHandle.standardError.write(Data("usage: kasvu-simulate [--seed N] [--schedules N] [--replicas N] [--steps N]\n".utf8))
        exit(2)
    }
    arguments[String(flag.dropFirst(2))] = value
}
let first = arguments["seed"] ?? 1
let schedules = arguments["schedules"] ?? 1
var failures = 0
var totals = Simulation.Report()
for seed in first..<(first + schedules) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kasvu-sim-\(seed)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let report = try await Simulation(seed: seed, replicas: Int(arguments["replicas"] ?? 3), steps: Int(arguments["steps"] ?? 60),
                                      directory: directory).run()
    totals.writes += report.writes
    totals.syncs += report.syncs
    totals.failedSyncs += report.failedSyncs
    totals.droppedRequests += report.droppedRequests
    totals.lostResponses += report.lostResponses
    totals.duplicates += report.duplicates
    totals.replicaCrashes += report.replicaCrashes
    totals.centralRestarts += report.centralRestarts
    totals.conflicts += report.conflicts
    totals.evictions += report.evictions
    totals.forgeries += report.forgeries
    totals.referrals += report.referrals
    totals.hours += report.hours
    totals.violations += report.violations
    if !report.violations.isEmpty {
        failures += 1
        print("seed \(seed) FAILED: \(report.violations.joined(separator: "; ")) (replay: kasvu-simulate --seed \(seed))")
    }
}
print("\(schedules) schedules from seed \(first): \(schedules - UInt64(failures)) passed, \(failures) failed")
print("totals: \(totals)")
exit(failures == 0 ? 0 : 1)
