import XCTest
import Foundation
import Autograd
import TestSupport

final class OptimizerTests: XCTestCase {
    /// Quadratic f(p) = 1/2 sum a_i (p_i - c_i)^2 with gradient a (p - c).
    let a: [Double] = [1, 3, 0.5, 2], c: [Double] = [0.5, -1, 2, 0], p0: [Double] = [1, 1, -1, 0.25]

    func quadraticLoss(_ p: Variable) -> Variable {
        let av = Variable(Tensor(shape: [4], storage: a.map(Float.init)))
        let cv = Variable(Tensor(shape: [4], storage: c.map(Float.init)))
        return sum(affine(av * square(p - cv), scale: 0.5))
    }

    /// Adam's update in Double, written out from Kingma & Ba (PyTorch's epsilon placement).
    func adamReference(steps: Int, lr: Double, b1: Double = 0.9, b2: Double = 0.999, eps: Double = 1e-8,
                       weightDecay: Double = 0, decoupled: Bool = false) -> [[Double]] {
        var p = p0, m = [Double](repeating: 0, count: 4), v = m
        var out: [[Double]] = []
        for t in 1...steps {
            for i in 0..<4 {
                // The gradient is taken at the parameters before the step (as backward does).
                let g = a[i] * (p[i] - c[i]) + (decoupled ? 0 : weightDecay * p[i])
                if decoupled { p[i] *= 1 - lr * weightDecay }
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                let mHat = m[i] / (1 - pow(b1, Double(t))), vHat = v[i] / (1 - pow(b2, Double(t)))
                p[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            out.append(p)
        }
        return out
    }

    func run(_ optimizer: (Variable) -> Optimizer, steps: Int) -> [[Double]] {
        let p = Variable(Tensor(shape: [4], storage: p0.map(Float.init)), requiresGrad: true)
        let opt = optimizer(p)
        var out: [[Double]] = []
        for _ in 0..<steps {
            opt.zeroGrad()
            backward(quadraticLoss(p))
            opt.step()
            out.append(p.value.storage.map(Double.init))
        }
        return out
    }

    func testAdamMatchesClosedFormForFiveSteps() {
        let got = run({ Adam([("p", $0)], learningRate: 0.1) }, steps: 5)
        for (step, (g, r)) in zip(got, adamReference(steps: 5, lr: 0.1)).enumerated() {
            assertAllClose(g, r, rel: 0, abs: 1e-6, "Adam step \(step + 1)")
        }
    }

    func testAdamWAndL2MatchClosedForm() {
        let w = run({ AdamW([("p", $0)], learningRate: 0.05, weightDecay: 0.1) }, steps: 5)
        for (step, (g, r)) in zip(w, adamReference(steps: 5, lr: 0.05, weightDecay: 0.1, decoupled: true)).enumerated() {
            assertAllClose(g, r, rel: 0, abs: 1e-6, "AdamW step \(step + 1)")
        }
        let l2 = run({ Adam([("p", $0)], learningRate: 0.05, weightDecay: 0.1) }, steps: 5)
        for (step, (g, r)) in zip(l2, adamReference(steps: 5, lr: 0.05, weightDecay: 0.1)).enumerated() {
            assertAllClose(g, r, rel: 0, abs: 1e-6, "Adam (L2) step \(step + 1)")
        }
    }

    func testSGDMomentumMatchesClosedForm() {
        let got = run({ SGD([("p", $0)], learningRate: 0.1, momentum: 0.9) }, steps: 5)
        var p = p0, b = [Double](repeating: 0, count: 4)
        for step in 0..<5 {
            for i in 0..<4 { b[i] = 0.9 * b[i] + a[i] * (p[i] - c[i]); p[i] -= 0.1 * b[i] }
            assertAllClose(got[step], p, rel: 0, abs: 1e-6, "SGD step \(step + 1)")
        }
    }

    func testClipGradNormReturnsNormAndScales() {
        let p = Variable(Tensor(shape: [2], storage: [0, 0]), requiresGrad: true)
        let q = Variable(Tensor(shape: [1], storage: [0]), requiresGrad: true)
        p.grad = Tensor(shape: [2], storage: [3, 0]); q.grad = Tensor(shape: [1], storage: [4])
        XCTAssertEqual(clipGradNorm([p, q], maxNorm: 10), 5, "below the limit: unchanged")
        XCTAssertEqual(p.grad!.storage, [3, 0])
        XCTAssertEqual(clipGradNorm([p, q], maxNorm: 1), 5)
        assertAllClose((p.grad!.storage + q.grad!.storage).map(Double.init), [0.6, 0, 0.8], rel: 1e-6)
    }

    func testSchedules() {
        assertClose(Double(ExponentialLR(initial: 1, gamma: 0.5).rate(step: 3)), 0.125)
        XCTAssertEqual(StepLR(initial: 1, stepSize: 10, gamma: 0.1).rate(step: 9), 1)
        assertClose(Double(StepLR(initial: 1, stepSize: 10, gamma: 0.1).rate(step: 25)), 0.01, rel: 1e-6)
        let cosine = CosineLR(initial: 1, totalSteps: 100, minimum: 0.1)
        assertClose(Double(cosine.rate(step: 0)), 1, rel: 1e-6)
        assertClose(Double(cosine.rate(step: 50)), 0.55, rel: 1e-6)
        assertClose(Double(cosine.rate(step: 100)), 0.1, rel: 1e-6)
        let oneCycle = OneCycleLR(maximum: 1, totalSteps: 101, warmupFraction: 0.3)
        assertClose(Double(oneCycle.rate(step: 0)), 1.0 / 25, rel: 1e-6)
        assertClose(Double(oneCycle.rate(step: 30)), 1, rel: 1e-6)
        assertClose(Double(oneCycle.rate(step: 100)), 1.0 / 25 / 1e4, rel: 1e-4)
        XCTAssertLessThan(oneCycle.rate(step: 60), oneCycle.rate(step: 40))
    }

    func testScheduleDrivesOptimizerRate() {
        let p = Variable(Tensor(shape: [1], storage: [1]), requiresGrad: true)
        let opt = SGD([("p", p)], learningRate: 123)
        opt.schedule = ExponentialLR(initial: 1, gamma: 0.5)
        for _ in 0..<3 { p.grad = Tensor(shape: [1], storage: [1]); opt.step() }
        XCTAssertEqual(opt.learningRate, 0.25, "step 2 (0-based) uses gamma^2")
        XCTAssertEqual(p.value.storage[0], 1 - 1 - 0.5 - 0.25)
    }
}
