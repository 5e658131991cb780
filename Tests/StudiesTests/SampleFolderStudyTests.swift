import Config
import Foundation
import XCTest
import Physics
import Studies
import Tensor
import TestSupport
import Validation

/// zw-detector on sample folders (issue [realism] 3) at a test size: two folders written like
/// `refold generate` writes them (a producer of its own name), the study trains on the first
/// min(folder, profile) events of the training folder and unfolds the whole test folder; the
/// folders' columns are checked first (a zw-isr folder is refused naming it, the expected and the
/// actual columns).
final class SampleFolderStudyTests: XCTestCase {
    var toys: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Toys")
    }

    func writeFolder(_ process: ColliderProcess, events: Int, seed: UInt64, producer: String) throws -> URL {
        var sample = try generateColliderSample(ColliderConfiguration(process: process), events: events, rng: RNGStream(seed: seed))
        sample.generator = producer
        let folder = temporaryFolder("\(producer)-\(seed)")
        try sample.write(to: folder, dtype: .float32)
        return folder
    }

    /// 1500 training events (1200 used: the profile's cap), 400 test events, 1 epoch of a 32-unit
    /// cINN: only the plumbing is asserted, no physics (the network is untrained).
    func testZWDetectorRunsOnFolders() throws {
        let train = try writeFolder(.zw, events: 1500, seed: 81, producer: "chain-x")
        let test = try writeFolder(.zw, events: 400, seed: 82, producer: "chain-x")
        var spec = try XCTUnwrap(StudySpec.load(toys.appendingPathComponent("zw-detector.toml")).first)
        var o = try XCTUnwrap(spec.profiles[.quick])
        o.generator.events = 1200; o.generator.testEvents = 5000
        o.network.set("training", "epochs", .int(1)); o.network.set("cinn", "units_per_layer", .int(32))
        o.network.samplesPerEvent = 5; o.network.calibrationEvents = 400
        o.network.parameters["compare"] = .strings([])
        o.network.parameters["spectrum_samples_per_event"] = .int(5)
        spec.profiles[.quick] = o
        let folder = temporaryFolder()
        let context = StudyContext(spec: spec, profile: .quick, seed: 2026, folder: folder,
                                   sampleFolders: try SampleFolders.read(training: train, test: test))
        let (result, _) = StudyCatalog.registry().run(context)
        if case .error(let message) = result.status { return XCTFail(message) }
        XCTAssertTrue(result.notes[0].contains("first 1200 of 1500 events") && result.notes[0].contains("first 400 of 400 events"), result.notes[0])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("model-cinn/config.json"))) as? [String: Any]
        XCTAssertEqual(config?["source"] as? String, "chain-x")
        XCTAssertEqual(config?["trainingEvents"] as? Int, 1080, "1200 events less the 10 % validation split")
        // Refold's detector measures the lepton directions exactly, float32 storage included.
        XCTAssertEqual(result.quantities["cinn copied coordinates"]?.value, 4)
        let redrawn = try XCTUnwrap(result.quantities["cinn redrawn fraction"]?.value)
        XCTAssertTrue((0...1).contains(redrawn), "\(redrawn)")
        XCTAssertEqual(result.quantities["cinn outside after redraws"]?.value, 0)
        let samples = try NPYArray.read(folder.appendingPathComponent("cinn-samples-1500.npy"))
        XCTAssertEqual(samples.shape, [400, 5, 12], "the calibration sample: every event of the test folder")
        for gate in result.gates { XCTAssertTrue(gate.value.isFinite, gate.name) }
    }

    func testWrongColumnsAreRefusedNamingTheFolder() throws {
        let train = try writeFolder(.zw, events: 50, seed: 83, producer: "a")
        let isr = try writeFolder(.zwISR, events: 50, seed: 84, producer: "b")
        let spec = try XCTUnwrap(StudySpec.load(toys.appendingPathComponent("zw-detector.toml")).first)
        for (training, test) in [(isr, train), (train, isr)] {
            let context = StudyContext(spec: spec, profile: .quick, seed: 1, folder: temporaryFolder(),
                                       sampleFolders: try SampleFolders.read(training: training, test: test))
            guard case .error(let message) = StudyCatalog.registry().run(context).result.status else { return XCTFail("zw-isr folder accepted") }
            XCTAssertTrue(message.contains(isr.standardizedFileURL.path) && message.contains("detector columns for a zw study: expected 16")
                          && message.contains("got 24") && message.contains("\"m_j4\""), message)
        }
        // zw-isr takes the zw-isr folder, needs its njets.npy.
        let isrSpec = try XCTUnwrap(StudySpec.load(toys.appendingPathComponent("zw-isr.toml")).first)
        let noJets = temporaryFolder("nojets")
        var sample = try EventSample.read(from: isr)
        sample.njets = nil
        try sample.write(to: noJets)
        let context = StudyContext(spec: isrSpec, profile: .quick, seed: 1, folder: temporaryFolder(),
                                   sampleFolders: try SampleFolders.read(training: noJets, test: isr))
        guard case .error(let message) = StudyCatalog.registry().run(context).result.status else { return XCTFail("no njets accepted") }
        XCTAssertTrue(message.contains(noJets.standardizedFileURL.path) && message.contains("njets.npy"), message)
    }
}
