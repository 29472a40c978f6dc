import Foundation

/// The deterministic audit sample of an outcome period: identical on every replica and platform.
///
/// Ranks the hours report ids by `SHA256.hex("<seed>:<id>")` (lowercase hex) ascending and takes
/// the first `ceil(rate × count)` of them (rate clamped to 0...1). Duplicate ids count once.
///
/// ```swift
/// AuditSampler.sample(hoursIDs: ["h1", "h2", "h3", "h4", "h5"], seed: "p1-T1-2019", rate: Decimal(string: "0.4")!)
/// // ["h5", "h4"]
/// ```
public enum AuditSampler {
    public static func sample(hoursIDs: [String], seed: String, rate: Decimal) -> [String] {
        let ranked = Set(hoursIDs)
            .map { (key: SHA256.hex(Array("\(seed):\($0)".utf8)), id: $0) }
            .sorted { ($0.key, $0.id) < ($1.key, $1.id) }
            .map(\.id)
        return Array(ranked.prefix(sampleSize(count: ranked.count, rate: rate)))
    }

    /// `ceil(rate × count)`, clamped to 0...count, computed exactly.
    public static func sampleSize(count: Int, rate: Decimal) -> Int {
        guard count > 0, rate > 0 else { return 0 }
        guard rate < 1 else { return count }
        let wanted = rate * Decimal(count)
        // Smallest k with k ≥ rate × count; count is small (one provider's period).
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if Decimal(middle) >= wanted { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
