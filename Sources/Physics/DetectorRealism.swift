import CGSL
import Foundation
import Tensor

// The fast detector's realism effects ([realism] item 1): photon final-state radiation off the
// leptons, gluon radiation off the W-decay quarks before clustering, and the parton-to-jet
// response (out-of-cone loss, hadronisation smearing with power-law tails). Every effect is off
// in the default card and then draws nothing, so default samples are bit-identical to a detector
// without them.

extension DetectorCard {
    /// Photon radiation off a lepton, first order in alpha: with probability density
    ///     dP/dz = (alpha / 2 pi) L (1 + (1 - z)^2) / z,   z in [zMin, 1],
    /// the lepton loses the energy fraction z to a collinear photon that the lepton measurement
    /// does not recover (direction kept). L is the effective collinear log: ln(Q^2 / m_l^2) - 1
    /// for a lepton measured without its photons (Q ~ m_Z: 23.2 for electrons, 12.5 for muons),
    /// less for a calorimeter that collects the photons inside its cluster. L = 0: off.
    public struct PhotonRadiation: Equatable {
        public var collinearLog: Double
        /// The smallest photon energy fraction generated (softer photons change nothing measurable).
        public var minimumFraction: Double
        public init(collinearLog: Double = 0, minimumFraction: Double = 0.01) {
            self.collinearLog = collinearLog; self.minimumFraction = minimumFraction
        }
        public var isOn: Bool { collinearLog > 0 }

        /// alpha_QED at low scale (photon emission is collinear).
        public static let alpha = 1 / 137.036

        /// The integral of (1 + (1 - z)^2) / z over [zMin, 1].
        public var splittingIntegral: Double {
            let z0 = minimumFraction
            return -2 * log(z0) - 2 * (1 - z0) + 0.5 * (1 - z0 * z0)
        }
        /// The probability of one photon above zMin: (alpha / 2 pi) L times the splitting integral.
        public var emissionProbability: Double { PhotonRadiation.alpha / (2 * .pi) * collinearLog * splittingIntegral }
        /// The mean photon energy fraction per lepton (0 when nothing is emitted):
        /// (alpha / 2 pi) L times the integral of 1 + (1 - z)^2 over [zMin, 1].
        public var meanFraction: Double {
            let u = 1 - minimumFraction
            return PhotonRadiation.alpha / (2 * .pi) * collinearLog * (u + u * u * u / 3)
        }
    }

    /// Gluon radiation off each W-decay quark before clustering, in the W rest frame where the
    /// quark has energy E: emissions ordered in kT with the double-log Sudakov factor
    ///     Delta(Q, kT) = exp(-A ln^2(Q / kT)),   Q = E / 2,   A = alpha_s C_F / pi,
    /// down to minimumKT, at most maximumEmissions per quark. At fixed kT the gluon's energy
    /// fraction z of the current quark is log-uniform on [kT / E_q, 1 - kT / E_q] (the soft-collinear
    /// density dkT^2/kT^2 dz/z); gluon z p + kT n_perp and quark (1 - z) p - kT n_perp at a flat
    /// azimuth (3-momentum conserved); an emission with kT >= E_q / 2 is vetoed. Finally all
    /// momenta are made massless and scaled by one factor in the W frame so that they sum to the W
    /// four-momentum exactly. A = 0: off.
    public struct QuarkRadiation: Equatable {
        public var sudakovCoefficient: Double
        public var minimumKT: Double
        public var maximumEmissions: Int
        public init(sudakovCoefficient: Double = 0, minimumKT: Double = 2, maximumEmissions: Int = 8) {
            self.sudakovCoefficient = sudakovCoefficient; self.minimumKT = minimumKT; self.maximumEmissions = maximumEmissions
        }
        public var isOn: Bool { sudakovCoefficient > 0 }
        /// The probability that a quark of W-frame energy E emits nothing above minimumKT.
        public func noEmissionProbability(quarkEnergy e: Double) -> Double {
            let q = e / 2
            guard q > minimumKT else { return 1 }
            let l = log(q / minimumKT)
            return exp(-sudakovCoefficient * l * l)
        }
    }

    /// The parton-to-jet response applied to each cluster before the calorimeter:
    /// the four-momentum is scaled by (1 - f)(1 + sigma_h t), with the out-of-cone loss
    /// f ~ Exponential(mean fraction + offset / pT) (capped below 1; hadrons and soft radiation
    /// leaving the cone, a one-sided low tail) and t ~ Student-t with nu degrees of freedom
    /// (hadronisation fluctuations with power-law tails; variance nu / (nu - 2)). A non-positive
    /// factor drops the jet. Both zero: off.
    public struct JetResponse: Equatable {
        public var outOfConeFraction: Double
        /// GeV: the pT-independent part of the mean loss (hadronisation, about 1/R).
        public var outOfConeOffset: Double
        public var hadronisationSigma: Double
        public var hadronisationTailDOF: Double
        public init(outOfConeFraction: Double = 0, outOfConeOffset: Double = 0, hadronisationSigma: Double = 0,
                    hadronisationTailDOF: Double = 4) {
            self.outOfConeFraction = outOfConeFraction; self.outOfConeOffset = outOfConeOffset
            self.hadronisationSigma = hadronisationSigma; self.hadronisationTailDOF = hadronisationTailDOF
        }
        public var outOfConeIsOn: Bool { outOfConeFraction > 0 || outOfConeOffset > 0 }
        public var isOn: Bool { outOfConeIsOn || hadronisationSigma > 0 }
        /// The mean out-of-cone loss fraction at parton pT (before the cap at 0.95).
        public func meanLoss(pT: Double) -> Double { outOfConeFraction + outOfConeOffset / max(pT, 1e-9) }
    }

    /// Whether every realism effect is off (the card then draws exactly what the plain detector draws).
    public var realismIsOff: Bool {
        !electron.photonRadiation.isOn && !muon.photonRadiation.isOn && !quarkRadiation.isOn && !jetResponse.isOn
    }

    func validateRealism() throws {
        for (name, l) in [("electron", electron), ("muon", muon)] {
            let r = l.photonRadiation
            guard r.collinearLog >= 0, r.minimumFraction > 0, r.minimumFraction < 1 else {
                throw RefoldError.value("\(name).photon_log, \(name).photon_minimum_fraction", expected: ">= 0 and in (0, 1)",
                                        actual: (r.collinearLog, r.minimumFraction))
            }
            guard r.emissionProbability <= 1 else {
                throw RefoldError.value("\(name).photon_log", expected: "an emission probability <= 1", actual: r.emissionProbability)
            }
        }
        let q = quarkRadiation
        guard q.sudakovCoefficient >= 0, q.minimumKT > 0, q.maximumEmissions >= 0 else {
            throw RefoldError.value("quark_radiation.sudakov_coefficient, minimum_kT, maximum_emissions", expected: ">= 0, > 0, >= 0",
                                    actual: (q.sudakovCoefficient, q.minimumKT, q.maximumEmissions))
        }
        let r = jetResponse
        guard r.outOfConeFraction >= 0, r.outOfConeFraction < 1, r.outOfConeOffset >= 0, r.hadronisationSigma >= 0,
              r.hadronisationTailDOF > 2 else {
            throw RefoldError.value("jet.out_of_cone_fraction, out_of_cone_offset, hadronisation_sigma, hadronisation_tail_dof",
                                    expected: "in [0, 1), >= 0, >= 0, > 2",
                                    actual: (r.outOfConeFraction, r.outOfConeOffset, r.hadronisationSigma, r.hadronisationTailDOF))
        }
    }

    /// The realism numbers for meta.json, only those of effects that are on (so default samples
    /// keep their meta.json).
    var realismRecord: [String: Double] {
        var r: [String: Double] = [:]
        for (name, l) in [("electron", electron), ("muon", muon)] where l.photonRadiation.isOn {
            r["\(name)_photon_log"] = l.photonRadiation.collinearLog
            r["\(name)_photon_minimum_fraction"] = l.photonRadiation.minimumFraction
        }
        if quarkRadiation.isOn {
            r["quark_radiation_sudakov_A"] = quarkRadiation.sudakovCoefficient
            r["quark_radiation_minimum_kT"] = quarkRadiation.minimumKT
            r["quark_radiation_maximum_emissions"] = Double(quarkRadiation.maximumEmissions)
        }
        if jetResponse.isOn {
            r["jet_out_of_cone_fraction"] = jetResponse.outOfConeFraction
            r["jet_out_of_cone_offset"] = jetResponse.outOfConeOffset
            r["jet_hadronisation_sigma"] = jetResponse.hadronisationSigma
            r["jet_hadronisation_tail_dof"] = jetResponse.hadronisationTailDOF
        }
        return r
    }
}

extension FastDetector {
    /// The photon energy fraction z taken from one lepton (0: no photon above zMin); draws only
    /// if the radiation is on. z ~ (1 + (1 - z)^2) / z by 1/z proposals and rejection.
    public static func photonFraction(_ r: DetectorCard.PhotonRadiation, _ rng: RNGStream) -> Double {
        guard r.isOn, rng.uniform() < r.emissionProbability else { return 0 }
        let logMin = log(r.minimumFraction)
        while true {
            let z = exp(logMin * rng.uniform())
            if 2 * rng.uniform() < 1 + (1 - z) * (1 - z) { return z }
        }
    }

    /// The response factor (1 - f)(1 + sigma_h t) of a cluster of transverse momentum pT; 1 without
    /// drawing if the response is off.
    public static func jetResponseFactor(_ r: DetectorCard.JetResponse, pT: Double, _ rng: RNGStream) -> Double {
        var k = 1.0
        if r.outOfConeIsOn { k *= 1 - min(rng.exponential(mean: r.meanLoss(pT: pT)), 0.95) }
        if r.hadronisationSigma > 0 { k *= 1 + r.hadronisationSigma * gsl_ran_tdist(rng.gsl, r.hadronisationTailDOF) }
        return k
    }

    /// The W-decay quarks after gluon radiation (see `DetectorCard.QuarkRadiation`): quarks and
    /// gluons, massless, summing exactly to q1 + q2. Returns [q1, q2] without drawing if off.
    public static func radiateQuarks(_ q1: FourMomentum, _ q2: FourMomentum, _ r: DetectorCard.QuarkRadiation,
                                     _ rng: RNGStream) -> [FourMomentum] {
        guard r.isOn else { return [q1, q2] }
        let w = q1 + q2
        var partons: [(Double, Double, Double)] = []
        for q in [q1, q2] {
            let rest = q.inRestFrame(of: w)
            let e = (rest.px * rest.px + rest.py * rest.py + rest.pz * rest.pz).squareRoot()
            var p = (rest.px, rest.py, rest.pz)
            let showerScale = 0.5 * e
            var l2 = 0.0, emitted = 0
            while emitted < r.maximumEmissions, showerScale > r.minimumKT {
                l2 -= log(rng.uniformPositive()) / r.sudakovCoefficient
                let kT = showerScale * exp(-l2.squareRoot())
                if kT < r.minimumKT { break }
                let eq = (p.0 * p.0 + p.1 * p.1 + p.2 * p.2).squareRoot()
                let zLow = kT / eq
                let u = rng.uniform(), azimuth = rng.uniform(0, 2 * .pi)
                guard zLow < 0.5 else { continue }
                let z = zLow * pow((1 - zLow) / zLow, u)
                let n = perpendicular(to: p, azimuth: azimuth)
                partons.append((z * p.0 + kT * n.0, z * p.1 + kT * n.1, z * p.2 + kT * n.2))
                p = ((1 - z) * p.0 - kT * n.0, (1 - z) * p.1 - kT * n.1, (1 - z) * p.2 - kT * n.2)
                emitted += 1
            }
            partons.append(p)
        }
        let norms = partons.map { ($0.0 * $0.0 + $0.1 * $0.1 + $0.2 * $0.2).squareRoot() }
        let scale = w.mass / norms.reduce(0, +)
        return zip(partons, norms).map { p, n in
            FourMomentum(e: scale * n, px: scale * p.0, py: scale * p.1, pz: scale * p.2).fromRestFrame(of: w)
        }
    }

    /// A unit vector perpendicular to p at the given azimuth around it.
    static func perpendicular(to p: (Double, Double, Double), azimuth: Double) -> (Double, Double, Double) {
        let norm = (p.0 * p.0 + p.1 * p.1 + p.2 * p.2).squareRoot()
        let n = (p.0 / norm, p.1 / norm, p.2 / norm)
        // a: the axis least aligned with n, made orthogonal; b = n x a.
        var a: (Double, Double, Double) = abs(n.0) < 0.6 ? (1, 0, 0) : (0, 1, 0)
        let d = a.0 * n.0 + a.1 * n.1 + a.2 * n.2
        a = (a.0 - d * n.0, a.1 - d * n.1, a.2 - d * n.2)
        let an = (a.0 * a.0 + a.1 * a.1 + a.2 * a.2).squareRoot()
        a = (a.0 / an, a.1 / an, a.2 / an)
        let b = (n.1 * a.2 - n.2 * a.1, n.2 * a.0 - n.0 * a.2, n.0 * a.1 - n.1 * a.0)
        let c = cos(azimuth), s = sin(azimuth)
        return (c * a.0 + s * b.0, c * a.1 + s * b.1, c * a.2 + s * b.2)
    }
}
