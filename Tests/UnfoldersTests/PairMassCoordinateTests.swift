import Foundation
import XCTest
import Physics
import Tensor
@testable import Unfolders
import TestSupport

/// The m_jj coordinate of the cINN: exact round trip, a Gaussian marginal, pT-ordering by
/// relabelling, and the error for a block without the quarks.
final class PairMassCoordinateTests: XCTestCase {
    func parton(_ events: Int, seed: UInt64) throws -> EventSample.Block {
        try generateColliderSample(ColliderConfiguration(process: .zw), events: events, rng: RNGStream(seed: seed)).parton!
    }

    func coordinate(_ block: EventSample.Block) throws -> PairMassCoordinate {
        try XCTUnwrap(PairMassCoordinate.fit(block, leading: "q1", subleading: "q2", replacesLeading: true, column: "m_jj"))
    }

    /// inverse(forward(x)) = x (1e-9 relative) for events inside the fitted mass range; the other
    /// columns pass unchanged and the mass column is renamed.
    func testRoundTrip() throws {
        let map = try coordinate(try parton(5000, seed: 71))
        let events = try parton(2000, seed: 72)
        let forward = try map.forward(events)
        XCTAssertEqual(forward.columns.filter { $0 != "g(m_jj)" }, events.columns.filter { $0 != "pT_q1" })
        XCTAssertEqual(forward.index(of: "g(m_jj)"), events.index(of: "pT_q1"))
        let checked = try assertRoundTrip(map, events, tolerance: 1e-9, "seeds 71, 72")
        // 2 of the 400 quantile intervals are outer ones: 0.5 % of 2000 = 10 events expected
        // outside (Poisson sigma 3.2; measured 9); more than 23 (4 sigma) would mean a wrong range.
        XCTAssertGreaterThanOrEqual(checked, 2000 - 23)
    }

    /// g(m_jj) of an independent sample is a unit Gaussian: N = 20000, mean within 4/sqrt(N),
    /// standard deviation within 1 +- 4/sqrt(2N) (4 sigma).
    func testMassMarginalBecomesUnitGaussian() throws {
        let map = try coordinate(try parton(20000, seed: 73))
        let g = try map.forward(try parton(20000, seed: 74))
        let j = try XCTUnwrap(g.index(of: "g(m_jj)"))
        let values: [Double] = (0..<g.rows).map { g[$0, j] }
        let n = Double(values.count)
        let mean: Double = values.reduce(0, +) / n
        var squares = 0.0
        for v in values { squares += (v - mean) * (v - mean) }
        let std = (squares / (n - 1)).squareRoot()
        XCTAssertLessThan(abs(mean), 4 / n.squareRoot(), "mean (seeds 73, 74)")
        XCTAssertLessThan(abs(std - 1), 4 / (2 * n).squareRoot(), "std (seeds 73, 74)")
    }

    /// A small mass makes the derived pT_q1 fall below pT_q2: the pair is relabelled, pT-ordered,
    /// with the sampled mass.
    func testDerivedPTBelowPartnerIsRelabelled() throws {
        let events = try parton(500, seed: 75)
        let map = try coordinate(events)
        var forward = try map.forward(events)
        let g = forward.index(of: "g(m_jj)")!, q1 = events.columns.firstIndex(of: "pT_q1")!, q2 = events.columns.firstIndex(of: "pT_q2")!
        var swapped = 0
        for i in 0..<forward.rows { forward.values[i * forward.columns.count + g] = -3 }
        let back = try map.inverse(forward)
        let target = map.massMap.value(gaussianised: -3)
        for i in 0..<back.rows {
            XCTAssertGreaterThanOrEqual(back[i, q1], back[i, q2], "event \(i) (seed 75)")
            assertClose(Physics.Observable.mJJ.value(back, row: i)!, target, rel: 1e-9, "event \(i) (seed 75)")
            if back[i, q2] != events[i, q2] { swapped += 1 }
        }
        XCTAssertGreaterThan(swapped, 0, "m = \(target) GeV is below most events' pT_q2 scale: some must swap")
    }

    /// With the ratio coordinate both pTs come back from (g(m), u, angles): same round trip and
    /// outer-interval bounds as `testRoundTrip` for both maps; pT_q1 >= pT_q2 for every sample whatever g(m) and g(r), with the sampled
    /// mass (1e-6: four-vector mass) and pT ratio e^-r.
    func testRatioCoordinateRoundTripAndOrdering() throws {
        let map = try XCTUnwrap(PairMassCoordinate.fit(try parton(5000, seed: 71), leading: "q1", subleading: "q2",
                                                       replacesLeading: true, column: "m_jj", modelsRatio: true))
        // Events whose r lies in the ratio map's two outer quantile intervals (0.5 %: 10 of 2000
        // expected, Poisson sigma 3.2) meet its probability clamp; the round trip is checked on the
        // others, at most 23 (4 sigma) fewer.
        let all = try parton(2000, seed: 72)
        let ratioMap = try XCTUnwrap(map.ratioMap)
        let q1 = all.index(of: "pT_q1")!, q2 = all.index(of: "pT_q2")!
        let inside = (0..<all.rows).filter { ratioMap.isInterior(log(all[$0, q1] / all[$0, q2])) }
        XCTAssertGreaterThanOrEqual(inside.count, 2000 - 23)
        let events = all.rows(inside)
        var forward = try map.forward(events)
        XCTAssertEqual(forward.index(of: "g(m_jj)"), events.index(of: "pT_q1"))
        XCTAssertEqual(forward.index(of: "g(ln(pT_q1/pT_q2))"), events.index(of: "pT_q2"))
        XCTAssertFalse(forward.columns.contains("pT_q2"))
        let checked = try assertRoundTrip(map, events, tolerance: 1e-9, "ratio, seeds 71, 72")
        XCTAssertGreaterThanOrEqual(checked, events.rows - 23)

        let rng = RNGStream(seed: 77)
        let g = forward.index(of: "g(m_jj)")!, r = forward.index(of: "g(ln(pT_q1/pT_q2))")!
        for i in 0..<forward.rows {
            forward.values[i * forward.columns.count + g] = rng.normal(mean: 0, std: 1.5)
            forward.values[i * forward.columns.count + r] = rng.normal(mean: 0, std: 1.5)
        }
        let back = try map.inverse(forward)
        for i in 0..<back.rows {
            XCTAssertGreaterThanOrEqual(back[i, q1], back[i, q2], "event \(i) (seed 77)")
            assertClose(Physics.Observable.mJJ.value(back, row: i)!, map.massMap.value(gaussianised: forward[i, g]), rel: 1e-6, "event \(i) (seed 77)")
            assertClose(back[i, q2] / back[i, q1], exp(-ratioMap.value(gaussianised: forward[i, r])), rel: 1e-9, "event \(i) (seed 77)")
        }
    }

    func testMissingQuarkColumnsAreNamed() throws {
        let events = try parton(10, seed: 76)
        let map = try coordinate(events)
        let without = try events.selecting(events.columns.filter { $0 != "eta_q2" })
        XCTAssertNil(PairMassCoordinate.fit(without, leading: "q1", subleading: "q2", replacesLeading: true, column: "m_jj"))
        XCTAssertThrowsError(try map.forward(without)) {
            XCTAssertTrue("\($0)".contains("massless (pT, eta, phi) of q1 and q2"), "\($0)")
        }
    }
}
