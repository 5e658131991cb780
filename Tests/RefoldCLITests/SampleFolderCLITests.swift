import Foundation
import TestSupport
import XCTest

/// `refold validate STUDY --train DIR --test DIR` (issue [realism] 3): the refusals that come before
/// any training. A study kind that does not run on folders, a missing --test, and a folder whose
/// columns are not the study's (the error names the folder, the expected and the actual columns).
/// The data path itself runs in StudiesTests.SampleFolderStudyTests.
final class SampleFolderCLITests: RefoldCLITestCase {
    var toys: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Toys")
    }

    func testValidateRefusesWhatItCannotRunOnFolders() throws {
        let root = try folder()
        let zw = root.appendingPathComponent("zw").path, isr = root.appendingPathComponent("isr").path
        try succeeds(["generate", "zw", "--events", "200", "--seed", "1", "--out", zw])
        try succeeds(["generate", "zw-isr", "--events", "200", "--seed", "2", "--out", isr])
        let detector = toys.appendingPathComponent("zw-detector.toml").path
        let out = root.appendingPathComponent("reports").path
        try fails(["validate", toys.appendingPathComponent("zw-cuts.toml").path, "--train", zw, "--test", zw, "--out", out],
                  saying: ["zw-cuts.toml", "study kind zwCuts", "zwDetector, zwISR, wprime"])
        try fails(["validate", detector, "--train", zw, "--out", out], saying: ["--train and --test", "--test"])
        try fails(["validate", toys.path, "--train", zw, "--test", zw, "--out", out], saying: ["expected one study file"])
        try fails(["validate", detector, "--train", zw, "--test", isr, "--out", out],
                  saying: [isr, "detector columns for a zw study: expected 16", "got 24", "\"pT_j4\""])
    }
}
