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

final class ConditionalDensityFlowTests: XCTestCase {
    /// Conditional augmentation learned: x ~ N(0, 1)^2 (8000 events, seed 91), a drawn per event in
    /// [0, 3], weight (1 + a x0^2) / (1 + a), condition a / 3. The flow conditioned on a must give
    /// P(|x0| > 1 | a) = (0.3173 + 0.8013 a) / (1 + a): 0.317 at a = 0, 0.680 at a = 3 (a
    /// robust measure: the variance is dominated by the flow's few far-tail points). 20,000
    /// generated points per a: statistical sigma 0.0035 each, 0.005 for the difference. A 4 x 32 flow
    /// after 60 epochs on 8000 events reaches 0.394 and 0.553 (seed 91): it follows a, but only 44 %
    /// of the 0.36 step, so the test asserts the step's sign and size, > 0.1 (20 sigma; a flow that
    /// ignores its condition gives 0), and that neither value leaves [0.317, 0.680].
    func testConditionedFlowFollowsReweighting() throws {
        let rng = RNGStream(seed: 91), n = 8_000
        let x = Tensor.normal([n, 2], rng: rng.child("x"))
        let draw = rng.child("a")
        var columns = [Float]()
        for i in 0..<n {
            let a = draw.uniform(0, 3), x0 = Double(x[i, 0])
            columns += [Float((1 + a * x0 * x0) / (1 + a)), Float(a / 3)]
        }
        let flow = try WeightedDensityFlow(config: DensityFlowConfig(dimension: 2, blocks: 4, layersPerBlock: 2, unitsPerLayer: 32, conditionDimension: 1),
                                           rng: rng.child("flow"))
        try FlowTrainer(model: flow, config: TrainingConfig(epochs: 60, batchSize: 256, learningRate: 1e-3, schedule: .cosine), rng: rng.child("train"))
            .train(partonLevel: x, detectorLevel: Tensor(shape: [n, 2], storage: columns))
        let outside = try [0.0, 3.0].map { a -> Double in
            let m = 20_000
            let g = try flow.sample(events: m, condition: Tensor(shape: [m, 1], repeating: Float(a / 3)), rng: rng.child("sample"))
            return Double((0..<m).filter { abs(g[$0, 0]) > 1 }.count) / Double(m)
        }
        XCTAssertGreaterThan(outside[1] - outside[0], 0.1, "P(|x0| > 1) at a = 0 and 3: \(outside), seed 91")
        XCTAssertTrue(outside.allSatisfy { (0.317 - 0.015...0.680 + 0.015).contains($0) }, "P(|x0| > 1) at a = 0 and 3: \(outside), seed 91")
        XCTAssertThrowsError(try flow.sample(events: 10, rng: rng), "a conditional flow needs its condition")
    }
}
