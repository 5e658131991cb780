import Foundation
import Physics
import Tensor

/// The per-event likelihood of a selected zw detector event (exactly two jets, no ISR),
///
///     p(x_d | theta) = integral dx_p p(x_p | theta) W(x_d | x_p),
///
/// by VEGAS over the parton phase space that W leaves free (docs/mem.md has the derivation).
///
/// **Lab variables.** Four massless partons with zero total pT: l-, l+ (pT, eta, phi), the *free*
/// quark a (pT, eta, phi) and quark b's eta; b's transverse momentum is -(l- + l+ + a)_T. With
/// d^3p / 2E = pT dpT deta dphi / 2 and the generator's factorisation of the invariant phase
/// space, dPi = (p* m_Z m_W / 64) dx_gen (p* = sqrt(lambda(m^2, m_Z^2, m_W^2)) / 2m, x_gen =
/// `ZWPartonCoordinates`), so in lab variables
///
///     p_lab = p(x_gen | theta) |dx_gen / dv| = p(x_gen | theta) 4 pT(l-) pT(l+) pT(a) / (p* m_Z m_W)
///
/// (`labJacobian`; tested against a finite-difference 10 x 10 determinant).
/// W measures the lepton directions exactly (delta functions in (eta, phi)): integrating them
/// sets the parton lepton angles to the measured ones with Jacobian 1, so the likelihood is a
/// density in x_d with the lepton angles in (eta, phi). Six variables remain.
///
/// **Assignment.** Quark a is labelled to be near jet 1 and b near jet 2; the two jet-parton
/// assignments of W are then the two halves pT(a) > pT(b) and pT(a) < pT(b) of the labelled space:
/// the integrand is p_lab(pT-ordered event) L(l-) L(l+) J(j1 | a) J(j2 | b) 1[selection], with no
/// sum and no factor 1/2.
///
/// **Mapping u in [0, 1]^6 -> v** (each factor centred on what pins it down, widened by 1.5):
/// - u0, u1: lepton pTs, truncated Cauchy around the measured pT with the lepton resolution;
/// - u2, u3: a_T (Cartesian), truncated Cauchy along the Cholesky axes of the Gaussian
///   combination of jet 1's constraint on a and jet 2's constraint on b = -(L + a) (radial:
///   energy resolution, tangential: pT sigma_phi), centred conditionally on the sampled leptons;
///   d^2 a_T = pT(a) dpT(a) dphi(a);
/// - u4: eta(a), truncated Cauchy around eta(j1) with width 1.5 sigma_eta, range +- 1;
/// - u5 (`EtaMap`): by default eta(b), truncated Cauchy around eta(j2) as for eta(a). The
///   alternative `.wMass` maps m_W by the inverse Breit-Wigner CDF of the mapping density
///   (resonance-aligned), replacing eta(b): m_W^2 = 2 pT(a) pT(b) (cosh(eta_a - eta_b) -
///   cos(phi_a - phi_b)) has two solutions eta_b = eta_a -+ acosh(...), both summed, with
///   |d eta_b / d m_W| = m_W / (pT(a) pT(b) |sinh|); branches with |eta_b - eta(j2)| > 1 are
///   dropped (W < e^-500 there). Measured on 12 events at 6 x 10^4 calls it loses to the direct
///   map on every one (errors 0.6-7.7 % against 0.4-1.7 %): along eta(b) the jet's sigma_eta =
///   0.03 constrains m_W to about 1 GeV, tighter than Gamma_W, so the Breit-Wigner is not the
///   peak in that direction, and where the branches meet (jets close in eta) the Jacobian has an
///   integrable singularity of infinite variance.
/// m_Z is not mapped: with the lepton directions fixed, m_Z^2 = 2 pT- pT+ (cosh - cos), and the
/// lepton resolution (0.6-1.9 GeV in m_Z) is at most comparable to Gamma_Z = 2.5 GeV, so the
/// lepton Cauchy maps already follow the peak.
public struct EventLikelihood {
    public let event: DetectorEvent
    public let density: ZWDensity
    public let transfer: TransferDensity
    /// The density whose W Breit-Wigner maps u5 to m_W with `EtaMap.wMass` (the integrand's own by
    /// default; a scan over theta can keep one map, so that its points see the same u).
    public let mapping: ZWDensity
    /// How u5 is mapped (see the type's documentation).
    public enum EtaMap { case jetEta, wMass }
    public let etaMap: EtaMap
    /// A learned transfer (`LearnedTransfer`) in place of the analytic response densities, for
    /// flow importance sampling (`logTransfers`; VEGAS evaluates one point at a time and keeps
    /// the analytic W).
    public var learnedTransfer: LearnedTransfer?

    static let widen = 1.5, etaReach = 1.0, axisReach = 30.0
    let leptonPT: (TruncatedCauchy, TruncatedCauchy)
    let leptonAxis: ((Double, Double), (Double, Double))
    let etaA: TruncatedCauchy, etaB: TruncatedCauchy, axis = TruncatedCauchy(centre: 0, width: 1, low: -axisReach, high: axisReach)
    /// mu(L) = jet1Pull + mix (-L); Cholesky factor (l11, l21, l22) of the combined covariance.
    let jet1Pull: (Double, Double), mix: Matrix2, cholesky: (Double, Double, Double)

    /// Throws unless the event has exactly two jets and both leptons inside their detector regions.
    public init(event: DetectorEvent, density: ZWDensity, transfer: TransferDensity, mapping: ZWDensity? = nil, etaMap: EtaMap = .jetEta) throws {
        guard event.jets.count == 2 else { throw RefoldError.value("jets of the detector event", expected: "2", actual: event.jets.count) }
        self.event = event; self.density = density; self.transfer = transfer; self.mapping = mapping ?? density
        let card = transfer.detector.card, widen = Self.widen
        let response = event.flavour == .electron ? card.electron : card.muon
        func leptonMap(_ l: FourMomentum) throws -> TruncatedCauchy {
            guard let region = response.region(abs(l.eta)) else {
                throw RefoldError.value("lepton |eta|", expected: "inside the detector regions", actual: abs(l.eta))
            }
            let sigma = response.relativeResolution(pT: l.pT, region: region)
            return TruncatedCauchy(centre: l.pT, width: widen * sigma * l.pT, low: response.minimumPT, high: 20 * l.pT)
        }
        leptonPT = (try leptonMap(event.leptonMinus), try leptonMap(event.leptonPlus))
        leptonAxis = ((cos(event.leptonMinus.phi), sin(event.leptonMinus.phi)), (cos(event.leptonPlus.phi), sin(event.leptonPlus.phi)))
        let j1 = event.jets[0], j2 = event.jets[1]
        etaA = TruncatedCauchy(centre: j1.eta, width: widen * card.jetEtaSigma, low: j1.eta - Self.etaReach, high: j1.eta + Self.etaReach)
        etaB = TruncatedCauchy(centre: j2.eta, width: widen * card.jetEtaSigma, low: j2.eta - Self.etaReach, high: j2.eta + Self.etaReach)
        self.etaMap = etaMap
        // Parton pT behind a jet: undo the energy scale and the mass term pT = pT0 sqrt(1 - x^2 / cosh^2).
        let x2 = card.jetMassMean * card.jetMassMean * (1 + 1 / card.jetMassShape)
        func constraint(_ j: FourMomentum) -> (centre: Double, covariance: Matrix2) {
            let c = cosh(j.eta)
            let pT0 = card.jetPTBeforeEnergyScale(j.pT, absEta: abs(j.eta)).pT * (1 + 0.5 * x2 / (c * c))
            let radial = card.jetEnergyResolution(energy: pT0 * c, absEta: abs(j.eta)) / c, tangential = pT0 * card.jetPhiSigma
            return (pT0, Matrix2.oriented(angle: j.phi, along: widen * radial, across: widen * tangential))
        }
        let (c1, s1) = constraint(j1), (c2, s2) = constraint(j2)
        let p1 = s1.inverse, p2 = s2.inverse
        let combined = (p1 + p2).inverse
        mix = combined * p2
        // mu = S (P1 c1 r1 + P2 (-L - c2 r2)).
        let a = (combined * p1).apply((c1 * cos(j1.phi), c1 * sin(j1.phi)))
        let b = mix.apply((-c2 * cos(j2.phi), -c2 * sin(j2.phi)))
        jet1Pull = (a.0 + b.0, a.1 + b.1)
        let l11 = combined.a.squareRoot(), l21 = combined.b / l11
        cholesky = (l11, l21, (combined.d - l21 * l21).squareRoot())
    }

    public init(event: DetectorEvent, parameters: ZWParameters, transfer: TransferDensity) throws {
        try self.init(event: event, density: ZWDensity(parameters: parameters), transfer: transfer)
    }

    /// The integration dimension.
    public static let dimension = 6

    /// One point of the lab space: the pT-ordered hard event, the free quark a (near jet 1), the
    /// other quark b, and |d v / d u| for v = (pT-, pT+, pT_a, eta_a, phi_a, eta_b).
    public struct Point {
        public let hard: HardEvent, freeQuark: FourMomentum, otherQuark: FourMomentum, jacobian: Double
    }

    /// The lab point of u for the eta_b solution `branch` (-1: eta_b = eta_a - Delta, +1: + Delta);
    /// nil where the branch does not exist (m_W below the pair's minimum) or is out of reach of jet 2.
    /// With `EtaMap.jetEta` there is one branch, +1 (-1 gives nil).
    public func point(_ u: UnsafePointer<Double>, branch: Int) -> Point? {
        let (pMinus, dMinus) = leptonPT.0.map(u[0]), (pPlus, dPlus) = leptonPT.1.map(u[1])
        let lx = pMinus * leptonAxis.0.0 + pPlus * leptonAxis.1.0, ly = pMinus * leptonAxis.0.1 + pPlus * leptonAxis.1.1
        let (z1, d1) = axis.map(u[2]), (z2, d2) = axis.map(u[3])
        let shift = mix.apply((-lx, -ly))
        let ax = jet1Pull.0 + shift.0 + cholesky.0 * z1, ay = jet1Pull.1 + shift.1 + cholesky.1 * z1 + cholesky.2 * z2
        let bx = -(lx + ax), by = -(ly + ay)
        let pTa = (ax * ax + ay * ay).squareRoot(), pTb = (bx * bx + by * by).squareRoot()
        guard pTa > 0, pTb > 0 else { return nil }
        let phiA = atan2(ay, ax), phiB = atan2(by, bx)
        let (eA, dEtaA) = etaA.map(u[4])
        let eB: Double, dEtaB: Double
        switch etaMap {
        case .jetEta:
            guard branch == 1 else { return nil }
            (eB, dEtaB) = etaB.map(u[5])
        case .wMass:
            let mW = mapping.wMassQuantile(u[5])
            let bw = mapping.wMassDensity(mW)
            let coshDelta = mW * mW / (2 * pTa * pTb) + cos(phiA - phiB)
            guard bw > 0, coshDelta > 1 else { return nil }
            let delta = acosh(coshDelta)
            eB = eA + Double(branch) * delta
            guard abs(eB - event.jets[1].eta) < Self.etaReach else { return nil }
            dEtaB = mW / (pTa * pTb * sinh(delta)) / bw
        }
        let jacobian = dMinus * dPlus * (cholesky.0 * cholesky.2 * d1 * d2 / pTa) * dEtaA * dEtaB
        let lMinus = FourMomentum(pT: pMinus, eta: event.leptonMinus.eta, phi: event.leptonMinus.phi)
        let lPlus = FourMomentum(pT: pPlus, eta: event.leptonPlus.eta, phi: event.leptonPlus.phi)
        let qa = FourMomentum(pT: pTa, eta: eA, phi: phiA), qb = FourMomentum(pT: pTb, eta: eB, phi: phiB)
        let hard = HardEvent(leptonMinus: lMinus, leptonPlus: lPlus, quark1: pTa >= pTb ? qa : qb, quark2: pTa >= pTb ? qb : qa,
                             flavour: event.flavour, isWPrime: false)
        return Point(hard: hard, freeQuark: qa, otherQuark: qb, jacobian: jacobian)
    }

    /// The lab variables v = (pT(l-), pT(l+), pT(a), eta(a), phi(a), eta(b)) of the type's documentation.
    public struct LabVariables: Equatable {
        public var leptonMinusPT: Double, leptonPlusPT: Double, freeQuarkPT: Double, freeQuarkEta: Double, freeQuarkPhi: Double, otherQuarkEta: Double
        public init(leptonMinusPT: Double, leptonPlusPT: Double, freeQuarkPT: Double, freeQuarkEta: Double, freeQuarkPhi: Double, otherQuarkEta: Double) {
            self.leptonMinusPT = leptonMinusPT; self.leptonPlusPT = leptonPlusPT; self.freeQuarkPT = freeQuarkPT
            self.freeQuarkEta = freeQuarkEta; self.freeQuarkPhi = freeQuarkPhi; self.otherQuarkEta = otherQuarkEta
        }
    }

    /// The lab point of v itself (Jacobian 1: for samplers that draw v, such as a flow); nil where
    /// a transverse momentum is not positive (outside the phase space).
    public func labPoint(_ v: LabVariables) -> Point? {
        guard v.leptonMinusPT > 0, v.leptonPlusPT > 0, v.freeQuarkPT > 0 else { return nil }
        let lMinus = FourMomentum(pT: v.leptonMinusPT, eta: event.leptonMinus.eta, phi: event.leptonMinus.phi)
        let lPlus = FourMomentum(pT: v.leptonPlusPT, eta: event.leptonPlus.eta, phi: event.leptonPlus.phi)
        let qa = FourMomentum(pT: v.freeQuarkPT, eta: v.freeQuarkEta, phi: v.freeQuarkPhi)
        let bx = -(lMinus.px + lPlus.px + qa.px), by = -(lMinus.py + lPlus.py + qa.py)
        let pTb = (bx * bx + by * by).squareRoot()
        guard pTb > 0 else { return nil }
        let qb = FourMomentum(pT: pTb, eta: v.otherQuarkEta, phi: atan2(by, bx))
        let hard = HardEvent(leptonMinus: lMinus, leptonPlus: lPlus, quark1: qa.pT >= pTb ? qa : qb, quark2: qa.pT >= pTb ? qb : qa,
                             flavour: event.flavour, isWPrime: false)
        return Point(hard: hard, freeQuark: qa, otherQuark: qb, jacobian: 1)
    }

    /// |d x_gen / d v| = 4 pT(l-) pT(l+) pT(free quark) / (p* m_Z m_W) at generator coordinates x.
    public static func labJacobian(_ x: ZWPartonCoordinates, leptonPTs: (Double, Double), freeQuarkPT: Double) -> Double {
        let m = x.mass, sum = x.zMass + x.wMass, difference = x.zMass - x.wMass
        let pStar = max(0, (m * m - sum * sum) * (m * m - difference * difference)).squareRoot() / (2 * m)
        return 4 * leptonPTs.0 * leptonPTs.1 * freeQuarkPT / (pStar * x.zMass * x.wMass)
    }

    /// log p_lab of a hard event (quarks pT ordered) in lab variables with `freeQuark` free.
    public func logLabDensity(_ hard: HardEvent, freeQuark: FourMomentum) -> Double {
        let x = ZWPartonCoordinates(hard)
        let logP = density.logDensity(x)
        guard logP > -.infinity else { return -.infinity }
        return logP + log(Self.labJacobian(x, leptonPTs: (hard.leptonMinus.pT, hard.leptonPlus.pT), freeQuarkPT: freeQuark.pT))
    }

    /// log of the single-assignment transfer L(l-) L(l+) J(j1 | a) J(j2 | b) 1[selection].
    public func logTransfer(_ p: Point) -> Double {
        guard transfer.selects(event, given: p.hard) else { return -.infinity }
        return transfer.logLeptonDensity(event.leptonMinus, given: p.hard.leptonMinus, event.flavour)
            + transfer.logLeptonDensity(event.leptonPlus, given: p.hard.leptonPlus, event.flavour)
            + transfer.logJetDensity(event.jets[0], given: p.freeQuark) + transfer.logJetDensity(event.jets[1], given: p.otherQuark)
    }

    /// `logTransfer` of many points: the learned transfer's batched networks when there is one.
    public func logTransfers(_ points: [Point]) -> [Double] {
        if let learnedTransfer { return learnedTransfer.logTransfers(event, points: points) }
        return points.map(logTransfer)
    }

    /// The integrand on the unit cube: p_lab W |dv/du|, summed over the eta_b branches of the
    /// `.wMass` map. Not masked: a non-finite value would make the VEGAS result non-finite.
    public func integrand(_ u: UnsafePointer<Double>) -> Double {
        var sum = 0.0
        for branch in stride(from: -1, through: 1, by: 2) {
            guard let p = point(u, branch: branch) else { continue }
            let logW = logTransfer(p)
            guard logW > -.infinity else { continue }
            let logP = logLabDensity(p.hard, freeQuark: p.freeQuark)
            guard logP > -.infinity else { continue }
            sum += exp(logP + logW) * p.jacobian
        }
        return sum
    }

    /// p(x_d | theta) by VEGAS with its error, chi^2/dof and the integrand evaluations spent.
    public func integrate(_ schedule: Vegas.Schedule = Vegas.Schedule(), _ rng: RNGStream) -> Vegas.Result {
        Vegas.integrate(dimension: Self.dimension, schedule: schedule, rng) { integrand($0) }
    }
}

/// x = centre + width tan(alpha + (beta - alpha) u), the Cauchy quantile truncated to [low, high]:
/// flat in u where a peak of that centre and width is, heavy tails elsewhere.
struct TruncatedCauchy {
    let centre: Double, width: Double, alpha: Double, beta: Double
    init(centre: Double, width: Double, low: Double, high: Double) {
        self.centre = centre; self.width = width
        alpha = atan((low - centre) / width); beta = atan((high - centre) / width)
    }
    /// x(u) and dx/du.
    @inline(__always) func map(_ u: Double) -> (Double, Double) {
        let t = tan(alpha + (beta - alpha) * u)
        return (centre + width * t, width * (beta - alpha) * (1 + t * t))
    }
}

/// A 2 x 2 matrix [[a, b], [c, d]].
struct Matrix2 {
    let a: Double, b: Double, c: Double, d: Double
    /// The covariance with standard deviations `along` the direction `angle` and `across` it.
    static func oriented(angle: Double, along: Double, across: Double) -> Matrix2 {
        let c = cos(angle), s = sin(angle), r = along * along, t = across * across
        return Matrix2(a: r * c * c + t * s * s, b: (r - t) * c * s, c: (r - t) * c * s, d: r * s * s + t * c * c)
    }
    var inverse: Matrix2 {
        let det = a * d - b * c
        return Matrix2(a: d / det, b: -b / det, c: -c / det, d: a / det)
    }
    static func + (x: Matrix2, y: Matrix2) -> Matrix2 { Matrix2(a: x.a + y.a, b: x.b + y.b, c: x.c + y.c, d: x.d + y.d) }
    static func * (x: Matrix2, y: Matrix2) -> Matrix2 {
        Matrix2(a: x.a * y.a + x.b * y.c, b: x.a * y.b + x.b * y.d, c: x.c * y.a + x.d * y.c, d: x.c * y.b + x.d * y.d)
    }
    func apply(_ v: (Double, Double)) -> (Double, Double) { (a * v.0 + b * v.1, c * v.0 + d * v.1) }
}
