import Foundation

/// The team's shared domain data (`../shared/domain` beside the repository), read by the tests
/// so that the vectors are never copied into code.
enum SharedData {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["KASVU_SHARED_DOMAIN"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/domain")
    }()

    static func json(_ name: String) -> [String: Any] {
        let url = directory.appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            fatalError("cannot read shared domain data \(url.path)")
        }
        return object
    }
}
