import Foundation

/// Record ids are UUIDs in lowercase canonical text form.
public enum RecordID {
    /// A fresh id: a version 7 UUID (RFC 9562), whose first 48 bits are the Unix time in
    /// milliseconds and the other 74 random. Ids made later sort later, so new records land
    /// at the end of every B-tree keyed by id instead of on a random page: a sync batch of
    /// new records dirties a few pages, not one page per record.
    public static func random(nowMillis: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)) -> String {
        // Two 64-bit draws, not sixteen one-byte ones: each draw is a getrandom(2) call.
        var generator = SystemRandomNumberGenerator()
        let high = generator.next(), low = generator.next()
        var bytes = (0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? high : low) >> (8 * UInt64($0 % 8))) }
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: nowMillis >> (40 - 8 * UInt64(index))) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70  // version 7: time-ordered
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return text(bytes)
    }

    /// Validates `text` as a UUID and returns its canonical lowercase form.
    public static func validate(_ text: String, field: String = "id") throws(FieldError) -> String {
        guard text.count == 36, let uuid = UUID(uuidString: text) else {
            throw FieldError(field: field, message: "must be a UUID like 0d9c7c1e-8a4b-4c59-9f43-2f5b8f6f1a2b, got '\(text.prefix(60))'")
        }
        return uuid.uuidString.lowercased()
    }
}

extension RecordID {
    /// A name-based id: the same `parts` always give the same UUID (version 8, from SHA-256),
    /// so two offline replicas reporting hours for one client and month write one record.
    public static func derived(_ parts: [String]) -> String {
        var bytes = Array(SHA256.hash(Array(parts.joined(separator: "\u{1F}").utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: custom
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return text(bytes)
    }

    /// The canonical lowercase text of 16 bytes.
    static func text(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
