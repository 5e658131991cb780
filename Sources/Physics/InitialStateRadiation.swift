import Foundation
import Tensor

/// A toy initial-state shower: ordered emissions with a double-log Sudakov factor
/// Delta(Q, pT) = exp(-A log^2(Q / pT)) (thesis sec. 5.4), Q = scaleFraction * m_hat.
/// Successive emissions are pT-ordered: L_k^2 = L_(k-1)^2 - log(u) / A with L = log(Q / pT),
/// until pT falls below minimumPT. Each emission gets a rapidity from N(0, rapiditySigma) and a
/// flat azimuth; the recoil -sum(pT) is given to the hard system by a Lorentz boost that keeps
/// its mass and rapidity, so the total transverse momentum stays zero.
public struct ISRParameters: Equatable {
    /// Sudakov coefficient A (alpha_s C_A / pi-like); tuned to about 2/3 two-jet events.
    public var sudakovCoefficient = 0.22
    /// Hard scale Q = scaleFraction * m_hat.
    public var scaleFraction = 0.5
    /// Emissions below this pT (GeV) are not generated.
    public var minimumPT = 15.0
    /// Width of the Gaussian rapidity of emissions.
    public var rapiditySigma = 1.8
    /// At most this many emissions per event.
    public var maximumEmissions = 8

    public init() {}

    public var record: [String: Double] {
        ["isr_sudakov_A": sudakovCoefficient, "isr_scale_fraction": scaleFraction, "isr_minimum_pT": minimumPT,
         "isr_rapidity_sigma": rapiditySigma, "isr_maximum_emissions": Double(maximumEmissions)]
    }
}

/// The hard event before ISR (the parton-level reference), after recoil, and the ISR partons.
public struct RadiatedEvent {
    public var hard: HardEvent
    public var recoiled: HardEvent
    public var emissions: [FourMomentum]
}

public enum InitialStateRadiation {
    /// Emission transverse momenta, descending, for hard scale Q.
    public static func emissionPTs(scale q: Double, _ p: ISRParameters, _ rng: RNGStream) -> [Double] {
        var pts: [Double] = []
        var l2 = 0.0
        while pts.count < p.maximumEmissions {
            l2 -= log(rng.uniformPositive()) / p.sudakovCoefficient
            let pt = q * exp(-l2.squareRoot())
            if pt < p.minimumPT { break }
            pts.append(pt)
        }
        return pts
    }

    /// Adds ISR to a hard event: emissions plus the recoiled hard system.
    public static func radiate(_ hard: HardEvent, _ p: ISRParameters, _ rng: RNGStream) -> RadiatedEvent {
        let system = hard.total
        let emissions = self.emissions(scale: p.scaleFraction * system.mass, p, rng)
        if emissions.isEmpty { return RadiatedEvent(hard: hard, recoiled: hard, emissions: []) }
        let k = emissions.reduce(FourMomentum.zero, +)
        return RadiatedEvent(hard: hard, recoiled: recoil(hard, px: -k.px, py: -k.py), emissions: emissions)
    }

    /// The emitted partons for hard scale Q, by descending pT: massless, rapidity from
    /// N(0, rapiditySigma), flat azimuth.
    public static func emissions(scale q: Double, _ p: ISRParameters, _ rng: RNGStream) -> [FourMomentum] {
        emissionPTs(scale: q, p, rng).map { pt in
            FourMomentum(pT: pt, eta: rng.normal(mean: 0, std: p.rapiditySigma), phi: rng.uniform(-.pi, .pi))
        }
    }

    /// Boosts the hard system to transverse momentum (px, py), keeping its mass M and rapidity y:
    /// the target is (mT cosh y, px, py, mT sinh y), mT = sqrt(M^2 + pT^2); each particle goes to
    /// the system's rest frame and out again to the target frame.
    public static func recoil(_ hard: HardEvent, px: Double, py: Double) -> HardEvent {
        let boost = recoilBoost(of: hard.total, px: px, py: py)
        return hard.mapped(boost)
    }

    /// The same recoil for any list of particles (Z -> mu mu + jets): the system is their sum.
    public static func recoil(_ particles: [FourMomentum], px: Double, py: Double) -> [FourMomentum] {
        particles.map(recoilBoost(of: particles.reduce(.zero, +), px: px, py: py))
    }

    /// The map of a particle from the frame where `system` moves to the frame where the system
    /// has transverse momentum (px, py), the same mass and the same rapidity.
    static func recoilBoost(of system: FourMomentum, px: Double, py: Double) -> (FourMomentum) -> FourMomentum {
        let m = system.mass, y = system.rapidity
        let mT = (m * m + px * px + py * py).squareRoot()
        let target = FourMomentum(e: mT * cosh(y), px: px, py: py, pz: mT * sinh(y))
        return { $0.inRestFrame(of: system).fromRestFrame(of: target) }
    }
}
