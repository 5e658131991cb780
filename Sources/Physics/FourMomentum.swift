import Foundation

/// A four-momentum (E, px, py, pz) in GeV, metric (+, -, -, -).
public struct FourMomentum: Equatable {
    public var e: Double, px: Double, py: Double, pz: Double

    @inlinable public init(e: Double, px: Double, py: Double, pz: Double) {
        self.e = e; self.px = px; self.py = py; self.pz = pz
    }

    /// From collider coordinates: p = (pT cos phi, pT sin phi, pT sinh eta), E^2 = p^2 + m^2.
    @inlinable public init(pT: Double, eta: Double, phi: Double, mass: Double = 0) {
        px = pT * cos(phi); py = pT * sin(phi); pz = pT * sinh(eta)
        let p2 = pT * pT + pz * pz
        e = (p2 + mass * mass).squareRoot()
    }

    public static let zero = FourMomentum(e: 0, px: 0, py: 0, pz: 0)

    @inlinable public static func + (a: FourMomentum, b: FourMomentum) -> FourMomentum {
        FourMomentum(e: a.e + b.e, px: a.px + b.px, py: a.py + b.py, pz: a.pz + b.pz)
    }
    @inlinable public static func - (a: FourMomentum, b: FourMomentum) -> FourMomentum {
        FourMomentum(e: a.e - b.e, px: a.px - b.px, py: a.py - b.py, pz: a.pz - b.pz)
    }
    @inlinable public static func * (s: Double, a: FourMomentum) -> FourMomentum {
        FourMomentum(e: s * a.e, px: s * a.px, py: s * a.py, pz: s * a.pz)
    }

    /// Minkowski product a.b = E_a E_b - p_a . p_b.
    @inlinable public func dot(_ b: FourMomentum) -> Double { e * b.e - px * b.px - py * b.py - pz * b.pz }

    @inlinable public var pT: Double { (px * px + py * py).squareRoot() }
    @inlinable public var p: Double { (px * px + py * py + pz * pz).squareRoot() }
    /// Azimuth in (-pi, pi].
    @inlinable public var phi: Double { let x = atan2(py, px); return x == -.pi ? .pi : x }
    /// Pseudorapidity eta = asinh(pz / pT) = sign(pz) log((|p| + |pz|) / pT) (+-inf along the beam).
    @inlinable public var eta: Double {
        let a = abs(pz), v = log((p + a) / pT)
        return pz < 0 ? -v : v
    }
    /// Rapidity y = 1/2 log((E + pz) / (E - pz)).
    @inlinable public var rapidity: Double { 0.5 * log((e + pz) / (e - pz)) }
    /// m^2 = E^2 - p^2 (negative for space-like vectors).
    @inlinable public var mass2: Double { e * e - (px * px + py * py + pz * pz) }
    /// m = sign(m^2) sqrt(|m^2|).
    @inlinable public var mass: Double { let m2 = mass2; return m2 >= 0 ? m2.squareRoot() : -(-m2).squareRoot() }
    /// Velocity beta = p / E.
    @inlinable public var boostVector: (Double, Double, Double) { (px / e, py / e, pz / e) }

    /// Delta R = sqrt(Delta eta^2 + Delta phi^2), Delta phi wrapped to (-pi, pi].
    @inlinable public func deltaR(_ b: FourMomentum) -> Double {
        let dEta = eta - b.eta, dPhi = FourMomentum.wrapPhi(phi - b.phi)
        return (dEta * dEta + dPhi * dPhi).squareRoot()
    }

    /// An angle mapped into (-pi, pi].
    @inlinable public static func wrapPhi(_ phi: Double) -> Double {
        var x = phi
        if x > .pi || x <= -.pi {
            x = phi.remainder(dividingBy: 2 * .pi)      // in [-pi, pi]
            if x <= -.pi { x += 2 * .pi }
        }
        return x
    }

    /// The general Lorentz boost by velocity (bx, by, bz), |b| < 1:
    /// E' = gamma (E + b.p), p' = p + ((gamma - 1)(b.p)/b^2 + gamma E) b.
    @inlinable public func boosted(by b: (Double, Double, Double)) -> FourMomentum {
        let b2 = b.0 * b.0 + b.1 * b.1 + b.2 * b.2
        if b2 == 0 { return self }
        let gamma = 1 / (1 - b2).squareRoot()
        let bp = b.0 * px + b.1 * py + b.2 * pz
        let k = (gamma - 1) * bp / b2 + gamma * e
        return FourMomentum(e: gamma * (e + bp), px: px + k * b.0, py: py + k * b.1, pz: pz + k * b.2)
    }

    /// This momentum seen in the rest frame of `frame` (boost by -frame.boostVector).
    @inlinable public func inRestFrame(of frame: FourMomentum) -> FourMomentum {
        let b = frame.boostVector
        return boosted(by: (-b.0, -b.1, -b.2))
    }

    /// A momentum given in the rest frame of `frame`, expressed in the frame where `frame` moves.
    @inlinable public func fromRestFrame(of frame: FourMomentum) -> FourMomentum { boosted(by: frame.boostVector) }
}

/// Two-body decay of a particle of mass `m` at rest into massless daughters along
/// (sin theta cos phi, sin theta sin phi, cos theta) and opposite.
@inlinable func masslessDecayAtRest(mass m: Double, cosTheta: Double, phi: Double) -> (FourMomentum, FourMomentum) {
    let half = m / 2, sinTheta = (max(0, 1 - cosTheta * cosTheta)).squareRoot()
    let x = half * sinTheta * cos(phi), y = half * sinTheta * sin(phi), z = half * cosTheta
    return (FourMomentum(e: half, px: x, py: y, pz: z), FourMomentum(e: half, px: -x, py: -y, pz: -z))
}
