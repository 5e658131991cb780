import XCTest
import Autograd

/// The one gradient harness every differentiable op, layer and physics function passes.
///
/// Scalar test loss L = sum_i w_i f(inputs)_i with fixed random weights w (so every output
/// element matters with a different weight; w = 1 for a one-element output). Reference: central
/// difference (L(x + h) - L(x - h)) / (x+ - x-), where L is accumulated in Double over the Float32
/// outputs and the denominator is the difference of the actually representable perturbed inputs.
///
/// Tolerance |analytic - fd| <= 1e-3 + 1e-3 |fd| (first order, h = 3e-3): the outputs touched by
/// one perturbation carry Float32 round-off of about 6e-8 |y| each, which the difference
/// divides by 2h = 6e-3 (about 1e-5 per touched output, a few touched outputs of size ~2), and
/// the truncation error h^2 f''' / 6 is about 1.5e-6 |f'''|: the bound is ten times both.
/// Inputs are drawn at least 0.05 away from kinks (relu, abs, clamp), so h never crosses one.
/// Functions with large third derivatives use the five-point stencil (truncation h^4 f^(5) / 30).
/// Second order (gradients of gradients, h = 1e-2): the differentiated function is itself a
/// Float32 gradient with round-off ~1e-6 relative over longer sums, so 3e-3 + 3e-3 |fd|.
/// Observed worst errors: 12 % of the first-order bound (division), 10 % of the second-order one.
public enum GradientCheck {
    /// The finite-difference formula.
    public enum Stencil {
        /// (L(+h) - L(-h)) / 2h: truncation h^2 |f'''| / 6.
        case central
        /// (8 (L(+h) - L(-h)) - (L(+2h) - L(-2h))) / 12h: truncation h^4 |f^(5)| / 30, for
        /// functions whose third derivative is large against the tolerance (the inverse spline).
        case fivePoint
    }

    /// Values in [-scale, scale] at least `gap` from zero (and from `avoid` points).
    public static func input(_ shape: [Int], rng: RNGStream, scale: Float = 1, positive: Bool = false,
                             avoid: [Float] = [0], gap: Float = 0.05) -> Tensor {
        var t = Tensor.uniform(shape, low: positive ? 0.2 : -scale, high: scale, rng: rng)
        for i in t.storage.indices {
            for a in avoid where Swift.abs(t.storage[i] - a) < gap {
                t.storage[i] = a + (t.storage[i] >= a ? gap : -gap) * 1.5
            }
        }
        return t
    }

    /// Compares the analytic gradient of every input of `f` with finite differences.
    public static func check(_ name: String, _ inputs: [Tensor], seed: UInt64 = 11, step: Float = 3e-3,
                             stencil: Stencil = .central, rel: Double = 1e-3, abs: Double = 1e-3,
                             file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Variable]) -> Variable) {
        let variables = inputs.map { Variable($0, requiresGrad: true) }
        check(name, variables: variables.enumerated().map { ("input \($0.offset)", $0.element) }, seed: seed, step: step,
              stencil: stencil, rel: rel, abs: abs, file: file, line: line) { f(variables) }
    }

    /// Compares `backward`'s gradient of L = sum(w * output()) with respect to every element of
    /// `variables` (module parameters or inputs that `output` reads, each perturbed in place and
    /// restored) with finite differences. `output` must give the same value for the same
    /// variables (a stochastic layer re-seeds its stream inside it).
    public static func check(_ name: String, variables: [(name: String, variable: Variable)], seed: UInt64 = 11,
                             step: Float = 3e-3, stencil: Stencil = .central, rel: Double = 1e-3, abs: Double = 1e-3,
                             file: StaticString = #filePath, line: UInt = #line, _ output: () -> Variable) {
        let outputShape = withNoGrad { output().shape }
        let w = outputShape.reduce(1, *) == 1 ? Tensor(shape: outputShape, repeating: 1)
            : Tensor.uniform(outputShape, low: -1, high: 1, rng: RNGStream(seed: seed).child("weights"))
        /// L in Double, without a graph.
        func loss() -> Double {
            withNoGrad { zip(output().value.storage, w.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        }
        for (_, v) in variables { v.grad = nil }
        let l = sum(output() * Variable(w))
        backward(l)
        assertClose(Double(l.scalar), loss(), rel: 1e-5, abs: 1e-5, "\(name): forward under grad mode differs", file: file, line: line)
        compare(name, variables, variables.map { $0.variable.grad ?? Tensor(shape: $0.variable.shape) }, step: step, stencil: stencil,
                rel: rel, abs: abs, seed: seed, file: file, line: line, loss)
    }

    /// Second order: P = sum(v * dL/d inputs[0]) with L as in `check`, the inner gradient taken
    /// with `createGraph`; dP/d inputs by `backward` against central differences of P.
    public static func checkSecondOrder(_ name: String, _ inputs: [Tensor], seed: UInt64 = 13, step: Float = 1e-2,
                                        rel: Double = 3e-3, abs: Double = 3e-3, file: StaticString = #filePath, line: UInt = #line,
                                        _ f: @escaping ([Variable]) -> Variable) {
        let outputShape = withNoGrad { f(inputs.map { Variable($0) }).shape }
        let rng = RNGStream(seed: seed)
        let w = Tensor.uniform(outputShape, low: -1, high: 1, rng: rng.child("w"))
        let v = Tensor.uniform(inputs[0].shape, low: -1, high: 1, rng: rng.child("v"))
        let variables = inputs.map { Variable($0, requiresGrad: true) }
        func penalty(createGraph: Bool) -> Variable {
            let l = sum(f(variables) * Variable(w))
            let g = gradients(of: l, withRespectTo: [variables[0]], createGraph: createGraph)[0]
            return sum(g * Variable(v))
        }
        backward(penalty(createGraph: true))
        let analytic = variables.map { $0.grad ?? Tensor(shape: $0.shape) }
        compare(name + " (second order)", variables.enumerated().map { ("input \($0.offset)", $0.element) }, analytic,
                step: step, stencil: .central, rel: rel, abs: abs, seed: seed, file: file, line: line) {
            Double(penalty(createGraph: false).scalar)
        }
    }

    /// Fails at the first element whose analytic gradient is not close to the finite difference of `loss`.
    private static func compare(_ name: String, _ variables: [(name: String, variable: Variable)], _ analytic: [Tensor],
                                step: Float, stencil: Stencil, rel: Double, abs: Double, seed: UInt64,
                                file: StaticString, line: UInt, _ loss: () -> Double) {
        for ((label, v), gradient) in zip(variables, analytic) {
            XCTAssertEqual(gradient.shape, v.shape, "\(name): gradient shape of \(label)", file: file, line: line)
            for k in v.value.storage.indices {
                let saved = v.value.storage[k]
                defer { v.value.storage[k] = saved }
                func shifted(_ multiple: Float) -> (value: Float, loss: Double) {
                    v.value.storage[k] = saved + multiple * step
                    return (v.value.storage[k], loss())
                }
                let (plus, minus) = (shifted(1), shifted(-1))
                let h = (Double(plus.value) - Double(minus.value)) / 2
                let fd: Double
                switch stencil {
                case .central: fd = (plus.loss - minus.loss) / (2 * h)
                case .fivePoint: fd = (8 * (plus.loss - minus.loss) - (shifted(2).loss - shifted(-2).loss)) / (12 * h)
                }
                let a = Double(gradient.storage[k])
                if !isClose(a, fd, rel: rel, abs: abs) {
                    XCTFail("\(name): \(label) element \(k): analytic \(a) vs finite difference \(fd) (seed \(seed))",
                            file: file, line: line)
                    return
                }
            }
        }
    }
}
