/// An ``HTTPRequest`` checked and translated into what the easy handle needs.
/// Built before the first attempt, so invalid requests fail without network traffic.
struct PreparedRequest: Sendable {
    /// How the method maps onto libcurl options.
    enum Shape: Sendable, Equatable {
        /// `CURLOPT_HTTPGET`.
        case get
        /// `CURLOPT_NOBODY`: a `HEAD` must not wait for a body.
        case head
        /// `CURLOPT_POSTFIELDS`, plus `CURLOPT_CUSTOMREQUEST` unless the method is `POST`.
        case withBody(customMethod: String?)
        /// `CURLOPT_CUSTOMREQUEST` only, e.g. a `DELETE` without body.
        case custom(String)
    }

    let url: String
    let target: RequestTarget
    let shape: Shape
    /// `Name: value` lines for `CURLOPT_HTTPHEADER`.
    let headerLines: [String]
    /// Our own copy, pinned with `withUnsafeBytes` for the duration of a perform
    /// because `CURLOPT_POSTFIELDS` does not copy.
    let body: [UInt8]
    let idempotent: Bool

    init(_ request: HTTPRequest, allowInsecureHTTP: Bool) throws(HTTPClientError) {
        let target = try RequestTarget(url: request.url)
        try target.checkTransportSecurity(allowInsecureHTTP: allowInsecureHTTP)

        guard Self.isToken(request.method) else {
            throw HTTPClientError(kind: .other, message: "invalid HTTP method \"\(request.method)\"")
        }
        let shape: Shape = switch request.method {
        case "GET" where request.body.isEmpty: .get
        case "HEAD": .head
        case "POST": .withBody(customMethod: nil)
        case "PUT", "PATCH": .withBody(customMethod: request.method)
        case let method where !request.body.isEmpty: .withBody(customMethod: method)
        case let method: .custom(method)
        }

        var lines: [String] = []
        var given = Set<String>()
        for (name, value) in request.headers {
            guard Self.isToken(name) else {
                throw HTTPClientError(kind: .other, message: "invalid header name \"\(name)\"")
            }
            // A line break would let a value inject further headers or a second request.
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw HTTPClientError(kind: .other, message: "header \(name) contains a line break")
            }
            given.insert(name.lowercased())
            // libcurl reads "Name:" as "remove this header"; "Name;" sends it empty.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // libcurl would otherwise send `Expect: 100-continue` for larger bodies
        // and wait up to a second for a reply many servers never send.
        if !given.contains("expect") { lines.append("Expect:") }
        // libcurl labels POSTFIELDS bodies as form data; a body of unknown type goes unlabelled.
        if case .withBody = shape, !given.contains("content-type") { lines.append("Content-Type:") }

        self.url = request.url
        self.target = target
        self.shape = shape
        self.headerLines = lines
        self.body = request.body
        self.idempotent = request.idempotent
    }

    /// RFC 9110 `token`: the characters allowed in methods and header names.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}
