import KasvuCentral
import KasvuPostgres
import KasvuTestSupport

extension CentralBackend {
    func openStore(in directory: TemporaryDirectory, nowMillis: @escaping @Sendable () -> UInt64) async throws -> SQLCentralStore {
        switch self {
        case .sqlite:
            return try SQLCentralStore(path: directory.path("central.sqlite"), nowMillis: nowMillis)
        case .postgres:
            let url = try PostgresURL(try PostgresCluster.shared().createDatabase())
            return try await SQLCentralStore(database: PostgresDatabase(url: url, maxConnections: 2), nowMillis: nowMillis)
        }
    }
}
