import XCTest
import NN
import TestSupport

final class BayesianDenseTests: XCTestCase {
    /// A 3 -> 2 layer with set means and log-variances.
    private func layer(prior: Float = 1, logVariance: Float? = nil, seed: UInt64) -> BayesianDense {
        let l = BayesianDense(inputs: 3, outputs: 2, priorWidth: prior, rng: RNGStream(seed: seed))
        l.mean.value.storage = [0.3, -0.7, 1.2, 0.05, -0.4, 0.9]
        l.logVariance.value.storage = logVariance.map { [Float](repeating: $0, count: 6) } ?? [-9, -3, -1.5, -0.2, 0.4, -2]
        l.bias.value.storage = [0.25, -0.5]
        return l
    }

    /// KL = 1/2 Σ [(mu² + σ²)/p² − log σ² − 1 + log p²], evaluated in Double per weight.
    func testKLAgainstClosedForm() {
        for prior in [Float(1), 0.3, 5] {
            let l = layer(prior: prior, seed: 1)
            let p2 = Double(prior) * Double(prior)
            var expected = 0.0
            for (m, lv) in zip(l.mean.value.storage, l.logVariance.value.storage) {
                let mu = Double(m), s2 = exp(Double(lv))
                expected += 0.5 * ((mu * mu + s2) / p2 - Double(lv) - 1 + log(p2))
            }
            assertClose(Double(l.klDivergence().scalar), expected, rel: 1e-5)
        }
        // q = p: KL vanishes (mu = 0, sigma = prior).
        let q = BayesianDense(inputs: 4, outputs: 3, initializer: .zeros, priorWidth: 2, rng: RNGStream(seed: 2))
        q.logVariance.value.storage = [Float](repeating: Float(log(4.0)), count: 12)
        XCTAssertEqual(Double(q.klDivergence().scalar), 0, accuracy: 1e-5)
    }

    /// Local reparametrisation at a fixed input x: y_j ~ N(x·mu_j + b_j, Σ_i x_i² σ_ij²).
    /// N = 40000 draws: the sample mean is within 5 standard errors σ/√N, the sample variance within
    /// 5 × sqrt(2/N) = 3.5 % of the expected variance (5 sigma of the sampling distribution).
    func testLocalReparametrisationVariance() {
        let seed: UInt64 = 11
        let l = layer(seed: seed)
        let x: [Float] = [0.8, -1.5, 2.0]
        let n = 40_000
        l.mode = .training(RNGStream(seed: seed).child("noise"))
        let y = withNoGrad { l(Variable(Tensor(shape: [n, 3], storage: (0..<n).flatMap { _ in x }))) }
        for j in 0..<2 {
            var mean = Double(l.bias.value.storage[j]), variance = 0.0
            for i in 0..<3 {
                mean += Double(x[i]) * Double(l.mean.value.storage[j * 3 + i])
                variance += Double(x[i] * x[i]) * exp(Double(l.logVariance.value.storage[j * 3 + i]))
            }
            let values = (0..<n).map { Double(y.value[$0, j]) }
            let m = values.reduce(0, +) / Double(n)
            let v = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)
            XCTAssertEqual(m, mean, accuracy: 5 * (variance / Double(n)).squareRoot(), "output \(j) mean, seed \(seed)")
            XCTAssertEqual(v / variance, 1, accuracy: 5 * (2 / Double(n)).squareRoot(), "output \(j) variance, seed \(seed)")
        }
    }

    /// One weight draw per pass: `.sampled` is deterministic between resamples; over K = 4000 draws
    /// the output at a fixed input has the same mean and variance as above (5 sigma: 11 %).
    func testResampledWeightsAreFixedPerPass() {
        let seed: UInt64 = 12
        let l = layer(seed: seed)
        let x = Variable(Tensor(shape: [2, 3], storage: [0.8, -1.5, 2.0, 0.8, -1.5, 2.0]))
        let rng = RNGStream(seed: seed)
        l.resample(rng: rng.child(index: 0))
        let a = withNoGrad { l(x) }.value, b = withNoGrad { l(x) }.value
        XCTAssertEqual(a, b, "seed \(seed)")
        XCTAssertEqual(a[0, 0], a[1, 0], "same weights for every row, seed \(seed)")
        let k = 4000
        let draws = (0..<k).map { m -> Double in
            l.resample(rng: rng.child(index: m + 1))
            return Double(withNoGrad { l(x) }.value[0, 1])
        }
        let variance = zip([0.8, -1.5, 2.0], l.logVariance.value.storage[3..<6]).reduce(0.0) { $0 + $1.0 * $1.0 * exp(Double($1.1)) }
        let m = draws.reduce(0, +) / Double(k)
        let v = draws.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(k - 1)
        XCTAssertEqual(v / variance, 1, accuracy: 5 * (2 / Double(k)).squareRoot(), "seed \(seed)")
        l.mode = .mean
        let expected = -0.5 + 0.8 * 0.05 + 1.5 * 0.4 + 2.0 * 0.9
        XCTAssertEqual(Double(withNoGrad { l(x) }.value[0, 1]), expected, accuracy: 1e-5)
    }

    /// Gradients of sum(y²) + KL through the local reparametrisation (the same noise for every
    /// evaluation) through the shared `GradientCheck` (h = 1e-2: the loss is a sum of squares of
    /// size ~10, whose Float32 round-off 1e-6 the difference divides by 2h; rel 2e-2).
    func testGradientsAgainstFiniteDifferences() {
        let seed: UInt64 = 13
        let l = layer(logVariance: -1, seed: seed)
        let x = Tensor.normal([5, 3], rng: RNGStream(seed: seed).child("x"))
        GradientCheck.check("BayesianDense", variables: l.parameters, seed: seed, step: 1e-2, rel: 2e-2, abs: 2e-2) {
            l.mode = .training(RNGStream(seed: seed).child("noise"))
            return sum(square(l(Variable(x)))) + l.klDivergence()
        }
    }
}
