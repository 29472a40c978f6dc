import Foundation

/// Record ids are UUIDs in lowercase canonical text form.
public enum RecordID {
    /// A fresh random id.
    public static func random() -> String { UUID().uuidString.lowercased() }

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
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let cuts = [8, 12, 16, 20]
        var text = ""
        for (index, character) in hex.enumerated() {
            if cuts.contains(index) { text.append("-") }
            text.append(character)
        }
        return text
    }
}
