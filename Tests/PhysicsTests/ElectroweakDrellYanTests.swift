import Tensor
import TestSupport
import XCTest
@testable import Physics

/// The photon-Z Drell-Yan of GAN event subtraction: couplings against the known Z-pole
/// forward-backward asymmetries, the interference's sign change, and the sampler against its
/// density (chi2 p-values above 1e-3 over the bins).
final class ElectroweakDrellYanTests: XCTestCase {
    /// At the pole Re chi = 0 and the Z dominates: A_FB = (3/4) A_e A_q. The PDG standard-model
    /// values (Z-pole review) are A_FB^{0,c} = 0.0738 and A_FB^{0,b} = 0.1032 for up- and down-type
    /// quarks; the tree-level couplings with sin^2 theta_eff = 0.23153 and the 0.2-0.5 % photon
    /// term give 0.0734 and 0.1029. Tolerance 2 %: the difference between effective quark
    /// couplings and tree level.
    func testPoleAsymmetryMatchesTheKnownValues() {
        var up = ElectroweakDrellYan.Parameters(), down = ElectroweakDrellYan.Parameters()
        up.upFraction = 1; down.upFraction = 0
        let m = up.zMass
        assertClose(ElectroweakDrellYan.forwardBackwardAsymmetry(.background, mass: m, parameters: up), 0.0738, rel: 0.02, "u ubar at the pole")
        assertClose(ElectroweakDrellYan.forwardBackwardAsymmetry(.background, mass: m, parameters: down), 0.1032, rel: 0.02, "d dbar at the pole")
        // The pure photon is symmetric.
        XCTAssertEqual(ElectroweakDrellYan.forwardBackwardAsymmetry(.subtract, mass: m), 0)
    }

    /// The interference makes A_FB negative below the pole and large above it (the pattern of
    /// the Tevatron and LHC measurements, quark direction known).
    func testInterferenceChangesTheAsymmetryAcrossThePole() {
        let below = ElectroweakDrellYan.forwardBackwardAsymmetry(.background, mass: 70)
        let pole = ElectroweakDrellYan.forwardBackwardAsymmetry(.background, mass: 91.1876)
        let above = ElectroweakDrellYan.forwardBackwardAsymmetry(.background, mass: 120)
        XCTAssertLessThan(below, -0.1)
        XCTAssertGreaterThan(pole, 0.05)
        XCTAssertGreaterThan(above, 0.4)
    }

    /// B - S is positive in the default window and the window finder brackets it; a window
    /// where B - S turns negative is refused, naming where it is positive.
    func testDifferenceIsPositiveOnlyNearThePole() throws {
        let window = ElectroweakDrellYan.positiveWindow()
        XCTAssertLessThanOrEqual(window.lowerBound, 81)
        XCTAssertGreaterThanOrEqual(window.upperBound, 101)
        XCTAssertGreaterThan(window.lowerBound, 60)
        XCTAssertLessThan(window.upperBound, 120)
        var wide = ElectroweakDrellYan.Parameters()
        wide.minimumMass = 60; wide.maximumMass = 120
        XCTAssertNoThrow(try ElectroweakDrellYan(parameters: wide, component: .background))
        XCTAssertThrowsError(try ElectroweakDrellYan(parameters: wide, component: .difference)) { error in
            XCTAssertTrue("\(error)".contains("B - S is positive for m in"), "\(error)")
        }
    }

    /// sigma_B = sigma_S + sigma_{B-S} (the terms are linear), and the densities are normalised.
    func testCrossSectionsAddUpAndDensitiesAreNormalised() throws {
        let b = try ElectroweakDrellYan(component: .background), s = try ElectroweakDrellYan(component: .subtract)
        let d = try ElectroweakDrellYan(component: .difference)
        assertClose(b.crossSection, s.crossSection + d.crossSection, rel: 1e-9)
        XCTAssertGreaterThan(d.crossSection / s.crossSection, 10, "the Z dominates the photon near the pole")
        for g in [b, s, d] {
            let total = Quadrature.integrate(81, 101, relative: 1e-10) { m in
                Quadrature.integrate(-1, 1, relative: 1e-10) { c in g.density(mass: m, cosTheta: c) }
            }
            assertClose(total, 1, rel: 1e-7, "\(g.component)")
            assertClose(Quadrature.integrate(81, 101, relative: 1e-10) { g.massDensity($0) }, 1, rel: 1e-7)
        }
    }

    /// 100k events of each component against the exact bin probabilities in m_ee (20 bins) and
    /// cos theta (10 bins): chi2 p-value > 1e-3 each; the sample A_FB in a +-1 GeV pole window
    /// within 4 sigma (sqrt((1 - A^2) / N)) of the density's.
    func testSamplerFollowsItsDensity() throws {
        let n = 100_000
        for component in ElectroweakDrellYan.Component.allCases {
            let g = try ElectroweakDrellYan(component: component)
            let sample = g.sample(events: n, rng: RNGStream(seed: 11).child(component.rawValue))
            let rows = sample.events!
            let masses = (0..<n).map { rows[$0, 0] }, cosines = (0..<n).map { rows[$0, 2] }
            XCTAssertTrue(masses.allSatisfy { $0 >= 81 && $0 <= 101 })
            let massBins = (0...20).map { 81 + Double($0) }
            let massProbabilities = (0..<20).map { i in Quadrature.integrate(massBins[i], massBins[i + 1], relative: 1e-10) { g.massDensity($0) } }
            let cosBins = (0...10).map { -1 + 0.2 * Double($0) }
            let cosProbabilities = (0..<10).map { i in
                Quadrature.integrate(81, 101, relative: 1e-9) { m in
                    Quadrature.integrate(cosBins[i], cosBins[i + 1], relative: 1e-10) { g.density(mass: m, cosTheta: $0) }
                }
            }
            for (name, values, edges, probabilities) in [("m_ee", masses, massBins, massProbabilities), ("cos", cosines, cosBins, cosProbabilities)] {
                var counts = [Double](repeating: 0, count: probabilities.count)
                for v in values { counts[min(probabilities.count - 1, max(0, edges.lastIndex { $0 <= v } ?? 0))] += 1 }
                let test = chiSquare(observed: counts, expected: probabilities.map { Double(n) * $0 })
                XCTAssertGreaterThan(test.p, 1e-3, "\(component) \(name): chi2 \(test.chi2) for \(test.dof) dof")
            }
        }
        var pole = ElectroweakDrellYan.Parameters()
        pole.minimumMass = pole.zMass - 1; pole.maximumMass = pole.zMass + 1
        let g = try ElectroweakDrellYan(parameters: pole, component: .background)
        let rows = g.sample(events: n, rng: RNGStream(seed: 12)).events!
        let forward = (0..<n).filter { rows[$0, 2] > 0 }.count
        let measured = Double(2 * forward - n) / Double(n)
        let expected = Quadrature.integrate(pole.minimumMass, pole.maximumMass, relative: 1e-10) { m in
            Quadrature.integrate(0, 1, relative: 1e-10) { g.density(mass: m, cosTheta: $0) - g.density(mass: m, cosTheta: -$0) }
        }
        let sigma = ((1 - expected * expected) / Double(n)).squareRoot()
        XCTAssertLessThan(abs(measured - expected), 4 * sigma, "A_FB \(measured) vs \(expected) ± \(sigma)")
    }
}
