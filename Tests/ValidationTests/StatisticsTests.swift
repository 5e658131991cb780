import CGSL
import XCTest
import Tensor
import TestSupport
@testable import Validation

final class StatisticsTests: XCTestCase {
    func testHistogramBinsWeightsAndFlows() throws {
        var h = try Histogram1D(edges: [0, 1, 3, 6])
        h.fill(-1); h.fill(0); h.fill(0.999, weight: 2); h.fill(1); h.fill(5.9, weight: 0.5); h.fill(6); h.fill(.nan)
        XCTAssertEqual(h.counts, [3, 1, 0.5])
        XCTAssertEqual(h.sumOfSquares, [5, 1, 0.25])
        XCTAssertEqual(h.underflow, 1)
        XCTAssertEqual(h.overflow, 2)
        // density: counts / (total 4.5 * width)
        assertAllClose(h.density, [3 / 4.5, 1 / (4.5 * 2), 0.5 / (4.5 * 3)], rel: 1e-12)
        let integral = zip(h.density, h.widths).reduce(0) { $0 + $1.0 * $1.1 }
        assertClose(integral, 1, rel: 1e-12)
        XCTAssertThrowsError(try Histogram1D(edges: [0, 2, 1])) { XCTAssertTrue("\($0)".contains("edges[2]"), "\($0)") }
        var u = try Histogram1D(bins: 10, low: 0, high: 1)
        u.fill(0.1); u.fill(0.999999)
        XCTAssertEqual(u.counts[1], 1); XCTAssertEqual(u.counts[9], 1)
    }

    func testHistogram2D() throws {
        var h = try Histogram2D(xBins: 2, xRange: 0...2, yBins: 3, yRange: 0...3)
        try h.fill([0.5, 1.5, 1.5, 5], [2.5, 0.5, 0.7, 0], weights: [1, 2, 1, 1])
        XCTAssertEqual(h.counts, [[0, 0, 1], [3, 0, 0]])
        XCTAssertEqual(h.outside, 1)
        assertClose(h.density[1][0], 3 / 4, rel: 1e-12)
    }

    /// 10^5 standard normals in 40 bins on [-4, 4] against the exact bin probabilities:
    /// Pearson chi2 with 40 - 1 ndf; p > 1e-3 fails by chance once in 1000 seeds.
    func testChiSquareOfNormalsAgainstExpectation() throws {
        let seed: UInt64 = 11
        let rng = RNGStream(seed: seed)
        let n = 100_000
        let h = try Histogram1D((0..<n).map { _ in rng.normal() }, bins: 40, low: -4, high: 4)
        let inRange = h.total
        let expected = (0..<40).map { i in
            inRange * (gsl_cdf_ugaussian_P(h.edges[i + 1]) - gsl_cdf_ugaussian_P(h.edges[i])) / (gsl_cdf_ugaussian_P(4) - gsl_cdf_ugaussian_P(-4))
        }
        let chi2 = try chiSquare(h, expected: expected, constraints: 1)
        XCTAssertEqual(chi2.ndf, 39)
        XCTAssertGreaterThan(chi2.pValue, 1e-3, "seed \(seed), chi2 \(chi2.chi2)")
        // A shifted expectation (mean 0.05, 16 sigma of the mean for 10^5 events) is rejected.
        let shifted = (0..<40).map { i in
            inRange * (gsl_cdf_ugaussian_P(h.edges[i + 1] - 0.05) - gsl_cdf_ugaussian_P(h.edges[i] - 0.05))
        }
        XCTAssertLessThan(try chiSquare(h, expected: shifted, constraints: 1).pValue, 1e-6, "seed \(seed)")
    }

    /// Two independent histograms of the same distribution: pulls have mean ~0, rms ~1
    /// (40 bins: rms within 0.6...1.4 is beyond 3 sigma of its sampling spread of ~0.11).
    func testTwoHistogramChiSquareAndPulls() throws {
        let seed: UInt64 = 12
        let rng = RNGStream(seed: seed)
        let a = try Histogram1D((0..<50_000).map { _ in rng.normal() }, bins: 40, low: -4, high: 4)
        let b = try Histogram1D((0..<50_000).map { _ in rng.normal() }, bins: 40, low: -4, high: 4)
        let p = try pulls(a, b)
        let rms = (p.reduce(0) { $0 + $1 * $1 } / Double(p.count)).squareRoot()
        XCTAssertTrue((0.6...1.4).contains(rms), "seed \(seed), pull rms \(rms)")
        XCTAssertGreaterThan(try chiSquare(a, b).pValue, 1e-3, "seed \(seed)")
        XCTAssertThrowsError(try chiSquare(a, try Histogram1D(bins: 20, low: -4, high: 4)))
    }

    /// KS: same distribution p > 1e-3; samples of 5000 shifted by 0.2 sigma (D ~ 0.08 vs the
    /// 99.9 % critical value 0.039) give p < 1e-6.
    func testKolmogorovSmirnov() throws {
        let seed: UInt64 = 13
        let rng = RNGStream(seed: seed)
        let a = (0..<5000).map { _ in rng.normal() }, b = (0..<5000).map { _ in rng.normal() }
        XCTAssertGreaterThan(try KolmogorovSmirnov(a, b).pValue, 1e-3, "seed \(seed)")
        XCTAssertGreaterThan(try KolmogorovSmirnov(a, cdf: { gsl_cdf_ugaussian_P($0) }).pValue, 1e-3, "seed \(seed)")
        XCTAssertLessThan(try KolmogorovSmirnov(a, b.map { $0 + 0.2 }).pValue, 1e-6, "seed \(seed)")
        XCTAssertLessThan(try KolmogorovSmirnov(a, cdf: { gsl_cdf_ugaussian_P($0 - 0.2) }).pValue, 1e-6, "seed \(seed)")
        assertClose(try KolmogorovSmirnov([1, 2, 3], [4, 5, 6]).distance, 1, rel: 0)
    }

    /// MMD^2 of two samples of the same 2D unit Gaussian is compatible with 0; a shift d = 0.5 gives
    /// the analytic 2/3 - (2/3) exp(-d^2/6) = 0.0272 (kernel width 1) within 0.01 (n = 600:
    /// the estimator's spread is a few 1e-3).
    func testMaximumMeanDiscrepancy() throws {
        let seed: UInt64 = 14
        let rng = RNGStream(seed: seed)
        func sample(_ shift: Double) -> [[Double]] { (0..<600).map { _ in [rng.normal() + shift, rng.normal()] } }
        let same = try maximumMeanDiscrepancy(sample(0), sample(0), widths: [1])
        let shifted = try maximumMeanDiscrepancy(sample(0), sample(0.5), widths: [1])
        XCTAssertLessThan(abs(same), 0.01, "seed \(seed)")
        let analytic = 2.0 / 3 - 2.0 / 3 * exp(-0.25 / 6)
        XCTAssertLessThan(abs(shifted - analytic), 0.01, "seed \(seed), MMD^2 \(shifted) vs \(analytic)")
        // Identical samples, biased estimate: exactly zero.
        let x = sample(0)
        assertClose(try maximumMeanDiscrepancy(x, x, widths: [0.5, 2], unbiased: false), 0, abs: 1e-12)
        XCTAssertThrowsError(try maximumMeanDiscrepancy(x, [[1], [2]], widths: [1]))
    }

    /// Exact posteriors (truth and 60 samples from the same Gaussian), N = 2000: max deviation
    /// below the 99 % Kolmogorov bound 1.63/sqrt(N) = 0.0364; a posterior of width 0.5 fails it.
    func testCalibrationOfExactAndNarrowPosteriors() throws {
        let seed: UInt64 = 15
        let rng = RNGStream(seed: seed)
        let n = 2000, k = 60
        let bound = 1.63 / Double(n).squareRoot()
        let truth = (0..<n).map { _ in rng.normal() }
        let exact = try CalibrationCurve(truth: truth, samples: (0..<n).map { _ in (0..<k).map { _ in rng.normal() } })
        XCTAssertLessThan(exact.maxDeviation, bound, "seed \(seed)")
        XCTAssertGreaterThan(exact.pValue, 0.01, "seed \(seed)")
        XCTAssertEqual(exact.points.count, k + 2)
        XCTAssertEqual(exact.points.last!.observed, 1)
        let narrow = try CalibrationCurve(truth: truth, samples: (0..<n).map { _ in (0..<k).map { _ in rng.normal(std: 0.5) } })
        XCTAssertGreaterThan(narrow.maxDeviation, bound, "seed \(seed)")
        XCTAssertLessThan(narrow.pValue, 1e-6, "seed \(seed)")

        let curves = try CalibrationCurve.perCoordinate(truth: truth.map { [$0, -$0] },
                                                        samples: (0..<n).map { _ in (0..<k).map { _ in [rng.normal(), rng.normal(std: 0.5)] } })
        XCTAssertLessThan(curves[0].maxDeviation, bound, "seed \(seed)")
        XCTAssertGreaterThan(curves[1].maxDeviation, bound, "seed \(seed)")
        XCTAssertThrowsError(try CalibrationCurve(truth: [1, 2], samples: [[1, 2], [1]])) {
            XCTAssertTrue("\($0)".contains("samples[1]: expected 2 samples, got 1"), "\($0)")
        }
    }

    /// A line y = 2 + 0.5 x and a Gaussian peak with noise of known sigma: every fitted parameter
    /// within 3 sigma of the truth, chi2/ndf within 1 +- 3 sqrt(2/ndf).
    func testNonlinearFitRecoversLineAndGaussian() throws {
        let seed: UInt64 = 16
        let rng = RNGStream(seed: seed)
        let x = (0..<50).map { Double($0) * 0.2 }
        let sigma = x.map { 0.1 + 0.02 * $0 }
        let line = try NonlinearFit.fit(x: x, y: zip(x, sigma).map { 2 + 0.5 * $0 + rng.normal(std: $1) },
                                        sigma: sigma, initial: [0, 0]) { x, p in p[0] + p[1] * x }
        for (fitted, (truth, error)) in zip(line.parameters, zip([2, 0.5], line.errors)) {
            XCTAssertLessThan(abs(fitted - truth), 3 * error, "seed \(seed), line \(line.parameters) +- \(line.errors)")
        }
        // The straight-line errors match GSL's linear weighted fit exactly.
        var c0 = 0.0, c1 = 0.0, cov00 = 0.0, cov01 = 0.0, cov11 = 0.0, sumsq = 0.0
        let ys = zip(x, sigma).map { 2 + 0.5 * $0 + 0 * $1 }
        let lineExact = try NonlinearFit.fit(x: x, y: ys, sigma: sigma, initial: [1, 1]) { x, p in p[0] + p[1] * x }
        gsl_fit_wlinear(x, 1, sigma.map { 1 / ($0 * $0) }, 1, ys, 1, x.count, &c0, &c1, &cov00, &cov01, &cov11, &sumsq)
        assertClose(lineExact.errors[0], cov00.squareRoot(), rel: 1e-5)
        assertClose(lineExact.errors[1], cov11.squareRoot(), rel: 1e-5)

        let truth = [100.0, 4.0, 0.8]
        let gx = (0..<80).map { 1 + Double($0) * 0.1 }
        let gy = gx.map { truth[0] * exp(-0.5 * pow(($0 - truth[1]) / truth[2], 2)) }
        let gsigma = gy.map { max($0, 1).squareRoot() }
        let gauss = try NonlinearFit.fit(x: gx, y: zip(gy, gsigma).map { $0 + rng.normal(std: $1) }, sigma: gsigma,
                                         initial: [80, 3.5, 1.2]) { x, p in p[0] * exp(-0.5 * pow((x - p[1]) / p[2], 2)) }
        for i in 0..<3 {
            XCTAssertLessThan(abs(gauss.parameters[i] - truth[i]), 3 * gauss.errors[i], "seed \(seed), parameter \(i): \(gauss.parameters) +- \(gauss.errors)")
        }
        XCTAssertEqual(gauss.ndf, 77)
        XCTAssertLessThan(abs(gauss.chi2PerNdf - 1), 3 * (2.0 / 77).squareRoot(), "seed \(seed)")
        XCTAssertThrowsError(try NonlinearFit.fit(x: [1, 2], y: [1, 2], sigma: [1, 0], initial: [0]) { x, p in p[0] * x }) {
            XCTAssertTrue("\($0)".contains("sigma[1]"), "\($0)")
        }
    }
}
