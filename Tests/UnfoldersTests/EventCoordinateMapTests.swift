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
        let fit = try generateColliderSample(ColliderConfiguration(process: .zw), events: 4000, rng: RNGStream(seed: 92)).parton!

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
    }
}
