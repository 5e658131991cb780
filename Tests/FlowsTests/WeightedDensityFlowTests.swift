import Foundation
import XCTest
import Flows
import Tensor
import TestSupport

final class WeightedDensityFlowTests: XCTestCase {
    /// The loss is -sum w log p / sum w, log p from the flow's forward pass (checked against a
    /// direct evaluation with weights 1 and 3 on two events).
    func testWeightedLossIsTheWeightedMean() throws {
        let flow = try WeightedDensityFlow(config: DensityFlowConfig(dimension: 3, blocks: 2, layersPerBlock: 2, unitsPerLayer: 8), rng: RNGStream(seed: 51))
        let x = Tensor(shape: [2, 3], storage: [0.1, -0.4, 1.2, -0.7, 0.3, 0.05])
        let logP = flow.logDensity(Variable(x)).value.storage.map(Double.init)
        let loss = flow.loss(partonLevel: Variable(x), detectorLevel: Variable(Tensor(shape: [2, 1], storage: [1, 3])), epoch: 0, rng: RNGStream(seed: 1))
        XCTAssertEqual(Double(loss.total.scalar), -(logP[0] + 3 * logP[1]) / 4, accuracy: 1e-5)
        XCTAssertThrowsError(try DensityFlowConfig(dimension: 1).validated())
    }

    /// Weighted maximum likelihood learns w(x) p(x): standard normal events in 2D with weights
    /// w = exp(x0 / 2) have the weighted density N(0.5, 1) in x0 (exp(x/2 - x^2/2) ∝ exp(-(x - 1/2)^2 / 2)).
    /// FlowTrainer, 10 epochs of 8k events; the mean of 4k samples within 0.06 of 0.5 (sampling
    /// error 0.016, effective sample size of the weighted events ~6.2k: 0.013; the rest is training
    /// error). Unweighted training of the same events gives 0 within the same tolerance.
    func testWeightedMaximumLikelihoodLearnsTheWeightedDensity() throws {
        let rng = RNGStream(seed: 52)
        let n = 8_000
        let x = Tensor.normal([n, 2], rng: rng.child("data"))
        for (weighted, expected) in [(true, 0.5), (false, 0.0)] {
            let w = Tensor(shape: [n, 1], storage: (0..<n).map { weighted ? Float(Foundation.exp(0.5 * Double(x[$0, 0]))) : 1 })
            let flow = try WeightedDensityFlow(config: DensityFlowConfig(dimension: 2, blocks: 4, layersPerBlock: 2, unitsPerLayer: 32), rng: rng.child("init"))
            let trainer = try FlowTrainer(model: flow, config: TrainingConfig(epochs: 10, batchSize: 256, learningRate: 3e-3, schedule: .cosine), rng: rng.child("train"))
            try trainer.train(partonLevel: x, detectorLevel: w)
            let samples = try flow.sample(events: 4_000, rng: rng.child("sample"))
            XCTAssertEqual(samples.shape, [4_000, 2])
            let mean = (0..<samples.rows).reduce(0.0) { $0 + Double(samples[$1, 0]) } / Double(samples.rows)
            XCTAssertEqual(mean, expected, accuracy: 0.06, "weighted \(weighted), seed 52")
        }
    }
}
