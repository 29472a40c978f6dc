import CCurl

/// Applies `curl_easy_setopt` calls and remembers the first that failed, so a
/// missing feature (say, a libcurl built without zlib) is reported instead of
/// silently sending a request that differs from the one intended.
struct OptionSetter {
    let curl: UnsafeMutableRawPointer
    private(set) var failure: AttemptOutcome?

    init(curl: UnsafeMutableRawPointer) {
        self.curl = curl
    }

    mutating func long(_ option: CURLoption, _ value: Int) {
        check(option, kasvu_curl_setopt_long(curl, option, value))
    }

    mutating func offset(_ option: CURLoption, _ value: curl_off_t) {
        check(option, kasvu_curl_setopt_off_t(curl, option, value))
    }

    mutating func string(_ option: CURLoption, _ value: String) {
        check(option, kasvu_curl_setopt_string(curl, option, value))
    }

    mutating func pointer(_ option: CURLoption, _ value: UnsafeRawPointer?) {
        check(option, kasvu_curl_setopt_pointer(curl, option, value))
    }

    mutating func slist(_ option: CURLoption, _ value: UnsafeMutablePointer<curl_slist>?) {
        check(option, kasvu_curl_setopt_slist(curl, option, value))
    }

    mutating func check(_ option: CURLoption, _ code: CURLcode) {
        check("option \(option.rawValue)", code)
    }

    /// - Parameter what: names the setting in the error message.
    mutating func check(_ what: @autoclosure () -> String, _ code: CURLcode) {
        guard failure == nil, code != CURLE_OK else { return }
        let number = Int32(bitPattern: code.rawValue)
        failure = .failure(
            code: number,
            message: "curl_easy_setopt(\(what())) failed: \(CurlCode.describe(number))"
        )
    }
}
