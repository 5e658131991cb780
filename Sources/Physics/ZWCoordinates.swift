import Foundation

/// The ten numbers from which `ZWProduction` builds a hard event: the generator's own variables,
/// and the coordinates in which `ZWDensity` states p(x | theta).
///
/// Four massless partons have 12 degrees of freedom; the vanishing total pT removes two.
/// - `zMass`, `wMass`: the Breit-Wigner boson masses; `mass`: the partonic mass m_ZW;
/// - `rapidity`: the ZW system rapidity y (the boost from the ZW frame to the lab is along z);
/// - `cosTheta`: the Z direction in the ZW frame, quark side: cos of the angle between the Z and
///   the incoming quark, which comes from the proton with the larger x (+z for y >= 0, -z
///   otherwise); `phi`: the Z azimuth;
/// - `zDecayCos`, `zDecayPhi`: the l- direction in the Z rest frame reached by a pure boost from
///   the ZW frame (axes of the lab);
/// - `wDecayCos`, `wDecayPhi`: the same for a quark of the W decay. The generator draws it for
///   one quark of the pair; a `HardEvent` stores its quarks ordered by pT, so coordinates read off
///   an event are those of `quark1`, and the generator's draw maps to them through `pTOrdered`.
public struct ZWPartonCoordinates: Equatable {
    public var zMass: Double, wMass: Double, mass: Double, rapidity: Double
    public var cosTheta: Double, phi: Double
    public var zDecayCos: Double, zDecayPhi: Double, wDecayCos: Double, wDecayPhi: Double

    public init(zMass: Double, wMass: Double, mass: Double, rapidity: Double, cosTheta: Double, phi: Double,
                zDecayCos: Double, zDecayPhi: Double, wDecayCos: Double, wDecayPhi: Double) {
        self.zMass = zMass; self.wMass = wMass; self.mass = mass; self.rapidity = rapidity
        self.cosTheta = cosTheta; self.phi = phi
        self.zDecayCos = zDecayCos; self.zDecayPhi = zDecayPhi; self.wDecayCos = wDecayCos; self.wDecayPhi = wDecayPhi
    }

    /// The coordinates of a hard event: the inverse of `HardEvent(_:flavour:isWPrime:)` up to the
    /// quark order (boost back along z by the system rapidity, then into the boson rest frames).
    public init(_ event: HardEvent) {
        let total = event.total
        let y = total.rapidity, back = (0.0, 0.0, -tanh(y))
        let lMinus = event.leptonMinus.boosted(by: back), lPlus = event.leptonPlus.boosted(by: back)
        let q1 = event.quark1.boosted(by: back), q2 = event.quark2.boosted(by: back)
        let z = lMinus + lPlus, w = q1 + q2
        let quarkSide: Double = y >= 0 ? 1 : -1
        let lepton = lMinus.inRestFrame(of: z), quark = q1.inRestFrame(of: w)
        self.init(zMass: z.mass, wMass: w.mass, mass: z.e + w.e, rapidity: y,
                  cosTheta: quarkSide * z.pz / z.p, phi: z.phi,
                  zDecayCos: lepton.pz / lepton.p, zDecayPhi: lepton.phi,
                  wDecayCos: quark.pz / quark.p, wDecayPhi: quark.phi)
    }

    /// The lab momenta (l-, l+, q_a, q_b), q_a along the W decay direction (generator kinematics):
    /// two-body decay in the ZW frame, isotropic decays at rest boosted into it, then the boost
    /// along z by beta = tanh(y).
    func momenta() -> (lMinus: FourMomentum, lPlus: FourMomentum, qa: FourMomentum, qb: FourMomentum) {
        let m = mass, mZ = zMass, mW = wMass
        let quarkSide: Double = rapidity >= 0 ? 1 : -1
        let cosZ = quarkSide * cosTheta
        // |p*| = sqrt(lambda(m^2, mZ^2, mW^2)) / 2m.
        let lambda = (m * m - (mZ + mW) * (mZ + mW)) * (m * m - (mZ - mW) * (mZ - mW))
        let pStar = max(0, lambda).squareRoot() / (2 * m)
        let sinTheta = max(0, 1 - cosZ * cosZ).squareRoot()
        let dir = (sinTheta * cos(phi), sinTheta * sin(phi), cosZ)
        let z = FourMomentum(e: (mZ * mZ + pStar * pStar).squareRoot(), px: pStar * dir.0, py: pStar * dir.1, pz: pStar * dir.2)
        let w = FourMomentum(e: (mW * mW + pStar * pStar).squareRoot(), px: -pStar * dir.0, py: -pStar * dir.1, pz: -pStar * dir.2)
        let (lMinus, lPlus) = masslessDecayAtRest(mass: mZ, cosTheta: zDecayCos, phi: zDecayPhi)
        let (qa, qb) = masslessDecayAtRest(mass: mW, cosTheta: wDecayCos, phi: wDecayPhi)
        let beam = (0.0, 0.0, tanh(rapidity))
        let zBoost = z.boostVector, wBoost = w.boostVector
        return (lMinus.boosted(by: zBoost).boosted(by: beam), lPlus.boosted(by: zBoost).boosted(by: beam),
                qa.boosted(by: wBoost).boosted(by: beam), qb.boosted(by: wBoost).boosted(by: beam))
    }

    /// Whether the quark along the W decay direction has the larger lab pT (pT is unchanged by the
    /// beam boost, so the ZW frame decides).
    public var wDecayQuarkLeads: Bool {
        let (_, _, qa, qb) = momenta()
        return qa.pT >= qb.pT
    }

    /// The same event with the W decay direction of the leading quark: unchanged if
    /// `wDecayQuarkLeads`, else the antipode (cos -> -cos, phi -> phi + pi).
    public var pTOrdered: ZWPartonCoordinates {
        if wDecayQuarkLeads { return self }
        var x = self
        x.wDecayCos = -wDecayCos
        x.wDecayPhi = FourMomentum.wrapPhi(wDecayPhi + .pi)
        return x
    }
}

extension HardEvent {
    /// The hard event of the generator's coordinates, quarks ordered by pT.
    public init(_ x: ZWPartonCoordinates, flavour: LeptonFlavour, isWPrime: Bool) {
        let p = x.momenta()
        let aLeads = p.qa.pT >= p.qb.pT
        self.init(leptonMinus: p.lMinus, leptonPlus: p.lPlus, quark1: aLeads ? p.qa : p.qb, quark2: aLeads ? p.qb : p.qa,
                  flavour: flavour, isWPrime: isWPrime)
    }
}
