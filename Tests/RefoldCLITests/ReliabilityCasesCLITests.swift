import Foundation
import TestSupport
import XCTest

/// The rest of issue 20's cases, run against the built `refold`: malformed files refused naming
/// them, the non-finite policy (`--drop-non-finite`), model folders bound by their manifest, a
/// plain INN with absurd weights, the stated size limits, and `--force` for validate, report and
/// mpi-selftest. Each refusal exits with a status in 1...127 and names the file (or the option).
///
/// The issue's 28 cases and where they run (R = ReliabilityCLITests, C = this class):
/// 1 crashes: npy shape overflow, njets NaN, njets 1e30 (C malformed event files); safetensors
///   rank 4, data_offsets near Int64.max (C malformed safetensors); NaN or inf in detector.npy
///   to unfold, NaN checkpoint weights to unfold, `--samples` Int.max (C non-finite policy);
///   `--events 1e10` (C count options) - 9.
/// 2 unchecked values: NaN read by inspect, a negative jet count, junk after the npy data (C
///   malformed event files); NaN data failing train late and leaving a folder (R one training
///   per folder, C non-finite policy) - 4.
/// 3 meaningless results: invert and svd on a singular response (R unfold-binned); a corrupted
///   cINN checkpoint (R one training per folder); BINN NaN weights to density (R density) - 4.
/// 4 outputs: a fresh train into a model and config/weights of two trainings accepted by unfold
///   and --resume (R one training per folder, C non-finite policy: manifest); unfold --out =
///   --detector (R); silent overwrites (R generate, R unfold-binned, C validate/report/
///   mpi-selftest); --resume with a changed --batch-size; --resume of a missing folder; kill -9
///   temporaries (R one training per folder) - 6.
/// 5 bounds: the 10^10-point --grid (R density); no memory estimate (C count options) - 2.
/// 6 smaller: SIGINT (C SIGINT); raw NSCocoaErrorDomain or DecodingError dumps (C malformed
///   event files: meta.json; C non-finite policy: config.json; C unwritable folder); an
///   unwritable output found only after an epoch (C unwritable folder) - 3.
final class ReliabilityCasesCLITests: RefoldCLITestCase {
    /// An npy file (version 1.0) with `header` (a Python dict literal) and `payload`.
    func npy(header: String, payload: [UInt8]) -> Data {
        var text = header
        while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        let length = UInt16(text.utf8.count)
        return Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(text.utf8) + payload)
    }

    /// Float64 values as little-endian bytes.
    func bytes(_ values: [Double]) -> [UInt8] { values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } } }

    /// Sets element (row, column) of the float64 npy array at `url` (`columns` wide) to `value`.
    func set(_ url: URL, row: Int, column: Int, columns: Int, to value: Double) throws {
        var data = [UInt8](try Data(contentsOf: url))
        let start = 10 + (Int(data[8]) | Int(data[9]) << 8) + (row * columns + column) * 8
        data.replaceSubrange(start..<(start + 8), with: bytes([value]))
        try Data(data).write(to: url)
    }

    /// The JSON object in `url`.
    func json(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], url.path)
    }

    /// A fresh copy of `sample` named `name` beside it.
    func copy(_ sample: URL, _ name: String) throws -> URL {
        let target = sample.deletingLastPathComponent().appendingPathComponent(name)
        try FileManager.default.copyItem(at: sample, to: target)
        return target
    }

    /// Issue cases 1 (npy shape overflow; njets of NaN or 1e30), 2 (NaN in event arrays accepted
    /// on read; a negative jet count; junk after the npy data) and 6 (JSON errors without the
    /// file's name), through `refold inspect`.
    func testMalformedEventFilesAreRefusedNamingTheFile() throws {
        let root = try folder()
        let sample = root.appendingPathComponent("zw")
        try succeeds(["generate", "zw", "--events", "200", "--seed", "5", "--out", sample.path])

        let overflow = try copy(sample, "overflow"), detector = overflow.appendingPathComponent("detector.npy")
        try npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }", payload: [])
            .write(to: detector)
        try fails(["inspect", overflow.path], saying: [detector.path, "9223372036854775807"])

        let isr = root.appendingPathComponent("zw-isr")
        try succeeds(["generate", "zw-isr", "--events", "200", "--seed", "5", "--out", isr.path])
        for (name, value) in [("nan", Double.nan), ("huge", 1e30), ("negative", -1)] {
            let broken = try copy(isr, "njets-\(name)"), njets = broken.appendingPathComponent("njets.npy")
            try npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (200,), }", payload: bytes([Double](repeating: 2, count: 199) + [value]))
                .write(to: njets)
            try fails(["inspect", broken.path], saying: [njets.path, "row 199", "jet count"])
        }

        let junk = try copy(sample, "junk"), parton = junk.appendingPathComponent("parton.npy")
        let handle = try FileHandle(forWritingTo: parton)
        handle.seekToEndOfFile()
        handle.write(Data("junk".utf8))
        try handle.close()
        try fails(["inspect", junk.path], saying: [parton.path, "4 bytes after the data"])

        let nan = try copy(sample, "nan"), nanDetector = nan.appendingPathComponent("detector.npy")
        try set(nanDetector, row: 7, column: 0, columns: 16, to: .nan)
        try fails(["inspect", nan.path], saying: [nanDetector.path, "row 7", "finite"])
        let dropped = try succeeds(["inspect", nan.path, "--drop-non-finite"])
        XCTAssertTrue(dropped.contains("\(nan.path): dropped 1 of 200 events holding NaN or inf") && dropped.contains(", 199 events,"), dropped)

        let meta = try copy(sample, "meta"), metaFile = meta.appendingPathComponent("meta.json")
        try Data("{\"level\": \"paired\", ".utf8).write(to: metaFile)
        try fails(["inspect", meta.path], saying: [metaFile.path, "not a JSON object"])
    }

    /// Issue case 1: a safetensors tensor of rank 4, and data_offsets near the Int64 limit.
    func testMalformedSafetensorsAreRefusedNamingTheFile() throws {
        let root = try folder()
        func safetensors(_ header: String, payload: Int) throws -> URL {
            let url = root.appendingPathComponent("model-\(UUID().uuidString).safetensors")
            let text = Array(header.utf8)
            let length = withUnsafeBytes(of: UInt64(text.count).littleEndian) { Array($0) }
            try Data(length + text + [UInt8](repeating: 0, count: payload)).write(to: url)
            return url
        }
        let rank4 = try safetensors(#"{"w": {"dtype": "F32", "shape": [1, 1, 1, 1], "data_offsets": [0, 4]}}"#, payload: 4)
        try fails(["density", "--model", rank4.path, "--grid=0:1:4,0:1:4", "--out", root.appendingPathComponent("a").path],
                  saying: [rank4.path, "rank"])
        let offsets = try safetensors(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [9223372036854775800, 9223372036854775804]}}"#, payload: 4)
        try fails(["density", "--model", offsets.path, "--grid=0:1:4,0:1:4", "--out", root.appendingPathComponent("b").path],
                  saying: [offsets.path, "data_offsets"])
    }

    /// Issue cases 2 and 4 and the model-folder contract: `--drop-non-finite` drops the events
    /// holding NaN or inf alike from every array (training and unfolding say how many); a model
    /// folder's manifest binds config and checkpoint, so the config of another training is refused
    /// by `unfold` and `--resume` naming the file and both hashes; an older folder without a
    /// manifest loads with a warning; NaN weights, NaN detector values and `--samples Int.max`
    /// are refused naming the checkpoint, the file or the option.
    func testNonFinitePolicyAndModelManifest() throws {
        let root = try folder()
        let sample = root.appendingPathComponent("zw")
        try succeeds(["generate", "zw", "--events", "2000", "--seed", "3", "--out", sample.path])
        let broken = try copy(sample, "broken")
        try set(broken.appendingPathComponent("detector.npy"), row: 1999, column: 3, columns: 16, to: .nan)
        try set(broken.appendingPathComponent("parton.npy"), row: 5, column: 0, columns: 12, to: .infinity)

        let model = root.appendingPathComponent("model")
        let train = ["train", "cinn", "--data", broken.path, "--epochs", "1", "--batch-size", "256", "--out", model.path]
        try fails(train, saying: [broken.appendingPathComponent("parton.npy").path, "row 5", "finite"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: model.path), "a refused training leaves no folder")
        let trained = try succeeds(train + ["--drop-non-finite"])
        XCTAssertTrue(trained.contains("\(broken.path): dropped 2 of 2000 events holding NaN or inf"), trained)
        let record = try json(model.appendingPathComponent("train-options.json"))
        XCTAssertEqual((record["options"] as? [String: String])?["--drop-non-finite"], "true", "a resume must repeat the policy")
        XCTAssertEqual(record["droppedNonFinite"] as? [String: Int], [broken.path: 2], "the model records what was dropped")

        // The manifest lists every file with its hash, and the seed.
        let manifest = try json(model.appendingPathComponent("manifest.json"))
        XCTAssertEqual((manifest["files"] as? [String: Any]).map { Set($0.keys) },
                       ["config.json", "checkpoint.safetensors", "train-options.json"])
        XCTAssertEqual(manifest["seed"] as? Int, 2026)

        // Unfolding: NaN detector values refused naming the file, or dropped and counted.
        let out = root.appendingPathComponent("unfolded")
        let detectorNaN = try copy(sample, "detector-nan")
        try set(detectorNaN.appendingPathComponent("detector.npy"), row: 3, column: 0, columns: 16, to: -.infinity)
        try fails(["unfold", "--model", model.path, "--detector", detectorNaN.path, "--samples", "2", "--out", out.path],
                  saying: [detectorNaN.appendingPathComponent("detector.npy").path, "row 3", "-inf"])
        try fails(["unfold", "--model", model.path, "--detector", broken.path, "--samples", "2", "--out", out.path],
                  saying: [broken.appendingPathComponent("parton.npy").path, "finite"])
        let unfolded = try succeeds(["unfold", "--model", model.path, "--detector", broken.path, "--samples", "2", "--out", out.path,
                                     "--drop-non-finite"])
        XCTAssertTrue(unfolded.contains("dropped 2 of 2000 events"), unfolded)
        let meta = try json(out.appendingPathComponent("meta.json"))
        XCTAssertEqual(meta["dropped_non_finite_events"] as? Int, 2)
        XCTAssertEqual(meta["shape"] as? [Int], [1998, 2, 12])
        try fails(["unfold", "--model", model.path, "--detector", sample.path, "--samples", "9223372036854775807",
                   "--out", root.appendingPathComponent("huge").path], saying: ["--samples", "9223372036854775807"])

        // The config of another training (seed 7) next to this checkpoint: refused by unfold and --resume.
        let other = root.appendingPathComponent("other")
        try succeeds(["train", "cinn", "--data", sample.path, "--epochs", "1", "--batch-size", "256", "--seed", "7", "--out", other.path])
        let config = model.appendingPathComponent("config.json")
        let listed = try XCTUnwrap((manifest["files"] as? [String: [String: Any]])?["config.json"]?["fnv1a"] as? String)
        try FileManager.default.removeItem(at: config)
        try FileManager.default.copyItem(at: other.appendingPathComponent("config.json"), to: config)
        let mixed = root.appendingPathComponent("mixed")
        try fails(["unfold", "--model", model.path, "--detector", sample.path, "--samples", "2", "--out", mixed.path],
                  saying: [config.path, "expected \(listed)", "different trainings"])
        try fails(train + ["--drop-non-finite", "--epochs", "2", "--resume"], saying: [config.path, "expected \(listed)"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: mixed.path))

        // A file the manifest does not list.
        try Data("{}".utf8).write(to: other.appendingPathComponent("notes.json"))
        try fails(["unfold", "--model", other.path, "--detector", sample.path, "--samples", "2", "--out", mixed.path],
                  saying: [other.appendingPathComponent("notes.json").path, "not in"])
        try FileManager.default.removeItem(at: other.appendingPathComponent("notes.json"))

        // Older folders (no manifest) load with a warning; there NaN weights are still refused.
        try FileManager.default.removeItem(at: other.appendingPathComponent("manifest.json"))
        let warned = try succeeds(["unfold", "--model", other.path, "--detector", sample.path, "--samples", "2", "--out", mixed.path])
        XCTAssertTrue(warned.contains("warning: \(other.path) has no manifest.json"), warned)
        let checkpoint = other.appendingPathComponent("checkpoint.safetensors")
        try overwriteWeights(checkpoint, with: .nan)
        try fails(["unfold", "--model", other.path, "--detector", sample.path, "--samples", "2", "--out", root.appendingPathComponent("nan").path],
                  saying: [checkpoint.path, "nan"])
        // A config that is not JSON: the error names it (no raw DecodingError dump).
        try Data("{".utf8).write(to: other.appendingPathComponent("config.json"))
        try fails(["unfold", "--model", other.path, "--detector", sample.path, "--samples", "2", "--out", root.appendingPathComponent("bad").path],
                  saying: [other.appendingPathComponent("config.json").path, "not a model config"])
    }

    /// Item 3 of the issue's follow-up: a plain INN (not a cINN) whose checkpoint holds finite but
    /// absurd weights (1e30) made `unfold` write finite garbage; now its draws, far outside the
    /// standardised feature range, are refused naming the checkpoint.
    func testINNWithAbsurdWeightsFailsNamingTheCheckpoint() throws {
        let root = try folder()
        let sample = root.appendingPathComponent("zw"), model = root.appendingPathComponent("inn")
        try succeeds(["generate", "zw", "--events", "2000", "--seed", "3", "--out", sample.path])
        try succeeds(["train", "inn", "--data", sample.path, "--epochs", "1", "--batch-size", "256", "--out", model.path])
        try assertAbsurdWeightsRefused(model: model, detector: sample, out: root.appendingPathComponent("unfolded"))
    }

    /// Issue case 5 and the size limits: every count option has a stated maximum (or a memory check).
    func testCountOptionsHaveLimits() throws {
        let root = try folder()
        let out = root.appendingPathComponent("out").path
        try fails(["generate", "zw", "--events", "1e10", "--out", out], saying: ["--events", "1e10"])
        try fails(["generate", "zw", "--events", "10000000000", "--out", out], saying: ["--events", "got 10000000000"])
        try fails(["generate", "shower", "--jets", "9223372036854775807", "--out", out], saying: ["--jets"])
        try fails(["train", "cinn", "--data", root.path, "--epochs", "100001", "--out", out], saying: ["--epochs: expected 1...100000, got 100001"])
        try fails(["train", "cinn", "--data", root.path, "--batch-size", "0", "--out", out], saying: ["--batch-size: expected 1...1000000, got 0"])
        try fails(["density", "--model", "m.safetensors", "--grid=0:1:4,0:1:4", "--draws", "5000", "--out", out], saying: ["--draws: expected 2...1000"])
        try fails(["sample", "--model", "m", "--bins", "1000000", "--out", out], saying: ["--bins: expected 1...100000"])
        try fails(["unfold-binned", "--method", "ibu", "--response", "r.csv", "--data", "d.csv", "--toys", "2000000", "--out", out],
                  saying: ["--toys: expected 0...1000000"])
        try fails(["validate", "Toys", "--jobs", "1000"], saying: ["--jobs: expected 1...256"])
        try fails(["mpi-selftest", "collectives", "--count", "0", "--out", out], saying: ["--count: expected 1...100000000"])
        try fails(["infer", "--model", "m", "--jets", "j", "--samples", "100000000", "--out", out], saying: ["--samples: expected 2...10000000"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Issue case 4 for the remaining writers: validate, report and mpi-selftest refuse an existing
    /// output without `--force`, and an output that is an input even with it.
    func testValidateReportAndSelfTestNeedForce() throws {
        let root = try folder()
        let json = root.appendingPathComponent("map.json")
        try succeeds(["mpi-selftest", "map", "--count", "3", "--out", json.path])
        let first = try Data(contentsOf: json)
        try fails(["mpi-selftest", "map", "--count", "4", "--out", json.path], saying: [json.path, "--force"])
        XCTAssertEqual(try Data(contentsOf: json), first)
        try succeeds(["mpi-selftest", "map", "--count", "4", "--out", json.path, "--force"])
        XCTAssertNotEqual(try Data(contentsOf: json), first)

        let specs = root.appendingPathComponent("specs"), reports = root.appendingPathComponent("reports")
        try FileManager.default.createDirectory(at: specs, withIntermediateDirectories: true)
        let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Toys")
        try FileManager.default.copyItem(at: toys.appendingPathComponent("binned-smearing.toml"), to: specs.appendingPathComponent("binned-smearing.toml"))
        try fails(["validate", specs.path, "--out", specs.path, "--force"], saying: [specs.path, "is the specs input"])
        try succeeds(["validate", specs.path, "--jobs", "1", "--out", reports.path])
        let summary = reports.appendingPathComponent("binned-smearing/summary.json")
        let written = try Data(contentsOf: summary)
        try fails(["validate", specs.path, "--jobs", "1", "--out", reports.path], saying: [reports.appendingPathComponent("binned-smearing").path, "--force"])
        XCTAssertEqual(try Data(contentsOf: summary), written)
        let index = reports.appendingPathComponent("index.md")
        try fails(["report", reports.path], saying: [index.path, "--force"])
        try succeeds(["report", reports.path, "--force"])
        try succeeds(["validate", specs.path, "--jobs", "1", "--out", reports.path, "--force"])
    }

    /// Issue case 6: an output folder that cannot be written is found before any training (not
    /// after a full epoch), and the error names it with the system's reason (no raw
    /// NSCocoaErrorDomain dump).
    func testAnUnwritableModelFolderIsFoundBeforeTraining() throws {
        let root = try folder()
        let sample = root.appendingPathComponent("zw"), blocker = root.appendingPathComponent("a-file")
        try succeeds(["generate", "zw", "--events", "500", "--seed", "3", "--out", sample.path])
        try Data("x".utf8).write(to: blocker)
        let model = blocker.appendingPathComponent("model")
        let run = try RefoldRun(["train", "cinn", "--data", sample.path, "--epochs", "1", "--out", model.path])
        XCTAssertTrue((1..<128).contains(run.status), run.output)
        XCTAssertTrue(run.output.contains("\(model.path): cannot create, read or write it: Not a directory"), run.output)
        XCTAssertFalse(run.output.contains("NSCocoaErrorDomain") || run.output.contains("epoch"), run.output)
    }

    /// Issue case 6: SIGINT during training stops it with a word: status 130, the checkpoint kept
    /// and named, and how to resume.
    func testSIGINTDuringTrainingKeepsTheCheckpointAndSaysHowToResume() throws {
        let root = try folder()
        let sample = root.appendingPathComponent("zw"), model = root.appendingPathComponent("model")
        try succeeds(["generate", "zw", "--events", "2000", "--seed", "3", "--out", sample.path])
        let process = Process()
        process.executableURL = try RefoldExecutable.url()
        process.arguments = ["train", "cinn", "--data", sample.path, "--epochs", "1000", "--batch-size", "256", "--out", model.path]
        let log = root.appendingPathComponent("train.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let checkpoint = model.appendingPathComponent("checkpoint.safetensors")
        let deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: checkpoint.path), process.isRunning, Date() < deadline { usleep(100_000) }
        XCTAssertTrue(process.isRunning, "training still running after its first checkpoint")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        try handle.close()
        let output = try String(contentsOf: log, encoding: .utf8)
        XCTAssertEqual(process.terminationStatus, 130, output)
        for word in ["SIGINT", checkpoint.path, "--resume"] { XCTAssertTrue(output.contains(word), "says '\(word)':\n\(output)") }
        try succeeds(["inspect", model.path])
    }
}
