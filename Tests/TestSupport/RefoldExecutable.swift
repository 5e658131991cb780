import Foundation
import XCTest

/// The `refold` executable that `swift build --build-tests` put next to the test bundle, for the
/// tests that run the command line (RefoldCLITests, the MPI tests).
public enum RefoldExecutable {
    /// Its URL; skips the calling test when it is missing.
    public static func url() throws -> URL {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                          Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("refold") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("no refold executable next to the tests (looked at \(candidates.map(\.path))): run swift build --build-tests")
        }
        return found
    }
}
