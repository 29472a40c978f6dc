import KasvuDomain

/// A replica's bearer token: `<replica id>.<64 hex digits>` (256 random bits). The central
/// store keeps only the SHA-256 of the secret part and compares hashes in constant time.
struct Token {
    let replicaID: String
    let secret: String
    var text: String { "\(replicaID).\(secret)" }

    static func generate(replicaID: String) -> Token {
        var generator = SystemRandomNumberGenerator()  // getrandom(2): cryptographically secure
        let secret = (0..<4).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
        return Token(replicaID: replicaID, secret: secret)
    }

    init(replicaID: String, secret: String) {
        self.replicaID = replicaID
        self.secret = secret
    }

    /// Parses a presented token; nil when it cannot be one of ours.
    init?(text: String) {
        guard let dot = text.lastIndex(of: "."), text.count <= 200 else { return nil }
        replicaID = String(text[..<dot])
        secret = String(text[text.index(after: dot)...])
        guard !replicaID.isEmpty, secret.count == 64, secret.allSatisfy(\.isHexDigit) else { return nil }
    }

    static func hash(_ secret: String) -> String { SHA256.hex(Array(secret.utf8)) }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
