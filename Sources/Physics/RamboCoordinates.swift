import Foundation
import Tensor

/// The hard process of a zw event, l- l+ q1 q2 (massless, transverse momenta summing to zero),
/// as 10 unbounded numbers (the CMS MEMFlow targets, docs/memflow.md):
///
///     y = logit(r_1 ... r_8, x1, x2),
///
/// r the RAMBO-on-diet numbers (`RamboOnDiet`, 3N - 4 = 8 for N = 4) of the momenta in the
/// partonic c.m. frame, in the order l-, l+, q1, q2 (so the last intermediate mass M_3 is m_qq),
/// and x1, x2 the momentum fractions (`PartonFractions`) of the summed momentum. The inverse maps
/// any y in R^10 to four massless momenta whose transverse momenta sum to zero and whose total
/// fits the collider (x1, x2 in (0, 1)): every point is physical, nothing is redrawn.
///
/// Azimuths are measured from `referencePhi` + pi (the measured l- azimuth in MEMFlow), so the
/// l- azimuth sits near r = 1/2, away from the wrap at 0 = 1. The quarks are ordered by pT
/// (q1 the harder); the inverse swaps a drawn pair into that order.
///
/// Density: with w(s_hat) the massless 4-body volume per unit r (`RamboOnDiet`), a density q(y)
/// is the phase-space density q(y) / (w prod_i sigma'(y_i)) per dPhi_4 dx1 dx2;
/// `logMeasure(y)` = log w + sum_i log sigma'(y_i), sigma' = sigma (1 - sigma).
/// r is clipped to [`clip`, 1 - `clip`] both ways (a parton exactly along the beam has no eta).
public struct RamboPartonCoordinates {
    public static let dimension = 10
    public static let names = ["logit_r_m2", "logit_r_mqq", "logit_r_cos_l-", "logit_r_phi_l-", "logit_r_cos_l+", "logit_r_phi_l+",
                               "logit_r_cos_q1", "logit_r_phi_q1", "logit_x1", "logit_x2"]
    /// The smallest distance of r (and x) from 0 and 1.
    public static let clip = 1e-12

    public let sqrtSHadronic: Double
    let rambo: RamboOnDiet

    public init(sqrtSHadronic: Double = 13_000) throws {
        guard sqrtSHadronic > 0, sqrtSHadronic.isFinite else {
            throw RefoldError.value("RamboPartonCoordinates sqrt(s)", expected: "a positive finite energy (GeV)", actual: sqrtSHadronic)
        }
        self.sqrtSHadronic = sqrtSHadronic
        rambo = try RamboOnDiet(masslessParticles: 4)
    }

    @inline(__always) static func logit(_ u: Double) -> Double {
        let c = min(max(u, clip), 1 - clip)
        return log(c / (1 - c))
    }

    @inline(__always) static func sigmoid(_ y: Double) -> Double {
        min(max(1 / (1 + exp(-y)), clip), 1 - clip)
    }

    /// The lab momenta rotated about the beam by `angle`.
    static func rotated(_ p: FourMomentum, by angle: Double) -> FourMomentum {
        let c = cos(angle), s = sin(angle)
        return FourMomentum(e: p.e, px: c * p.px - s * p.py, py: s * p.px + c * p.py, pz: p.pz)
    }

    /// y of lab momenta (l-, l+, q1, q2) with azimuths measured from `referencePhi` + pi.
    public func coordinates(of partons: [FourMomentum], referencePhi: Double) -> [Double] {
        precondition(partons.count == 4, "RamboPartonCoordinates: expected 4 partons (l-, l+, q1, q2), got \(partons.count)")
        let turned = partons.map { Self.rotated($0, by: .pi - referencePhi) }
        let (r, fractions, _) = rambo.randomNumbers(fromLab: turned, sqrtSHadronic: sqrtSHadronic)
        return (r + [fractions.x1, fractions.x2]).map(Self.logit)
    }

    /// The lab momenta (l-, l+, q1, q2; quarks ordered by pT) of y (10 numbers).
    public func partons(from y: UnsafeBufferPointer<Double>, referencePhi: Double) -> [FourMomentum] {
        precondition(y.count == Self.dimension, "RamboPartonCoordinates: expected \(Self.dimension) numbers, got \(y.count)")
        let r = (0..<8).map { Self.sigmoid(y[$0]) }
        let fractions = PartonFractions(x1: Self.sigmoid(y[8]), x2: Self.sigmoid(y[9]))
        var p = rambo.labMomenta(from: r, fractions: fractions, sqrtSHadronic: sqrtSHadronic).momenta
            .map { Self.rotated($0, by: referencePhi - .pi) }
        if p[3].pT > p[2].pT { p.swapAt(2, 3) }
        return p
    }

    public func partons(from y: [Double], referencePhi: Double) -> [FourMomentum] {
        y.withUnsafeBufferPointer { partons(from: $0, referencePhi: referencePhi) }
    }

    /// log w(s_hat) + sum_i log sigma'(y_i): log q(y) minus this is the log density per
    /// dPhi_4 dx1 dx2 (see the type's comment).
    public func logMeasure(_ y: [Double]) -> Double {
        precondition(y.count == Self.dimension, "RamboPartonCoordinates: expected \(Self.dimension) numbers, got \(y.count)")
        let x1 = Self.sigmoid(y[8]), x2 = Self.sigmoid(y[9])
        let sHat = x1 * x2 * sqrtSHadronic * sqrtSHadronic
        let jacobian = y.reduce(0.0) { total, v in let s = Self.sigmoid(v); return total + log(s * (1 - s)) }
        return log(RamboOnDiet.masslessVolume(particles: 4, s: sHat)) + jacobian
    }

    /// |sum of the transverse momenta| / sum of |pT|: 0 for an exactly balanced event.
    public static func relativeImbalance(_ partons: [FourMomentum]) -> Double {
        let total = partons.reduce(FourMomentum.zero, +), scalar = partons.reduce(0) { $0 + $1.pT }
        return scalar > 0 ? total.pT / scalar : .nan
    }
}
