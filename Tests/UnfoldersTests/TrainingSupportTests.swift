import Foundation
import XCTest
import Physics
import Tensor
@testable import Unfolders

/// The training support: the pair's smallest Delta R and the rows below it (no constraint without
/// a gap or the columns); per-coordinate ranges without the azimuths; the union of both.
final class TrainingSupportTests: XCTestCase {
    func block(_ pairs: [(Double, Double, Double, Double)]) -> EventSample.Block {
        EventSample.Block(columns: ["eta_q1", "phi_q1", "eta_q2", "phi_q2"], rows: pairs.count,
                          values: pairs.flatMap { [$0.0, $0.1, $0.2, $0.3] })
    }

    func testMinimumAndViolations() throws {
        // Delta R = 1.0, 0.6 (phi 3.0 against 3.6 - 2 pi: the difference wraps to -0.6), 2.0.
        let wrapped = 3.6 - 2 * Double.pi
        let training = block([(0, 0, 1, 0), (0, 3.0, 0, wrapped), (1, 1, -1, 1)])
        let separation = try XCTUnwrap(PairSeparation.fit(training, first: "q1", second: "q2"))
        XCTAssertEqual(separation.minimum, 0.6, accuracy: 1e-12)
        let samples = block([(0, 0, 0.59, 0), (0, 0, 0.6, 0), (0, 3.1, 0, -3.1), (2, 0, 0, 0)])
        // The third pair is 2 pi - 6.2 = 0.083 apart in phi.
        XCTAssertEqual(try separation.violations(samples), [0, 2])
    }

    func testNoGapOrNoColumnsGivesNoConstraint() throws {
        XCTAssertNil(PairSeparation.fit(block([(0, 0, 0.01, 0), (0, 0, 1, 1)]), first: "q1", second: "q2"))
        let other = EventSample.Block(columns: ["eta_j1", "phi_j1"], rows: 1, values: [0, 0])
        XCTAssertNil(PairSeparation.fit(other, first: "q1", second: "q2"))
        let separation = PairSeparation(first: "q1", second: "q2", minimum: 0.6)
        XCTAssertThrowsError(try separation.violations(other)) {
            XCTAssertTrue("\($0)".contains("eta and phi of q1 and q2"), "\($0)")
        }
    }

    func testRangesAndPairTogether() throws {
        let columns = ["pT_q1", "eta_q1", "phi_q1", "pT_q2", "eta_q2", "phi_q2"]
        let training = EventSample.Block(columns: columns, rows: 2, values: [50, 0, 0, 20, 1, 0,
                                                                              80, -1, 3, 30, 1, 1])
        let support = TrainingSupport.fit(training, columns: columns, first: "q1", second: "q2")
        XCTAssertEqual(support.ranges.map(\.column), ["pT_q1", "eta_q1", "pT_q2", "eta_q2"])
        XCTAssertEqual(support.ranges.map(\.lower), [50, -1, 20, 1])
        XCTAssertEqual(support.ranges.map(\.upper), [80, 0, 30, 1])
        XCTAssertEqual(try XCTUnwrap(support.pair).minimum, 1, accuracy: 1e-12)
        let samples = EventSample.Block(columns: columns, rows: 5, values: [
            60, -0.5, 0, 25, 1, 2,      // inside: Delta R = 2.5
            60, -0.5, 0, 19, 1, 2,      // pT_q2 below 20
            60, -0.5, 0, 25, 1, 0.5,    // Delta R = 1.58, eta inside: inside
            60, 0, 0, 25, 1, 0.5,       // Delta R = 1.12: inside
            60, 0, 9, .nan, 1, 9,       // NaN is outside, Delta R 1 kept
        ])
        XCTAssertEqual(try support.violations(samples), [1, 4])
        let pairOnly = EventSample.Block(columns: columns, rows: 1, values: [60, 0, 0, 25, 0.5, 0.5])
        XCTAssertEqual(try support.violations(pairOnly), [0], "eta_q2 0.5 below 1 and Delta R 0.71 < 1")
        XCTAssertThrowsError(try support.violations(EventSample.Block(columns: ["eta_q1", "phi_q1", "eta_q2", "phi_q2"], rows: 1, values: [0, 0, 1, 1]))) {
            XCTAssertTrue("\($0)".contains("column pT_q1"), "\($0)")
        }
    }
}
