import XCTest
import Flows
import TestSupport

final class MMDTests: XCTestCase {
    /// E[MMD^2_b] for N(mu, s) against N(mu + delta, s), N events each, Gaussian kernel summed
    /// over widths: sum_sigma 2 c [1 - exp(-delta^2 / (2 (sigma^2 + 2 s^2)))] + (2/N)(1 - c),
    /// c = sigma / sqrt(sigma^2 + 2 s^2) (the V-statistic keeps the diagonal k = 1).
    func expectedSquaredMMD(delta: Double, s: Double, n: Int, widths: [Float]) -> Double {
        widths.map(Double.init).reduce(0) { total, sigma in
            let v = sigma * sigma + 2 * s * s
            let c = sigma / v.squareRoot()
            return total + 2 * c * (1 - Foundation.exp(-delta * delta / (2 * v))) + 2 / Double(n) * (1 - c)
        }
    }

    /// Masses N(80, 5) GeV against N(80 + delta, 5), widths 2, 8, 25, 67 GeV, 600 events,
    /// 12 replicas: the mean MMD^2 matches the analytic expectation within 4 standard errors,
    /// and every shifted MMD lies above every same-distribution MMD.
    func testGaussianKernelMatchesAnalyticExpectation() {
        let seed: UInt64 = 21
        let rng = RNGStream(seed: seed)
        let loss = MMDLoss(kernel: .gaussian, widths: MMDLoss.massWidthsGeV)
        let n = 600, replicas = 12
        var nullRoots: [Float] = [], shiftedRoots: [Float] = []
        for (delta, label) in [(0.0, "null"), (3.0, "shifted")] {
            var values: [Double] = []
            for r in 0..<replicas {
                let stream = rng.child(label).child(index: r)
                let x = Variable(Tensor.normal([n, 1], mean: 80, std: 5, rng: stream))
                let y = Variable(Tensor.normal([n, 1], mean: 80 + Float(delta), std: 5, rng: stream))
                let squared = loss.squared(x, y).scalar
                values.append(Double(squared))
                let root = (max(squared, 0) + MMDLoss.epsilon).squareRoot()  // = loss(x, y)
                if delta == 0 { nullRoots.append(root) } else { shiftedRoots.append(root) }
            }
            let mean = values.reduce(0, +) / Double(replicas)
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(replicas - 1)).squareRoot()
            let expected = expectedSquaredMMD(delta: delta, s: 5, n: n, widths: MMDLoss.massWidthsGeV)
            assertClose(mean, expected, rel: 0, abs: 4 * sd / Double(replicas).squareRoot(),
                        "MMD^2 \(label), seed \(seed), replica sd \(sd)")
        }
        XCTAssertLessThan(nullRoots.max()!, shiftedRoots.min()!, "seed \(seed)")
    }

    /// Breit-Wigner kernel: a 3 GeV shift of a 5 GeV-wide peak stands out against 12 null replicas.
    func testBreitWignerSeparatesShiftedPeak() {
        let rng = RNGStream(seed: 22)
        let loss = MMDLoss(kernel: .breitWigner, widths: MMDLoss.massWidthsGeV)
        var null: [Float] = [], shifted: [Float] = []
        for r in 0..<12 {
            let s = rng.child(index: r)
            let x = Variable(Tensor.normal([500, 1], mean: 80, std: 5, rng: s))
            null.append(loss(x, Variable(Tensor.normal([500, 1], mean: 80, std: 5, rng: s))).scalar)
            shifted.append(loss(x, Variable(Tensor.normal([500, 1], mean: 83, std: 5, rng: s))).scalar)
        }
        let nullMean = null.reduce(0, +) / 12
        let nullSD = (null.map { ($0 - nullMean) * ($0 - nullMean) }.reduce(0, +) / 11).squareRoot()
        XCTAssertLessThan(null.max()!, shifted.min()!, "seed 22")
        XCTAssertGreaterThan(shifted.min()!, nullMean + 5 * nullSD, "seed 22: shifted MMD at least 5 null sd above the null mean")
    }

    /// d MMD / dx for every element of x through the shared `GradientCheck`, h = 1e-2 on O(1)
    /// data: the MMD sums ~10^3 kernel values of size <= 1 in Float32 (round-off ~1e-6, divided by
    /// 2h: 5e-5), truncation h^2 |f'''| / 6 ~ 2e-5 |f'''|; so 2e-4 + 1e-2 |fd|.
    func testGradientMatchesFiniteDifferences() {
        let rng = RNGStream(seed: 23)
        let x = Tensor.normal([24, 2], rng: rng.child("x"))
        let y = Variable(Tensor.normal([20, 2], mean: 0.5, rng: rng.child("y")))
        for kernel in [MMDKernel.gaussian, .breitWigner] {
            let loss = MMDLoss(kernel: kernel, widths: [0.5, 1, 2])
            for joint in [true, false] {
                GradientCheck.check("MMD \(kernel), joint \(joint)", [x], seed: 23, step: 1e-2, rel: 1e-2, abs: 2e-4) { v in
                    joint ? loss(v[0], y) : loss.marginals(v[0], y)
                }
            }
        }
    }
}
