import KasvuDomain
import Logging
import ServiceLifecycle

/// The central server's periodic jobs, run beside the HTTP server in its service group: at
/// start, then every `interval` until graceful shutdown: the outcome-window expiry, so that a
/// provider's laptop lets go of a client the day its window passes, tombstone collection, and a
/// scrub still owed after an erasure.
struct MaintenanceService: Service {
    let store: any CentralStore
    let interval: Duration
    let inactiveAfterDays: Int
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let clients = try await store.expireOutcomeWindows(today: store.today)
                if clients > 0 { logger.info("outcome windows lapsed", metadata: ["clients": "\(clients)"]) }
            } catch {
                // The next round tries again; the sync service is unaffected. No record data in the log.
                logger.error("outcome window expiry failed", metadata: ["error": "\(type(of: error))"])
            }
            do {
                let run = try await store.collectTombstones(inactiveAfterDays: inactiveAfterDays)
                if run.collected + run.retired > 0 {
                    logger.info("tombstones collected", metadata: ["collected": "\(run.collected)", "retired": "\(run.retired)", "horizon": "\(run.horizon)"])
                }
            } catch {
                logger.error("tombstone collection failed", metadata: ["error": "\(type(of: error))"])
            }
            do {
                // A scrub a sync could not finish (a reader held the log) is owed still.
                if try await store.scrubErasedBytes() { logger.info("erased bytes scrubbed") }
            } catch {
                logger.error("scrub failed", metadata: ["error": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
