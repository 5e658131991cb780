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
            let probabilities = (0..<25).map { toy.probability(component, edges[$0]...edges[$0 + 1]) }
            assertClose(probabilities.reduce(0, +), 1, rel: 1e-12)
            let test = chiSquare(observed: counts, expected: probabilities.map { Double(n) * $0 })
            XCTAssertGreaterThan(test.p, 1e-3, "\(component): chi2 \(test.chi2) / \(test.dof)")
        }
        XCTAssertThrowsError(try SubtractionToy(low: 0, high: 1))
    }
}
