import Foundation
import Tensor
import TestSupport
import ToyModels
import Unfolding
import XCTest

final class UnfoldingTests: XCTestCase {
    /// Eq. 5.5: the numeric inverse of the 3-bin matrix equals the closed form up to O(x^2):
    /// the largest difference stays below 3 x^2 and falls by 4 when x halves.
    func testInverseMatchesEq55UpToXSquared() throws {
        var differences: [Double] = []
        for x in [0.02, 0.01, 0.005] {
            let inverse = try MatrixInversion.inverse(try tridiagonalResponse(bins: 3, x: x))
            let closed = [1 - 3 * x, -x, x * x, -x, 1 - 2 * x, -x, x * x, -x, 1 - 3 * x].map { $0 / (1 - 4 * x) }
            let difference = zip(inverse, closed).map { abs($0 - $1) }.max()!
            print("eq. 5.5, x = \(x): max |numeric - closed form| = \(difference) = \(difference / (x * x)) x^2")
            XCTAssertLessThan(difference, 3 * x * x, "x = \(x)")
            differences.append(difference)
        }
        for k in 0..<2 { XCTAssertEqual(differences[k] / differences[k + 1], 4, accuracy: 0.5, "O(x^2) scaling") }
    }

    /// The singular values of eq. 5.3 are 1 - 2x (1 - cos(k pi / N)): the condition number is
    /// 1 / (1 - 2x (1 - cos((N - 1) pi / N))) for small x; 1 / (1 - 3x) for N = 3.
    func testConditionNumberClosedForm() throws {
        for (bins, x) in [(3, 0.1), (3, 0.25), (10, 0.2)] {
            let condition = try MatrixInversion.conditionNumber(try tridiagonalResponse(bins: bins, x: x))
            let expected = 1 / (1 - 2 * x * (1 - cos(Double(bins - 1) * .pi / Double(bins))))
            print("condition number N = \(bins), x = \(x): \(condition)")
            assertClose(condition, expected, rel: 1e-10, "N = \(bins), x = \(x)")
        }
        assertClose(try MatrixInversion.conditionNumber(try tridiagonalResponse(bins: 3, x: 0.1)), 1 / 0.7, rel: 1e-12)
    }

    /// Inversion returns the truth exactly from expected data (efficiency 0.9 included); eq. 5.4:
    /// flat data unfold to flat truth; its linear covariance matches the spread of 2000 Poisson
    /// repetitions (variance estimated to sqrt(2/2000) = 3 %: 20 % is over 5 sigma).
    func testMatrixInversion() throws {
        let response = try tridiagonalResponse(bins: 6, x: 0.2, efficiency: 0.9)
        let truth = fallingSpectrum(6), data = try response.fold(truth)
        let result = try MatrixInversion.unfold(response: response, data: data)
        assertAllClose(result.values, truth, rel: 1e-10)
        let flat = try MatrixInversion.unfold(response: try tridiagonalResponse(bins: 5, x: 0.3), data: [50, 50, 50, 50, 50])
        assertAllClose(flat.values, [50, 50, 50, 50, 50], rel: 1e-12)
        let rng = RNGStream(seed: 8)
        let repeats = try (0..<2000).map { _ in try MatrixInversion.unfold(response: response, data: data.map { Double(rng.poisson(mean: $0)) }).values }
        let spread = sampleCovariance(repeats)
        for j in 0..<6 { assertClose(spread[j * 6 + j], result.covariance[j * 6 + j], rel: 0.2, "bin \(j), seed 8") }
        XCTAssertThrowsError(try MatrixInversion.unfold(response: response, data: [1, 2]))
        let singular = try ResponseMatrix(rows: [[0.5, 0.5], [0.5, 0.5]])
        XCTAssertThrowsError(try MatrixInversion.unfold(response: singular, data: [1, 1])) { XCTAssertTrue("\($0)".contains("singular"), "\($0)") }
    }

    /// A diagonal response (efficiency epsilon_j) is undone in one iteration: t_j = d_j / epsilon_j.
    func testIterativeBayesDiagonalOneIteration() throws {
        let efficiency = [0.5, 0.8, 1, 0.9]
        var entries = [Double](repeating: 0, count: 16)
        for j in 0..<4 { entries[j * 4 + j] = efficiency[j] }
        let response = try ResponseMatrix(measuredBins: 4, truthBins: 4, entries: entries)
        let data = [10.0, 40, 7, 90]
        let result = try IterativeBayes.unfold(response: response, data: data, prior: [3, 1, 4, 1], iterations: 1, toys: 0, rng: RNGStream(seed: 1))
        assertAllClose(result.values, zip(data, efficiency).map { $0 / $1 }, rel: 1e-14)
    }

    /// With the smearing of eq. 5.3 (x = 0.2, N = 10, efficiency 0.9) and expected data, the
    /// distance to the truth falls with every doubling of the iterations and is below 1e-6 at 256
    /// (IBU converges to the maximum-likelihood solution, here the exact inverse).
    func testIterativeBayesApproachesTruth() throws {
        let response = try tridiagonalResponse(bins: 10, x: 0.2, efficiency: 0.9)
        let truth = fallingSpectrum(10), data = try response.fold(truth)
        var previous = Double.infinity
        for iterations in [1, 2, 4, 8, 16, 32, 64, 128, 256] {
            let result = try IterativeBayes.unfold(response: response, data: data, iterations: iterations, toys: 0, rng: RNGStream(seed: 1))
            let distance = zip(result.values, truth).reduce(0) { $0 + abs($1.0 - $1.1) } / truth.reduce(0, +)
            print("IBU \(iterations) iterations: relative L1 distance to truth \(distance), last change \(result.convergence.last!)")
            XCTAssertLessThan(distance, previous, "\(iterations) iterations")
            previous = distance
        }
        XCTAssertLessThan(previous, 1e-6)
    }

    /// The Poisson-toy covariance from one data set matches the spread of 400 independent
    /// unfoldings (variance estimates to sqrt(2/400) = 7 % and sqrt(2/1000) = 4.5 %: 35 % is 4 sigma).
    func testIterativeBayesToyCovarianceMatchesSpread() throws {
        let response = try tridiagonalResponse(bins: 8, x: 0.2, efficiency: 0.9)
        let expected = try response.fold(fallingSpectrum(8))
        let rng = RNGStream(seed: 17)
        let data = expected.map { Double(rng.poisson(mean: $0)) }
        let result = try IterativeBayes.unfold(response: response, data: data, iterations: 4, toys: 1000, rng: rng.child("toys"))
        let repeats = try (0..<400).map { _ in
            try IterativeBayes.unfold(response: response, data: expected.map { Double(rng.poisson(mean: $0)) }, iterations: 4, toys: 0, rng: rng).values
        }
        let spread = sampleCovariance(repeats)
        for j in 0..<8 {
            print("IBU bin \(j): toy error \(result.errors[j]), spread \(spread[j * 8 + j].squareRoot())")
            assertClose(result.covariance[j * 8 + j], spread[j * 8 + j], rel: 0.35, "bin \(j), seed 17")
        }
    }

    /// tau = 0 is the inversion (values and covariance); a huge tau returns the reference; the
    /// total variance falls as tau grows.
    func testTikhonovSVD() throws {
        let response = try tridiagonalResponse(bins: 6, x: 0.25, efficiency: 0.95)
        let rng = RNGStream(seed: 23)
        let data = try response.fold(fallingSpectrum(6)).map { Double(rng.poisson(mean: $0)) }
        let inversion = try MatrixInversion.unfold(response: response, data: data)
        let plain = try TikhonovSVD.unfold(response: response, data: data, tau: 0)
        assertAllClose(plain.values, inversion.values, rel: 1e-9, abs: 1e-9, "seed 23")
        assertAllClose(plain.covariance, inversion.covariance, rel: 1e-8, abs: 1e-8, "seed 23")
        let reference = [100.0, 90, 80, 70, 60, 50]
        let strong = try TikhonovSVD.unfold(response: response, data: data, tau: 1e7, reference: reference)
        assertAllClose(strong.values, reference, rel: 1e-6, "seed 23")
        var previous = Double.infinity
        for tau in [0.0, 0.05, 0.1, 0.3, 1] {
            let result = try TikhonovSVD.unfold(response: response, data: data, tau: tau)
            let trace = (0..<6).reduce(0) { $0 + result.covariance[$1 * 7] }
            XCTAssertLessThan(trace, previous, "tau \(tau)")
            previous = trace
        }
        XCTAssertThrowsError(try TikhonovSVD.unfold(response: response, data: data, tau: -1))
    }

    /// Bin-by-bin is exact when the data have the simulation's reco shape: t = k N_truth for d = k N_reco.
    func testBinByBin() throws {
        let truth = [100.0, 200, 300], reco = [90.0, 210, 250]
        let result = try BinByBin.unfold(data: reco.map { 2 * $0 }, simulatedTruth: truth, simulatedReco: reco)
        assertAllClose(result.values, truth.map { 2 * $0 }, rel: 1e-14)
        assertAllClose(result.errors, (0..<3).map { truth[$0] / reco[$0] * (2 * reco[$0]).squareRoot() }, rel: 1e-14)
        XCTAssertThrowsError(try BinByBin.unfold(data: [1, 2, 3], simulatedTruth: truth, simulatedReco: [1, 0, 1]))
    }

    /// A numerically singular response (condition number 2e12) is refused for unregularised
    /// inversion and SVD with tau = 0, naming the file; regularised SVD passes ([reliability] 3).
    func testNumericallySingularResponseIsRefused() throws {
        let matrix = try ResponseMatrix(measuredBins: 2, truthBins: 2, entries: [0.5, 0.5, 0.5, 0.500000000001])
        let inverted = try MatrixInversion.unfold(response: matrix, data: [10, 12])
        XCTAssertGreaterThan(inverted.conditionNumber ?? 0, 1e12)
        XCTAssertThrowsError(try inverted.requireMeaningful(regularised: false, source: "resp.csv")) { error in
            XCTAssertTrue("\(error)".contains("resp.csv") && "\(error)".contains("condition number"), "\(error)")
        }
        let svd = try TikhonovSVD.unfold(response: matrix, data: [10, 12], tau: 0, reference: nil)
        XCTAssertThrowsError(try svd.requireMeaningful(regularised: false, source: "resp.csv"))
        let regularised = try TikhonovSVD.unfold(response: matrix, data: [10, 12], tau: 0.1, reference: nil)
        XCTAssertNoThrow(try regularised.requireMeaningful(regularised: true, source: "resp.csv"))
        let nan = UnfoldingResult(method: .ibu, values: [1, .nan], covariance: [1, 0, 0, 1])
        XCTAssertThrowsError(try nan.requireMeaningful(regularised: true, source: "d.csv")) { XCTAssertTrue("\($0)".contains("bin 1"), "\($0)") }
    }
}
