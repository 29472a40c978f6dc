import CCurl

/// The one libcurl easy handle of a ``CurlHTTPClient``, and the transfers made with it.
///
/// Reusing one handle is what keeps the connection alive between requests:
/// the handle owns libcurl's connection cache, which `curl_easy_reset`
/// preserves while clearing every per-request option.
///
/// `@unchecked Sendable`: a `CURL*` must never be used by two threads at once.
/// The client calls ``perform(_:cancellation:)`` only from its serial queue, and
/// `deinit` runs only after the last queued block has released its reference.
final class CurlEasyHandle: @unchecked Sendable {
    /// The per-client settings applied before every transfer.
    struct Configuration: Sendable {
        var connectTimeoutMilliseconds: Int
        var totalTimeoutMilliseconds: Int
        var caCertificatePath: String?
        var userAgent: String
        var noProxy: String
    }

    private let curl: UnsafeMutableRawPointer
    private let configuration: Configuration
    /// libcurl writes its detailed message here (`CURLOPT_ERRORBUFFER`).
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init(configuration: Configuration) throws(HTTPClientError) {
        guard let curl = curl_easy_init() else {
            throw HTTPClientError(kind: .other, message: "curl_easy_init() failed")
        }
        self.curl = curl
        self.configuration = configuration
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(curl)
        errorBuffer.deallocate()
    }

    /// Makes one attempt. Blocks the calling thread for the whole transfer.
    func perform(_ request: PreparedRequest, cancellation: CancellationFlag) -> AttemptOutcome {
        if cancellation.isCancelled { return Self.cancelled }
        curl_easy_reset(curl)
        errorBuffer[0] = 0

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        // Runs before the list is freed: the handle must not keep pointers to the
        // header list, the body or `state` once they are gone.
        defer { curl_easy_reset(curl) }
        for line in request.headerLines {
            guard let extended = curl_slist_append(headerList, line) else {
                return .failure(code: Int32(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_slist_append failed")
            }
            headerList = extended
        }

        let state = TransferState(cancellation: cancellation)
        return withExtendedLifetime(state) {
            Self.withBodyPointer(request.body) { body in
                var options = OptionSetter(curl: curl)
                configure(&options, request: request, headers: headerList, body: body, state: state)
                if let failure = options.failure { return failure }

                let code = curl_easy_perform(curl)
                guard code == CURLE_OK else { return failure(code) }

                var status = 0
                guard kasvu_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK else {
                    return .failure(code: Int32(CURLE_BAD_FUNCTION_ARGUMENT.rawValue), message: "no response code")
                }
                return .response(HTTPResponse(status: status, headers: state.headers, body: state.body))
            }
        }
    }

    private func configure(
        _ options: inout OptionSetter,
        request: PreparedRequest,
        headers: UnsafeMutablePointer<curl_slist>?,
        body: UnsafeRawPointer,
        state: TransferState
    ) {
        options.pointer(CURLOPT_ERRORBUFFER, errorBuffer)
        options.string(CURLOPT_URL, request.url)
        // Defence in depth: the URL was checked already, and no redirect is followed.
        options.check("CURLOPT_PROTOCOLS_STR", kasvu_curl_setopt_http_protocols_only(curl))
        options.long(CURLOPT_FOLLOWLOCATION, 0)
        // Signals for DNS timeouts are not safe in a multithreaded process.
        options.long(CURLOPT_NOSIGNAL, 1)
        options.long(CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeoutMilliseconds)
        options.long(CURLOPT_TIMEOUT_MS, configuration.totalTimeoutMilliseconds)
        options.long(CURLOPT_TCP_KEEPALIVE, 1)
        options.string(CURLOPT_ACCEPT_ENCODING, "") // every encoding libcurl can decode
        options.long(CURLOPT_SSL_VERIFYPEER, 1)
        options.long(CURLOPT_SSL_VERIFYHOST, 2)
        if let path = configuration.caCertificatePath { options.string(CURLOPT_CAINFO, path) }
        options.string(CURLOPT_NOPROXY, configuration.noProxy)
        // A proxy's "200 Connection established" is not the server's response.
        options.long(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        options.string(CURLOPT_USERAGENT, configuration.userAgent)
        options.slist(CURLOPT_HTTPHEADER, headers)

        switch request.shape {
        case .get:
            options.long(CURLOPT_HTTPGET, 1)
        case .head:
            options.long(CURLOPT_NOBODY, 1)
        case .custom(let method):
            options.string(CURLOPT_CUSTOMREQUEST, method)
        case .withBody(let customMethod):
            // The size first: without it libcurl would strlen() the body.
            options.offset(CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            options.pointer(CURLOPT_POSTFIELDS, body)
            if let customMethod { options.string(CURLOPT_CUSTOMREQUEST, customMethod) }
        }

        let context = Unmanaged.passUnretained(state).toOpaque()
        options.pointer(CURLOPT_WRITEDATA, context)
        options.check(CURLOPT_WRITEFUNCTION, kasvu_curl_setopt_write_callback(curl) { data, size, count, context in
            let length = size * count
            guard let context else { return 0 } // 0 aborts the transfer
            Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                .appendBody(UnsafeRawBufferPointer(start: data, count: length))
            return length
        })
        options.pointer(CURLOPT_HEADERDATA, context)
        options.check(CURLOPT_HEADERFUNCTION, kasvu_curl_setopt_header_callback(curl) { data, size, count, context in
            let length = size * count
            guard let context else { return 0 }
            Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                .receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
            return length
        })
        // The progress callback is libcurl's cancellation point: it runs at least
        // once a second, also while waiting, and a non-zero return aborts.
        options.long(CURLOPT_NOPROGRESS, 0)
        options.pointer(CURLOPT_XFERINFODATA, context)
        options.check(CURLOPT_XFERINFOFUNCTION, kasvu_curl_setopt_xferinfo_callback(curl) { context, _, _, _, _ in
            guard let context else { return 1 }
            return Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                .cancellation.isCancelled ? 1 : 0
        })
    }

    private func failure(_ code: CURLcode) -> AttemptOutcome {
        let number = Int32(bitPattern: code.rawValue)
        if number == CurlCode.aborted { return Self.cancelled }
        let summary = CurlCode.describe(number)
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty || detail == summary ? summary : "\(summary): \(detail)"
        return .failure(code: number, message: message)
    }

    private static let cancelled = AttemptOutcome.failure(
        code: CurlCode.aborted,
        message: "request cancelled"
    )

    /// `CURLOPT_POSTFIELDS` needs a valid pointer even for an empty body; a
    /// null one would make libcurl read the body from stdin instead.
    private static func withBodyPointer<Result>(
        _ body: [UInt8],
        _ work: (UnsafeRawPointer) -> Result
    ) -> Result {
        body.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { return work(base) }
            var empty: UInt8 = 0
            return withUnsafePointer(to: &empty) { work(UnsafeRawPointer($0)) }
        }
    }
}
