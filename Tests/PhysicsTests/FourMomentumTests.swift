import XCTest
import Physics
import Tensor
import TestSupport

final class FourMomentumTests: XCTestCase {
    func testClosedForms() {
        // p = (E, px, py, pz) = (5, 3, 0, 0): pT 3, eta 0, m 4.
        let p = FourMomentum(e: 5, px: 3, py: 0, pz: 0)
        assertClose(p.mass, 4); assertClose(p.pT, 3); assertClose(p.eta, 0, abs: 1e-15)
        // pT = 1, eta = asinh(pz/pT); rapidity = atanh(pz/E).
        let q = FourMomentum(e: 3, px: 0, py: 1, pz: 2)
        assertClose(q.eta, asinh(2.0)); assertClose(q.rapidity, atanh(2.0 / 3)); assertClose(q.phi, .pi / 2)
        let r = FourMomentum(pT: 40, eta: -1.3, phi: 2.9, mass: 10)
        assertClose(r.pT, 40); assertClose(r.eta, -1.3); assertClose(r.phi, 2.9); assertClose(r.mass, 10, rel: 1e-9)
    }

    func testPhiWrapping() {
        assertClose(FourMomentum.wrapPhi(.pi), .pi)
        assertClose(FourMomentum.wrapPhi(-.pi), .pi)
        assertClose(FourMomentum.wrapPhi(3 * .pi / 2), -.pi / 2)
        assertClose(FourMomentum.wrapPhi(-7.0), -7.0 + 2 * .pi)
        assertClose(FourMomentum.wrapPhi(13.0), 13.0 - 4 * .pi)
        XCTAssertEqual(FourMomentum(e: 1, px: -1, py: 0, pz: 0).phi, .pi)
    }

    func testDeltaRSymmetricAndWrapped() {
        let a = FourMomentum(pT: 10, eta: 0.5, phi: 3.0), b = FourMomentum(pT: 20, eta: -0.5, phi: -3.0)
        assertClose(a.deltaR(b), b.deltaR(a))
        // Delta phi across the +-pi seam is 2 pi - 6, not 6.
        assertClose(a.deltaR(b), (1 + (2 * .pi - 6) * (2 * .pi - 6)).squareRoot(), rel: 1e-12)
    }

    /// m = sqrt(E^2 - p^2) loses ~ eps E^2 / m^2 in relative precision, so the 1e-9 check uses
    /// masses >= 10 GeV (E/m <= 700 here); light particles are checked on m^2 relative to E^2.
    func testMassInvariantUnderBoosts() {
        let rng = RNGStream(seed: 11)
        for _ in 0..<1000 {
            let light = FourMomentum(pT: rng.uniform(1, 500), eta: rng.uniform(-4, 4), phi: rng.uniform(-.pi, .pi), mass: rng.uniform(0, 1))
            let boostedLight = light.boosted(by: (0.3, -0.2, 0.5))
            XCTAssertEqual(boostedLight.mass2, light.mass2, accuracy: 1e-12 * boostedLight.e * boostedLight.e)
            let p = FourMomentum(pT: rng.uniform(1, 500), eta: rng.uniform(-3, 3), phi: rng.uniform(-.pi, .pi), mass: rng.uniform(10, 200))
            let beta = (rng.uniform(-0.55, 0.55), rng.uniform(-0.55, 0.55), rng.uniform(-0.55, 0.55))
            let q = p.boosted(by: beta)
            assertClose(q.mass, p.mass, rel: 1e-9, "seed 11, p \(p), beta \(beta)")
            let back = q.boosted(by: (-beta.0, -beta.1, -beta.2))
            assertAllClose([back.e, back.px, back.py, back.pz], [p.e, p.px, p.py, p.pz], rel: 1e-9, abs: 1e-9)
        }
    }

    func testRestFrames() {
        let frame = FourMomentum(pT: 120, eta: 1.1, phi: -0.4, mass: 91.2)
        let rest = frame.inRestFrame(of: frame)
        assertClose(rest.e, 91.2, rel: 1e-9); assertClose(rest.p, 0, abs: 1e-9)
        let p = FourMomentum(e: 50, px: 10, py: -20, pz: 30)
        let round = p.inRestFrame(of: frame).fromRestFrame(of: frame)
        assertAllClose([round.e, round.px, round.py, round.pz], [p.e, p.px, p.py, p.pz], rel: 1e-9, abs: 1e-9)
    }
}
