import XCTest
import Autograd
import TestSupport

/// Double backward (gradient penalties): d/d theta of sum(v * dL/dx), see GradientCheck.
final class SecondOrderTests: XCTestCase {
    let rng = RNGStream(seed: 4242)
    func x(_ shape: [Int], _ label: String, positive: Bool = false) -> Tensor {
        GradientCheck.input(shape, rng: rng.child(label), positive: positive)
    }

    func testSmoothElementwiseOps() {
        // Positive inputs in [0.7, 1.5]: 1/x and log x have large fourth derivatives near 0, which
        // would dominate the finite-difference truncation error at h = 1e-2.
        let a = x([3, 4], "a"), p = x([3, 4], "p", positive: true) + 0.5
        GradientCheck.checkSecondOrder("tanh", [a]) { tanh($0[0]) }
        GradientCheck.checkSecondOrder("sigmoid", [a]) { sigmoid($0[0]) }
        GradientCheck.checkSecondOrder("softplus", [a]) { softplus($0[0]) }
        GradientCheck.checkSecondOrder("square", [a]) { square($0[0]) }
        GradientCheck.checkSecondOrder("exp", [a]) { exp($0[0]) }
        GradientCheck.checkSecondOrder("log", [p]) { log($0[0]) }
        GradientCheck.checkSecondOrder("atan", [a]) { atan($0[0]) }
        GradientCheck.checkSecondOrder("sqrt", [p]) { sqrt($0[0]) }
        GradientCheck.checkSecondOrder("elu", [a]) { elu($0[0]) }
        GradientCheck.checkSecondOrder("x * y", [a, p]) { $0[0] * $0[1] }
        GradientCheck.checkSecondOrder("x / y", [a, p]) { $0[0] / $0[1] }
        GradientCheck.checkSecondOrder("s / x", [p]) { 2 / $0[0] }
    }

    func testReductions() {
        let a = x([3, 4], "a")
        GradientCheck.checkSecondOrder("sum of squares", [a]) { sum(square($0[0])) }
        GradientCheck.checkSecondOrder("mean of squares", [a]) { mean(square($0[0]), axis: 1) }
        GradientCheck.checkSecondOrder("sum axis 0 of tanh", [a]) { sum(tanh($0[0]), axis: 0) }
        GradientCheck.checkSecondOrder("logSumExp", [a]) { logSumExp($0[0], axis: 1) }
        GradientCheck.checkSecondOrder("pairwise distances", [x([3, 2], "x"), x([4, 2], "y")]) {
            exp(-pairwiseSquaredDistances($0[0], $0[1]))
        }
    }

    /// A critic D(x) = w2 act(W1 x + b1) + b2 as in a gradient penalty, for each activation;
    /// inputs chosen so that no pre-activation lies within 0.1 of a kink.
    func testCriticGradientPenalty() {
        let activations: [(String, (Variable) -> Variable)] = [
            ("relu", { relu($0) }), ("leakyRelu", { leakyRelu($0, slope: 0.2) }), ("tanh", { tanh($0) }),
            ("sigmoid", { sigmoid($0) }), ("softplus", { softplus($0) }),
        ]
        for (name, act) in activations {
            var inputs: [Tensor] = []
            for attempt in 0..<100 {
                let r = rng.child(index: attempt)
                inputs = [x([3, 2], "x\(attempt)"), Tensor.uniform([4, 2], low: -1, high: 1, rng: r.child("w1")),
                          Tensor.uniform([4], low: -1, high: 1, rng: r.child("b1")),
                          Tensor.uniform([1, 4], low: -1, high: 1, rng: r.child("w2")), Tensor(shape: [1])]
                let pre = withNoGrad { linear(Variable(inputs[0]), Variable(inputs[1]), Variable(inputs[2])) }
                if pre.value.storage.allSatisfy({ Swift.abs($0) > 0.1 }) { break }
            }
            GradientCheck.checkSecondOrder("critic \(name)", inputs) { v in
                mean(linear(act(linear(v[0], v[1], v[2])), v[3], v[4]))
            }
            if name == "relu" || name == "leakyRelu" {
                GradientCheck.checkSecondOrder("critic fused linear \(name)", inputs) { v in
                    mean(linear(linearLeakyRelu(v[0], v[1], v[2], slope: name == "relu" ? 0 : 0.2), v[3], v[4]))
                }
            }
        }
    }

    func testGradientPenaltyShape() {
        // ||dD/dx||^2 per event, then its mean: the WGAN-GP form, differentiable in the weights.
        let x = Variable(Tensor.normal([5, 3], rng: rng.child("gp")), requiresGrad: true)
        let w = Variable(Tensor.normal([2, 3], rng: rng.child("w")), requiresGrad: true)
        let d = sum(tanh(linear(x, w, nil)))
        let g = gradients(of: d, withRespectTo: [x], createGraph: true)[0]
        XCTAssertEqual(g.shape, [5, 3])
        XCTAssertTrue(g.requiresGrad, "a gradient taken with createGraph must carry a graph")
        let penalty = mean(square(sqrt(sum(square(g), axis: 1)) - 1))
        backward(penalty)
        XCTAssertNotNil(w.grad)
        XCTAssertTrue(w.grad!.storage.contains { $0 != 0 })
    }
}
