import Foundation
import XCTest
import Flows
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
