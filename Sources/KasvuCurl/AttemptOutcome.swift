/// The result of one `curl_easy_perform`: a response of any status, or a
/// transport failure with libcurl's code.
enum AttemptOutcome: Sendable {
    case response(HTTPResponse)
    case failure(code: Int32, message: String)

    /// The caller's answer once no further attempt will be made: the response
    /// as is (statuses are the caller's business), or the failure as an error.
    func finish(target: RequestTarget, attempts: Int) throws(HTTPClientError) -> HTTPResponse {
        switch self {
        case .response(let response):
            return response
        case .failure(let code, let message):
            throw HTTPClientError(
                kind: CurlCode.kind(of: code),
                message: "\(message) (\(target.hostAndPort))",
                curlCode: code,
                attempts: attempts
            )
        }
    }
}
