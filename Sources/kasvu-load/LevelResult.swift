import Foundation
import KasvuDomain

/// One level of the load: N replicas syncing for a while, and what the server did meanwhile.
struct LevelResult {
    let replicas: Int
    let seconds: Double
    let syncs: Int
    let pulled: Int
    let failures: [String: Int]
    /// One HTTP round trip as the replica sees it (libcurl's retries of a 503 included).
    let roundTripMs: [Double]
    /// A whole sync, from when it was due to when its answer was applied.
    let syncMs: [Double]
    /// CPU time per wall second (1.0 = one core busy).
    let serverCores: Double
    let generatorCores: Double

    static func measure(fleet: [SimulatedReplica], interval: Double, duration: Double, central: CentralProcess,
                        recorder: Recorder) async -> LevelResult {
        _ = recorder.take()
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(100)
        let end = start + .seconds(duration)
        let (serverBefore, ownBefore, measuredFrom) = (central.cpuSeconds(), ownCPUSeconds(), clock.now)
        await withTaskGroup(of: Void.self) { group in
            for member in fleet {
                let offset = Double.random(in: 0..<interval)
                group.addTask {
                    var round = 0
                    while case let due = start + .seconds(offset + Double(round) * interval), due < end {
                        round += 1
                        // A replica behind its schedule syncs at once; its lateness counts in its latency.
                        try? await Task.sleep(until: due, clock: clock)
                        do {
                            let summary = try await member.changeAndSync(round)
                            recorder.synced(clock.now - due, pulled: summary.pulled)
                        } catch let error as KasvuError {
                            recorder.failed(error.kind.rawValue)
                        } catch {
                            recorder.failed("other")
                        }
                    }
                }
            }
        }
        let finished = clock.now
        func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
        // The syncs were due within `duration`; a server that fell behind stretches it.
        let elapsed = max(duration, seconds(finished - start))
        let measured = seconds(finished - measuredFrom)
        let totals = recorder.take()
        func ms(_ durations: [Duration]) -> [Double] { durations.map { seconds($0) * 1000 }.sorted() }
        return LevelResult(replicas: fleet.count, seconds: elapsed, syncs: totals.syncs.count, pulled: totals.pulled,
                           failures: totals.failures, roundTripMs: ms(totals.roundTrips), syncMs: ms(totals.syncs),
                           serverCores: (central.cpuSeconds() - serverBefore) / measured,
                           generatorCores: (ownCPUSeconds() - ownBefore) / measured)
    }

    /// Nearest-rank percentile of sorted values (0 when there are none).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count, rank) - 1)]
    }

    var failed: Int { failures.values.reduce(0, +) }

    func breaks(targetMs: Double) -> Bool { failed > 0 || Self.percentile(roundTripMs, 99) > targetMs }

    var summary: String {
        let kinds = failures.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return String(format: "%d syncs in %.1f s (%.1f/s), round trip p50 %.1f ms p99 %.1f ms, sync p99 %.1f ms, server %.2f cores, generator %.2f cores",
                      syncs, seconds, Double(syncs) / seconds, Self.percentile(roundTripMs, 50), Self.percentile(roundTripMs, 99),
                      Self.percentile(syncMs, 99), serverCores, generatorCores) + (kinds.isEmpty ? "" : "; failed: \(kinds)")
    }

    static func table(_ results: [LevelResult], interval: Double, targetMs: Double) -> String {
        var lines = [
            "| replicas (a change every \(format(interval)) s) | syncs/s | round trip p50 ms | round trip p99 ms | round trip max ms | sync p50 ms (from due) | sync p99 ms (from due) | failed syncs | server CPU (cores) | load generator CPU (cores) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for result in results {
            let failures = result.failures.isEmpty ? "0" : result.failures.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            lines.append("| \(result.replicas) | \(format(Double(result.syncs) / result.seconds)) | \(format(percentile(result.roundTripMs, 50))) | \(format(percentile(result.roundTripMs, 99))) | \(format(result.roundTripMs.last ?? 0)) | \(format(percentile(result.syncMs, 50))) | \(format(percentile(result.syncMs, 99))) | \(failures) | \(String(format: "%.2f", result.serverCores)) | \(String(format: "%.2f", result.generatorCores)) |")
        }
        let broken = results.first { $0.breaks(targetMs: targetMs) }
        lines.append("")
        lines.append(broken.map { "Breaks at \($0.replicas) replicas: p99 round trip over \(format(targetMs)) ms or a failed sync." }
            ?? "No level broke the target (p99 round trip ≤ \(format(targetMs)) ms, no failed sync).")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    var json: [String: Any] {
        ["replicas": replicas, "seconds": seconds, "syncs": syncs, "pulled": pulled, "failures": failures,
         "roundTripP50Ms": Self.percentile(roundTripMs, 50), "roundTripP99Ms": Self.percentile(roundTripMs, 99),
         "roundTripMaxMs": roundTripMs.last ?? 0, "syncP50Ms": Self.percentile(syncMs, 50), "syncP99Ms": Self.percentile(syncMs, 99),
         "serverCores": serverCores, "generatorCores": generatorCores]
    }
}
