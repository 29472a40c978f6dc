import Foundation
import KasvuTestSupport
import Testing

/// The repository's copies of the team's domain data must match the originals: a change
/// there is noticed here. In a clone with nothing beside it there is nothing to compare, and
/// the copies are what the other tests use.
@Suite struct FixtureCopyTests {
    static let files = ["identifier-vectors.json", "tariff-example.json", "municipalities.csv"]

    @Test(arguments: files)
    func copyMatchesTheOriginal(_ name: String) throws {
        let copy = try Data(contentsOf: SharedData.directory.appendingPathComponent(name))
        #expect(!copy.isEmpty)
        let original = SharedData.upstream.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: original.path) else { return }
        #expect(try Data(contentsOf: original) == copy, "Tests/Fixtures/domain/\(name) differs from the team's copy: update it")
    }

    /// The product ships the municipality list: the resource is the fixture, byte for byte.
    @Test func shippedMunicipalitiesAreTheFixture() throws {
        let shipped = SharedData.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/KasvuDomain/Resources/municipalities.csv")
        #expect(try Data(contentsOf: shipped) == Data(contentsOf: SharedData.directory.appendingPathComponent("municipalities.csv")))
    }
}
