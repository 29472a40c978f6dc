import CCurl

/// `curl_global_init` must run once per process before any other libcurl call, and
/// it is not thread-safe in libcurl before 7.84. A Swift global is initialised
/// lazily under `swift_once`, which gives exactly-once, thread-safe semantics.
/// `curl_global_cleanup` is deliberately never called: the process owns libcurl
/// until it exits, and other code in the process may use libcurl too.
private let curlGlobalInitCode: UInt32 = kasvu_curl_global_init_all().rawValue

enum CurlGlobal {
    static func ensureInitialized() throws(HTTPClientError) {
        let code = curlGlobalInitCode
        guard code == CURLE_OK.rawValue else {
            throw HTTPClientError(
                kind: .other,
                message: "curl_global_init failed: \(CurlCode.describe(Int32(bitPattern: code)))",
                curlCode: Int32(bitPattern: code)
            )
        }
    }
}
