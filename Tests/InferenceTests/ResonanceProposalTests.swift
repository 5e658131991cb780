import CGSL
import Foundation
import Inference
import Physics
import Tensor
import TestSupport
import XCTest

/// The resonance-aligned proposal coordinates of `MEMResidual`: the map y -> v inverts the
/// residuals of generated events (the Breit-Wigner CDF map of m_qq included), its log-Jacobian is
/// the finite-difference determinant, and a scan point with another W Breit-Wigner gives the same
/// estimate whether the draws are mapped at it afresh or prepared at it.
final class ResonanceProposalTests: XCTestCase {
    static let simulation = ZWSimulation(ColliderConfiguration(process: .zw))

    /// y of the hard event, mapped back with the same Breit-Wigner, gives the hard event's lab
    /// variables (relative 1e-9; phi wrapped) and its m_qq; on 40 generated events, at the default
    /// W mass and at events generated with m_W = 82.5 (the CDF of that Breit-Wigner).
    func testResidualRoundTrip() throws {
        for wMass in [ZWParameters().wMass, 82.5] {
            var p = ZWParameters()
            p.wMass = wMass
            var configuration = ColliderConfiguration(process: .zw)
            configuration.zw = p
            let lineShape = try ZWDensity(parameters: p)
            let events = ZWSimulation(configuration).accepted(40, RNGStream(seed: 31)).events
            var checked = 0
            for (n, e) in events.enumerated() {
                guard let y = MEMResidual.residual(hard: e.hard, detector: e.detector, matching: Self.simulation.detector, lineShape: lineShape) else { continue }
                let frame = MEMResidual.Frame(e.detector)
                let back = try XCTUnwrap(y.withUnsafeBufferPointer { MEMResidual.labVariables($0.baseAddress!, frame: frame, lineShape: lineShape) })
                let j = Self.simulation.detector.match(quarks: (e.hard.quark1, e.hard.quark2), jets: e.detector.jets)!.0
                let (a, b) = j == 0 ? (e.hard.quark1, e.hard.quark2) : (e.hard.quark2, e.hard.quark1)
                let v = back.v
                assertClose(v.leptonMinusPT, e.hard.leptonMinus.pT, rel: 1e-9, abs: 0, "event \(n): pT(l-)")
                assertClose(v.leptonPlusPT, e.hard.leptonPlus.pT, rel: 1e-9, abs: 0, "event \(n): pT(l+)")
                assertClose(v.freeQuarkPT, a.pT, rel: 1e-9, abs: 0, "event \(n): pT(a)")
                assertClose(v.freeQuarkEta, a.eta, rel: 0, abs: 1e-9, "event \(n): eta(a)")
                assertClose(FourMomentum.wrapPhi(v.freeQuarkPhi - a.phi), 0, rel: 0, abs: 1e-9, "event \(n): phi(a)")
                assertClose(v.otherQuarkEta, b.eta, rel: 0, abs: 1e-9, "event \(n): eta(b)")
                // The Breit-Wigner CDF map: z -> u -> m_qq is the pair's mass.
                let u = gsl_cdf_ugaussian_P(y[2])
                assertClose(lineShape.wMassQuantile(u), (a + b).mass, rel: 1e-9, abs: 0, "event \(n): m_qq from z")
                checked += 1
            }
            XCTAssertGreaterThan(checked, 30, "events with two matched jets of 40")
        }
    }

    /// log|dv/dy| against the 6 x 6 central-difference determinant of v(y) (steps 1e-5; relative
    /// 1e-5), on 8 events, with the Breit-Wigner of the default W mass and of m_W = 79 (then the
    /// same y sits elsewhere on the Breit-Wigner and the CDF map's Jacobian phi(z) / BW(m) differs).
    func testJacobianIsTheFiniteDifferenceDeterminant() throws {
        let events = Self.simulation.accepted(8, RNGStream(seed: 41)).events
        let reference = try ZWDensity()
        var other = ZWParameters()
        other.wMass = 79
        var checked = 0
        for lineShape in [reference, try ZWDensity(parameters: other)] {
            for (n, e) in events.enumerated() {
                guard let y = MEMResidual.residual(hard: e.hard, detector: e.detector, matching: Self.simulation.detector, lineShape: reference) else { continue }
                checked += 1
                let frame = MEMResidual.Frame(e.detector)
                func v(_ y: [Double]) -> [Double] {
                    let r = y.withUnsafeBufferPointer { MEMResidual.labVariables($0.baseAddress!, frame: frame, lineShape: lineShape) }!.v
                    return [r.leptonMinusPT, r.leptonPlusPT, r.freeQuarkPT, r.freeQuarkEta, r.freeQuarkPhi, r.otherQuarkEta]
                }
                let logJacobian = y.withUnsafeBufferPointer { MEMResidual.labVariables($0.baseAddress!, frame: frame, lineShape: lineShape) }!.logJacobian
                let rows = EventLikelihoodTests.jacobian(v, at: y, steps: [Double](repeating: 1e-5, count: 6), angles: [4])
                assertClose(log(EventLikelihoodTests.determinant(rows)), logJacobian, rel: 0, abs: 1e-5,
                            "event \(n), m_W = \(lineShape.parameters.wMass): log|dv/dy|")
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 8, "at least half of the 2 x 8 event checks must run")
    }

    /// The same draws evaluated at m_W = 81.2 by mapping them afresh (the scan's path) and by
    /// preparing them at 81.2 (the reference path) give the same estimate (relative 1e-12); and B
    /// at the reference W mass uses the prepared draws. The draws here are a fixed Gaussian in y
    /// around each event's own residuals (any proposal serves this check).
    func testMappedAndPreparedEstimatesAgree() throws {
        let events = Self.simulation.accepted(4, RNGStream(seed: 51)).events
        let transfer = try TransferDensity(detector: Self.simulation.detector), reference = try ZWDensity()
        var shifted = ZWParameters()
        shifted.wMass = 81.2
        let target = try ZWDensity(parameters: shifted)
        let rng = RNGStream(seed: 52)
        let widths = [0.02, 0.02, 0.8, 0.05, 0.03, 0.03], k = 400
        var checked = 0
        defer { XCTAssertGreaterThanOrEqual(checked, 2, "at least half of the 4 events must be checked") }
        for (n, e) in events.enumerated() {
            guard let centre = MEMResidual.residual(hard: e.hard, detector: e.detector, matching: Self.simulation.detector, lineShape: reference) else { continue }
            checked += 1
            var y: [Double] = [], logQ: [Double] = []
            for _ in 0..<k {
                var lq = 0.0
                for j in 0..<6 {
                    let g = rng.normal()
                    y.append(centre[j] + widths[j] * g)
                    lq += -0.5 * g * g - log(widths[j]) - 0.5 * log(2 * Double.pi)
                }
                logQ.append(lq)
            }
            let atReference = try y.withUnsafeBufferPointer {
                ImportanceSampledEvent(likelihood: try EventLikelihood(event: e.detector, density: reference, transfer: transfer), residual: $0, logProposal: logQ[...])
            }
            let atTarget = try y.withUnsafeBufferPointer {
                ImportanceSampledEvent(likelihood: try EventLikelihood(event: e.detector, density: target, transfer: transfer), residual: $0, logProposal: logQ[...])
            }
            let mapped = atReference.estimate(target), prepared = atTarget.estimate(target)
            XCTAssertGreaterThan(prepared.value, 0, "event \(n)")
            assertClose(mapped.value, prepared.value, rel: 1e-12, abs: 0, "event \(n): estimate at m_W = 81.2")
            assertClose(mapped.error, prepared.error, rel: 1e-9, abs: 0, "event \(n): error at m_W = 81.2")
        }
    }
}
