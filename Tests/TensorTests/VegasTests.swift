import Foundation
import Tensor
import TestSupport
import XCTest

/// `Vegas`: the integral of a known function within 4 sigma of VEGAS' error, the evaluation count
/// is the number of calls the integrand saw, and a relative-error target is met.
final class VegasTests: XCTestCase {
    /// A product of four normal densities N(0.4, 0.05) over the unit cube: integral
    /// prod (Phi(12) - Phi(-8)) = 1 to 1e-15.
    static func peak(_ u: UnsafePointer<Double>) -> Double {
        var value = 1.0
        for i in 0..<4 {
            let z = (u[i] - 0.4) / 0.05
            value *= exp(-0.5 * z * z) / (0.05 * (2 * Double.pi).squareRoot())
        }
        return value
    }

    func testPeakIntegratesToOneWithinFourSigma() {
        var seen = 0
        let r = Vegas.integrate(dimension: 4, schedule: Vegas.Schedule(relativeError: 0.002), RNGStream(seed: 81)) { u in
            seen += 1
            return Self.peak(u)
        }
        print(String(format: "VEGAS peak: %.5f +- %.5f, chi2/dof %.2f, %d evaluations, %d runs", r.value, r.error, r.chi2PerDof, r.evaluations, r.runs))
        XCTAssertTrue(r.converged, "seed 81")
        XCTAssertEqual(r.value, 1, accuracy: 4 * r.error, "seed 81")
        XCTAssertLessThanOrEqual(r.error, 0.002 * r.value, "seed 81")
        XCTAssertEqual(r.evaluations, seen)
    }
}
