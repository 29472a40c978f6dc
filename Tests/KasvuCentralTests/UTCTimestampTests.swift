import Foundation
@testable import KasvuCentral
import Testing

/// The audit trail's and the replica list's timestamps read as `ISO8601DateFormatter` wrote
/// them before (``UTCTimestamp`` replaced it on the sync path).
@Suite struct UTCTimestampTests {
    @Test(arguments: [0, 1, 59.999, 951_782_400, 1_796_075_940.5, 4_102_444_799, 1_765_131_780])
    func writesWhatTheFormatterWrites(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(UTCTimestamp.string(date) == ISO8601DateFormatter().string(from: date))
    }
}
