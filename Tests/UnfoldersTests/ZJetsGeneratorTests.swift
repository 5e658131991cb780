import Foundation
import XCTest
import Flows
import GAN
import Physics
import Unfolders
import Tensor
import TestSupport

final class ZJetsGeneratorTests: XCTestCase {
    /// Trains the three flows briefly on 3000 events, writes the model folder, loads it back and
    /// samples: identical events for the same seed, the z-jets columns, jets above the threshold and
    /// by descending pT, Delta R weights 0 exactly where a jet pair is below R-, and multiplicity
    /// fractions within 4 binomial sigma of the training fractions.
    func testTrainSaveLoadSample() throws {
        let truth = try ZJetsProduction().sample(events: 3_000, rng: RNGStream(seed: 71))
        let folder = temporaryFolder()
        let separation = try SeparationWeight(lower: 0.4, upper: 1.2)
        let generator = try ZJetsGenerator.train(sample: truth, source: "test", flow: DensityFlowConfig(dimension: 2, blocks: 2, layersPerBlock: 2, unitsPerLayer: 16),
                                                 training: TrainingConfig(epochs: 1, batchSize: 256), separation: separation, seed: 71, folder: folder)
        XCTAssertEqual(generator.settings.trainingEvents.reduce(0, +), 3_000)
        XCTAssertEqual(generator.settings.coordinates.map(\.dimension), [8, 11, 14])
        let loaded = try ZJetsGenerator.load(from: folder)
        let n = 2_000
        let a = try generator.sample(events: n, rng: RNGStream(seed: 72)), b = try loaded.sample(events: n, rng: RNGStream(seed: 72))
        XCTAssertEqual(a.events, b.events)
        XCTAssertEqual(a.weights, b.weights)
        XCTAssertEqual(a.events?.columns, ZJetsProduction.columns(jets: 3))
        for i in 0..<n {
            let e = try ZJetsProduction.event(a.events!, row: i)
            XCTAssertEqual(e.jets.count, a.njets![i])
            XCTAssertTrue(e.jets.allSatisfy { $0.pT >= 20 })
            XCTAssertEqual(e.jets.map(\.pT), e.jets.map(\.pT).sorted(by: >))
            XCTAssertEqual(a.weights![i] == 0, e.jetSeparations.contains { $0 <= 0.4 }, "row \(i), seed 72")
        }
        for (k, f) in generator.settings.fractions.enumerated() {
            let observed = Double(a.njets!.filter { $0 == k + 1 }.count) / Double(n)
            XCTAssertEqual(observed, f, accuracy: 4 * (f * (1 - f) / Double(n)).squareRoot(), "\(k + 1) jets, seed 72")
        }
        XCTAssertThrowsError(try ZJetsGenerator.load(from: temporaryFolder("missing")))
    }
}

final class ZJetsGeneratorControlTests: XCTestCase {
    /// Discriminators stored with the model: after one flow epoch and one classifier epoch on 3000
    /// events (seed 73) the folder holds them, a loaded generator gives the same D/(1-D) for the same
    /// sample, one finite non-negative weight per event, at most the clip (10).
    func testDiscriminatorsStoredWithTheModel() throws {
        let truth = try ZJetsProduction().sample(events: 3_000, rng: RNGStream(seed: 73))
        let folder = temporaryFolder()
        let generator = try ZJetsGenerator.train(sample: truth, source: "test", flow: DensityFlowConfig(dimension: 2, blocks: 2, layersPerBlock: 2, unitsPerLayer: 16),
                                                 training: TrainingConfig(epochs: 1, batchSize: 256), separation: try SeparationWeight(lower: 0.4, upper: 1.2),
                                                 seed: 73, folder: folder)
        XCTAssertNil(try generator.controlledSample(events: 10, rng: RNGStream(seed: 75)).discriminator)
        try generator.trainDiscriminators(truth: try ZJetsGenerator.events(of: truth, source: "test"), config: ClassifierConfig(hiddenLayers: 1, units: 16, epochs: 1),
                                          weightClip: 10, rng: RNGStream(seed: 74), folder: folder)
        let loaded = try ZJetsGenerator.load(from: folder)
        XCTAssertEqual(loaded.discriminators.count, 3)
        let x = try generator.controlledSample(events: 1_500, rng: RNGStream(seed: 75)), y = try loaded.controlledSample(events: 1_500, rng: RNGStream(seed: 75))
        XCTAssertEqual(x.sample.events, y.sample.events)
        let a = try XCTUnwrap(x.discriminator), b = try XCTUnwrap(y.discriminator)
        XCTAssertEqual(a.weights, b.weights)
        XCTAssertEqual(a.weights.count, 1_500)
        XCTAssertTrue(a.weights.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 10 }, "seed 75")
        XCTAssertGreaterThan(Set(a.weights).count, 100, "D/(1-D) should vary from event to event")
    }

    /// The augmentation-conditioned generator: the condition reaches every flow, a outside [0, 30]
    /// and a != 0 for an unconditioned generator are refused, the multiplicity fractions follow
    /// N_n (1 + a <u^2>_n) (at a = 0 the training fractions; harder multiplicities gain with a), and
    /// the model folder round-trips at a = 20.
    func testAugmentationConditionedGenerator() throws {
        let truth = try ZJetsProduction().sample(events: 3_000, rng: RNGStream(seed: 76))
        let folder = temporaryFolder()
        let generator = try ZJetsGenerator.train(sample: truth, source: "test", flow: DensityFlowConfig(dimension: 2, blocks: 2, layersPerBlock: 2, unitsPerLayer: 16),
                                                 training: TrainingConfig(epochs: 1, batchSize: 256), separation: try SeparationWeight(lower: 0.4, upper: 1.2),
                                                 seed: 76, augmentation: try AugmentationWeight(), folder: folder)
        XCTAssertEqual(generator.flows.map(\.config.conditions), [1, 1, 1])
        let settings = generator.settings
        XCTAssertEqual(settings.fractions(augmentation: 0), settings.fractions)
        let shape = try XCTUnwrap(settings.augmentationShape)
        let grouped = try ZJetsGenerator.events(of: truth, source: "test")
        for (k, events) in grouped.enumerated() {
            let u2 = events.map { try! AugmentationWeight().shape(leadingJetPT: $0.jets[0].pT) }
            XCTAssertEqual(shape[k], u2.reduce(0, +) / Double(u2.count), accuracy: 1e-12, "\(k + 1) jets")
        }
        let at30 = settings.fractions(augmentation: 30)
        XCTAssertEqual(at30.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertGreaterThan(at30[2] / at30[0], settings.fractions[2] / settings.fractions[0], "3 jets have the harder leading jet")
        XCTAssertThrowsError(try generator.sample(events: 10, rng: RNGStream(seed: 77), augmentation: 31))
        XCTAssertThrowsError(try generator.sample(events: 10, rng: RNGStream(seed: 77), augmentation: -1))
        let loaded = try ZJetsGenerator.load(from: folder)
        let a = try generator.sample(events: 500, rng: RNGStream(seed: 78), augmentation: 20), b = try loaded.sample(events: 500, rng: RNGStream(seed: 78), augmentation: 20)
        XCTAssertEqual(a.events, b.events)
        XCTAssertEqual(a.parameters["augmentation_a"], 20)
        let plain = try ZJetsGenerator.train(sample: truth, source: "test", flow: DensityFlowConfig(dimension: 2, blocks: 1, layersPerBlock: 1, unitsPerLayer: 8),
                                             training: TrainingConfig(epochs: 1, batchSize: 256), separation: try SeparationWeight(lower: 0.4, upper: 1.2), seed: 76)
        XCTAssertThrowsError(try plain.sample(events: 10, rng: RNGStream(seed: 77), augmentation: 10))
    }
}
