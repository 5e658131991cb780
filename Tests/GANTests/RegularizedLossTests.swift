import XCTest
import Foundation
import TestSupport
@testable import GAN

/// Eq. 4.2 + 4.3 on a 1 -> 2 -> 1 tanh discriminator with fixed weights, against the same loss
/// written out by hand in Double: phi(x) = v . tanh(w x + b) + c, dphi/dx = sum_k v_k w_k (1 - t_k^2).
final class RegularizedLossTests: XCTestCase {
    // Parameter order: w0, w1, b0, b1, v0, v1, c.
    let weights: [Double] = [1.8, -1.3, 0.2, -0.4, 1.6, 1.2, -0.15]
    let real: [Double] = [0.3, -0.7, 1.6]
    let fake: [Double] = [1.1, 0.2, -1.9, 0.05]

    /// (L_D, penalty) by hand in Double.
    func handLoss(_ p: [Double], lambda: Double) -> (total: Double, crossEntropy: Double, penalty: Double) {
        func phi(_ x: Double) -> (value: Double, slope: Double) {
            let t0 = Foundation.tanh(p[0] * x + p[2]), t1 = Foundation.tanh(p[1] * x + p[3])
            return (p[4] * t0 + p[5] * t1 + p[6], p[4] * p[0] * (1 - t0 * t0) + p[5] * p[1] * (1 - t1 * t1))
        }
        func sigmoid(_ z: Double) -> Double { 1 / (1 + Foundation.exp(-z)) }
        var ce = 0.0, penalty = 0.0
        for x in real {
            let (f, s) = phi(x), d = sigmoid(f)
            ce += -Foundation.log(d) / Double(real.count)
            penalty += (1 - d) * (1 - d) * s * s / Double(real.count)
        }
        for x in fake {
            let (f, s) = phi(x), d = sigmoid(f)
            ce += -Foundation.log(1 - d) / Double(fake.count)
            penalty += d * d * s * s / Double(fake.count)
        }
        return (ce + lambda * penalty, ce, penalty)
    }

    func tinyDiscriminator(_ p: [Double]) -> MLP {
        let net = MLP(sizes: [1, 2, 1], activation: .tanh, rng: RNGStream(seed: 1))
        let f = p.map(Float.init)
        net.layers[0].weight.value = Tensor(shape: [2, 1], storage: [f[0], f[1]])
        net.layers[0].bias.value = Tensor(shape: [2], storage: [f[2], f[3]])
        net.layers[1].weight.value = Tensor(shape: [1, 2], storage: [f[4], f[5]])
        net.layers[1].bias.value = Tensor(shape: [1], storage: [f[6]])
        return net
    }

    func engineLoss(_ net: MLP, lambda: Float) -> DiscriminatorLoss {
        regularizedDiscriminatorLoss(real: Tensor(shape: [real.count, 1], storage: real.map(Float.init)),
                                     fake: Tensor(shape: [fake.count, 1], storage: fake.map(Float.init)),
                                     lambda: lambda) { net($0) }
    }

    /// The engine's parameter gradients in the order of `weights`.
    func engineGradient(_ net: MLP, lambda: Float) -> [Double] {
        let vars = [net.layers[0].weight, net.layers[0].bias, net.layers[1].weight, net.layers[1].bias]
        return gradients(of: engineLoss(net, lambda: lambda).total, withRespectTo: vars).flatMap { $0.value.storage.map(Double.init) }
    }

    func testLossAndPenaltyMatchHandComputation() {
        let lambda = 0.37
        let hand = handLoss(weights, lambda: lambda)
        let loss = engineLoss(tinyDiscriminator(weights), lambda: Float(lambda))
        assertClose(Double(loss.crossEntropy), hand.crossEntropy, rel: 1e-5, "L_D, eq. 4.2")
        assertClose(Double(loss.gradientPenalty), hand.penalty, rel: 1e-5, "penalty, eq. 4.3")
        assertClose(Double(loss.total.scalar), hand.total, rel: 1e-5, "L_D^(reg), eq. 4.3")
        XCTAssertGreaterThan(hand.penalty, 0.05, "the penalty must not be negligible for this check")
    }

    /// d penalty / d weights runs through grad_x phi (double backward): compare the engine's
    /// gradient difference (lambda = 1 minus lambda = 0) with central differences of the
    /// Double penalty (h = 1e-6, truncation error ~1e-12).
    func testPenaltyGradientMatchesFiniteDifference() {
        let net = tinyDiscriminator(weights)
        let withPenalty = engineGradient(net, lambda: 1), without = engineGradient(net, lambda: 0)
        let h = 1e-6
        for i in weights.indices {
            var up = weights, down = weights
            up[i] += h; down[i] -= h
            let fd = (handLoss(up, lambda: 0).penalty - handLoss(down, lambda: 0).penalty) / (2 * h)
            assertClose(withPenalty[i] - without[i], fd, rel: 1e-3, abs: 1e-5, "d penalty / d weight \(i)")
            let fdTotal = (handLoss(up, lambda: 1).total - handLoss(down, lambda: 1).total) / (2 * h)
            assertClose(withPenalty[i], fdTotal, rel: 1e-4, abs: 1e-6, "d L_D^(reg) / d weight \(i)")
        }
    }

    /// The generator loss eq. 4.4 is softplus(-phi) = -log sigmoid(phi), finite for saturated D.
    func testGeneratorLossIsMinusLogD() {
        let phi = Variable(Tensor(shape: [3, 1], storage: [-2, 0.5, -120]))
        let expected = [-2.0, 0.5, -120.0].map { Foundation.log(1 + Foundation.exp(-$0)) }.reduce(0, +) / 3
        assertClose(Double(generatorAdversarialLoss(fakeLogits: phi).scalar), expected, rel: 1e-6)
    }
}
