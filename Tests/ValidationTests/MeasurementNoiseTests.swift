import XCTest
import Tensor
import TestSupport
@testable import Validation

/// The measurement-noise estimators behind every gate: repeated measurements, chi2/ndf, and the
/// bootstrap of a calibration curve's largest deviation, each against the spread it predicts.
final class MeasurementNoiseTests: XCTestCase {
    func testRepeatedMeasurementsGiveMeanAndStandardError() {
        let repeated = Measured(repeated: [1, 2, 3, 4])
        XCTAssertEqual(repeated.value, 2.5)
        XCTAssertEqual(repeated.noise, (5.0 / 3 / 4).squareRoot(), accuracy: 1e-15, "sd 1.29 / sqrt(4)")
        let single = Measured(7, spreadOf: [1, 2, 3, 4])
        XCTAssertEqual(single.value, 7)
        XCTAssertEqual(single.noise, (5.0 / 3).squareRoot(), accuracy: 1e-15)
        XCTAssertTrue(Measured(repeated: [1]).noise.isNaN, "one repetition has no spread")
        XCTAssertTrue(Measured(repeated: [1, .nan]).value.isNaN, "a repetition that found nothing is not dropped")
    }

    /// chi2/ndf of ndf unit Gaussians squared scatters by sqrt(2/ndf); the formula's prediction
    /// against 4000 toys (the toys' own sd is known to 1.1 %, so 5 % is 4.5 sigma).
    func testChiSquareNoiseMatchesToys() {
        let rng = RNGStream(seed: 11)
        for (ndf, shift) in [(20, 0.0), (20, 1.5)] {
            let toys = (0..<4000).map { _ in
                (0..<ndf).reduce(0.0) { sum, _ in let z = rng.normal() + shift; return sum + z * z } / Double(ndf)
            }
            let measured = Measured(0, spreadOf: toys).noise
            let mean = toys.reduce(0, +) / Double(toys.count)
            let predicted = ChiSquare(chi2: mean * Double(ndf), ndf: ndf).perNdfNoise
            XCTAssertEqual(predicted, measured, accuracy: 0.05 * measured, "ndf \(ndf), shift \(shift)")
        }
    }

    /// For a calibrated posterior the largest deviation of N events scatters between independent
    /// samples by about 0.26/sqrt(N) (the Kolmogorov distribution's sd). The bootstrap on one sample
    /// is an upper estimate of that scatter (resampling adds its deviation to the sample's own):
    /// measured 1.27 times the reference. Reference: 400 independent samples (sd known to 3.5 %);
    /// bootstrap averaged over 10 samples (known to about 3 %): the ratio must lie in 1.0-1.6,
    /// conservative but not by more than 60 %.
    func testCalibrationBootstrapMatchesIndependentSamples() throws {
        let rng = RNGStream(seed: 2026)
        let n = 1500, k = 30
        func curve() throws -> CalibrationCurve {
            let truth = (0..<n).map { _ in rng.normal() }
            return try CalibrationCurve(truth: truth, samples: truth.map { _ in (0..<k).map { _ in rng.normal() } })
        }
        let independent = try (0..<400).map { _ in try curve().maxDeviation }
        let reference = Measured(0, spreadOf: independent).noise
        let bootstrap = try (0..<10).map { _ in CalibrationCurve.bootstrapNoise(ofLargestDeviation: [try curve()], rng: rng) }
        let estimate = bootstrap.reduce(0, +) / Double(bootstrap.count)
        XCTAssertEqual(reference, 0.26 / Double(n).squareRoot(), accuracy: 0.1 * reference, "Kolmogorov sd")
        XCTAssertTrue((1.0...1.6).contains(estimate / reference), "bootstrap \(bootstrap), independent sd \(reference)")
    }

    func testNoiseMarginOfEachComparison() {
        func gate(_ comparison: GateComparison, tolerance: Double, target: Double, noise: Double) -> Gate {
            Gate(spec: GateSpec(name: "g", metric: .value, tolerance: tolerance, comparison: comparison, target: target),
                 measurement: Measured(0.5, noise: noise), profile: .quick)
        }
        XCTAssertEqual(gate(.within, tolerance: 0.1, target: 0.5, noise: 0.02).margin, 0.1)
        XCTAssertEqual(gate(.lessThan, tolerance: 3, target: 1, noise: 0.3).margin, 2)
        XCTAssertEqual(gate(.greaterThan, tolerance: 0.9, target: 0.954, noise: 0.01).margin, 0.054, accuracy: 1e-12)
        XCTAssertTrue(gate(.within, tolerance: 0.1, target: 0.5, noise: 0.03).noiseIsSmall)
        XCTAssertFalse(gate(.within, tolerance: 0.1, target: 0.5, noise: 0.04).noiseIsSmall)
        XCTAssertFalse(gate(.within, tolerance: 0.1, target: 0.5, noise: .nan).noiseIsSmall, "unknown noise is not small")
        XCTAssertEqual(gate(.within, tolerance: 0.1, target: 0.5, noise: 0.03).valueText, "0.5 ± 0.03")
    }
}

/// The plots' binning rule: as many equal bins as keep 400 entries in every central bin.
final class BinningRuleTests: XCTestCase {
    func testFinestUniformEdgesFollowTheStatistics() {
        let rng = RNGStream(seed: 5)
        // 10,000 uniform values: 400 per bin allows 25 bins; a fluctuation below 400 in one central
        // bin (sd 20 at 25 bins) may cost a few, so 20-25.
        let uniform = (0..<10_000).map { _ in rng.uniform() }
        XCTAssertTrue((20...25).contains(finestUniformEdges(uniform, range: 0...1).count - 1))
        XCTAssertEqual(finestUniformEdges(Array(uniform.prefix(100)), range: 0...1).count - 1, 10, "too few events: the coarsest allowed")
        let many = (0..<200_000).map { _ in rng.uniform() }
        XCTAssertEqual(finestUniformEdges(many, range: 0...1).count - 1, 60, "plenty: the finest allowed")
        let edges = finestUniformEdges(uniform, range: 2...4)
        XCTAssertEqual(edges.first, 2); XCTAssertEqual(edges.last, 4)
    }
}
