import XCTest
import Autograd
import TestSupport

/// The one gradient harness every differentiable op passes.
///
/// Scalar test loss L = sum_i w_i f(inputs)_i with fixed random weights w (so every output
/// element matters with a different weight). Reference: central difference
/// (L(x + h) - L(x - h)) / (x+ - x-), where L is accumulated in Double over the Float32 outputs
/// and the denominator is the difference of the actually representable perturbed inputs.
///
/// Tolerance |analytic - fd| <= 1e-3 + 1e-3 |fd| (first order, h = 3e-3): the outputs touched by
/// one perturbation carry Float32 round-off of about 6e-8 |y| each, which the difference
/// divides by 2h = 6e-3 (about 1e-5 per touched output, a few touched outputs of size ~2), and
/// the truncation error h^2 f''' / 6 is about 1.5e-6 |f'''|: the bound is ten times both.
/// Inputs are drawn at least 0.05 away from kinks (relu, abs, clamp), so h never crosses one.
/// Second order (gradients of gradients, h = 1e-2): the differentiated function is itself a
/// Float32 gradient with round-off ~1e-6 relative over longer sums, so 3e-3 + 3e-3 |fd|.
/// Observed worst errors: 12 % of the first-order bound (division), 10 % of the second-order one.
enum GradientCheck {
    /// Values in [-scale, scale] at least `gap` from zero (and from `avoid` points).
    static func input(_ shape: [Int], rng: RNGStream, scale: Float = 1, positive: Bool = false,
                      avoid: [Float] = [0], gap: Float = 0.05) -> Tensor {
        var t = Tensor.uniform(shape, low: positive ? 0.2 : -scale, high: scale, rng: rng)
        for i in t.storage.indices {
            for a in avoid where Swift.abs(t.storage[i] - a) < gap {
                t.storage[i] = a + (t.storage[i] >= a ? gap : -gap) * 1.5
            }
        }
        return t
    }

    /// L = sum(w * f(inputs)) in Double, without a graph.
    static func loss(_ f: ([Variable]) -> Variable, _ inputs: [Tensor], _ w: Tensor) -> Double {
        withNoGrad {
            let y = f(inputs.map { Variable($0) })
            return zip(y.value.storage, w.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
    }

    /// Compares the analytic gradient of every input with central differences.
    static func check(_ name: String, _ inputs: [Tensor], seed: UInt64 = 11, step: Float = 3e-3,
                      rel: Double = 1e-3, abs: Double = 1e-3, file: StaticString = #filePath, line: UInt = #line,
                      _ f: @escaping ([Variable]) -> Variable) {
        let outputShape = withNoGrad { f(inputs.map { Variable($0) }).shape }
        let w = Tensor.uniform(outputShape, low: -1, high: 1, rng: RNGStream(seed: seed).child("weights"))
        let variables = inputs.map { Variable($0, requiresGrad: true) }
        let l = sum(f(variables) * Variable(w))
        backward(l)
        assertClose(Double(l.scalar), loss(f, inputs, w), rel: 1e-5, abs: 1e-5, "\(name): forward under grad mode differs", file: file, line: line)
        compare(name, inputs, variables.map { $0.grad ?? Tensor(shape: $0.shape) }, step: step, rel: rel, abs: abs,
                seed: seed, file: file, line: line) { loss(f, $0, w) }
    }

    /// Second order: P = sum(v * dL/d inputs[0]) with L as in `check`, the inner gradient taken
    /// with `createGraph`; dP/d inputs by `backward` against central differences of P.
    static func checkSecondOrder(_ name: String, _ inputs: [Tensor], seed: UInt64 = 13, step: Float = 1e-2,
                                 rel: Double = 3e-3, abs: Double = 3e-3, file: StaticString = #filePath, line: UInt = #line,
                                 _ f: @escaping ([Variable]) -> Variable) {
        let outputShape = withNoGrad { f(inputs.map { Variable($0) }).shape }
        let rng = RNGStream(seed: seed)
        let w = Tensor.uniform(outputShape, low: -1, high: 1, rng: rng.child("w"))
        let v = Tensor.uniform(inputs[0].shape, low: -1, high: 1, rng: rng.child("v"))
        func penalty(_ xs: [Variable], createGraph: Bool) -> Variable {
            let l = sum(f(xs) * Variable(w))
            let g = gradients(of: l, withRespectTo: [xs[0]], createGraph: createGraph)[0]
            return sum(g * Variable(v))
        }
        let variables = inputs.map { Variable($0, requiresGrad: true) }
        let p = penalty(variables, createGraph: true)
        backward(p)
        compare(name + " (second order)", inputs, variables.map { $0.grad ?? Tensor(shape: $0.shape) }, step: step,
                rel: rel, abs: abs, seed: seed, file: file, line: line) { xs in
            let p = penalty(xs.map { Variable($0, requiresGrad: true) }, createGraph: false)
            return Double(p.scalar)
        }
    }

    private static func compare(_ name: String, _ inputs: [Tensor], _ analytic: [Tensor], step: Float, rel: Double,
                                abs: Double, seed: UInt64, file: StaticString, line: UInt, _ l: ([Tensor]) -> Double) {
        for (i, x) in inputs.enumerated() {
            XCTAssertEqual(analytic[i].shape, x.shape, "\(name): gradient shape of input \(i)", file: file, line: line)
            for k in x.storage.indices {
                var plus = inputs, minus = inputs
                plus[i].storage[k] += step
                minus[i].storage[k] -= step
                let fd = (l(plus) - l(minus)) / (Double(plus[i].storage[k]) - Double(minus[i].storage[k]))
                let a = Double(analytic[i].storage[k])
                if !isClose(a, fd, rel: rel, abs: abs) {
                    XCTFail("\(name): input \(i) element \(k): analytic \(a) vs finite difference \(fd) (seed \(seed))",
                            file: file, line: line)
                    return
                }
            }
        }
    }
}
