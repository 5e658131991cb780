import Flows
import Foundation
@testable import Inference
import Physics
import Tensor
import TestSupport
import XCTest

/// The set-level cINN of issue 18: the summary ignores the order of the jets, a model folder
/// reproduces its posterior, and training narrows the posterior around the truth.
final class QCDInferenceTests: XCTestCase {
    static let seed: UInt64 = 1818

    static func tinyConfig(maximumJets: Int = 12) -> JetSetINNConfig {
        JetSetINNConfig(parameters: 2, maximumJets: maximumJets, minimumJets: 4, embeddingLayers: 2, embeddingUnits: 16, summaryDimension: 8,
                        inn: ConditionalINNConfig(blocks: 3, layersPerBlock: 2, unitsPerLayer: 16, conditionLayers: 2, conditionUnits: 16,
                                                  conditionOutput: 8, mmdWeight: .off))
    }

    /// Random standardised features for sets of the given sizes.
    static func randomSets(_ sizes: [Int], rng: RNGStream) -> [[[Float]]] {
        sizes.map { m in (0..<m).map { _ in (0..<JetFeatures.count).map { _ in Float(rng.normal()) } } }
    }

    func testSummaryIsInvariantUnderPermutationsOfTheJets() throws {
        let rng = RNGStream(seed: Self.seed).child("permutation")
        let network = try JetSetINN(config: Self.tinyConfig(), rng: rng.child("model"))
        let sets = Self.randomSets([12, 7, 12, 4, 7], rng: rng.child("sets"))
        let permuted = sets.map { set in rng.child("order").permutation(set.count).map { set[$0] } }
        let a = try network.condition(try JetSetINN.encode(sets, maximumJets: 12))
        let b = try network.condition(try JetSetINN.encode(permuted, maximumJets: 12))
        XCTAssertEqual(a.shape, [5, 9])
        // The mean over jets sums in another order: float round-off only (about 1e-7 relative).
        for i in 0..<a.count { assertClose(Double(a.storage[i]), Double(b.storage[i]), rel: 1e-5, abs: 1e-6) }
        // Not trivially constant: another set gives another summary.
        XCTAssertGreaterThan(abs(a.storage[0] - a.storage[9]) + abs(a.storage[1] - a.storage[10]), 1e-4)
        // And the posterior draws agree to round-off too.
        let sa = try network.sample(detectorLevel: try JetSetINN.encode(sets, maximumJets: 12), count: 5, rng: RNGStream(seed: 3))
        let sb = try network.sample(detectorLevel: try JetSetINN.encode(permuted, maximumJets: 12), count: 5, rng: RNGStream(seed: 3))
        for i in 0..<sa.count { assertClose(Double(sa.storage[i]), Double(sb.storage[i]), rel: 1e-4, abs: 1e-5) }
    }

    func testEncodingRefusesOversizedSetsAndWrongFeatures() {
        XCTAssertThrowsError(try JetSetINN.encode(Self.randomSets([13], rng: RNGStream(seed: 1)), maximumJets: 12))
        XCTAssertThrowsError(try JetSetINN.encode([[[1, 2]]], maximumJets: 12))
    }

    /// Sets of showered jets: quark and gluon jets at 50 GeV, C_A and C_F from the prior per set.
    static func showerSets(_ count: Int, jets: Int, prior: [String] = ["C_A=2:4", "C_F=0.6666667:2"], seed: UInt64) throws -> JetSets {
        let sample = try ShowerSample(jets: count * jets, energy: 50, initial: .mixed(quarkFraction: 0.5), fixed: ShowerParameters(),
                                      prior: try ShowerPrior(prior), jetsPerSet: jets, seed: seed)
        return try JetSets(sample)
    }

    func testModelFolderRoundTripGivesTheSamePosterior() throws {
        let sets = try Self.showerSets(40, jets: 12, seed: Self.seed)
        XCTAssertEqual(sets.names, ["C_A", "C_F"])
        XCTAssertEqual(sets.features.map(\.count), Array(repeating: 12, count: 40))
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (model, history) = try QCDInferenceModel.train(sets, config: Self.tinyConfig(), prior: [[2, 4], [0.6666667, 2]],
                                                           optimisation: TrainingConfig(epochs: 2, batchSize: 16), seed: Self.seed, folder: folder)
        XCTAssertEqual(history.count, 2)
        let loaded = try QCDInferenceModel.read(from: folder)
        XCTAssertEqual(loaded.names, model.names)
        XCTAssertEqual(loaded.featureScale, model.featureScale)
        let probe = sets.prefix(9)
        let a = try model.posterior(probe, samples: 16, rng: RNGStream(seed: 7))
        let b = try loaded.posterior(probe, samples: 16, rng: RNGStream(seed: 7))
        XCTAssertEqual(a, b)
        // Resuming continues the epoch count of the checkpoint.
        let (_, more) = try QCDInferenceModel.train(sets, config: Self.tinyConfig(), prior: [[2, 4], [0.6666667, 2]],
                                                    optimisation: TrainingConfig(epochs: 3, batchSize: 16), seed: Self.seed, folder: folder, resume: true)
        XCTAssertEqual(more.map { $0.epoch }, [2])
    }

    /// 1500 training sets of 20 jets; on 40 held-out sets the posterior of C_A must be narrower than
    /// the prior (std 0.577) and centred on the truth: the mean |pull| of a calibrated posterior is
    /// sqrt(2/pi) = 0.80 with noise 0.6/sqrt(40) = 0.095, asserted below 1.2 (4 sigma).
    func testPosteriorNarrowsAroundTheTruth() throws {
        let training = try Self.showerSets(1500, jets: 20, seed: Self.seed &+ 1)
        let test = try Self.showerSets(40, jets: 20, seed: Self.seed &+ 2)
        var config = Self.tinyConfig(maximumJets: 20)
        config.minimumJets = 20
        let (model, _) = try QCDInferenceModel.train(training, config: config, prior: [[2, 4], [0.6666667, 2]],
                                                     optimisation: TrainingConfig(epochs: 25, batchSize: 32, learningRate: 2e-3, schedule: .oneCycle),
                                                     seed: Self.seed)
        let posterior = try model.posterior(test, samples: 200, rng: RNGStream(seed: 9))
        let summaries = posterior.map { PosteriorSummary(names: model.names, samples: $0) }
        var width = 0.0, pull = 0.0, error = 0.0
        for (summary, truth) in zip(summaries, test.parameters) {
            let deviation = abs(summary.mean[0] - truth[0])
            width += summary.std[0] / 40; error += deviation / 40; pull += deviation / summary.std[0] / 40
        }
        print("C_A: mean posterior std \(width) (prior 0.577), mean |mean - truth| \(error) (prior mean: 0.5), mean |pull| \(pull)")
        XCTAssertLessThan(width, 0.4)
        XCTAssertLessThan(error, 0.35)
        XCTAssertLessThan(pull, 1.2)
    }
}
