import CGSL
import Tensor
import TestSupport
import ToyModels
import XCTest

/// The 1D subtraction toy P_B = 1/x + 0.1, P_S = 1/x on [1, 100]: exact draws against exact bin
/// probabilities (chi2 p-value > 1e-3 over 25 bins, 200k events per component).
final class SubtractionToyTests: XCTestCase {
    func testSamplesFollowTheDensities() throws {
        let toy = try SubtractionToy()
        assertClose(toy.crossSection(.background), toy.crossSection(.subtract) + toy.crossSection(.difference), rel: 1e-12)
        assertClose(toy.crossSection(.difference), 9.9, rel: 1e-12)
        let n = 200_000
        let edges = (0...25).map { 1 + 99 * Double($0) / 25 }
        for component in SubtractionToy.Component.allCases {
            let x = toy.sample(component, events: n, rng: RNGStream(seed: 3).child(component.rawValue))
            XCTAssertTrue(x.allSatisfy { $0 >= 1 && $0 <= 100 })
            var counts = [Double](repeating: 0, count: 25)
            for v in x { counts[min(24, Int((v - 1) / 99 * 25))] += 1 }
            var chi2 = 0.0, total = 0.0
            for i in 0..<25 {
                let p = toy.probability(component, edges[i]...edges[i + 1])
                total += p
                chi2 += (counts[i] - Double(n) * p) * (counts[i] - Double(n) * p) / (Double(n) * p)
            }
            assertClose(total, 1, rel: 1e-12)
            XCTAssertGreaterThan(gsl_cdf_chisq_Q(chi2, 24), 1e-3, "\(component): chi2 \(chi2) / 24")
        }
        XCTAssertThrowsError(try SubtractionToy(low: 0, high: 1))
    }
}
