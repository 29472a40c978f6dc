import CCurl

/// What the client makes of a libcurl `CURLcode`. Numbers are used, with names
/// in comments, because some of these constants are deprecated aliases in newer
/// headers and would warn.
enum CurlCode {
    static let aborted = Int32(bitPattern: CURLE_ABORTED_BY_CALLBACK.rawValue)

    static func kind(of code: Int32) -> HTTPClientError.Kind {
        switch code {
        case 6, 7: // COULDNT_RESOLVE_HOST, COULDNT_CONNECT
            .connectFailed
        case 28: // OPERATION_TIMEDOUT
            .timedOut
        case 35, 51, 53, 54, 58, 59, 60, 77, 80, 83, 90, 91:
            // SSL_CONNECT_ERROR, PEER_FAILED_VERIFICATION (old number), SSL_ENGINE_NOTFOUND,
            // SSL_ENGINE_SETFAILED, SSL_CERTPROBLEM, SSL_CIPHER, PEER_FAILED_VERIFICATION,
            // SSL_CACERT_BADFILE, SSL_SHUTDOWN_FAILED, SSL_ISSUER_ERROR, SSL_PINNEDPUBKEYNOTMATCH,
            // SSL_INVALIDCERTSTATUS
            .tlsFailed
        case 3: // URL_MALFORMAT
            .invalidURL
        default:
            .other
        }
    }

    /// Failures where the request may not have reached the server, or the
    /// connection broke: worth another attempt for an idempotent request.
    /// TLS and URL errors are not here; they fail the same way every time.
    static func isRetryable(_ code: Int32) -> Bool {
        switch code {
        case 6, // COULDNT_RESOLVE_HOST: resolvers fail transiently
             7, // COULDNT_CONNECT
             16, // HTTP2 framing error
             18, // PARTIAL_FILE: connection closed mid-body
             28, // OPERATION_TIMEDOUT
             52, // GOT_NOTHING: closed without a response
             55, // SEND_ERROR
             56, // RECV_ERROR (includes connection reset)
             92: // HTTP2_STREAM
            true
        default:
            false
        }
    }

    /// libcurl's generic text for `code`, e.g. "Couldn't connect to server".
    static func describe(_ code: Int32) -> String {
        String(cString: curl_easy_strerror(CURLcode(rawValue: UInt32(bitPattern: code))))
    }
}
