import Tensor
import TestSupport
import ToyModels
import XCTest

final class SmearingTests: XCTestCase {
    /// Eq. 5.3 for N = 3, and the N-bin generalisation: corner rows 1 - x, x; symmetric; columns sum to 1.
    func testTridiagonalMatrixIsEq53() throws {
        let x = 0.1
        let g = try SmearingMatrix.tridiagonal(bins: 3, x: x)
        XCTAssertEqual(g.rows, [[1 - x, x, 0], [x, 1 - 2 * x, x], [0, x, 1 - x]])
        let g7 = try SmearingMatrix.tridiagonal(bins: 7, x: 0.2)
        for i in 0..<7 { for j in 0..<7 { XCTAssertEqual(g7[measured: i, truth: j], g7[measured: j, truth: i]) } }
        assertAllClose(g7.efficiency, [Double](repeating: 1, count: 7), rel: 1e-15)
        XCTAssertEqual(g7.rows[6], [0, 0, 0, 0, 0, 0.2, 0.8])
        XCTAssertThrowsError(try SmearingMatrix.tridiagonal(bins: 2, x: 0.1))
        XCTAssertThrowsError(try SmearingMatrix.tridiagonal(bins: 3, x: 0.6))
    }

    /// Eq. 5.4: a flat spectrum folds to itself; (1, n, 0) folds to itself plus x (n - 1, -2n + 1, n).
    func testFoldingClosedFormsEq54() throws {
        let x = 0.15, n = 40.0
        let g = try SmearingMatrix.tridiagonal(bins: 3, x: x)
        assertAllClose(try g.fold([n, n, n]), [n, n, n], rel: 1e-15)
        assertAllClose(try g.fold([1, n, 0]), [1 + x * (n - 1), n + x * (-2 * n + 1), x * n], rel: 1e-14)
        let g9 = try SmearingMatrix.tridiagonal(bins: 9, x: 0.3)
        assertAllClose(try g9.fold([Double](repeating: 7, count: 9)), [Double](repeating: 7, count: 9), rel: 1e-14)
        XCTAssertThrowsError(try g.fold([1, 2])) { XCTAssertTrue("\($0)".contains("expected shape [3], got [2]"), "\($0)") }
    }

    /// Poisson folding: 4000 pseudo-experiments average to the folded spectrum within 5 standard errors.
    func testPoissonFoldingMean() throws {
        let g = try SmearingMatrix.tridiagonal(bins: 5, x: 0.2)
        let truth = [100.0, 400, 900, 400, 100], background = [5.0, 5, 5, 5, 5]
        let expected = try g.fold(truth, background: background)
        let rng = RNGStream(seed: 77), draws = 4000
        var mean = [Double](repeating: 0, count: 5)
        for _ in 0..<draws { for (i, c) in try g.fold(truth, background: background, rng: rng).enumerated() { mean[i] += c / Double(draws) } }
        for i in 0..<5 { XCTAssertLessThan(abs(mean[i] - expected[i]), 5 * (expected[i] / Double(draws)).squareRoot(), "bin \(i), seed 77") }
    }

    /// Response from (truth bin, measured bin) pairs: hand-made pairs give the exact fractions;
    /// a Gaussian-smeared sample with 80 % efficiency and fakes gives efficiency 0.8 in central bins (5 sigma).
    func testMigrationCountsResponse() throws {
        var counts = MigrationCounts(truthBins: 2, measuredBins: 3)
        counts.fill(truth: 0, measured: 0); counts.fill(truth: 0, measured: 1); counts.fill(truth: 0, measured: nil)
        counts.fill(truth: 1, measured: 2); counts.fill(truth: nil, measured: 2); counts.fill(truth: nil, measured: nil)
        XCTAssertEqual(counts.response.rows, [[1.0 / 3, 0], [1.0 / 3, 0], [0, 1]])
        XCTAssertEqual(counts.response.efficiency, [2.0 / 3, 1])
        XCTAssertEqual(counts.fakeFraction, [0, 0, 0.5])

        let binning = try Binning(lower: 0, upper: 10, bins: 10)
        var sample = MigrationCounts(truthBins: 10, measuredBins: 10)
        let rng = RNGStream(seed: 99), events = 200_000
        for _ in 0..<events {
            let truth = rng.uniform(0, 10)
            let measured = rng.uniform() < 0.8 ? binning.index(of: truth + rng.normal(std: 0.3)) : nil
            sample.fill(truth: binning.index(of: truth), measured: measured)
            if rng.uniform() < 0.05 { sample.fill(truth: nil, measured: binning.index(of: rng.uniform(0, 10))) }
        }
        let efficiency = sample.response.efficiency
        for j in 2..<8 {   // 2 bins = 6.7 sigma of smearing from the edges: no leakage
            let sigma = (0.8 * 0.2 / sample.truthTotals[j]).squareRoot()
            XCTAssertLessThan(abs(efficiency[j] - 0.8), 5 * sigma, "bin \(j), seed 99")
        }
        XCTAssertLessThan(efficiency[0], efficiency[5], "edge bins leak")
        for i in 2..<8 {   // fake fraction 0.05 / (0.05 + 0.8), binomial error on the bin's measured total
            let f = 0.05 / 0.85, sigma = (f * (1 - f) / sample.measuredTotals[i]).squareRoot()
            XCTAssertLessThan(abs(sample.fakeFraction[i] - f), 5 * sigma, "bin \(i), seed 99")
        }
    }

    /// FFT convolution equals direct summation; a peak far from the edges keeps its total and
    /// gains the kernel's variance sigma^2 + Delta^2 / 12.
    func testFFTSmearingMatchesDirectSum() throws {
        let rng = RNGStream(seed: 3)
        let spectrum = (0..<257).map { _ in rng.uniform(0, 1000) }
        let fft = try GaussianSmearing.fft(spectrum, binWidth: 0.5, sigma: 1.3)
        let direct = try GaussianSmearing.direct(spectrum, binWidth: 0.5, sigma: 1.3)
        assertAllClose(fft, direct, rel: 1e-10, abs: 1e-9, "seed 3")
        var peak = [Double](repeating: 0, count: 200)
        peak[100] = 1e6
        let smeared = try GaussianSmearing.fft(peak, binWidth: 0.5, sigma: 2)
        assertClose(smeared.reduce(0, +), 1e6, rel: 1e-12)
        let variance = smeared.enumerated().reduce(0) { $0 + $1.element * pow(Double($1.offset - 100) * 0.5, 2) } / 1e6
        assertClose(variance, 4 + 0.25 / 12, rel: 1e-6)
        XCTAssertThrowsError(try GaussianSmearing.fft(peak, binWidth: 0, sigma: 1))
    }
}
