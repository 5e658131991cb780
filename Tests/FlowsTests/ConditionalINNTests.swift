import XCTest
import Flows
import TestSupport

/// Kolmogorov-Smirnov test of values against U(0, 1): the statistic D and the asymptotic p-value
/// Q_KS(lambda) = 2 sum_k (-1)^(k-1) exp(-2 k^2 lambda^2), lambda = (sqrt n + 0.12 + 0.11/sqrt n) D
/// (Stephens' small-n correction, Numerical Recipes 14.3).
func kolmogorovSmirnovUniform(_ values: [Double]) -> (d: Double, p: Double) {
    let sorted = values.sorted()
    let n = Double(sorted.count)
    var d = 0.0
    for (i, v) in sorted.enumerated() { d = max(d, Double(i + 1) / n - v, v - Double(i) / n) }
    return (d, kolmogorovQ((n.squareRoot() + 0.12 + 0.11 / n.squareRoot()) * d))
}

/// Q_KS(lambda) = 2 sum_k (-1)^(k-1) exp(-2 k^2 lambda^2), 1 for lambda < 0.2 (series slow there).
func kolmogorovQ(_ lambda: Double) -> Double {
    if lambda < 0.2 { return 1 }
    var p = 0.0
    for k in 1...100 {
        let term = 2 * (k % 2 == 1 ? 1.0 : -1.0) * Foundation.exp(-2 * Double(k * k) * lambda * lambda)
        p += term
        if Swift.abs(term) < 1e-12 { break }
    }
    return min(max(p, 0), 1)
}

final class ConditionalINNTests: XCTestCase {
    // x_d ~ N(0, 1_2), x_p = A x_d + L eps: p(x_p | x_d) = N(A x_d, L L^T), L L^T = [[.25, .15], [.15, .25]].
    let a: [[Float]] = [[0.8, -0.3], [0.5, 0.6]]
    let l: [[Float]] = [[0.5, 0], [0.3, 0.4]]
    let posteriorSD = [0.5, 0.5], posteriorCorrelation = 0.6

    func events(_ n: Int, rng: RNGStream) -> (partonLevel: Tensor, detectorLevel: Tensor) {
        let xd = Tensor.normal([n, 2], rng: rng.child("xd"))
        let eps = Tensor.normal([n, 2], rng: rng.child("eps"))
        var xp = Tensor(shape: [n, 2])
        for i in 0..<n {
            for r in 0..<2 {
                xp[i, r] = a[r][0] * xd[i, 0] + a[r][1] * xd[i, 1] + l[r][0] * eps[i, 0] + l[r][1] * eps[i, 1]
            }
        }
        return (xp, xd)
    }

    func testCINNLearnsConditionalGaussianAndIsCalibrated() throws {
        let seed: UInt64 = 31
        let rng = RNGStream(seed: seed)
        var config = ConditionalINNConfig.quick
        config.blocks = 6; config.unitsPerLayer = 32; config.conditionUnits = 32; config.conditionOutput = 8
        let model = ConditionalINN(partonDimension: 2, detectorDimension: 2, config: config, rng: rng.child("model"))
        let train = events(20_000, rng: rng.child("train"))
        let trainer = try FlowTrainer(model: model, config: TrainingConfig(epochs: 20, batchSize: 256, learningRate: 3e-3,
                                                                           schedule: .oneCycle),
                                      rng: rng.child("trainer"))
        let reports = try trainer.train(partonLevel: train.partonLevel, detectorLevel: train.detectorLevel)
        // The exact conditional has E[-log p] = log(2 pi) + 1/2 log det Sigma + 1 = 1.228.
        let bestNLL = Foundation.log(2 * Double.pi) + 0.5 * Foundation.log(0.25 * 0.25 - 0.15 * 0.15) + 1
        XCTAssertLessThan(reports.last!.trainLoss, bestNLL + 0.02, "seed \(seed), losses \(reports.map(\.trainLoss))")

        // Posterior mean, widths and correlation for fixed conditions, 4000 samples each
        // (statistical errors: mean 0.008, width 1.1 %, correlation 0.01).
        let conditions: [[Float]] = [[0, 0], [1, -1], [-1.5, 0.5]]
        let samples = try model.sample(detectorLevel: Tensor(rows: conditions), count: 4000, rng: rng.child("posterior"))
        for (e, c) in conditions.enumerated() {
            var m = [0.0, 0.0], s = [0.0, 0.0], cross = 0.0
            for k in 0..<4000 { for r in 0..<2 { m[r] += Double(samples.storage[(e * 4000 + k) * 2 + r]) / 4000 } }
            for k in 0..<4000 {
                let d0 = Double(samples.storage[(e * 4000 + k) * 2]) - m[0], d1 = Double(samples.storage[(e * 4000 + k) * 2 + 1]) - m[1]
                s[0] += d0 * d0 / 4000; s[1] += d1 * d1 / 4000; cross += d0 * d1 / 4000
            }
            print("cINN posterior at \(c): mean \(m), sd \(s.map { $0.squareRoot() }), correlation \(cross / (s[0] * s[1]).squareRoot())")
            for r in 0..<2 {
                let truth = Double(a[r][0] * c[0] + a[r][1] * c[1])
                assertClose(m[r], truth, rel: 0, abs: 0.05, "posterior mean, condition \(c), coordinate \(r), seed \(seed)")
                assertClose(s[r].squareRoot(), posteriorSD[r], rel: 0.08, abs: 0, "posterior width, condition \(c), seed \(seed)")
            }
            assertClose(cross / (s[0] * s[1]).squareRoot(), posteriorCorrelation, rel: 0, abs: 0.06,
                        "posterior correlation, condition \(c), seed \(seed)")
        }

        // Calibration: the truth's randomised rank (r + u) / (K + 1) in its own 100-sample
        // posterior is exactly U(0, 1) for a perfect posterior; KS over 1000 events.
        let test = events(1000, rng: rng.child("test"))
        let posterior = try model.sample(detectorLevel: test.detectorLevel, count: 100, rng: rng.child("calibration"))
        let jitter = rng.child("jitter")
        for r in 0..<2 {
            var quantiles: [Double] = []
            for i in 0..<1000 {
                let truth = test.partonLevel[i, r]
                var below = 0
                for k in 0..<100 where posterior.storage[(i * 100 + k) * 2 + r] < truth { below += 1 }
                quantiles.append((Double(below) + jitter.uniform()) / 101)
            }
            let ks = kolmogorovSmirnovUniform(quantiles)
            print("cINN calibration coordinate \(r): KS D = \(ks.d), p = \(ks.p); final NLL \(reports.last!.trainLoss) (exact \(bestNLL))")
            XCTAssertGreaterThan(ks.p, 1e-3, "calibration coordinate \(r): KS D = \(ks.d), seed \(seed)")
        }
    }

    func testKolmogorovSmirnovSeries() {
        // Q_KS(1.36) = 0.049 (the 5 % critical value); uniform draws pass, squared ones fail.
        let rng = RNGStream(seed: 32)
        let uniform = (0..<1000).map { _ in rng.uniform() }
        XCTAssertGreaterThan(kolmogorovSmirnovUniform(uniform).p, 1e-3)
        XCTAssertLessThan(kolmogorovSmirnovUniform(uniform.map { $0 * $0 }).p, 1e-6)
        // Tabulated Kolmogorov distribution: Q(1.36) = 0.04949, Q(1.0) = 0.27000, Q(1.95) = 0.00100.
        assertClose(kolmogorovQ(1.36), 0.04949, rel: 0, abs: 1e-5)
        assertClose(kolmogorovQ(1.0), 0.27000, rel: 0, abs: 1e-5)
        assertClose(kolmogorovQ(1.95), 0.000996, rel: 0, abs: 1e-6)
    }

    func testObservableMMDTermAndSampleShape() throws {
        var config = ConditionalINNConfig.quick
        config.blocks = 2; config.unitsPerLayer = 16; config.conditionUnits = 16; config.conditionOutput = 4
        config.mmd = MMDLoss(widths: [0.5, 1])
        let sumObservable = Observable(name: "x0+x1") { x in sum(x, axis: 1) }
        let model = ConditionalINN(partonDimension: 3, detectorDimension: 2, config: config, observables: [sumObservable],
                                   rng: RNGStream(seed: 33))
        let rng = RNGStream(seed: 133)
        let xp = Variable(Tensor.normal([64, 3], rng: rng)), xd = Variable(Tensor.normal([64, 2], rng: rng))
        let loss = model.loss(partonLevel: xp, detectorLevel: xd, epoch: 0, rng: rng)
        XCTAssertNotNil(loss.terms[.mmdObservables])
        assertClose(Double(loss.total.scalar),
                    Double(loss.terms[.negativeLogLikelihood]! + 0.5 * loss.terms[.mmdObservables]!), rel: 1e-5)
        backward(loss.total)
        XCTAssertTrue(model.parameters.allSatisfy { $0.variable.grad != nil }, "every parameter receives a gradient")
        let samples = try model.sample(detectorLevel: Tensor.normal([5, 2], rng: rng), count: 7, rng: rng)
        XCTAssertEqual(samples.shape, [5, 7, 3])
        XCTAssertThrowsError(try model.sample(detectorLevel: Tensor.normal([5, 3], rng: rng), count: 7, rng: rng)) { error in
            XCTAssertTrue("\(error)".contains("expected shape [5, 2], got [5, 3]"), "\(error)")
        }
    }
}
