import Foundation
import Tensor

/// pp -> e+ e- through photon and Z with their interference, the samples of GAN event subtraction
/// (arXiv:1912.08824, sec. 4): B = gamma + Z + interference, S = gamma alone, B - S = Z + interference.
///
/// The partonic cross section of q qbar -> e- e+ (the crossing of e+ e- -> f fbar, PDG "Cross-section
/// formulae", with theta the angle between the incoming quark and the electron):
///
///     d sigma / d cos = pi alpha^2 / (2 s) * [ A_q(s) (1 + c^2) + B_q(s) c ] / N_c
///     A_q = Q_q^2 - 2 Q_q v_e v_q Re chi + (v_e^2 + a_e^2)(v_q^2 + a_q^2) |chi|^2
///     B_q = -4 Q_q a_e a_q Re chi + 8 v_e a_e v_q a_q |chi|^2
///     chi(s) = kappa s / (s - M_Z^2 + i M_Z Gamma_Z),  kappa = 1 / (4 sin^2 theta_W cos^2 theta_W)
///
/// with v_f = T3_f - 2 Q_f sin^2 theta_W and a_f = T3_f. The photon term is Q_q^2 (1 + c^2); the
/// interference is linear in Re chi, so it changes sign at the pole. The hadronic model keeps the
/// toy of `DrellYanProduction`: a parton luminosity flat in s over the mass window, u and d quarks
/// in the ratio `upFraction` : 1 - `upFraction`, and the rapidity weight [(1 - x1)(1 - x2)]^c with
/// the quark taken from the proton of larger x (so c is measured along the boost of the pair).
/// Columns: m_ee, y_ee and cos theta of the electron against the quark direction.
public struct ElectroweakDrellYan: Sendable {
    /// The three samples of the subtraction: B, S and the exact difference B - S.
    public enum Component: String, CaseIterable, Sendable {
        case background = "b", subtract = "s", difference = "b-s"
    }

    public struct Parameters: Equatable, Sendable {
        public var sqrtS = 13_000.0
        public var zMass = 91.1876, zWidth = 2.4952
        /// sin^2 theta_W (effective leptonic value).
        public var sin2ThetaW = 0.23153
        /// Mass window of the sample (GeV); B - S must be positive everywhere in it (`positiveWindow`).
        public var minimumMass = 81.0, maximumMass = 101.0
        public var pdfPower = 4.0
        /// Share of u ubar among the annihilating pairs (the rest d dbar).
        public var upFraction = 2.0 / 3.0
        public init() {}

        public var record: [String: Double] {
            ["sqrt_s": sqrtS, "m_Z": zMass, "Gamma_Z": zWidth, "sin2_theta_W": sin2ThetaW, "minimum_mass": minimumMass,
             "maximum_mass": maximumMass, "pdf_power": pdfPower, "up_fraction": upFraction]
        }
    }

    public static let columns = ["m_ee", "y_ee", "cos_theta"]
    public let parameters: Parameters
    public let component: Component
    /// sigma of the component over the window, in units of pi alpha^2 / (2 N_c) times the (flat)
    /// parton luminosity per unit s: common to B, S and B - S of one parameter set, so their
    /// ratios are physical.
    public let crossSection: Double
    /// Rejection envelope of the mass marginal against the proposal (see `generate`).
    private let envelope: Double
    private let couplings: Couplings, proposal: Proposal

    /// Throws if the component's density is negative somewhere in the window (B - S outside
    /// `positiveWindow`) or the window is empty.
    public init(parameters: Parameters = Parameters(), component: Component) throws {
        guard parameters.minimumMass > 0, parameters.maximumMass > parameters.minimumMass,
              parameters.maximumMass < parameters.sqrtS, (0...1).contains(parameters.upFraction) else {
            throw RefoldError.value("electroweak Drell-Yan window and up fraction",
                                    expected: "0 < minimum_mass < maximum_mass < sqrt_s, up_fraction in [0, 1]",
                                    actual: "\(parameters.minimumMass), \(parameters.maximumMass), \(parameters.upFraction)")
        }
        self.parameters = parameters
        self.component = component
        let couplings = Couplings(parameters)
        self.couplings = couplings
        let lowS = parameters.minimumMass * parameters.minimumMass, highS = parameters.maximumMass * parameters.maximumMass
        // Positivity on a fine grid in s, at the worst angle.
        let grid = (0...4_000).map { lowS + (highS - lowS) * Double($0) / 4_000 }
        if let bad = grid.first(where: { couplings.minimumOverAngle(component, s: $0) < 0 }) {
            let window = ElectroweakDrellYan.positiveWindow(parameters)
            throw RefoldError.value("electroweak Drell-Yan \(component.rawValue) density", expected: "non-negative in the mass window; B - S is positive for m in [\(format(window.lowerBound)), \(format(window.upperBound))] GeV",
                                    actual: "negative at m = \(format(bad.squareRoot())) GeV")
        }
        crossSection = Quadrature.integrate(lowS, highS, relative: 1e-10) { couplings.massMarginal(component, s: $0) }
        let proposal = Proposal(parameters)
        self.proposal = proposal
        envelope = 1.01 * grid.map { couplings.massMarginal(component, s: $0) / proposal.density($0) }.max()!
    }

    /// The largest mass window around M_Z in which B - S >= 0 at every angle (scanned in 0.05 GeV).
    public static func positiveWindow(_ parameters: Parameters = Parameters()) -> ClosedRange<Double> {
        let c = Couplings(parameters)
        func positive(_ m: Double) -> Bool { c.minimumOverAngle(.difference, s: m * m) >= 0 }
        var low = parameters.zMass, high = parameters.zMass
        while low > 1, positive(low - 0.05) { low -= 0.05 }
        while high < parameters.sqrtS, positive(high + 0.05) { high += 0.05 }
        return low...high
    }

    /// The normalised density of (m, cos theta) in the window (y integrated out).
    public func density(mass m: Double, cosTheta c: Double) -> Double {
        let p = parameters
        guard m >= p.minimumMass, m <= p.maximumMass, abs(c) <= 1 else { return 0 }
        let s = m * m
        let (a, b) = couplings.coefficients(component, s: s)
        return 2 * m / s * (a * (1 + c * c) + b * c) / crossSection
    }

    /// The normalised density of m alone.
    public func massDensity(_ m: Double) -> Double {
        guard m >= parameters.minimumMass, m <= parameters.maximumMass else { return 0 }
        return 2 * m * couplings.massMarginal(component, s: m * m) / crossSection
    }

    /// The forward-backward asymmetry at mass m: (sigma(c > 0) - sigma(c < 0)) / sigma = 3 B / (8 A).
    public static func forwardBackwardAsymmetry(_ component: Component, mass m: Double, parameters: Parameters = Parameters()) -> Double {
        let (a, b) = Couplings(parameters).coefficients(component, s: m * m)
        return 3 * b / (8 * a)
    }

    /// One event: (m_ee, y_ee, cos theta).
    public func generate(_ rng: RNGStream) -> (mass: Double, rapidity: Double, cosTheta: Double) {
        let p = parameters
        var s = 0.0
        while true {
            s = proposal.draw(rng)
            let ratio = couplings.massMarginal(component, s: s) / (envelope * proposal.density(s))
            precondition(ratio <= 1, "ElectroweakDrellYan: rejection envelope exceeded at s = \(s) (ratio \(ratio))")
            if rng.uniform() < ratio { break }
        }
        let (a, b) = couplings.coefficients(component, s: s)
        var c = 0.0
        repeat { c = rng.uniform(-1, 1) } while rng.uniform() * (2 * a + abs(b)) >= a * (1 + c * c) + b * c
        let m = s.squareRoot()
        let y = ZWProduction.rapidity(tau: s / (p.sqrtS * p.sqrtS), power: p.pdfPower, rng)
        return (m, y, c)
    }

    /// A single-level sample; `parameters` records the component's cross section.
    public func sample(events count: Int, rng: RNGStream) -> EventSample {
        var values: [Double] = []
        values.reserveCapacity(count * 3)
        for _ in 0..<count {
            let event = generate(rng)
            values.append(event.mass); values.append(event.rapidity); values.append(event.cosTheta)
        }
        var record = parameters.record
        record["cross_section"] = crossSection
        return EventSample(generator: "drell-yan-ew-\(component.rawValue)", seed: rng.seed,
                           events: .init(columns: Self.columns, rows: count, values: values), parameters: record)
    }

    /// The partonic coefficients A(s), B(s), summed over u and d with their shares.
    struct Couplings {
        /// One quark flavour's share and its photon, interference and Z couplings to the electron.
        struct Flavour {
            let share: Double, photon: Double
            /// Coefficients of Re chi and |chi|^2 in A, and of Re chi and |chi|^2 in B.
            let interferenceA: Double, zA: Double, interferenceB: Double, zB: Double
        }
        let kappa: Double, mZ2: Double, mGamma: Double
        let up: Flavour, down: Flavour

        init(_ p: Parameters) {
            kappa = 1 / (4 * p.sin2ThetaW * (1 - p.sin2ThetaW))
            mZ2 = p.zMass * p.zMass; mGamma = p.zMass * p.zWidth
            let ve = -0.5 + 2 * p.sin2ThetaW, ae = -0.5
            func flavour(charge q: Double, isospin t3: Double, share: Double) -> Flavour {
                let vq = t3 - 2 * q * p.sin2ThetaW, aq = t3
                return Flavour(share: share, photon: q * q, interferenceA: -2 * q * ve * vq, zA: (ve * ve + ae * ae) * (vq * vq + aq * aq),
                               interferenceB: -4 * q * ae * aq, zB: 8 * ve * ae * vq * aq)
            }
            up = flavour(charge: 2.0 / 3, isospin: 0.5, share: p.upFraction)
            down = flavour(charge: -1.0 / 3, isospin: -0.5, share: 1 - p.upFraction)
        }

        func coefficients(_ component: Component, s: Double) -> (a: Double, b: Double) {
            let denominator = (s - mZ2) * (s - mZ2) + mGamma * mGamma
            let reChi = kappa * s * (s - mZ2) / denominator, chi2 = kappa * kappa * s * s / denominator
            // Two flavours, unrolled: this runs per rejection trial.
            @inline(__always) func terms(_ f: Flavour) -> (a: Double, b: Double) {
                let rest = f.interferenceA * reChi + f.zA * chi2, odd = f.interferenceB * reChi + f.zB * chi2
                switch component {
                case .background: return (f.share * (f.photon + rest), f.share * odd)
                case .subtract: return (f.share * f.photon, 0)
                case .difference: return (f.share * rest, f.share * odd)
                }
            }
            let u = terms(up), d = terms(down)
            return (u.a + d.a, u.b + d.b)
        }

        /// (1/s) * integral over c of [A (1 + c^2) + B c] = 8 A / (3 s): the density in s.
        func massMarginal(_ component: Component, s: Double) -> Double { 8 * coefficients(component, s: s).a / (3 * s) }

        /// min over c in [-1, 1] of A (1 + c^2) + B c.
        func minimumOverAngle(_ component: Component, s: Double) -> Double {
            let (a, b) = coefficients(component, s: s)
            var candidates = [2 * a - b, 2 * a + b]
            if a > 0, abs(b / (2 * a)) < 1 { candidates.append(a * (1 + b * b / (4 * a * a)) - b * b / (2 * a)) }
            return candidates.min()!
        }
    }

    /// Proposal in s: half a Breit-Wigner truncated to the window, half log-uniform (1/s).
    struct Proposal {
        let lowS: Double, highS: Double, mZ2: Double, mGamma: Double, atanLow: Double, atanHigh: Double
        init(_ p: Parameters) {
            lowS = p.minimumMass * p.minimumMass; highS = p.maximumMass * p.maximumMass
            mZ2 = p.zMass * p.zMass; mGamma = p.zMass * p.zWidth
            atanLow = atan((lowS - mZ2) / mGamma); atanHigh = atan((highS - mZ2) / mGamma)
        }
        func density(_ s: Double) -> Double {
            let bw = mGamma / ((s - mZ2) * (s - mZ2) + mGamma * mGamma) / (atanHigh - atanLow)
            return 0.5 * bw + 0.5 / (s * log(highS / lowS))
        }
        func draw(_ rng: RNGStream) -> Double {
            if rng.uniform() < 0.5 { return mZ2 + mGamma * tan(atanLow + (atanHigh - atanLow) * rng.uniform()) }
            return lowS * exp(log(highS / lowS) * rng.uniform())
        }
    }
}

private func format(_ x: Double) -> String { String(format: "%.2f", x) }
