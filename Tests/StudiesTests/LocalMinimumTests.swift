import XCTest
@testable import Studies

/// The sigma_pred extremum locator of the BINN studies: the lowest interior local minimum of a
/// window, never a window edge on a flank.
final class LocalMinimumTests: XCTestCase {
    let x = (0..<11).map { Double($0) / 10 }

    func testWindowEdgeOnARisingFlankIsNoMinimum() {
        // Rises from 0, dips at 0.7, rises again: the window 0.4-0.9 starts on the flank at 0.4
        // (value 0.36, lower than the dip's 0.37), but the minimum is the dip.
        let values = [0, 0.1, 0.2, 0.3, 0.36, 0.39, 0.38, 0.37, 0.40, 0.5, 0.6]
        XCTAssertEqual(BINNStudy.localMinimum(x, values, in: 0.4...0.9), 0.7)
    }

    func testLowestOfSeveralDipsAndNaNWithoutOne() {
        let twoDips = [5, 4, 3, 4, 5, 4, 2, 3, 4, 5, 6].map(Double.init)
        XCTAssertEqual(BINNStudy.localMinimum(x, twoDips, in: 0...1), 0.6)
        XCTAssertEqual(BINNStudy.localMinimum(x, twoDips, in: 0...0.45), 0.2)
        let monotone = x.map { $0 * $0 }
        XCTAssertTrue(BINNStudy.localMinimum(x, monotone, in: 0.2...0.8).isNaN)
        XCTAssertTrue(BINNStudy.localMinimum(x, twoDips, in: 0.55...0.65).isNaN, "one point: no neighbours inside")
    }

    /// The parabola through the lowest grid point and its neighbours finds the vertex of a sampled
    /// parabola exactly, between grid points; a curve with no interior minimum stays NaN.
    func testRefinedMinimumFindsTheVertexBetweenGridPoints() {
        let x = (0...20).map { Double($0) / 20 }
        let parabola = x.map { 3 * ($0 - 0.4321) * ($0 - 0.4321) + 1 }
        XCTAssertEqual(BINNStudy.refinedLocalMinimum(x, parabola, in: 0.1...0.9), 0.4321, accuracy: 1e-12)
        XCTAssertEqual(BINNStudy.localMinimum(x, parabola, in: 0.1...0.9), 0.45, "the grid point")
        XCTAssertTrue(BINNStudy.refinedLocalMinimum(x, x, in: 0.2...0.8).isNaN)
    }
}
