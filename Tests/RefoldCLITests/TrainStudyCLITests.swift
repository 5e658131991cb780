import Foundation
import XCTest

/// `refold train cinn --study STUDY.toml` trains the network the study trains (issue 21, item 3).
final class TrainStudyCLITests: RefoldCLITestCase {
    static let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Toys")

    func testTrainTakesTheStudysNetwork() throws {
        let root = try folder()
        let sample = root.appendingPathComponent("zw"), model = root.appendingPathComponent("model")
        try succeeds(["generate", "zw", "--events", "1500", "--seed", "5", "--out", sample.path])
        let study = Self.toys.appendingPathComponent("zw-detector.toml").path
        try succeeds(["train", "cinn", "--study", study, "--profile", "quick", "--data", sample.path, "--epochs", "1", "--out", model.path])
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config.json"))) as? [String: Any])
        let network = try XCTUnwrap(config["network"] as? [String: Any])
        let cinn = try XCTUnwrap(network["cinn"] as? [String: Any]), training = try XCTUnwrap(network["training"] as? [String: Any])
        // zw-detector's quick profile: units_per_layer = 128 over the quick preset's 64, its
        // [network.training] learning rate 8e-4 over the preset's 1e-3; --epochs overrides its 150.
        XCTAssertEqual(cinn["unitsPerLayer"] as? Int, 128)
        XCTAssertEqual(try XCTUnwrap(training["learningRate"] as? Double), 8e-4, accuracy: 1e-9)
        XCTAssertEqual(training["epochs"] as? Int, 1)
        XCTAssertNotNil(config["pairMass"], "the study's pair_coordinates = \"mass-ratio\"")

        try fails(["train", "cinn-isr", "--study", study, "--data", sample.path, "--out", root.appendingPathComponent("isr").path],
                  saying: [study, "network.variant: expected cinn-isr", "got cinn"])
        try fails(["train", "gan", "--study", study, "--data", sample.path, "--out", root.appendingPathComponent("gan").path],
                  saying: ["--study: only for inn, einn, cinn and cinn-isr"])
        try fails(["train", "cinn", "--study", study, "--pair-coordinates", "resonance", "--data", sample.path,
                   "--out", root.appendingPathComponent("both").path], saying: ["the study file sets them"])
    }
}
