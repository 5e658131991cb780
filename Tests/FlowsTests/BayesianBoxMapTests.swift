import Foundation
import XCTest
import Flows
import TestSupport

final class BayesianBoxMapTests: XCTestCase {

    /// Round trip x -> u -> x, and the log-Jacobian through an exact identity: the logit of a uniform
    /// variable is logistic and its probit is N(0, 1), so log|du/dx| + log p_u(u) = -log(box volume)
    /// for every point inside. Points outside or on an edge get density 0 (log-Jacobian -inf).
    func testBoxMapRoundTripAndJacobian() throws {
        let seed: UInt64 = 41
        let rng = RNGStream(seed: seed)
        let lower = [-1.0, 2.0], upper = [3.0, 2.5]
        let logVolume = Foundation.log(4.0) + Foundation.log(0.5)
        var storage = [Float]()
        for _ in 0..<500 { storage += [Float(-1 + 4 * rng.uniform()), Float(2 + 0.5 * rng.uniform())] }
        let x = Tensor(shape: [500, 2], storage: storage.map { min(max($0, -0.999), 2.999) })
        for kind in BoxMap.Kind.allCases {
            let box = try BoxMap(kind, lower: lower, upper: upper)
            let (u, logJacobian) = try box.forward(x)
            let back = try box.inverse(u)
            for i in 0..<x.count { XCTAssertEqual(back.storage[i], x.storage[i], accuracy: 2e-5, "\(kind), seed \(seed), element \(i)") }
            for i in 0..<x.rows {
                let logPU = (0..<2).reduce(0.0) { sum, j in
                    let v = Double(u[i, j])
                    switch kind {
                    case .logit: return sum - v - 2 * Foundation.log(1 + Foundation.exp(-v))
                    case .probit: return sum - 0.5 * v * v - 0.5 * Foundation.log(2 * Double.pi)
                    }
                }
                // u is stored in Float: its rounding (relative 6e-8, |u| < 10) moves log p_u by < 1e-5.
                XCTAssertEqual(logJacobian[i] + logPU, -logVolume, accuracy: 1e-4, "\(kind), seed \(seed), row \(i)")
            }
            let outside = try box.forward(Tensor(shape: [3, 2], storage: [-1, 2.2, 3.5, 2.2, 0, 2.5])).logJacobian
            XCTAssertEqual(outside, [-.infinity, -.infinity, -.infinity], "\(kind)")
            let extreme = try box.inverse(Tensor(shape: [2, 2], storage: [-30, 30, 30, -30]))
            for i in 0..<4 { XCTAssertTrue((Float(lower[i % 2])...Float(upper[i % 2])).contains(extreme.storage[i]), "\(kind): \(extreme.storage)") }
        }
        XCTAssertThrowsError(try BoxMap(.logit, lower: [0, 1], upper: [1, 1]))
        XCTAssertThrowsError(try BoxMap(.logit, lower: [0], upper: [1, 1]))
    }
}
