import Foundation
import TestSupport
import XCTest

/// `refold train generator` with the options of issue 16 and `refold sample` on its models.
final class GeneratorCLITests: RefoldCLITestCase {
    /// A ttbar GAN with the MMD (one epoch on 400 events) samples ttbar events; a z-jets generator
    /// conditioned on the augmentation with its discriminators samples at a = 10 and writes
    /// discriminator_weights.npy; the options are refused where they do not apply, naming them.
    func testGeneratorNetworksAugmentationAndDiscriminator() throws {
        let dir = try folder()
        let tt = dir.appendingPathComponent("tt").path, zj = dir.appendingPathComponent("zj").path
        try succeeds(["generate", "ttbar", "--events", "400", "--seed", "5", "--out", tt])
        try succeeds(["generate", "z-jets", "--events", "1500", "--seed", "5", "--out", zj])
        let gan = dir.appendingPathComponent("gan").path
        try succeeds(["train", "generator", "--data", tt, "--network", "gan", "--mmd-weight", "1", "--epochs", "1", "--batch-size", "200", "--out", gan])
        let ganSample = dir.appendingPathComponent("gan-sample")
        XCTAssertTrue(try succeeds(["sample", "--model", gan, "--events", "100", "--out", ganSample.path]).contains("gan generator"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: ganSample.appendingPathComponent("events.npy").path))
        let model = dir.appendingPathComponent("zj-model").path
        try succeeds(["train", "generator", "--data", zj, "--condition-on", "augmentation", "--discriminator", "--epochs", "1", "--out", model])
        let sample = dir.appendingPathComponent("zj-sample")
        try succeeds(["sample", "--model", model, "--events", "200", "--augmentation", "10", "--out", sample.path])
        XCTAssertTrue(FileManager.default.fileExists(atPath: sample.appendingPathComponent("discriminator_weights.npy").path))
        try fails(["sample", "--model", model, "--events", "10", "--augmentation", "31", "--out", dir.appendingPathComponent("x").path],
                  saying: ["augmentation a", "31"])
        try fails(["sample", "--model", gan, "--events", "10", "--augmentation", "1", "--out", dir.appendingPathComponent("y").path], saying: ["--augmentation"])
        try fails(["train", "generator", "--data", zj, "--network", "binn", "--out", dir.appendingPathComponent("b").path], saying: [zj, "binn"])
        try fails(["train", "generator", "--data", tt, "--condition-on", "augmentation", "--out", dir.appendingPathComponent("c").path], saying: [tt, "z-jets"])
        try fails(["train", "inn", "--data", zj, "--mmd-weight", "1", "--out", dir.appendingPathComponent("d").path], saying: ["--mmd-weight", "inn"])
    }
}
