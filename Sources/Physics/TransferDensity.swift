import CGSL
import Foundation
import Tensor

/// The closed-form transfer density W(x_d | x_p) of `FastDetector` for zw events without ISR:
/// the density of the *selected* detector events (`FastDetector.selectTwoJetEvent`: both leptons
/// reconstructed, exactly two jets matched to the quarks) given one hard event, so that its
/// integral over detector space is the acceptance eps(x_p).
///
/// Coordinates of x_d (10 continuous ones): the lepton pTs, and per jet the recorded
/// (pT, eta, phi, m), jets pT ordered. The lepton directions are measured exactly (the detector
/// keeps them): W carries the delta function as "lepton angles of x_d = those of x_p" and is
/// -infinity if they differ by more than 1e-7; the recorded lepton masses are the card's.
///
///     W = 1[selection] L(l-) L(l+) [J_1(j1) J_2(j2) + J_1(j2) J_2(j1)]
///
/// **Selection** (exact indicators): the quarks are not merged by anti-kT (Delta R(q1, q2) >= R;
/// with two partons anti-kT merges exactly when Delta R < R, and then there is one jet and W = 0
/// everywhere); both jets pass pT > pT_min, |eta| < eta_max; pT(j1) >= pT(j2); `match` accepts
/// the two jets (within matchRadius of the quarks; the axis smearing of 0.03 makes a miss an
/// e^-89 event, but the indicator is applied as written). Lepton flavour of x_d = that of x_p.
///
/// **Assignment sum**: the jets of q1 and q2 are independent, J_q the density of the jet of quark q.
/// The detector orders them by pT, so the ordered pair has the density of both assignments on
/// pT(j1) >= pT(j2); the jet of q1 is the subleading one in the second term.
///
/// **Lepton** (true pT, |eta| region i, efficiency e_i, sigma = `relativeResolution`):
/// pT' = k pT with k = 1 + sigma N(0, 1), so L(pT') = e_i N(pT'/pT - 1; 0, sigma) / pT
/// (dk/dpT' = 1/pT). k <= 0 (lepton lost) only removes probability from pT' <= 0: no density
/// there, no renormalisation. L = 0 if the true pT <= minimumPT or |eta| is beyond the regions.
///
/// **Jet** of a parton (E_0, eta_0, phi_0, m_c^2 = max(0, m^2), massless quarks give m_c^2 ~ 0).
/// Drawn: eta = eta_0 + N(0, s_eta), phi = wrap(phi_0 + N(0, s_phi)), E = E_0 + sigma_E(E_0,
/// |eta_0|) N(0, 1), x ~ Gamma(k, mean/k). Then, with c = cosh(eta):
/// m = min(sqrt(m_c^2 + x^2 E^2/c^2), E/2), p_T = sqrt(E^2 - m^2)/c, and the energy scale
/// s = sqrt(a^2/p_T + 1), a = offset - slope |eta|, multiplies the four-vector:
/// recorded pT' = s p_T = sqrt(a^2 p_T + p_T^2), m' = s m, eta and phi unchanged.
/// - eta, phi enter only through their Gaussians (Jacobian 1). phi: the density of the wrapped
///   angle is the sum over images 2 pi k; with the difference wrapped into (-pi, pi] every
///   omitted image is at least pi away, so together they add at most about
///   2 exp(-pi^2 / (2 s_phi^2)) / (sqrt(2 pi) s_phi) to the density (absolute; e^-5480 for
///   s_phi = 0.03). Only the nearest image is kept for s_phi < 0.3 (omitted < e^-50), the
///   images k = -3...3 otherwise.
/// - (pT', m') <- (p_T, m) at fixed eta: pT' = g(p_T), m' = m g(p_T)/p_T, so
///   |d(pT', m')/d(p_T, m)| = g' s = (a^2 + 2 p_T)/(2 p_T) (`DetectorCard.jetPTBeforeEnergyScale`
///   inverts g and gives g' = (a^2 + 2 p_T)/(2 pT')).
/// - (p_T, m) <- (E, x) on the unclamped branch: E = sqrt(p_T^2 c^2 + m^2),
///   x = c q / E with q = sqrt(m^2 - m_c^2), and |d(E, x)/d(p_T, m)| = p_T c^3 m / (q E^2)
///   (= p_T c^3 / E^2 for m_c = 0). Hence
///   J(pT', eta, phi, m') = N_eta N_phi N(E; E_0, sigma_E) Gamma(x; k, mean/k)
///                          p_T c^3 m / (q E^2) / (g' s).
/// - The clamp m = E/2 maps the set x >= x_c = (c/E) sqrt(E^2/4 - m_c^2) onto the surface
///   m' / pT' = m / p_T = c / sqrt 3: a *point mass* in m' of weight Q_Gamma(x_c) (about 3e-4 at
///   eta = 0, 1e-6 at |eta| = 1 for the default card), carried exactly: a jet on that surface
///   (relative distance < 1e-9) gets the density with respect to (pT', eta, phi) on the surface,
///   J = N_eta N_phi N(E; E_0, sigma_E) Q_Gamma(x_c) dE/dpT' with E = 2 c p_T / sqrt 3,
///   dE/dpT' = (2 c / sqrt 3) / g'. Above the surface (m' / pT' > c / sqrt 3) J = 0.
///   W of an event with a clamped jet is thus a density with one dimension fewer per clamped jet;
///   integrals over detector space sum the continuous and the surface parts (the tests do).
/// - `guard energy > 0`: E <= 0 drops the jet, so the event has one jet and fails the selection:
///   a region of zero density of selected events (recorded jets have pT' > pT_min > 0), handled
///   exactly by not renormalising the Gaussian.
/// A card with jet mass mean 0 (a point mass at m = m_c) is refused, and so is a card with any
/// realism effect on (`DetectorCard.realismIsOff`).
public struct TransferDensity {
    public let detector: FastDetector
    /// log Gamma normalisation of the jet mass variable: -lgamma(k) - k log(theta).
    let gammaLogNorm: Double, gammaScale: Double

    /// Throws if the card is invalid or has no jet mass smearing (then the recorded mass is a
    /// point mass and W has no density in m).
    public init(detector: FastDetector = FastDetector()) throws {
        try detector.card.validate()
        guard detector.card.jetMassMean > 0 else {
            throw RefoldError.value("jet.mass_mean for the transfer density", expected: "> 0 (a Gamma-distributed jet mass)", actual: detector.card.jetMassMean)
        }
        guard detector.card.realismIsOff else {
            throw RefoldError.value("detector card for the transfer density", expected: "no photon radiation, quark radiation or jet response (W is closed-form only for the plain detector)",
                                    actual: "a card with realism effects on")
        }
        self.detector = detector
        let card = detector.card
        gammaScale = card.jetMassMean / card.jetMassShape
        gammaLogNorm = -lgamma(card.jetMassShape) - card.jetMassShape * log(gammaScale)
    }

    /// log W(x_d | x_p) (see the type's documentation); -infinity outside the support, in
    /// particular for detector events without exactly two jets, with jets not pT ordered, or whose
    /// lepton directions or flavour differ from the hard event's.
    public func logDensity(_ detected: DetectorEvent, given hard: HardEvent) -> Double {
        guard selects(detected, given: hard) else { return -.infinity }
        let j1 = detected.jets[0], j2 = detected.jets[1]
        let leptons = logLeptonDensity(detected.leptonMinus, given: hard.leptonMinus, hard.flavour)
            + logLeptonDensity(detected.leptonPlus, given: hard.leptonPlus, hard.flavour)
        guard leptons > -.infinity else { return -.infinity }
        let straight = logJetDensity(j1, given: hard.quark1) + logJetDensity(j2, given: hard.quark2)
        let crossed = logJetDensity(j2, given: hard.quark1) + logJetDensity(j1, given: hard.quark2)
        return leptons + Self.logSumExp(straight, crossed)
    }

    /// Whether the selection can keep `detected` for this hard event: exactly two pT-ordered jets
    /// inside the cuts, the same lepton flavour, quarks not merged by the clustering (Delta R >= R)
    /// and matched to the jets. The lepton terms decide the rest of the support.
    public func selects(_ detected: DetectorEvent, given hard: HardEvent) -> Bool {
        let card = detector.card
        guard detected.jets.count == 2, detected.flavour == hard.flavour,
              hard.quark1.deltaR(hard.quark2) >= card.jetRadius else { return false }
        let j1 = detected.jets[0], j2 = detected.jets[1]
        return j1.pT >= j2.pT && j2.pT > card.jetMinimumPT && abs(j1.eta) < card.jetMaximumEta && abs(j2.eta) < card.jetMaximumEta
            && detector.match(quarks: (hard.quark1, hard.quark2), jets: detected.jets) != nil
    }

    /// log L(pT' | lepton): efficiency times the Gaussian response in pT'/pT, Jacobian 1/pT;
    /// -infinity if the measured direction differs from the parton's by more than 1e-7.
    public func logLeptonDensity(_ measured: FourMomentum, given parton: FourMomentum, _ flavour: LeptonFlavour) -> Double {
        let response = flavour == .electron ? detector.card.electron : detector.card.muon
        let pT = parton.pT, eta = parton.eta
        guard pT > response.minimumPT, let i = response.region(abs(eta)), response.efficiency[i] > 0,
              abs(measured.eta - eta) <= 1e-7, abs(FourMomentum.wrapPhi(measured.phi - parton.phi)) <= 1e-7 else { return -.infinity }
        let sigma = response.relativeResolution(pT: pT, region: i)
        return log(response.efficiency[i]) + Self.logNormal(measured.pT / pT - 1, sigma: sigma) - log(pT)
    }

    /// log J(pT', eta, phi, m' | parton): the density of the jet of one parton in its recorded
    /// coordinates, before the selection (see the type's documentation); on the clamp surface
    /// m' = pT' cosh(eta) / sqrt 3 the density with respect to (pT', eta, phi).
    public func logJetDensity(_ jet: FourMomentum, given parton: FourMomentum) -> Double {
        let card = detector.card
        let pTPrime = jet.pT, eta = jet.eta, mPrime = max(0, jet.mass)
        let angles = Self.logNormal(eta - parton.eta, sigma: card.jetEtaSigma) + logWrappedNormal(jet.phi - parton.phi)
        let (pT, slope) = card.jetPTBeforeEnergyScale(pTPrime, absEta: abs(eta))
        let scale = pTPrime / pT, m = mPrime / scale, c = cosh(eta)
        let e0 = parton.e, sigmaE = card.jetEnergyResolution(energy: e0, absEta: abs(parton.eta))
        let clusterMass2 = max(0, parton.mass2)
        let surface = pT * c / 3.0.squareRoot()
        if abs(m - surface) <= 1e-9 * surface {
            // Clamped: m = E/2, E = 2 c p_T / sqrt 3; weight Q_Gamma(x >= x_c).
            let e = 2 * surface
            let xc = c / e * max(0, 0.25 * e * e - clusterMass2).squareRoot()
            let tail = gsl_cdf_gamma_Q(xc, card.jetMassShape, gammaScale)
            return angles + Self.logNormal(e - e0, sigma: sigmaE) + log(tail) + log(2 * c / 3.0.squareRoot() / slope)
        }
        guard m < surface, m * m > clusterMass2 else { return -.infinity }
        let e = (pT * pT * c * c + m * m).squareRoot()
        let q = (m * m - clusterMass2).squareRoot(), x = c * q / e
        let logGamma = gammaLogNorm + (card.jetMassShape - 1) * log(x) - x / gammaScale
        let logJacobian = log(pT * c * c * c * m / (q * e * e)) - log(slope * scale)
        return angles + Self.logNormal(e - e0, sigma: sigmaE) + logGamma + logJacobian
    }

    /// log of the wrapped normal density of an angle difference (period 2 pi, width s_phi).
    func logWrappedNormal(_ difference: Double) -> Double {
        let sigma = detector.card.jetPhiSigma, d = FourMomentum.wrapPhi(difference)
        guard sigma >= 0.3 else { return Self.logNormal(d, sigma: sigma) }
        let sum = (-3...3).reduce(0.0) { $0 + exp(Self.logNormal(d + 2 * .pi * Double($1), sigma: sigma)) }
        return log(sum)
    }

    @inline(__always) static func logNormal(_ d: Double, sigma: Double) -> Double {
        let z = d / sigma
        return -0.5 * z * z - log(sigma) - 0.5 * log(2 * .pi)
    }

    @inline(__always) static func logSumExp(_ a: Double, _ b: Double) -> Double {
        let top = max(a, b)
        guard top > -.infinity else { return -.infinity }
        return top + log(exp(a - top) + exp(b - top))
    }

    // MARK: Acceptance

    /// eps(x_p) by Monte Carlo: the fraction of `trials` detector runs on the same hard event that
    /// `FastDetector.selectTwoJetEvent` keeps, with its binomial error sqrt(eps (1 - eps) / n).
    /// Throws unless trials > 0.
    public func acceptance(_ hard: HardEvent, trials: Int, _ rng: RNGStream) throws -> (value: Double, error: Double) {
        guard trials > 0 else { throw RefoldError.value("acceptance trials", expected: "a positive count", actual: trials) }
        var kept = 0
        for _ in 0..<trials where detector.selectTwoJetEvent(hard, rng) != nil { kept += 1 }
        let p = Double(kept) / Double(trials)
        return (p, (p * (1 - p) / Double(trials)).squareRoot())
    }

    /// sigma_fid(theta) / sigma_tot = the integral of p(x_p | theta) eps(x_p), by Monte Carlo:
    /// `events` hard events from the generator at theta (a W' with probability f each, the lepton
    /// flavour as the generator draws it), one detector run each; the kept fraction with its
    /// binomial error. Throws unless events > 0.
    public func fiducialFraction(_ density: ZWDensity, events: Int, _ rng: RNGStream) throws -> (value: Double, error: Double) {
        guard events > 0 else { throw RefoldError.value("fiducial fraction events", expected: "a positive count", actual: events) }
        let production = ZWProduction(parameters: density.parameters)
        var kept = 0
        for _ in 0..<events {
            let hard = production.generate(wPrime: rng.uniform() < density.wPrimeFraction, rng)
            if detector.selectTwoJetEvent(hard, rng) != nil { kept += 1 }
        }
        let p = Double(kept) / Double(events)
        return (p, (p * (1 - p) / Double(events)).squareRoot())
    }
}

extension ColliderBenchmarks {
    /// Evaluates log W `evaluations` times on 1000 paired zw events (cycled); returns the wall
    /// time of the evaluations alone and their count.
    public static func transferDensity(evaluations: Int, seed: UInt64) -> (seconds: Double, evaluations: Int) {
        let simulation = ZWSimulation(ColliderConfiguration(process: .zw))
        let events = simulation.accepted(1_000, RNGStream(seed: seed).child("bench.transfer")).events
        guard let transfer = try? TransferDensity(detector: simulation.detector) else { return (.nan, 0) }
        var sum = 0.0
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<evaluations {
            let e = events[i % events.count]
            sum += transfer.logDensity(e.detector, given: e.hard)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (sum.isNaN ? .nan : seconds, evaluations)
    }
}
