import Foundation
import XCTest
import Physics
@testable import Unfolders
import Tensor
import TestSupport

/// The quark pair in decay coordinates: exact round trip, the balance detected and imposed, the
/// label-symmetric decay angles, and the unbalanced fallback.
final class ResonanceCoordinatesTests: XCTestCase {
    func parton(_ events: Int, seed: UInt64, process: ColliderProcess = .zw) throws -> EventSample.Block {
        try generateColliderSample(ColliderConfiguration(process: process), events: events, rng: RNGStream(seed: seed)).parton!
    }

    func fit(_ block: EventSample.Block) throws -> ResonanceCoordinates {
        try XCTUnwrap(ResonanceCoordinates.fit(block, leading: "q1", subleading: "q2", mass: "m_jj"))
    }

    /// zw and zw-isr hard processes balance (to 1e-6 in every event): the pair's pT and phi are
    /// derived from the leptons, four network columns remain; inverse(forward(x)) = x to 1e-8
    /// (GeV, rad) for masses inside the fitted range.
    func testBalancedRoundTrip() throws {
        for (process, seed) in [(ColliderProcess.zw, UInt64(81)), (.zwISR, 82)] {
            let events = try parton(3000, seed: seed, process: process)
            let map = try fit(events)
            XCTAssertEqual(map.balancing, ["l-", "l+"], "\(process)")
            XCTAssertEqual(map.networkColumns, ["g(m_jj)", "y(q1q2)", "eta*(q1q2)", "phi*(q1q2)"])
            let forward = try map.forward(events)
            XCTAssertEqual(forward.columns, ["pT_l-", "eta_l-", "phi_l-", "pT_l+", "eta_l+", "phi_l+"] + map.networkColumns)
            let checked = try assertRoundTrip(map, events, tolerance: 1e-8, "\(process), seed \(seed)")
            // Fitted on these events: masses up to the first knot (ranks 0-7 of 3000, k / 400 of
            // 2999) and from the last one are outside the interior: 16 events.
            XCTAssertGreaterThanOrEqual(checked, 3000 - 16, "\(process)")
        }
    }

    /// Any sampled decay coordinates give a pair that balances the leptons exactly and has the
    /// sampled mass, pT-ordered.
    func testSampledCoordinatesBalanceExactly() throws {
        let events = try parton(400, seed: 83, process: .zwISR)
        let map = try fit(events)
        var forward = try map.forward(events)
        let rng = RNGStream(seed: 84)
        let d = forward.columns.count
        for i in 0..<forward.rows { for j in (d - 4)..<d { forward.values[i * d + j] = rng.normal(mean: 0, std: 1.5) } }
        let back = try map.inverse(forward)
        for i in 0..<back.rows {
            var px = 0.0, py = 0.0, scalar = 0.0
            for name in ["l-", "l+", "q1", "q2"] {
                let p = FourMomentum(pT: back[i, back.index(of: "pT_\(name)")!], eta: back[i, back.index(of: "eta_\(name)")!],
                                     phi: back[i, back.index(of: "phi_\(name)")!])
                px += p.px; py += p.py; scalar += p.pT
            }
            XCTAssertLessThan((px * px + py * py).squareRoot(), 1e-9 * scalar, "event \(i) (seeds 83, 84)")
            XCTAssertGreaterThanOrEqual(back[i, back.index(of: "pT_q1")!], back[i, back.index(of: "pT_q2")!])
            let g = forward[i, forward.index(of: "g(m_jj)")!]
            assertClose(Physics.Observable.mJJ.value(back, row: i)!, map.massMap.value(gaussianised: g), rel: 1e-9, "event \(i)")
        }
    }

    /// The recorded parton is drawn per event: eta* is symmetric about 0, its mean within 4
    /// standard errors of 0 (N = 20000; the standard deviation of eta* itself is 0.69).
    func testDecayAnglesAreLabelSymmetric() throws {
        let events = try parton(20000, seed: 85)
        let forward = try fit(events).forward(events)
        let j = forward.index(of: "eta*(q1q2)")!
        let values = (0..<forward.rows).map { forward[$0, j] }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        XCTAssertLessThan(abs(mean), 4 * std / n.squareRoot(), "seed 85, std \(std)")
    }

    /// A sample that does not balance keeps the pair's pT and phi as network coordinates.
    func testUnbalancedSampleModelsThePairMomentum() throws {
        var events = try parton(500, seed: 86)
        let pT = events.index(of: "pT_l-")!
        for i in 0..<events.rows { events.values[i * events.columns.count + pT] *= 1.05 }
        let map = try fit(events)
        XCTAssertEqual(map.balancing, [])
        XCTAssertEqual(map.networkColumns, ["g(m_jj)", "y(q1q2)", "pT_q1q2", "phi(q1q2)", "eta*(q1q2)", "phi*(q1q2)"])
        // Fitted on these events: masses up to the first knot (ranks 0-1) and from the last (498-499) are clamped.
        XCTAssertGreaterThanOrEqual(try assertRoundTrip(map, events, tolerance: 1e-8, "seed 86"), 500 - 4)
    }
}
