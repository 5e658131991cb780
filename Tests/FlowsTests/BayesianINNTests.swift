import XCTest
import Flows
import TestSupport

final class BayesianINNTests: XCTestCase {
    /// The transform harness on the Bayesian coupling in both evaluation modes (one fixed weight
    /// draw, posterior means): shape, round trip, log-det symmetry and finite-difference Jacobian;
    /// unconditional as in the BINN, and conditional (the shared coupling reads a condition too).
    func testBayesianCouplingPassesTheHarness() {
        for (d, c, seed) in [(2, 0, UInt64(31)), (5, 0, 32), (4, 3, 34)] {
            let block = BayesianCoupling(dimension: d, conditionDimension: c, layers: 3, units: 16, initialization: .kaiming,
                                         rng: RNGStream(seed: seed))
            for layer in block.subnet.layers { for i in 0..<layer.logVariance.value.count { layer.logVariance.value.storage[i] = -2 } }
            block.subnet.layers.forEach { $0.resample(rng: RNGStream(seed: seed).child(index: $0.inputs)) }
            TransformHarness(step: 1e-3).check(block, conditionColumns: c, seed: seed)
            block.subnet.layers.forEach { $0.mode = .mean }
            TransformHarness(step: 1e-3).check(block, conditionColumns: c, seed: seed)
        }
    }

    /// Eq. 6.16 per event: loss = mean NLL + KL / N, with KL the sum over every Bayesian layer.
    func testLossIsLikelihoodPlusKLOverTrainingSize() throws {
        let seed: UInt64 = 33
        let config = BINNConfig(dimension: 2, blocks: 3, hiddenLayers: 2, units: 8, priorWidth: 1, trainingEvents: 1234)
        let binn = BayesianINN(config: config, rng: RNGStream(seed: seed))
        XCTAssertEqual(binn.bayesianLayers.count, 9)
        XCTAssertEqual(binn.bayesianWeightCount, 3 * (1 * 8 + 8 * 8 + 8 * 2))
        let x = Variable(Tensor.normal([64, 2], rng: RNGStream(seed: seed).child("x")))
        let loss = binn.loss(partonLevel: x, detectorLevel: Variable(Tensor(shape: [64, 0])), epoch: 0, rng: RNGStream(seed: seed).child("noise"))
        let kl = binn.bayesianLayers.reduce(0.0) { $0 + Double($1.klDivergence().scalar) }
        let nll = Double(try XCTUnwrap(loss.terms[.negativeLogLikelihood]))
        assertClose(Double(loss.total.scalar), nll + kl / 1234, rel: 1e-5)
        // Freshly initialised: zero last-layer means, so z = x up to the weight noise (sigma = e^-4.5 on
        // the last layer, times 0.1) and the NLL is that of N(0, 1) to ~1e-3.
        let gaussian = x.value.storage.reduce(0.0) { $0 + 0.5 * Double($1 * $1) } / 64 + log(2 * Double.pi)
        XCTAssertEqual(nll, gaussian, accuracy: 3e-3, "seed \(seed)")
        // Table 6.2's count: 20 blocks of 2 -> 64 -> 64 -> 4 with mean and variance, plus biases = 182k.
        let dy = BayesianINN(config: .drellYanPaper(), rng: RNGStream(seed: seed))
        XCTAssertEqual(dy.parameterCount, 20 * (2 * (2 * 64 + 64 * 64 + 64 * 4) + 64 + 64 + 4 + 2 * 4))
    }
}
