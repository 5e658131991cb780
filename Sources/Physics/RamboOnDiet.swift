import CGSL
import Foundation
import Tensor

/// RAMBO on diet (S. Plaetzer, arXiv:1308.2922): N-particle phase space in the centre-of-mass
/// frame from the minimal 3N - 4 numbers r in [0, 1], and back.
///
/// **Convention.** Phase-space volumes and weights are those of
///     Phi_N(P) = Integral prod_i d^3p_i / (2 E_i) delta^4(P - sum_i p_i),
/// with no factors of 2 pi (the PDG's dPhi_N is (2 pi)^(4 - 3N) times this). Then
/// Phi_2 = pi lambda^(1/2)(s, m1^2, m2^2) / (2 s), massless
/// Phi_N = (pi/2)^(N-1) s^(N-2) / ((N-1)! (N-2)!) (the paper's formula), and the 3-body Dalitz
/// density is dPhi_3 = pi^2 / (4 s) dm12^2 dm23^2. The weight w(r) of a point is the phase-space
/// density per unit volume of r: the average of w over uniform r is Phi_N, and an integral is
/// Integral dPhi_N f = E_r[w(r) f(p(r))].
///
/// **The map.** With mu_i = m_i + ... + m_N, the kinetic energy E = sqrt(s) - mu_1, and
/// Q_i = p_i + ... + p_N of invariant mass K_i (K_1 = sqrt(s), K_N = m_N):
/// - Massless intermediate masses M_1 = E >= M_2 >= ... >= M_{N-1} >= M_N = 0. Given M_{i-1},
///   the massless phase space splits as Phi_2(M_{i-1}; 0, M_i) Phi_{N-i+1}(M_i) dM_i^2, so
///   u_i = M_i^2 / M_{i-1}^2 has density proportional to (1 - u) u^(n-2), n = N - i + 1 the
///   number of particles in Q_i, and cumulative distribution
///       F_n(u) = n u^(n-1) - (n - 1) u^n   (the paper's (N-i+1) u^(N-i) - (N-i) u^(N-i+1)).
///   So u_i = F_n^-1(r_{i-1}) and M_i = sqrt(u_i) M_{i-1}: the polynomial's root is the *square*
///   of the mass ratio. Taking M_i = u_i M_{i-1} instead (the ratio itself from F_n) is not flat;
///   the tests measure it (docs/rambo-on-diet.md).
/// - Massive intermediate masses K_i = M_i + mu_i (the paper's shift): K_{i-1} - K_i - m_{i-1}
///   = M_{i-1} - M_i >= 0, so every two-body step is open.
/// - Step i = 1 ... N-1: in the rest frame of Q_i, p_i has mass m_i and momentum
///   q = lambda^(1/2)(K_i^2, m_i^2, K_{i+1}^2) / (2 K_i) along (theta, phi) with
///   cos theta = 2 r - 1 and phi = 2 pi r'; Q_{i+1} recoils. Both are boosted to the c.m. frame
///   along Q_i (a pure boost from the c.m. frame, no rotation).
///
/// **The weight.** Massless: the constant Phi_N(s). Massive: the massless volume at the kinetic
/// energy times the ratio of the massive to the massless densities of the intermediate masses,
///     w = Phi_N^massless(E^2) prod_{i=2}^{N-1} (K_i / M_i) prod_{i=1}^{N-1} rho(K_i; m_i, K_{i+1}) / rho(M_i; 0, M_{i+1}),
/// with rho(a; b, c) = lambda^(1/2)(a^2, b^2, c^2) / a^2 (dK_i^2 / dM_i^2 = K_i / M_i, and
/// Phi_2 is proportional to rho). The angles are the same in both.
///
/// **Layout of r.** r[0 ..< N-2] are the mass numbers r_1 ... r_{N-2} (for M_2 ... M_{N-1}); then
/// for each step i = 1 ... N-1 the pair (r_cos, r_phi) at r[N-2 + 2(i-1)] and r[N-1 + 2(i-1)].
/// The inverse maps phi in [0, 2 pi) to r_phi in [0, 1), so r_phi = 1 comes back as 0.
public struct RamboOnDiet {
    /// The final-state masses m_1 ... m_N (GeV), N >= 2.
    public let masses: [Double]
    /// mu_i = m_i + ... + m_N (mu[0] is the threshold sqrt(s) must exceed).
    let massSums: [Double]
    let isMassless: Bool

    /// Throws unless there are at least two particles and every mass is finite and >= 0.
    public init(masses: [Double]) throws {
        guard masses.count >= 2 else { throw RefoldError.value("RamboOnDiet particles", expected: "at least 2", actual: masses.count) }
        for (i, m) in masses.enumerated() where !(m.isFinite && m >= 0) {
            throw RefoldError.value("RamboOnDiet mass \(i)", expected: "a finite mass >= 0", actual: m)
        }
        self.masses = masses
        var sums = masses
        for i in stride(from: masses.count - 2, through: 0, by: -1) { sums[i] += sums[i + 1] }
        massSums = sums
        isMassless = masses.allSatisfy { $0 == 0 }
    }

    /// N massless particles.
    public init(masslessParticles n: Int) throws { try self.init(masses: Array(repeating: 0, count: n)) }

    public var particles: Int { masses.count }
    /// 3N - 4.
    public var dimension: Int { 3 * masses.count - 4 }
    /// The smallest c.m. energy, m_1 + ... + m_N; the maps need sqrt(s) above it.
    public var threshold: Double { massSums[0] }

    // MARK: Volumes

    /// Massless N-body volume (pi/2)^(N-1) s^(N-2) / ((N-1)! (N-2)!) in the convention of the type.
    public static func masslessVolume(particles n: Int, s: Double) -> Double {
        precondition(n >= 2, "RamboOnDiet.masslessVolume: expected n >= 2, got \(n)")
        return exp(Double(n - 1) * log(Double.pi / 2) + Double(n - 2) * log(s) - lgamma(Double(n)) - lgamma(Double(n - 1)))
    }

    /// Two-body volume pi lambda^(1/2)(s, m1^2, m2^2) / (2 s); 0 below threshold.
    public static func twoBodyVolume(s: Double, m1: Double, m2: Double) -> Double {
        let a = s.squareRoot()
        guard a > m1 + m2 else { return 0 }
        return .pi * kallenRoot(a, m1, m2) / (2 * s)
    }

    // MARK: Intermediate masses

    /// F_n(u) = n u^(n-1) - (n-1) u^n: the probability that u = M_i^2 / M_{i-1}^2 is below u when
    /// Q_i holds n >= 2 massless particles of flat phase space.
    @inlinable public static func massRatioSquaredCDF(_ u: Double, particles n: Int) -> Double {
        let un1 = pow(u, Double(n - 1))
        return un1 * (Double(n) - Double(n - 1) * u)
    }

    /// The u in [0, 1] with F_n(u) = r (GSL Brent on the bracket [0, 1]; F_n rises from 0 to 1).
    /// The root is found to relative 1e-15 in u; F_n'(1) = 0, so u near 1 is determined only to
    /// about sqrt(eps) by a Double r, while F_n(u) reproduces r to rounding.
    public static func massRatioSquared(probability r: Double, particles n: Int) -> Double {
        precondition(n >= 2, "RamboOnDiet.massRatioSquared: expected n >= 2 particles, got \(n)")
        if r <= 0 { return 0 }
        if r >= 1 { return 1 }
        var target = CDFTarget(particles: n, probability: r)
        return withUnsafeMutablePointer(to: &target) { pointer in
            var function = gsl_function(
                function: { u, parameters in
                    let t = parameters!.assumingMemoryBound(to: CDFTarget.self).pointee
                    return RamboOnDiet.massRatioSquaredCDF(u, particles: t.particles) - t.probability
                },
                params: UnsafeMutableRawPointer(pointer))
            guard let solver = gsl_root_fsolver_alloc(gsl_root_fsolver_brent) else { fatalError("gsl_root_fsolver_alloc failed") }
            defer { gsl_root_fsolver_free(solver) }
            gsl_root_fsolver_set(solver, &function, 0, 1)
            for _ in 0..<200 {
                gsl_root_fsolver_iterate(solver)
                let low = gsl_root_fsolver_x_lower(solver), high = gsl_root_fsolver_x_upper(solver)
                if gsl_root_test_interval(low, high, 0, 1e-15) == GSL_SUCCESS { break }
            }
            return gsl_root_fsolver_root(solver)
        }
    }

    private struct CDFTarget { var particles: Int; var probability: Double }

    // MARK: The map and its inverse

    /// The N momenta in the c.m. frame (total (sqrt s, 0, 0, 0)) and the weight w(r).
    /// Needs r.count == 3N - 4, every r in [0, 1], and sqrt(s) above the threshold.
    public func momenta(from r: [Double], sqrtS: Double) -> (momenta: [FourMomentum], weight: Double) {
        let n = masses.count
        precondition(r.count == dimension, "RamboOnDiet.momenta: expected \(dimension) numbers for \(n) particles, got \(r.count)")
        precondition(sqrtS > threshold, "RamboOnDiet.momenta: expected sqrt(s) above the threshold \(threshold), got \(sqrtS)")
        precondition(r.allSatisfy { $0 >= 0 && $0 <= 1 }, "RamboOnDiet.momenta: expected numbers in [0, 1], got \(r)")
        // M[i], K[i] hold M_{i+1}, K_{i+1} (0-based).
        var M = [Double](repeating: 0, count: n), K = [Double](repeating: 0, count: n)
        M[0] = sqrtS - threshold; K[0] = sqrtS
        for i in 1..<(n - 1) {
            M[i] = Self.massRatioSquared(probability: r[i - 1], particles: n - i).squareRoot() * M[i - 1]
            K[i] = M[i] + massSums[i]
        }
        M[n - 1] = 0; K[n - 1] = masses[n - 1]
        var p = [FourMomentum](repeating: .zero, count: n)
        var Q = FourMomentum(e: sqrtS, px: 0, py: 0, pz: 0)
        for i in 0..<(n - 1) {
            let q = Self.twoBodyMomentum(K[i], K[i + 1], masses[i], gap: M[i] - M[i + 1])
            let rCos = r[n - 2 + 2 * i], phi = 2 * Double.pi * r[n - 1 + 2 * i]
            let cosTheta = 2 * rCos - 1, sinTheta = 2 * (rCos * (1 - rCos)).squareRoot()
            let x = q * sinTheta * cos(phi), y = q * sinTheta * sin(phi), z = q * cosTheta
            let emitted = FourMomentum(e: (q * q + masses[i] * masses[i]).squareRoot(), px: x, py: y, pz: z)
            let recoil = FourMomentum(e: (q * q + K[i + 1] * K[i + 1]).squareRoot(), px: -x, py: -y, pz: -z)
            p[i] = Self.fromRest(emitted, frame: Q, mass: K[i])
            Q = Self.fromRest(recoil, frame: Q, mass: K[i])
        }
        p[n - 1] = Q
        return (p, weight(M: M, K: K))
    }

    /// The numbers r, the c.m. energy sqrt(s) and the weight w(r) of N momenta with these masses.
    /// The momenta are first boosted to the rest frame of their sum (a no-op in the c.m. frame).
    public func randomNumbers(from momenta: [FourMomentum]) -> (r: [Double], sqrtS: Double, weight: Double) {
        let n = masses.count
        precondition(momenta.count == n, "RamboOnDiet.randomNumbers: expected \(n) momenta, got \(momenta.count)")
        let total = momenta.reduce(FourMomentum.zero, +)
        let sqrtS = total.mass
        precondition(sqrtS > threshold, "RamboOnDiet.randomNumbers: expected a total mass above the threshold \(threshold), got \(sqrtS)")
        let p = total.px == 0 && total.py == 0 && total.pz == 0 ? momenta : momenta.map { Self.toRest($0, frame: total, mass: sqrtS) }
        // Q[i] = p_i + ... + p_N (0-based), K and M as in `momenta(from:sqrtS:)`.
        var Q = p
        for i in stride(from: n - 2, through: 0, by: -1) { Q[i] = Q[i] + Q[i + 1] }
        Q[0] = FourMomentum(e: sqrtS, px: 0, py: 0, pz: 0)
        var M = [Double](repeating: 0, count: n), K = [Double](repeating: 0, count: n)
        M[0] = sqrtS - threshold; K[0] = sqrtS
        var r = [Double](repeating: 0, count: dimension)
        for i in 1..<(n - 1) {
            K[i] = max(Q[i].mass, massSums[i])
            M[i] = min(K[i] - massSums[i], M[i - 1])
            let ratio = M[i] / M[i - 1]
            r[i - 1] = Self.massRatioSquaredCDF(ratio * ratio, particles: n - i)
        }
        M[n - 1] = 0; K[n - 1] = masses[n - 1]
        for i in 0..<(n - 1) {
            let rest = Self.toRest(p[i], frame: Q[i], mass: K[i])
            let cosTheta = max(-1, min(1, rest.pz / rest.p))
            var phi = atan2(rest.py, rest.px)
            if phi < 0 { phi += 2 * .pi }
            r[n - 2 + 2 * i] = (1 + cosTheta) / 2
            r[n - 1 + 2 * i] = min(phi / (2 * .pi), 1)
        }
        return (r, sqrtS, weight(M: M, K: K))
    }

    /// w(r) from the massless (M) and massive (K) intermediate masses, see the type's comment.
    func weight(M: [Double], K: [Double]) -> Double {
        let n = masses.count
        var w = Self.masslessVolume(particles: n, s: M[0] * M[0])
        if isMassless { return w }
        for i in 1..<(n - 1) { w *= K[i] / M[i] }
        for i in 0..<(n - 1) {
            let gap = M[i] - M[i + 1]
            let massive = Self.twoBodyMomentum(K[i], K[i + 1], masses[i], gap: gap) / K[i]
            let massless = gap * (M[i] + M[i + 1]) / (2 * M[i] * M[i])
            w *= massive / massless
        }
        return w
    }

    // MARK: Kinematics

    /// lambda^(1/2)(a^2, b^2, c^2) = sqrt((a - b - c)(a + b + c)(a - b + c)(a + b - c)).
    @inline(__always) static func kallenRoot(_ a: Double, _ b: Double, _ c: Double) -> Double {
        (max(0, (a - b - c) * (a + b + c) * (a - b + c) * (a + b - c))).squareRoot()
    }

    /// The momentum of a -> b c in the rest frame of a, with the threshold distance
    /// a - b - c = `gap` passed in exactly (M_i - M_{i+1} for K_i -> K_{i+1} m_i).
    @inline(__always) static func twoBodyMomentum(_ a: Double, _ b: Double, _ c: Double, gap: Double) -> Double {
        (max(0, gap * (a + b + c) * (a - b + c) * (a + b - c))).squareRoot() / (2 * a)
    }

    /// p given in the rest frame of `frame` (of mass `mass`), in the frame where `frame` moves:
    /// E' = (E_F E + F.p) / m, p' = p + F [F.p / (m (E_F + m)) + E / m]. Exact gamma = E_F / m,
    /// so light, fast frames keep their precision.
    @inline(__always) static func fromRest(_ p: FourMomentum, frame f: FourMomentum, mass m: Double) -> FourMomentum {
        let fp = f.px * p.px + f.py * p.py + f.pz * p.pz
        let k = fp / (m * (f.e + m)) + p.e / m
        return FourMomentum(e: (f.e * p.e + fp) / m, px: p.px + k * f.px, py: p.py + k * f.py, pz: p.pz + k * f.pz)
    }

    /// The inverse of `fromRest`: p in the rest frame of `frame` (of mass `mass`).
    @inline(__always) static func toRest(_ p: FourMomentum, frame f: FourMomentum, mass m: Double) -> FourMomentum {
        let fp = f.px * p.px + f.py * p.py + f.pz * p.pz
        let k = fp / (m * (f.e + m)) - p.e / m
        return FourMomentum(e: (f.e * p.e - fp) / m, px: p.px + k * f.px, py: p.py + k * f.py, pz: p.pz + k * f.pz)
    }
}

// MARK: - Lab frame

/// Momentum fractions x1, x2 of the incoming partons at a hadron collider of energy sqrt(s_had),
/// parton 1 along +z: the partonic total momentum is P = sqrt(s_had)/2 (x1 + x2, 0, 0, x1 - x2),
/// so x1 x2 s_had = s_hat = P^2 and (x1 - x2) sqrt(s_had) / 2 = P_z. The partonic c.m. frame
/// moves along z with velocity beta = (x1 - x2) / (x1 + x2) (rapidity y = log(x1 / x2) / 2).
/// Integrals over the fractions: dx1 dx2 = d tau dy with tau = x1 x2.
public struct PartonFractions: Equatable {
    public var x1: Double, x2: Double

    public init(x1: Double, x2: Double) { self.x1 = x1; self.x2 = x2 }

    /// The fractions whose partonic total has the invariant mass and P_z of `total` (a final
    /// state's summed lab momentum; its transverse momentum, if any, is not used):
    /// x1,2 = (sqrt(P_z^2 + P^2) +- P_z) / sqrt(s_had), the smaller one as s_hat / (s_had x_larger)
    /// to avoid the cancellation. Fractions above 1 mean the state does not fit the collider.
    public init(total: FourMomentum, sqrtSHadronic: Double) {
        let sHat = max(0, total.mass2), root = (total.pz * total.pz + sHat).squareRoot()
        let tau = sHat / (sqrtSHadronic * sqrtSHadronic)
        if total.pz >= 0 {
            x1 = (root + total.pz) / sqrtSHadronic; x2 = x1 > 0 ? tau / x1 : 0
        } else {
            x2 = (root - total.pz) / sqrtSHadronic; x1 = tau / x2
        }
    }

    /// tau = x1 x2 = s_hat / s_had.
    public var tau: Double { x1 * x2 }
    /// Rapidity of the partonic c.m. frame, log(x1 / x2) / 2.
    public var rapidity: Double { 0.5 * log(x1 / x2) }
    /// Velocity of the partonic c.m. frame along z, (x1 - x2) / (x1 + x2).
    public var beta: Double { (x1 - x2) / (x1 + x2) }

    /// sqrt(s_hat) = sqrt(x1 x2) sqrt(s_had).
    public func sqrtSHat(sqrtSHadronic: Double) -> Double { (x1 * x2).squareRoot() * sqrtSHadronic }

    /// The partonic total momentum in the lab, sqrt(s_had)/2 (x1 + x2, 0, 0, x1 - x2).
    public func total(sqrtSHadronic: Double) -> FourMomentum {
        let half = sqrtSHadronic / 2
        return FourMomentum(e: half * (x1 + x2), px: 0, py: 0, pz: half * (x1 - x2))
    }

    /// A momentum of the partonic c.m. frame seen in the lab (boost by beta along z).
    public func toLab(_ p: FourMomentum) -> FourMomentum { boost(p, rapidity: rapidity) }

    /// A lab momentum seen in the partonic c.m. frame (boost by -beta along z).
    public func toCentreOfMass(_ p: FourMomentum) -> FourMomentum { boost(p, rapidity: -rapidity) }

    /// The boost along z by rapidity y: E' = cosh y E + sinh y p_z, p_z' = sinh y E + cosh y p_z.
    private func boost(_ p: FourMomentum, rapidity y: Double) -> FourMomentum {
        let c = cosh(y), s = sinh(y)
        return FourMomentum(e: c * p.e + s * p.pz, px: p.px, py: p.py, pz: s * p.e + c * p.pz)
    }
}

extension RamboOnDiet {
    /// Lab momenta from r and the fractions: the c.m. map at sqrt(s_hat) = sqrt(x1 x2 s_had),
    /// boosted along z. The weight is the c.m. one (the fractions' own density is the caller's).
    public func labMomenta(from r: [Double], fractions: PartonFractions, sqrtSHadronic: Double)
        -> (momenta: [FourMomentum], weight: Double) {
        let (p, w) = momenta(from: r, sqrtS: fractions.sqrtSHat(sqrtSHadronic: sqrtSHadronic))
        return (p.map(fractions.toLab), w)
    }

    /// The inverse of `labMomenta`: the fractions from the summed momentum, then r from the
    /// momenta boosted to the partonic c.m. frame.
    public func randomNumbers(fromLab momenta: [FourMomentum], sqrtSHadronic: Double)
        -> (r: [Double], fractions: PartonFractions, weight: Double) {
        let fractions = PartonFractions(total: momenta.reduce(FourMomentum.zero, +), sqrtSHadronic: sqrtSHadronic)
        let (r, _, w) = randomNumbers(from: momenta.map(fractions.toCentreOfMass))
        return (r, fractions, w)
    }
}

// MARK: - Benchmark

extension ColliderBenchmarks {
    /// Times `points` 4-body points of RAMBO on diet at sqrt(s) = 1 TeV, massless and with masses
    /// (173, 173, 80.4, 4.8) GeV, in both directions (r -> p, p -> r), drawn in chunks of 10^4;
    /// returns the four wall times in seconds (the drawing of r is not timed).
    public static func ramboOnDiet(points: Int, seed: UInt64)
        -> (masslessForward: Double, masslessInverse: Double, massiveForward: Double, massiveInverse: Double) {
        func time(_ map: RamboOnDiet, _ rng: RNGStream) -> (Double, Double) {
            let chunk = 10_000, sqrtS = 1_000.0
            var forward: UInt64 = 0, inverse: UInt64 = 0, check = 0.0
            var r = [[Double]](repeating: [Double](repeating: 0, count: map.dimension), count: chunk)
            var p = [[FourMomentum]](repeating: [], count: chunk)
            var done = 0
            while done < points {
                let m = min(chunk, points - done)
                for j in 0..<m { for d in 0..<map.dimension { r[j][d] = rng.uniform() } }
                let t0 = DispatchTime.now().uptimeNanoseconds
                for j in 0..<m { let x = map.momenta(from: r[j], sqrtS: sqrtS); p[j] = x.momenta; check += x.weight }
                let t1 = DispatchTime.now().uptimeNanoseconds
                for j in 0..<m { check += map.randomNumbers(from: p[j]).r[0] }
                let t2 = DispatchTime.now().uptimeNanoseconds
                forward += t1 - t0; inverse += t2 - t1; done += m
            }
            return check.isFinite ? (Double(forward) / 1e9, Double(inverse) / 1e9) : (.nan, .nan)
        }
        let rng = RNGStream(seed: seed)
        guard let massless = try? RamboOnDiet(masslessParticles: 4), let massive = try? RamboOnDiet(masses: [173, 173, 80.4, 4.8]) else {
            return (.nan, .nan, .nan, .nan)
        }
        let a = time(massless, rng.child("bench.rambo.massless")), b = time(massive, rng.child("bench.rambo.massive"))
        return (a.0, a.1, b.0, b.1)
    }
}
