import Flows
import Foundation
import XCTest
import Physics
@testable import Unfolders
import Tensor

/// Compares `back` with `events` (same columns) for the events whose m_jj lies inside `map`'s
/// fitted range, away from its two outer intervals where masses are clamped: |a - b| <=
/// tolerance max(1, |b|), phi differences wrapped. Returns how many events were compared.
func assertRoundTrip(_ back: EventSample.Block, _ events: EventSample.Block, map: QuantileGaussianisation,
                     columns: [String]? = nil, tolerance: Double, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) -> Int {
    XCTAssertEqual(back.columns, events.columns, label, file: file, line: line)
    let compared = (columns ?? events.columns).compactMap { events.index(of: $0) }
    var checked = 0
    for i in 0..<events.rows where map.isInterior(Physics.Observable.mJJ.value(events, row: i)!) {
        checked += 1
        for j in compared {
            let a = back[i, j], b = events[i, j]
            let difference = events.columns[j].hasPrefix("phi") ? abs(FourMomentum.wrapPhi(a - b)) : abs(a - b)
            XCTAssertLessThanOrEqual(difference, tolerance * max(1, abs(b)), "\(label): event \(i) \(events.columns[j])", file: file, line: line)
        }
    }
    return checked
}
