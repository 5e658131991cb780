import Foundation
import Physics
import Tensor
import TestSupport
@testable import Unfolders
import XCTest

/// The one round-trip harness of `EventCoordinateMap`: inverse(forward(events)) gives `events`
/// back (columns reordered by name) for every row the map inverts exactly, |a - b| <= tolerance
/// max(1, |b|), phi differences wrapped into (-pi, pi]. Returns how many rows were compared.
@discardableResult
func assertRoundTrip<Map: EventCoordinateMap>(_ map: Map, _ events: EventSample.Block, tolerance: Double, _ label: String,
                                              file: StaticString = #filePath, line: UInt = #line) throws -> Int {
    let back = try map.inverse(try map.forward(events)).selecting(events.columns)
    XCTAssertEqual(back.rows, events.rows, label, file: file, line: line)
    var checked = 0
    for i in 0..<events.rows where map.isExactlyInvertible(events, row: i) {
        checked += 1
        for j in events.columns.indices {
            let a = back[i, j], b = events[i, j]
            let difference = events.columns[j].hasPrefix("phi") ? abs(FourMomentum.wrapPhi(a - b)) : abs(a - b)
            XCTAssertLessThanOrEqual(difference, tolerance * max(1, abs(b)), "\(label): event \(i) \(events.columns[j])", file: file, line: line)
        }
    }
    return checked
}

/// Every coordinate map of Unfolders and Physics passes the harness on the same ZW parton and
/// detector events.
final class EventCoordinateMapTests: XCTestCase {
    func testEveryMapRoundTrips() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 2000, rng: RNGStream(seed: 91))
        let parton = try XCTUnwrap(sample.parton), detector = try XCTUnwrap(sample.detector)
        let fitSample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 4000, rng: RNGStream(seed: 92))
        let fit = try XCTUnwrap(fitSample.parton), fitDetector = try XCTUnwrap(fitSample.detector)

        let pairMass = try XCTUnwrap(PairMassCoordinate.fit(fit, leading: "q1", subleading: "q2", replacesLeading: true, column: "m_jj"))
        let ratio = try XCTUnwrap(PairMassCoordinate.fit(fit, leading: "q1", subleading: "q2", replacesLeading: true,
                                                         column: "m_jj", modelsRatio: true))
        let resonance = try XCTUnwrap(ResonanceCoordinates.fit(fit, leading: "q1", subleading: "q2", mass: "m_jj"))
        // Maps fitted on other events: 2 of 400 quantile intervals are outer, 0.5 % of 2000 = 10
        // rows expected outside each quantile map (Poisson sigma 3.2, 4 sigma: 23); with the ratio
        // map about 20 (sigma 4.5, 4 sigma: 38).
        XCTAssertGreaterThanOrEqual(try assertRoundTrip(pairMass, parton, tolerance: 1e-9, "pair mass"), 2000 - 23)
        XCTAssertGreaterThanOrEqual(try assertRoundTrip(ratio, parton, tolerance: 1e-9, "pair mass + ratio"), 2000 - 38)
        XCTAssertGreaterThanOrEqual(try assertRoundTrip(resonance, parton, tolerance: 1e-8, "resonance"), 2000 - 23)
        XCTAssertEqual(try assertRoundTrip(try FeatureMap.fit(fit), parton, tolerance: 1e-12, "feature map"), 2000)
        XCTAssertEqual(try assertRoundTrip(try FeatureMap.fit(detector), detector, tolerance: 1e-12, "detector feature map"), 2000)
        let frame = try AzimuthFrame(detector: detector, column: "phi_l-")
        XCTAssertEqual(try assertRoundTrip(frame, parton, tolerance: 1e-12, "azimuth frame"), 2000)
        XCTAssertThrowsError(try frame.forward(parton.rows(0..<10)), "one row per reference")

        // Angle residuals to the jets (q_k -> j_k) and leptons, fitted on other events: four
        // residual maps of 2 outer intervals in 400 each, about 4 x 0.5 % of 2000 = 40 rows
        // outside (Poisson sigma 6.3, 4 sigma: 65).
        let angles = fit.columns.filter { $0.hasPrefix("eta_q") || $0.hasPrefix("phi_q") }
        let residuals = try XCTUnwrap(AngleResiduals.fit(try fit.selecting(angles), detector: fitDetector))
        XCTAssertEqual(residuals.residuals.map(\.detector), ["eta_j1", "phi_j1", "eta_j2", "phi_j2"])
        XCTAssertGreaterThanOrEqual(try assertRoundTrip(residuals.measured(by: detector), parton, tolerance: 1e-9, "angle residuals"), 2000 - 65)
    }

    /// Partners: same name at both levels (leptons), quark k -> jet k; pT and unknown objects none.
    /// Azimuthal residuals wrap: a quark at phi 3.1 measured at -3.1 is 2 pi - 6.2 away, and comes
    /// back at 3.1.
    func testAngleResidualPartnersAndWrap() throws {
        let detectorColumns = ["pT_l-", "eta_l-", "phi_l-", "pT_j1", "eta_j1", "phi_j1", "eta_j2"]
        XCTAssertEqual(AngleResiduals.partner(of: "eta_l-", detector: detectorColumns), "eta_l-")
        XCTAssertEqual(AngleResiduals.partner(of: "phi_q1", detector: detectorColumns), "phi_j1")
        XCTAssertEqual(AngleResiduals.partner(of: "eta_q2", detector: detectorColumns), "eta_j2")
        XCTAssertNil(AngleResiduals.partner(of: "phi_q2", detector: detectorColumns))
        XCTAssertNil(AngleResiduals.partner(of: "pT_q1", detector: detectorColumns))
        XCTAssertNil(AngleResiduals.partner(of: "g(m_jj)", detector: detectorColumns))

        let rng = RNGStream(seed: 93)
        let n = 1000
        var parton = [Double](), detector = [Double]()
        for _ in 0..<n {
            let phi = FourMomentum.wrapPhi(.pi * (2 * rng.uniform() - 1)), eta = 2 * rng.uniform() - 1
            parton += [eta, phi]
            detector += [eta + 0.05 * rng.normal(mean: 0, std: 1), FourMomentum.wrapPhi(phi + 0.05 * rng.normal(mean: 0, std: 1))]
        }
        let p = EventSample.Block(columns: ["eta_q1", "phi_q1"], rows: n, values: parton)
        let d = EventSample.Block(columns: ["eta_j1", "phi_j1"], rows: n, values: detector)
        let residuals = try XCTUnwrap(AngleResiduals.fit(p, detector: d))
        // Residuals of a 0.05 Gaussian, wrapped: the fitted quantiles span about +-0.05 x 3.3
        // (the 1st and 999th of 1000), never the 2 pi a missing wrap would give.
        for r in residuals.residuals { XCTAssertLessThan(r.map.knots.last! - r.map.knots.first!, 0.5, r.parton) }
        let edge = EventSample.Block(columns: ["eta_q1", "phi_q1"], rows: 1, values: [0.3, 3.1])
        let measured = EventSample.Block(columns: ["eta_j1", "phi_j1"], rows: 1, values: [0.32, -3.1])
        let forward = try residuals.forward(edge, detector: measured)
        XCTAssertEqual(forward.columns, ["g(eta_q1-eta_j1)", "g(phi_q1-phi_j1)"])
        let back = try residuals.inverse(forward, detector: measured)
        XCTAssertEqual(back.columns, ["eta_q1", "phi_q1"])
        XCTAssertEqual(back.values[0], 0.3, accuracy: 1e-9)
        XCTAssertEqual(back.values[1], 3.1, accuracy: 1e-9)
        // K samples per event: each block row uses its event's detector row.
        let repeated = try residuals.inverse(EventSample.Block(columns: forward.columns, rows: 3, values: Array(repeating: forward.values, count: 3).flatMap { $0 }),
                                             detector: measured, repeats: 3)
        XCTAssertEqual(repeated.values, Array(repeating: back.values, count: 3).flatMap { $0 })
        XCTAssertThrowsError(try residuals.inverse(forward, detector: measured, repeats: 2), "rows must be events x repeats")
    }

    /// `JetMatchedPair`: on ZW events the crossed assignment is chosen where it is closer (the
    /// rows it swaps are exactly those), the inverse restores pT order, and the K-sample form uses
    /// each event's own jets.
    func testJetMatchedPairOrder() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 2000, rng: RNGStream(seed: 94))
        let parton = try XCTUnwrap(sample.parton), detector = try XCTUnwrap(sample.detector)
        let matched = JetMatchedPair()
        let ordered = try matched.forward(parton, detector: detector)
        let q1 = ["pT_q1", "eta_q1", "phi_q1"].map { parton.index(of: $0)! }, q2 = ["pT_q2", "eta_q2", "phi_q2"].map { parton.index(of: $0)! }
        let j1 = ["eta_j1", "phi_j1"].map { detector.index(of: $0)! }, j2 = ["eta_j2", "phi_j2"].map { detector.index(of: $0)! }
        func dR(_ b: EventSample.Block, _ i: Int, _ q: [Int], _ j: [Int]) -> Double {
            let deta = b[i, q[1]] - detector[i, j[0]], dphi = FourMomentum.wrapPhi(b[i, q[2]] - detector[i, j[1]])
            return (deta * deta + dphi * dphi).squareRoot()
        }
        var swapped = 0
        for i in 0..<parton.rows {
            let crossed = dR(parton, i, q1, j2) + dR(parton, i, q2, j1) < dR(parton, i, q1, j1) + dR(parton, i, q2, j2)
            XCTAssertEqual(ordered[i, q1[0]], crossed ? parton[i, q2[0]] : parton[i, q1[0]], "row \(i)")
            XCTAssertLessThanOrEqual(dR(ordered, i, q1, j1) + dR(ordered, i, q2, j2), dR(ordered, i, q1, j2) + dR(ordered, i, q2, j1), "row \(i)")
            if crossed { swapped += 1 }
        }
        // The jets reorder the quarks in a sizeable fraction of the events (that is why the order
        // matters); neither none nor all.
        XCTAssertGreaterThan(swapped, 50)
        XCTAssertLessThan(swapped, 1000)
        XCTAssertEqual(try matched.inverse(ordered).values, parton.values)
        let d = parton.columns.count
        let doubled = { (values: [Double]) in Array(values[0..<(2 * d)]).chunked(d).flatMap { [$0, $0] }.flatMap { $0 } }
        let twice = EventSample.Block(columns: parton.columns, rows: 4, values: doubled(parton.values))
        XCTAssertEqual(try matched.forward(twice, detector: detector.rows(0..<2), repeats: 2).values, doubled(ordered.values))
    }
}

private extension Array {
    func chunked(_ size: Int) -> [[Element]] { stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) } }
}
