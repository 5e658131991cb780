import Foundation
import XCTest

/// Issue 20's CLI cases, run against the built `refold`: outputs never replace inputs or existing
/// results silently, training folders hold one training, and no command writes NaN or inf.
final class ReliabilityCLITests: RefoldCLITestCase {
    /// A paired zw sample of 2,000 events in `root/zw`.
    func zwSample(in root: URL) throws -> URL {
        let sample = root.appendingPathComponent("zw")
        try succeeds(["generate", "zw", "--events", "2000", "--seed", "3", "--out", sample.path])
        return sample
    }

    func testGenerateRefusesAnExistingOutputWithoutForce() throws {
        let sample = try zwSample(in: try folder())
        let meta = try Data(contentsOf: sample.appendingPathComponent("meta.json"))
        try fails(["generate", "zw", "--events", "2000", "--seed", "4", "--out", sample.path], saying: [sample.path, "--force"])
        XCTAssertEqual(try Data(contentsOf: sample.appendingPathComponent("meta.json")), meta)
        try succeeds(["generate", "zw", "--events", "2000", "--seed", "4", "--out", sample.path, "--force"])
        XCTAssertNotEqual(try Data(contentsOf: sample.appendingPathComponent("meta.json")), meta)
    }

    func testUnfoldNeverWritesIntoItsInputs() throws {
        let root = try folder()
        let sample = try zwSample(in: root), model = root.appendingPathComponent("model")
        let meta = try Data(contentsOf: sample.appendingPathComponent("meta.json"))
        for force in [[], ["--force"]] {
            try fails(["unfold", "--model", model.path, "--detector", sample.path, "--out", sample.path + "/."] + force,
                      saying: [sample.path, "is the --detector input"])
        }
        XCTAssertEqual(try Data(contentsOf: sample.appendingPathComponent("meta.json")), meta)
    }

    func testUnfoldBinnedRefusesASingularResponseWithoutRegularisation() throws {
        let root = try folder()
        let response = root.appendingPathComponent("response.csv"), data = root.appendingPathComponent("data.csv")
        try "100\n120\n".write(to: data, atomically: true, encoding: .utf8)
        // Numerically singular (condition about 1e10), then exactly singular.
        for (matrix, words) in [("0.5,0.5\n0.5,0.5000000001\n", ["condition"]), ("0.5,0.5\n0.5,0.5\n", ["singular"])] {
            try matrix.write(to: response, atomically: true, encoding: .utf8)
            for method in ["invert", "svd"] {
                let out = root.appendingPathComponent("\(method).csv")
                try fails(["unfold-binned", "--method", method, "--response", response.path, "--data", data.path, "--out", out.path],
                          saying: [response.path] + (method == "svd" ? ["condition"] : words))
                XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
            }
        }
        let existing = root.appendingPathComponent("existing.csv")
        try "keep\n".write(to: existing, atomically: true, encoding: .utf8)
        try fails(["unfold-binned", "--method", "ibu", "--response", response.path, "--data", data.path, "--out", existing.path],
                  saying: [existing.path, "--force"])
    }

    /// `--batch-size` reaches the GANs' training settings (it was ignored for gan and fcgan).
    func testGANTrainingTakesTheBatchSize() throws {
        let root = try folder()
        let sample = try zwSample(in: root), model = root.appendingPathComponent("gan")
        try succeeds(["train", "gan", "--data", sample.path, "--epochs", "1", "--batch-size", "128", "--out", model.path])
        let settings = try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("gan.json"))) as? [String: Any]
        let training = try XCTUnwrap(settings?["training"] as? [String: Any])
        XCTAssertEqual(training["batchSize"] as? Int, 128)
    }

    func testTrainingKeepsOneTrainingPerModelFolder() throws {
        let root = try folder()
        let sample = try zwSample(in: root), model = root.appendingPathComponent("model")
        let train = ["train", "cinn", "--data", sample.path, "--epochs", "1", "--batch-size", "256", "--out", model.path]
        try succeeds(train)
        let checkpoint = try Data(contentsOf: model.appendingPathComponent("checkpoint.safetensors"))
        try fails(train, saying: [model.path, "--resume", "--force"])
        try fails(["train", "cinn", "--data", sample.path, "--epochs", "2", "--batch-size", "128", "--resume", "--out", model.path],
                  saying: [model.path, "--batch-size 128 (the model was trained with 256)"])
        XCTAssertEqual(try Data(contentsOf: model.appendingPathComponent("checkpoint.safetensors")), checkpoint)
        try fails(["train", "cinn", "--data", sample.path, "--resume", "--out", root.appendingPathComponent("absent").path],
                  saying: [root.appendingPathComponent("absent").path, "missing"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("absent").path))
        let stale = model.appendingPathComponent(".checkpoint.safetensors.tmp-999999999")
        XCTAssertTrue(FileManager.default.createFile(atPath: stale.path, contents: Data([0])))
        try succeeds(["train", "cinn", "--data", sample.path, "--epochs", "2", "--batch-size", "256", "--resume", "--out", model.path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        try succeeds(train + ["--force"])

        // Non-finite detector data: refused naming the file, row and column; no model folder left.
        let broken = root.appendingPathComponent("broken"), empty = root.appendingPathComponent("never-trained")
        try FileManager.default.copyItem(at: sample, to: broken)
        var bytes = [UInt8](try Data(contentsOf: broken.appendingPathComponent("detector.npy")))
        let nan = Double.nan.bitPattern.littleEndian
        withUnsafeBytes(of: nan) { for (k, b) in $0.enumerated() { bytes[bytes.count - 8 + k] = b } }
        try Data(bytes).write(to: broken.appendingPathComponent("detector.npy"))
        try fails(["train", "cinn", "--data", broken.path, "--epochs", "1", "--out", empty.path],
                  saying: [broken.appendingPathComponent("detector.npy").path, "row 1999", "finite"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty.path))

        // A corrupted checkpoint (finite weights of 1e30) makes the flow's draws overflow: unfold
        // fails naming the checkpoint instead of crashing or writing inf.
        try assertAbsurdWeightsRefused(model: model, detector: sample, out: root.appendingPathComponent("unfolded"))
    }

    func testDensityRefusesOversizedGridsAndNaNWeights() throws {
        let root = try folder()
        let wedge = root.appendingPathComponent("wedge"), model = root.appendingPathComponent("binn.safetensors")
        try succeeds(["generate", "wedge", "--events", "2000", "--out", wedge.path])
        try succeeds(["train", "binn", "--data", wedge.path, "--epochs", "1", "--out", model.path])
        let out = root.appendingPathComponent("density")
        // 10^10 points would grow past memory: refused before any is made.
        try fails(["density", "--model", model.path, "--grid=0:1:100000,0:1:100000", "--out", out.path],
                  saying: ["--grid (100000 x 100000) points", "got 10000000000"])
        try overwriteWeights(model, with: .nan)
        try fails(["density", "--model", model.path, "--grid=0:1:4,0:1:4", "--out", out.path], saying: [model.path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("density.npy").path))
    }
}
