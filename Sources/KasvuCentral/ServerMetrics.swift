import Foundation
import Synchronization

/// Counters for `GET /metrics`, in the Prometheus text exposition format.
final class ServerMetrics: Sendable {
    private struct Counters {
        var requests: [String: Int] = [:]
        var pushed = 0
        var rejected = 0
        var pulled = 0
    }

    private let counters = Mutex(Counters())

    func recordRequest(path: String, status: Int) {
        let known = ["/v1/sync", "/healthz", "/metrics"].contains(path) ? path : "other"
        counters.withLock { $0.requests["path=\"\(known)\",status=\"\(status)\"", default: 0] += 1 }
    }

    func recordSync(pushed: Int, rejected: Int, pulled: Int) {
        counters.withLock {
            $0.pushed += pushed
            $0.rejected += rejected
            $0.pulled += pulled
        }
    }

    func prometheusText(_ statistics: CentralStatistics?, replicas: [ReplicaHealth] = [], syncsInProgress: Int, syncsWaiting: Int = 0, now: Date = Date()) -> String {
        let snapshot = counters.withLock { $0 }
        var lines = ["# HELP kasvu_http_requests_total HTTP requests by path and status.", "# TYPE kasvu_http_requests_total counter"]
        for (labels, count) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            lines.append("kasvu_http_requests_total{\(labels)} \(count)")
        }
        lines += [
            "# HELP kasvu_sync_records_pushed_total Records received in sync pushes.", "# TYPE kasvu_sync_records_pushed_total counter",
            "kasvu_sync_records_pushed_total \(snapshot.pushed)",
            "# HELP kasvu_sync_records_rejected_total Pushed records rejected.", "# TYPE kasvu_sync_records_rejected_total counter",
            "kasvu_sync_records_rejected_total \(snapshot.rejected)",
            "# HELP kasvu_sync_records_pulled_total Records sent in pull batches.", "# TYPE kasvu_sync_records_pulled_total counter",
            "kasvu_sync_records_pulled_total \(snapshot.pulled)",
            "# HELP kasvu_syncs_in_progress Syncs being served now.", "# TYPE kasvu_syncs_in_progress gauge",
            "kasvu_syncs_in_progress \(syncsInProgress)",
            "# HELP kasvu_syncs_waiting Syncs waiting for a free slot.", "# TYPE kasvu_syncs_waiting gauge",
            "kasvu_syncs_waiting \(syncsWaiting)",
        ]
        if let statistics {
            lines += [
                "# HELP kasvu_central_records Records in the central store.", "# TYPE kasvu_central_records gauge",
                "kasvu_central_records \(statistics.records)",
                "# HELP kasvu_central_replicas Registered, unrevoked replicas.", "# TYPE kasvu_central_replicas gauge",
                "kasvu_central_replicas \(statistics.replicas)",
                "# HELP kasvu_central_sequence Highest change sequence number.", "# TYPE kasvu_central_sequence gauge",
                "kasvu_central_sequence \(statistics.sequence)",
            ]
        }
        // Per replica: its id and role only (ids are the central office's names for laptops).
        if !replicas.isEmpty {
            lines += ["# HELP kasvu_replica_seconds_since_sync Seconds since the replica's last successful sync (since its registration if it never synced).",
                      "# TYPE kasvu_replica_seconds_since_sync gauge"]
            lines += replicas.map { "kasvu_replica_seconds_since_sync{replica=\"\(Self.label($0.id))\",role=\"\($0.role.rawValue)\"} \($0.secondsSinceSync(now: now))" }
            lines += ["# HELP kasvu_replica_pending_changes Records with local writes the replica said it still held after its last sync.",
                      "# TYPE kasvu_replica_pending_changes gauge"]
            lines += replicas.map { "kasvu_replica_pending_changes{replica=\"\(Self.label($0.id))\",role=\"\($0.role.rawValue)\"} \($0.pendingChanges ?? 0)" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A label value in the exposition format: backslash, quote and line feed escaped.
    static func label(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
