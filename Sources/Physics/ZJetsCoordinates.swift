import Foundation
import Tensor

/// The invertible map between a Z + n jets event and the 5 + 3n unbounded coordinates a generator
/// flow learns (before standardisation):
///
///     log pT_mu-, eta_mu-, eta_mu+, atanh(wrap(phi_mu+ - phi_mu- - pi) / pi), atanh(2 (theta - c) / (b - a)),
///     leading jet: log(pT_j1 - pT_min), eta_j1, atanh(wrap(phi_j1 - phi_mu-) / pi),
///     jet k >= 2: log(pT_jk - pT_min), log Delta R_k1, atanh(alpha_k1 / pi)
///
/// with theta = atan((m_mumu^2 - M^2) / (M Gamma)) the Breit-Wigner angle of the pair mass, a and b
/// its values at the ends of the sample's mass window, c = (a + b) / 2: the Z peak, 2.5 GeV wide
/// in a spectrum of muons of 45 GeV, becomes a near-flat coordinate (a Breit-Wigner is uniform in
/// theta), and rebuilt masses stay inside the window. pT_mu+ follows from the mass of the massless
/// pair, m^2 = 2 pT_mu- pT_mu+ (cosh Delta eta - cos Delta phi). The global azimuth phi_mu- is
/// dropped (the physics is symmetric under rotations about the beam) and drawn flat when an event is
/// rebuilt; azimuths are taken relative to it, the muons' difference about its back-to-back value
/// pi, and the bounded intervals are opened to R by atanh. log(pT - pT_min) keeps generated jets at
/// or above the threshold. Every further jet sits in polar coordinates about the leading one,
/// (Delta eta, Delta phi) = Delta R (cos alpha, sin alpha): the jet-separation edge at Delta R = R_min,
/// a hole in the (eta, phi) plane, becomes an edge of one coordinate. Rebuilt jets are sorted by descending pT (the flow does not know the
/// ordering).
public struct ZJetsCoordinates: Codable, Equatable, Sendable {
    public var jets: Int
    public var jetMinimumPT: Double
    /// M, Gamma of the mass map and the window [low, high] of m_mumu.
    public var zMass: Double, zWidth: Double
    public var minimumMass: Double, maximumMass: Double

    public init(jets: Int, jetMinimumPT: Double, drellYan: DrellYanParameters = DrellYanParameters()) throws {
        guard jets >= 1, jetMinimumPT >= 0, drellYan.zMass > 0, drellYan.zWidth > 0, drellYan.minimumMass > 0,
              drellYan.maximumMass > drellYan.minimumMass else {
            throw RefoldError.value("ZJetsCoordinates", expected: "jets >= 1, jet threshold >= 0, positive M, Gamma, 0 < low < high",
                                    actual: "\(jets), \(jetMinimumPT), \(drellYan.zMass), \(drellYan.zWidth), [\(drellYan.minimumMass), \(drellYan.maximumMass)]")
        }
        self.jets = jets; self.jetMinimumPT = jetMinimumPT
        zMass = drellYan.zMass; zWidth = drellYan.zWidth; minimumMass = drellYan.minimumMass; maximumMass = drellYan.maximumMass
    }

    func angle(_ m: Double) -> Double { atan((m * m - zMass * zMass) / (zMass * zWidth)) }

    /// The mass coordinate atanh(2 (theta - c) / (b - a)) and back.
    func massCoordinate(_ m: Double) -> Double {
        let a = angle(minimumMass), b = angle(maximumMass)
        return atanh(max(-1 + 1e-7, min(1 - 1e-7, (2 * angle(m) - a - b) / (b - a))))
    }
    func mass(_ u: Double) -> Double {
        let a = angle(minimumMass), b = angle(maximumMass)
        let theta = 0.5 * (a + b) + 0.5 * (b - a) * tanh(u)
        return (zMass * zMass + zMass * zWidth * tan(theta)).squareRoot()
    }

    public var dimension: Int { 5 + 3 * jets }

    /// pT - pT_min is floored here (GeV) before the log: a generated jet can round to the threshold.
    public static let smallestExcess = 1e-9
    /// log(8000 GeV).
    static let largestLogPT = 9.0

    /// atanh(x / pi) for x in (-pi, pi], clamped 1e-7 inside the end points.
    static func open(_ phi: Double) -> Double { atanh(max(-1 + 1e-7, min(1 - 1e-7, phi / .pi))) }
    static func close(_ u: Double) -> Double { .pi * tanh(u) }

    /// The coordinates of an event with exactly `jets` jets (each above the threshold).
    public func coordinates(_ e: ZJetsEvent) throws -> [Double] {
        guard e.jets.count == jets else { throw RefoldError.value("jets in the event", expected: "\(jets)", actual: e.jets.count) }
        let phi0 = e.muMinus.phi
        var x = [log(e.muMinus.pT), e.muMinus.eta, e.muPlus.eta, Self.open(FourMomentum.wrapPhi(e.muPlus.phi - phi0 - .pi)),
                 massCoordinate(e.mMuMu)]
        let lead = e.jets[0]
        for (k, j) in e.jets.enumerated() {
            guard j.pT >= jetMinimumPT else { throw RefoldError.value("jet pT", expected: "at least the threshold \(jetMinimumPT)", actual: j.pT) }
            x.append(log(max(j.pT - jetMinimumPT, Self.smallestExcess)))
            if k == 0 {
                x += [j.eta, Self.open(FourMomentum.wrapPhi(j.phi - phi0))]
            } else {
                let dEta = j.eta - lead.eta, dPhi = FourMomentum.wrapPhi(j.phi - lead.phi)
                x += [log(max((dEta * dEta + dPhi * dPhi).squareRoot(), 1e-12)), Self.open(atan2(dPhi, dEta))]
            }
        }
        return x
    }

    /// The event of coordinates `x` with mu- at azimuth `phi0`, jets sorted by descending pT.
    public func event(_ x: ArraySlice<Double>, phi0: Double) -> ZJetsEvent {
        let x = Array(x)
        precondition(x.count == dimension, "ZJetsCoordinates.event: expected \(dimension) coordinates, got \(x.count)")
        // Exponents capped so that a flow's far outlier stays a finite event (pT below 8 TeV, Delta R below 20).
        let pT1 = exp(min(x[0], Self.largestLogPT)), deltaPhi = .pi + Self.close(x[3]), m = mass(x[4])
        let pT2 = m * m / (2 * pT1 * max(cosh(min(abs(x[1] - x[2]), 20)) - cos(deltaPhi), 1e-12))
        let muMinus = FourMomentum(pT: pT1, eta: x[1], phi: phi0)
        let muPlus = FourMomentum(pT: pT2, eta: x[2], phi: FourMomentum.wrapPhi(phi0 + deltaPhi))
        let etaLead = x[6], phiLead = FourMomentum.wrapPhi(phi0 + Self.close(x[7]))
        let jetList = (0..<jets).map { k -> FourMomentum in
            let pT = jetMinimumPT + exp(min(x[5 + 3 * k], Self.largestLogPT))
            guard k > 0 else { return FourMomentum(pT: pT, eta: etaLead, phi: phiLead) }
            let r = exp(min(x[6 + 3 * k], 3)), alpha = Self.close(x[7 + 3 * k])
            return FourMomentum(pT: pT, eta: etaLead + r * cos(alpha), phi: FourMomentum.wrapPhi(phiLead + r * sin(alpha)))
        }
        return ZJetsEvent(muMinus: muMinus, muPlus: muPlus, jets: jetList.sorted { $0.pT > $1.pT })
    }
}
