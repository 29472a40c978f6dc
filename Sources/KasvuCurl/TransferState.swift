/// What libcurl's callbacks collect during one perform: the body, the header
/// fields of the last response, and the cancellation flag they poll.
///
/// Only touched on the client's queue, from inside `curl_easy_perform`; the
/// callbacks reach it through an unretained pointer kept alive by the caller.
final class TransferState {
    let cancellation: CancellationFlag
    private(set) var body: [UInt8] = []
    private(set) var headers: [String: String] = [:]
    private var lastHeaderName: String?

    init(cancellation: CancellationFlag) {
        self.cancellation = cancellation
    }

    func appendBody(_ bytes: UnsafeRawBufferPointer) {
        body.append(contentsOf: bytes)
    }

    /// Receives one raw header line, CRLF included, as libcurl delivers them.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        var line = String(decoding: bytes, as: UTF8.self)
        while line.last?.isNewline == true { line.removeLast() }

        // A status line starts a new response (after 1xx, or a proxy's CONNECT
        // reply): only the last response's fields are reported.
        if line.hasPrefix("HTTP/") {
            headers = [:]
            lastHeaderName = nil
            return
        }
        if line.isEmpty { return }
        // Obsolete line folding (RFC 9112 §5.2): the line continues the previous field.
        if line.first == " " || line.first == "\t" {
            if let lastHeaderName { headers[lastHeaderName, default: ""] += " " + Self.trimmed(line) }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = Self.trimmed(line[..<colon]).lowercased()
        headers[name, default: ""].appendField(Self.trimmed(line[line.index(after: colon)...]))
        lastHeaderName = name
    }

    private static func trimmed(_ text: some StringProtocol) -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }),
              let last = text.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return String(text[first...last])
    }
}
