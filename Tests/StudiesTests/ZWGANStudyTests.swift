import Config
import Foundation
import XCTest
@testable import Unfolders
import GAN
import Physics
import Studies
import TestSupport
import Validation

/// The zw-cuts study in a tiny form (3000 training events, 3 x 32 networks, a few epochs) and the
/// GAN model folder: resume, NaN guard, bad input.
final class ZWGANStudyTests: XCTestCase {
    static let seed: UInt64 = 2027

    /// The runner completes with every chi2 gate measured, writes its plots and chi2 table, and
    /// the FCGAN beats the no-unfolding baseline: its pT_q1 chi2/ndf after cut I (about 5600
    /// events, 20 bins of ~280) is below that of the detector-level pT_j1 against the same truth
    /// (chi2/ndf ~ 10 here: the jet response shifts pT by several %; a network that learnt
    /// nothing of the shift cannot pass) and below 4. For an unfolding with a residual
    /// shape error delta per bin, chi2/ndf ~ 1 + n delta^2 / 2 with n ~ 280 entries per bin: 4
    /// allows delta ~ 15 %, while the identity map (detector level) sits at delta ~ 25 %.
    func testTinyStudyRunsAndFCGANBeatsDetectorLevel() throws {
        let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Toys/zw-cuts.toml")
        var spec = try XCTUnwrap(StudySpec.load(toys).first)
        var quick = try XCTUnwrap(spec.profiles[.quick])
        quick.generator.events = 8000; quick.generator.testEvents = 6000
        quick.network.set("training", "epochs", .int(40)); quick.network.set("training", "batch_size", .int(256))
        quick.network.set("gan", "units_per_layer", .int(64))
        quick.network.set("gan", "generator_layers", .int(3)); quick.network.set("gan", "discriminator_layers", .int(3))
        quick.network.samplesPerEvent = 20; quick.network.calibrationEvents = 300
        // 1280 generator steps: too few for the toml's cosine decay to 0 (it stops the generator
        // before it has learnt the shift), so the tiny run keeps a constant rate.
        quick.network.set("training", "schedule", .string("constant"))
        spec.profiles[.quick] = quick
        let registry = StudyCatalog.registry()
        let folder = temporaryFolder()
        let (result, _) = registry.run(StudyContext(spec: spec, profile: .quick, seed: Self.seed, folder: folder))
        if case .error(let message) = result.status { XCTFail("seed \(Self.seed): \(message)") }
        XCTAssertEqual(result.gates.count, spec.gates.count)
        // Every chi2 gate is measured; the W' fit (600 W' events here) may fail, but then says so.
        let chi2Gates = result.gates.filter { $0.metric == .chi2PerNdf }
        XCTAssertEqual(chi2Gates.count, 6)
        XCTAssertTrue(chi2Gates.allSatisfy { $0.value.isFinite }, "seed \(Self.seed): \(result.gates.map { "\($0.name)=\($0.value)" })")
        // The thesis' chi2 targets are paper gates: measured with their noise, not gated in quick.
        XCTAssertTrue(chi2Gates.allSatisfy { $0.verdict == .notGated && $0.noise > 0 }, "\(chi2Gates)")
        // The quick gates: FCGAN over naive GAN chi2/ndf of pT_q1 after cuts I-III, with noise.
        let ratios = result.gates.filter { $0.name.hasPrefix("fcgan-over-gan-") }
        XCTAssertEqual(ratios.map(\.name), ["I", "II", "III"].map { "fcgan-over-gan-cut-\($0)-pT_q1-chi2" })
        for gate in ratios {
            let fcgan = try XCTUnwrap(result.measurements["fcgan-cut-\(gate.name.split(separator: "-")[4])-pT_q1-chi2"])
            XCTAssertTrue(gate.gated && gate.value > 0 && gate.noise > 0 && gate.noise.isFinite, "\(gate)")
            XCTAssertLessThan(gate.value, fcgan.value, "a naive GAN chi2/ndf above 1: the ratio is below the FCGAN's chi2/ndf")
        }
        XCTAssertTrue(result.quantities["wprime truth peak mu"] != nil || result.quantities.keys.contains { $0.hasSuffix("fit failed") },
                      "\(result.quantities.keys.sorted())")
        XCTAssertEqual(result.quantities["fcgan-calibration events"]?.value, 300)
        XCTAssertEqual(result.quantities["fcgan-calibration samples"]?.value, 20)
        assertFigures(result, ["cut-I-pT_q1-fcgan", "cut-IV-m_jj-gan", "calibration-fcgan"])
        assertFiles(folder, ["chi2.csv", "calibration.csv", "model-fcgan/gan.json", "model-gan/checkpoint.safetensors"])
        let rows = try String(contentsOf: folder.appendingPathComponent("chi2.csv"), encoding: .utf8).split(separator: "\n")
        let header = rows[0].split(separator: ",").map(String.init)
        let row = try XCTUnwrap(rows.first { $0.hasPrefix("I,") && $0.contains(",pT_q1,") }).split(separator: ",").map(String.init)
        func value(_ column: String) -> Double { Double(row[header.firstIndex(of: column)!])! }
        let fcgan = value("fcgan_chi2") / value("fcgan_ndf"), detector = value("detector_chi2") / value("detector_ndf")
        XCTAssertLessThan(fcgan, detector, "seed \(Self.seed): FCGAN \(fcgan) vs detector level \(detector)")
        XCTAssertLessThan(fcgan, 4, "seed \(Self.seed)")
    }

    func tinySample(_ events: Int) throws -> EventSample {
        try generateColliderSample(ColliderConfiguration(process: .zw), events: events, rng: RNGStream(seed: Self.seed).child("tiny"))
    }

    let tinyNetwork = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 16)
    let tinyTraining = GANTrainingConfig(epochs: 2, batchSize: 128)

    /// 1 epoch + resume to 2 gives the same weights as 2 epochs straight (bit for bit), and the
    /// folder reloads to a sampler in physical units.
    func testResumeMatchesStraightRunAndReloads() throws {
        let sample = try tinySample(600)
        let a = temporaryFolder(), b = temporaryFolder()
        _ = try GANModelFolder.train(variant: .fcgan, sample: sample, profile: .quick, epochs: 2, seed: Self.seed, out: a,
                                     network: tinyNetwork, training: tinyTraining)
        _ = try GANModelFolder.train(variant: .fcgan, sample: sample, profile: .quick, epochs: 1, seed: Self.seed, out: b,
                                     network: tinyNetwork, training: tinyTraining)
        let resumed = try GANModelFolder.train(variant: .fcgan, sample: sample, profile: .quick, epochs: 2, seed: Self.seed,
                                               resume: true, out: b)
        XCTAssertEqual(resumed.completedEpochs, 2)
        let ta = try SafeTensors.read(a.appendingPathComponent(GANModelFolder.checkpointFile)).tensors
        let tb = try SafeTensors.read(b.appendingPathComponent(GANModelFolder.checkpointFile)).tensors
        XCTAssertEqual(ta.keys.sorted(), tb.keys.sorted())
        for (name, t) in ta { XCTAssertEqual(t.storage, tb[name]?.storage, "seed \(Self.seed): \(name) differs after resume") }

        let loaded = try GANModelFolder.load(b)
        XCTAssertEqual(loaded.completedEpochs, 2)
        let events = try GANCollider.unfold(loaded, detector: sample.detector!, samples: 3, rng: RNGStream(seed: 1))
        XCTAssertEqual(events.rows, 1800)
        XCTAssertEqual(events.columns, ColliderColumns.parton)
        let phi = events.index(of: "phi_q1")!, pt = events.index(of: "pT_q1")!
        for i in 0..<events.rows {
            XCTAssertTrue((-Double.pi...Double.pi).contains(events[i, phi]))
            XCTAssertGreaterThan(events[i, pt], 0)
        }
    }

    /// A NaN weight in the checkpoint: the resumed run is refused when the checkpoint loads, with
    /// an error naming the tensor ([reliability]: checkpoints with non-finite weights are corrupt),
    /// and the checkpoint on disk is left as it was.
    func testNaNStopsAndKeepsCheckpoint() throws {
        let sample = try tinySample(300)
        let folder = temporaryFolder()
        _ = try GANModelFolder.train(variant: .gan, sample: sample, profile: .quick, epochs: 1, seed: Self.seed, out: folder,
                                     network: tinyNetwork, training: tinyTraining)
        let url = folder.appendingPathComponent(GANModelFolder.checkpointFile)
        var file = try SafeTensors.read(url)
        let name = try XCTUnwrap(file.names.first { $0.hasPrefix("generator.") })
        file.tensors[name]!.storage[0] = .nan
        try SafeTensors.write(file.names.map { (name: $0, tensor: file.tensors[$0]!) }, metadata: file.metadata, to: url)
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try GANModelFolder.train(variant: .gan, sample: sample, profile: .quick, epochs: 3, seed: Self.seed,
                                                      resume: true, out: folder)) { error in
            XCTAssertTrue("\(error)".contains(name) && "\(error)".contains("corrupted checkpoint"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
    }

    /// Non-finite input values are refused with the file, row and column named.
    func testNonFiniteInputNamesTheColumn() throws {
        var sample = try tinySample(50)
        sample.parton!.values[3 * 12 + 7] = .infinity
        XCTAssertThrowsError(try GANModelFolder.train(variant: .fcgan, sample: sample, profile: .quick, seed: 1, out: temporaryFolder(),
                                                      network: tinyNetwork, training: tinyTraining)) { error in
            XCTAssertTrue("\(error)".contains("parton.npy row 3 column eta_q1"), "\(error)")
        }
    }
}

/// The residual GAN's skip built from the zw feature maps: with a generator that outputs 0 the
/// unfolded event is the detector-level event (pT_q1 = pT_j1, eta_q2 = eta_j2, the leptons as
/// measured), and a residual model folder trains, reloads and samples the same events.
final class ResidualGANTests: XCTestCase {
    func testSkipCarriesEveryParticleThroughBothFeatureMaps() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 500, rng: RNGStream(seed: 4))
        let parton = sample.parton!, detector = sample.detector!
        let partonMap = try FeatureMap.fit(parton), detectorMap = try FeatureMap.fit(detector)
        let skip = try GANCollider.detectorSkip(parton: partonMap, detector: detectorMap)
        XCTAssertEqual(skip.linkedOutputs, 12, "every parton column has a detector partner in zw")
        let features = skip.apply(try detectorMap.tensor(detector))
        let events = try partonMap.events(EventSample.Block(columns: parton.columns, rows: detector.rows,
                                                            values: features.storage.map(Double.init)))
        for (j, name) in parton.columns.enumerated() {
            let k = try XCTUnwrap(detector.index(of: name.replacingOccurrences(of: "_q", with: "_j")))
            for i in 0..<detector.rows {
                let expected = detector[i, k], got = events[i, j]
                // Float32 features: relative 1e-5 on pT, absolute 1e-5 on the angles.
                let tolerance = name.hasPrefix("pT_") ? 1e-5 * expected : 1e-5
                XCTAssertEqual(got, expected, accuracy: tolerance, "event \(i) \(name)")
            }
        }
        let unrelated = try FeatureMap.fit(EventSample.Block(columns: ["x"], rows: 2, values: [0, 1]))
        XCTAssertThrowsError(try GANCollider.detectorSkip(parton: unrelated, detector: detectorMap)) { error in
            XCTAssertTrue("\(error)".contains("at least one"), "\(error)")
        }
    }

    func testResidualModelFolderReloadsToTheSameSampler() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 400, rng: RNGStream(seed: 5))
        var network = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 16)
        network.residual = true
        let folder = temporaryFolder()
        let trained = try GANModelFolder.train(variant: .fcgan, sample: sample, profile: .quick, epochs: 1, seed: 3, out: folder,
                                               network: network, training: GANTrainingConfig(epochs: 1, batchSize: 100))
        XCTAssertNotNil(trained.model.skip)
        let loaded = try GANModelFolder.load(folder)
        XCTAssertEqual(loaded.settings.network.residual, true)
        let a = try GANCollider.unfold(trained, detector: sample.detector!, samples: 2, rng: RNGStream(seed: 8))
        let b = try GANCollider.unfold(loaded, detector: sample.detector!, samples: 2, rng: RNGStream(seed: 8))
        XCTAssertEqual(a.values, b.values)
    }
}
