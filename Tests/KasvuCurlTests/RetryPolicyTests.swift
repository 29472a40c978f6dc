import KasvuTestSupport
import Testing
@testable import KasvuCurl

@Suite struct RetryPolicyTests {
    private let policy = RetryPolicy(options: .init(
        maxAttempts: 5, initialBackoff: 0.2, maxBackoff: 10, maxRetryAfter: 30
    ))
    private let now = 1_700_000_000

    private func response(_ status: Int, retryAfter: String? = nil) -> AttemptOutcome {
        .response(HTTPResponse(status: status, headers: retryAfter.map { ["Retry-After": $0] } ?? [:]))
    }

    private func delay(_ outcome: AttemptOutcome, attempts: Int = 1, idempotent: Bool = true) -> Double? {
        var generator = SystemRandomNumberGenerator()
        return policy.delay(after: outcome, attempts: attempts, idempotent: idempotent, now: now, using: &generator)
    }

    @Test func retryableStatuses() {
        for status in [429, 502, 503, 504, 599] { #expect(RetryPolicy.isRetryable(status: status)) }
        for status in [200, 204, 301, 400, 404, 409, 413, 500, 501, 505] { #expect(!RetryPolicy.isRetryable(status: status)) }
    }

    @Test func retryableTransportFailures() {
        for code: Int32 in [6, 7, 28, 52, 55, 56] {
            #expect(delay(.failure(code: code, message: "")) != nil)
        }
        for code: Int32 in [1, 3, 35, 42, 60, 77] {
            #expect(delay(.failure(code: code, message: "")) == nil)
        }
    }

    @Test func stopsAtMaxAttemptsAndForNonIdempotentRequests() {
        #expect(delay(response(503), attempts: 4) != nil)
        #expect(delay(response(503), attempts: 5) == nil)
        #expect(delay(response(503), idempotent: false) == nil)
        #expect(delay(.failure(code: 7, message: ""), idempotent: false) == nil)
        #expect(delay(response(200)) == nil)
    }

    @Test func retryAfterReplacesBackoffAndIsCapped() throws {
        #expect(delay(response(503, retryAfter: "0")) == 0)
        #expect(delay(response(429, retryAfter: "7")) == 7)
        #expect(delay(response(503, retryAfter: "3600")) == 30)
        #expect(delay(response(503, retryAfter: "99999999999999999999999")) == 30)
        // Unparseable: fall back to backoff.
        let fallback = try #require(delay(response(503, retryAfter: "soon")))
        #expect((0...0.2).contains(fallback))
    }

    @Test func retryAfterAsHTTPDate() {
        // 1_700_000_000 is Tue, 14 Nov 2023 22:13:20 GMT.
        #expect(RetryPolicy.retryAfterSeconds("Tue, 14 Nov 2023 22:13:32 GMT", now: now) == 12)
        #expect(RetryPolicy.retryAfterSeconds("Tue, 14 Nov 2023 22:00:00 GMT", now: now) == 0)
        #expect(RetryPolicy.retryAfterSeconds(" 120 ", now: now) == 120)
        #expect(RetryPolicy.retryAfterSeconds("-5", now: now) == nil)
        #expect(RetryPolicy.retryAfterSeconds("", now: now) == nil)
        #expect(delay(response(503, retryAfter: "Tue, 14 Nov 2023 23:13:20 GMT")) == 30)
    }

    @Test func backoffIsFullJitterUnderADoublingCap() {
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...12 {
            let bound = min(10, 0.2 * Double(1 << (attempt - 1)))
            for _ in 0..<50 {
                let wait = policy.backoff(afterAttempt: attempt, using: &generator)
                #expect((0...bound).contains(wait))
            }
        }
        #expect(policy.backoff(afterAttempt: 1_000, using: &generator) <= 10)
    }

    @Test func jitterComesFromTheGivenGenerator() {
        var first = SeededGenerator(seed: 42)
        var second = SeededGenerator(seed: 42)
        let waits = (1...8).map { policy.backoff(afterAttempt: $0, using: &first) }
        #expect(waits == (1...8).map { policy.backoff(afterAttempt: $0, using: &second) })
        #expect(Set(waits).count > 1)
    }
}
