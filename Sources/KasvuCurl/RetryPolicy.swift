import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// When to try again, and how long to wait first.
///
/// Exponential backoff with full jitter (a uniformly random wait between zero
/// and the exponential bound) spreads out clients that failed together, so they
/// do not return together. A `Retry-After` from the server replaces the backoff.
struct RetryPolicy: Sendable {
    var maxAttempts: Int
    var initialBackoff: Double
    var maxBackoff: Double
    var maxRetryAfter: Double

    init(options: HTTPClientOptions) {
        maxAttempts = options.maxAttempts
        initialBackoff = options.initialBackoff
        maxBackoff = options.maxBackoff
        maxRetryAfter = options.maxRetryAfter
    }

    /// Seconds to wait before the next attempt, or `nil` to stop and report `outcome`.
    ///
    /// - Parameters:
    ///   - attempts: attempts made so far, `outcome`'s included.
    ///   - now: the current time in seconds since 1970, for `Retry-After` dates.
    func delay(
        after outcome: AttemptOutcome,
        attempts: Int,
        idempotent: Bool,
        now: Int = Int(time(nil)),
        using generator: inout some RandomNumberGenerator
    ) -> Double? {
        guard idempotent, attempts < maxAttempts else { return nil }
        switch outcome {
        case .failure(let code, _):
            return CurlCode.isRetryable(code) ? backoff(afterAttempt: attempts, using: &generator) : nil
        case .response(let response):
            guard Self.isRetryable(status: response.status) else { return nil }
            if let value = response.header("retry-after"),
               let seconds = Self.retryAfterSeconds(value, now: now) {
                return min(seconds, maxRetryAfter)
            }
            return backoff(afterAttempt: attempts, using: &generator)
        }
    }

    func delay(after outcome: AttemptOutcome, attempts: Int, idempotent: Bool) -> Double? {
        var generator = SystemRandomNumberGenerator()
        return delay(after: outcome, attempts: attempts, idempotent: idempotent, using: &generator)
    }

    /// A random wait in `0...min(maxBackoff, initialBackoff × 2^(attempt − 1))`.
    func backoff(afterAttempt attempt: Int, using generator: inout some RandomNumberGenerator) -> Double {
        let doublings = min(max(attempt - 1, 0), 62)
        let bound = min(maxBackoff, initialBackoff * Double(sign: .plus, exponent: doublings, significand: 1))
        guard bound > 0 else { return 0 }
        return Double.random(in: 0...bound, using: &generator)
    }

    /// Rate limiting and passing server-side trouble (busy, unavailable, a gateway). 500 is
    /// excluded: the central store answers it for faults that retrying will not fix (a
    /// storage fault, a bug); so are 501 and 505, which say the server will never handle
    /// this request.
    static func isRetryable(status: Int) -> Bool {
        status == 429 || (502...599).contains(status) && status != 505
    }

    /// Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
    /// A date in the past means "now". Returns `nil` for anything unparseable.
    static func retryAfterSeconds(_ value: String, now: Int) -> Double? {
        let text = value.filter { $0 != " " && $0 != "\t" }
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // Too many digits for Int is still "a very long time".
            return Int(text).map(Double.init) ?? .infinity
        }
        var reference = time_t(now)
        let date = curl_getdate(value, &reference) // libcurl's HTTP-date parser
        guard date != -1 else { return nil }
        return Double(max(Int(date) - now, 0))
    }
}
