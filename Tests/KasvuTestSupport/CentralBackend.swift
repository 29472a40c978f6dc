import Testing

/// The databases the central store runs on: the central-store tests run on each.
public enum CentralBackend: String, CaseIterable, Sendable {
    /// A file in the test's temporary directory.
    case sqlite
    /// A new database in the test process's throw-away cluster (``PostgresCluster/shared()``).
    case postgres
}

extension CentralBackend: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}
