/// The embedded store's scrub after a sync that erased, run once that sync has answered.
///
/// The scrub (``KasvuStorage/Scrub``) rewrites the whole file and holds the write lock while it
/// does: a millisecond on a pilot's store, a minute on 1,000,000 clients. Run inside the sync,
/// it made the erasing laptop's sync time out at that size although its merge had committed.
/// The obligation is committed with the erasure (`scrub_pending`), so answering first loses
/// nothing: a scrub cut short by a crash runs at the next start or maintenance round.
///
/// Erasures that arrive while a scrub runs share the next one, and the next one waits until
/// the scrubs have held the writer for at most a tenth of the time (``pace``): on a large
/// store other replicas' syncs get the write lock nine times as long as the scrubs do.
///
/// ```swift
/// let scrub = BackgroundScrub { try await pool.writeWithoutTransaction(Scrub.runIfPending) }
/// await scrub.request()   // after the answer is built
/// await scrub.idle()      // tests: wait until nothing is owed or running
/// ```
actor BackgroundScrub {
    /// How much longer than a scrub took the writer is left to others before the next one.
    static let pace = 9

    private let scrub: @Sendable () async throws -> Bool
    private let gate: (@Sendable () async -> Void)?
    private var running: Task<Void, Never>?
    private var owed = false

    /// - Parameters:
    ///   - scrub: runs one scrub when one is owed; a failure leaves it owed (maintenance retries).
    ///   - gate: awaited before each scrub: lets a test hold the scrub back.
    init(gate: (@Sendable () async -> Void)? = nil, scrub: @escaping @Sendable () async throws -> Bool) {
        self.scrub = scrub
        self.gate = gate
    }

    /// Asks for a scrub: starts one, or has the running one followed by another.
    func request() {
        owed = true
        guard running == nil else { return }
        running = Task { await self.drain() }
    }

    private func drain() async {
        while owed {
            owed = false
            await gate?()
            let clock = ContinuousClock()
            let took = await clock.measure { _ = try? await scrub() }
            if owed { try? await Task.sleep(for: took * Self.pace) }
        }
        running = nil
    }

    /// Returns once no scrub is running or owed by a request made before the call.
    func idle() async {
        while let running { await running.value }
    }
}
