import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP/1.1 and HTTP/2 client over libcurl with one kept-alive connection,
/// timeouts, and retries with backoff.
///
/// ```swift
/// let client = try CurlHTTPClient(options: .init(caCertificatePath: caPath))
/// let response = try await client.send(HTTPRequest(
///     url: "https://sync.example.fi/v1/batches",
///     headers: [(name: "Content-Type", value: "application/json")],
///     body: Array(json.utf8)
/// ))
/// if response.status == 413 { /* halve the batch */ }
/// ```
///
/// Requests on one client run one at a time, in the order they were sent, over
/// the client's single libcurl handle — that is what lets them share a
/// connection. Create more clients for parallel requests.
///
/// The blocking `curl_easy_perform` runs on the client's own serial dispatch
/// queue, never on Swift's cooperative thread pool; waits between attempts are
/// `Task.sleep`s. Cancelling the calling task aborts the transfer in flight
/// (within about a second) or the wait, and stops retrying: a cancelled wait
/// reports the last outcome, a cancelled transfer throws kind `.other`.
public final class CurlHTTPClient: Sendable {
    private let options: HTTPClientOptions
    private let retryPolicy: RetryPolicy
    private let handle: CurlEasyHandle
    /// Serialises every use of `handle` and keeps blocking calls off the cooperative pool.
    private let queue = DispatchQueue(label: "kasvu.curl-http-client")

    /// Creates a client; no connection is made until the first ``send(_:)``.
    ///
    /// The proxy exclusions are read from `no_proxy` / `NO_PROXY` now, once.
    ///
    /// - Throws: ``HTTPClientError`` with kind `.other` for invalid options or a
    ///   libcurl that fails to initialise, `.tlsFailed` for an unreadable
    ///   `caCertificatePath`.
    public init(options: HTTPClientOptions = .init()) throws(HTTPClientError) {
        try options.validate()
        try CurlGlobal.ensureInitialized()
        if let path = options.caCertificatePath, access(path, R_OK) != 0 {
            throw HTTPClientError(kind: .tlsFailed, message: "CA certificate file \(path) is not readable")
        }
        self.options = options
        retryPolicy = RetryPolicy(options: options)
        handle = try CurlEasyHandle(configuration: .init(
            connectTimeoutMilliseconds: Self.milliseconds(options.connectTimeout),
            totalTimeoutMilliseconds: Self.milliseconds(options.totalTimeout),
            caCertificatePath: options.caCertificatePath,
            userAgent: options.userAgent,
            noProxy: NoProxy.list { name in getenv(name).map { String(cString: $0) } }
        ))
    }

    /// Sends `request`, retrying as ``HTTPClientOptions`` allows, and returns the
    /// last response — whatever its status.
    ///
    /// Retried, when ``HTTPRequest/idempotent``: connection failures, timeouts,
    /// and statuses 429 and 5xx (except 501 and 505). A `Retry-After` header is
    /// honoured up to ``HTTPClientOptions/maxRetryAfter``.
    ///
    /// ```swift
    /// let response = try await client.send(HTTPRequest(method: "GET", url: statusURL))
    /// ```
    ///
    /// - Throws: ``HTTPClientError`` when no response was received: the URL was
    ///   refused before any traffic (`attempts == 0`), or the last attempt failed.
    public func send(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        let prepared = try PreparedRequest(request, allowInsecureHTTP: options.allowInsecureHTTP)
        var attempts = 0
        while true {
            attempts += 1
            let outcome = await perform(prepared)
            guard !Task.isCancelled,
                  let delay = retryPolicy.delay(after: outcome, attempts: attempts, idempotent: prepared.idempotent)
            else {
                return try outcome.finish(target: prepared.target, attempts: attempts)
            }
            if delay > 0 {
                do {
                    // Clamped to a day so absurd options cannot overflow the conversion.
                    try await Task.sleep(nanoseconds: UInt64(min(delay, 86_400) * 1_000_000_000))
                } catch {
                    return try outcome.finish(target: prepared.target, attempts: attempts)
                }
            }
        }
    }

    /// One attempt on the client's queue, bridged back with a continuation.
    private func perform(_ request: PreparedRequest) async -> AttemptOutcome {
        let cancellation = CancellationFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<AttemptOutcome, Never>) in
                queue.async { [handle] in
                    continuation.resume(returning: handle.perform(request, cancellation: cancellation))
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// libcurl reads 0 as "no timeout", so round up to at least 1 ms.
    private static func milliseconds(_ seconds: Double) -> Int {
        Int(min(max((seconds * 1000).rounded(.up), 1), Double(Int32.max)))
    }
}
