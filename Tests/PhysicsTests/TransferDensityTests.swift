import CGSL
import Foundation
import Physics
import Tensor
import TestSupport
import XCTest

/// `TransferDensity` is the density of the detector events that `FastDetector` selects for zw:
/// its 1D projections match detector histograms, it integrates to the acceptance, and it is
/// zero outside the two-jet selection.
///
/// Both checks use one importance sample per parton event: detector coordinates drawn from a
/// proposal q that is broader than W and written independently of it (Student-t pT around the
/// scaled parton pT, Gaussian axes 1.2 x wider, a Gamma(2.5) jet mass ratio m/pT with 1.15 x the
/// mean against the detector's Gamma(3), and with probability rho = 0.01 the jet on the mass-clamp surface
/// m = pT cosh(eta) / sqrt 3), weighted by W / q. W / q is bounded (q has the heavier tails).
final class TransferDensityTests: XCTestCase {
    static let card = DetectorCard.atlas
    /// Detector runs per parton event (about 10^5 selected) and importance draws per parton event.
    static let trials = 130_000, draws = 200_000
    /// Coordinate names of one detector event as the tests flatten it.
    static let names = ["pT_l-", "pT_l+", "pT_j1", "eta_j1", "phi_j1", "m_j1", "pT_j2", "eta_j2", "phi_j2", "m_j2"]

    /// Three parton events from `ZWProduction` (seed 61): the first that fits each description,
    /// all with quarks apart (Delta R > 0.8), |eta_q| < 2.2 and leptons inside the acceptance.
    static let partonEvents: [(label: String, event: HardEvent)] = {
        let production = ZWProduction()
        let rng = RNGStream(seed: 61)
        let wanted: [(String, (HardEvent) -> Bool)] = [
            ("central, both quarks above 40 GeV", { $0.quark2.pT > 40 && abs($0.quark1.eta) < 0.3 }),
            ("second quark at the 25 GeV cut", { (26...30).contains($0.quark2.pT) }),
            ("quarks within 4 % in pT", { $0.quark2.pT > 35 && $0.quark2.pT > 0.96 * $0.quark1.pT }),
        ]
        var found: [(String, HardEvent)] = []
        for (label, fits) in wanted {
            while true {
                let e = production.generate(rng)
                let inside = [e.leptonMinus, e.leptonPlus].allSatisfy { $0.pT > 15 && abs($0.eta) < 2.3 }
                    && [e.quark1, e.quark2].allSatisfy { abs($0.eta) < 2.2 } && e.quark1.deltaR(e.quark2) > 0.8
                if inside && fits(e) { found.append((label, e)); break }
            }
        }
        return found
    }()

    static func coordinates(_ d: DetectorEvent) -> [Double] {
        let j = d.jets
        return [d.leptonMinus.pT, d.leptonPlus.pT, j[0].pT, j[0].eta, j[0].phi, max(0, j[0].mass), j[1].pT, j[1].eta, j[1].phi, max(0, j[1].mass)]
    }

    // MARK: Proposal

    /// An independent, broad proposal for the jet of one parton in recorded coordinates.
    struct JetProposal {
        let eta0: Double, phi0: Double, centre: Double, width: Double
        /// Mass ratio m/pT ~ Gamma(2.5, 1.15 mean / 2.5); the clamp surface with probability rho.
        let massScale: Double, surfaceProbability: Double
        static let widen = 1.2, tails = 8.0, massShape = 2.5
        init(_ parton: FourMomentum, card: DetectorCard, surfaceProbability: Double = 0.01) {
            eta0 = parton.eta; phi0 = parton.phi
            massScale = 1.15 * card.jetMassMean / Self.massShape
            self.surfaceProbability = surfaceProbability
            let scale = card.jetEnergyScale(pT: parton.pT, absEta: abs(parton.eta))
            // The jet mass lowers pT by about E[x^2] / (2 cosh^2 eta) (x the mass variable).
            let x2 = card.jetMassMean * card.jetMassMean * (1 + 1 / card.jetMassShape)
            centre = scale * parton.pT * (1 - 0.5 * x2 / (cosh(parton.eta) * cosh(parton.eta)))
            width = Self.widen * scale * card.jetEnergyResolution(energy: parton.e, absEta: abs(parton.eta)) / cosh(parton.eta)
        }
        func draw(_ rng: RNGStream, card: DetectorCard) -> FourMomentum {
            let eta = eta0 + rng.normal(mean: 0, std: Self.widen * card.jetEtaSigma)
            let phi = FourMomentum.wrapPhi(phi0 + rng.normal(mean: 0, std: Self.widen * card.jetPhiSigma))
            let pT = centre + width * gsl_ran_tdist(rng.gsl, Self.tails)
            let ratio = rng.uniform() < surfaceProbability ? cosh(eta) / 3.0.squareRoot()
                : gsl_ran_gamma(rng.gsl, Self.massShape, massScale)
            return FourMomentum(pT: abs(pT), eta: eta, phi: phi, mass: ratio * abs(pT))
        }
        /// log density of |centre + width t| (t Student-t with `tails` degrees of freedom) at pT.
        static func logFoldedT(_ pT: Double, centre: Double, width: Double) -> Double {
            log((gsl_ran_tdist_pdf((pT - centre) / width, tails) + gsl_ran_tdist_pdf((-pT - centre) / width, tails)) / width)
        }

        /// log q; on the surface the density in (pT, eta, phi) times rho.
        func logDensity(_ jet: FourMomentum, card: DetectorCard) -> Double {
            let pT = jet.pT, eta = jet.eta, ratio = max(0, jet.mass) / pT
            let sEta = Self.widen * card.jetEtaSigma, sPhi = Self.widen * card.jetPhiSigma
            let dPhi = FourMomentum.wrapPhi(jet.phi - phi0)
            var log = Foundation.log(gsl_ran_ugaussian_pdf((eta - eta0) / sEta) / sEta) + Foundation.log(gsl_ran_ugaussian_pdf(dPhi / sPhi) / sPhi)
            log += Self.logFoldedT(pT, centre: centre, width: width)
            let surface = cosh(eta) / 3.0.squareRoot()
            if abs(ratio - surface) <= 1e-9 * surface { return log + Foundation.log(surfaceProbability) }
            return log + Foundation.log((1 - surfaceProbability) * gsl_ran_gamma_pdf(ratio, Self.massShape, massScale) / pT)
        }
    }

    /// Lepton pT: Student-t around the parton pT, 1.2 x the resolution; direction and mass as the
    /// detector records them.
    struct LeptonProposal {
        let parton: FourMomentum, width: Double, mass: Double
        init(_ parton: FourMomentum, _ flavour: LeptonFlavour, card: DetectorCard) {
            let response = flavour == .electron ? card.electron : card.muon
            self.parton = parton; mass = response.mass
            let region = response.region(abs(parton.eta)) ?? response.etaEdges.count - 1
            width = JetProposal.widen * response.relativeResolution(pT: parton.pT, region: region) * parton.pT
        }
        func draw(_ rng: RNGStream) -> FourMomentum {
            FourMomentum(pT: abs(parton.pT + width * gsl_ran_tdist(rng.gsl, JetProposal.tails)), eta: parton.eta, phi: parton.phi, mass: mass)
        }
        func logDensity(_ l: FourMomentum) -> Double {
            JetProposal.logFoldedT(l.pT, centre: parton.pT, width: width)
        }
    }

    /// One parton event's samples: detector events from `trials` runs of the real detector, and
    /// `draws` proposal events with weights W / q.
    struct Samples {
        var detector: [[Double]] = [], kept = 0
        var proposal: [[Double]] = [], weights: [Double] = []
        /// W / q with the alternative card (jet mass mean x 1.04), for the power check.
        var alternativeWeights: [Double] = []
    }

    static func samples(_ hard: HardEvent, seed: UInt64, transfer: TransferDensity, alternative: TransferDensity) -> Samples {
        var s = Samples()
        let rng = RNGStream(seed: seed)
        let detectorRNG = rng.child("detector"), proposalRNG = rng.child("proposal")
        for _ in 0..<trials {
            if let d = transfer.detector.selectTwoJetEvent(hard, detectorRNG) { s.detector.append(coordinates(d)); s.kept += 1 }
        }
        let jets = [JetProposal(hard.quark1, card: card), JetProposal(hard.quark2, card: card)]
        let leptons = [LeptonProposal(hard.leptonMinus, hard.flavour, card: card), LeptonProposal(hard.leptonPlus, hard.flavour, card: card)]
        s.proposal.reserveCapacity(draws); s.weights.reserveCapacity(draws)
        for _ in 0..<draws {
            let a = jets[0].draw(proposalRNG, card: card), b = jets[1].draw(proposalRNG, card: card)
            let ordered = a.pT >= b.pT ? [a, b] : [b, a]
            let event = DetectorEvent(leptonMinus: leptons[0].draw(proposalRNG), leptonPlus: leptons[1].draw(proposalRNG),
                                      jets: ordered, flavour: hard.flavour)
            // The proposal density of the pT-ordered pair: both assignments.
            let logQJets = logSumExp(jets[0].logDensity(ordered[0], card: card) + jets[1].logDensity(ordered[1], card: card),
                                     jets[0].logDensity(ordered[1], card: card) + jets[1].logDensity(ordered[0], card: card))
            let logQ = logQJets + leptons[0].logDensity(event.leptonMinus) + leptons[1].logDensity(event.leptonPlus)
            let logW = transfer.logDensity(event, given: hard)
            let logAlternative = alternative.logDensity(event, given: hard)
            s.proposal.append(coordinates(event)); s.weights.append(logW > -.infinity ? exp(logW - logQ) : 0)
            s.alternativeWeights.append(logAlternative > -.infinity ? exp(logAlternative - logQ) : 0)
        }
        return s
    }

    static func logSumExp(_ a: Double, _ b: Double) -> Double {
        let top = max(a, b)
        return top == -.infinity ? top : top + log(exp(a - top) + exp(b - top))
    }

    /// The samples of the three parton events, computed once for all tests (seeds 71, 72, 73).
    static let fixture: [Samples] = {
        let transfer = try! TransferDensity(detector: FastDetector(card: card))
        var wrongCard = card
        wrongCard.jetMassMean *= 1.04
        let alternative = try! TransferDensity(detector: FastDetector(card: wrongCard))
        return partonEvents.enumerated().map { samples($1.event, seed: 71 + UInt64($0), transfer: transfer, alternative: alternative) }
    }()

    // MARK: (b) Normalisation

    /// The importance-sampled integral of W over detector space (continuous part plus the
    /// mass-clamp surfaces) equals the acceptance measured by running the detector, within 4 sigma
    /// of the combined error (IS standard error and binomial error). The effective sample size of
    /// the weights is printed; it must exceed 10 % of the draws.
    func testTransferDensityIntegratesToTheAcceptance() {
        for (i, samples) in Self.fixture.enumerated() {
            let w = samples.weights, n = Double(w.count)
            let mean = w.reduce(0, +) / n
            let variance = w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            let integralError = (variance / n).squareRoot()
            let eps = Double(samples.kept) / Double(Self.trials), epsError = (eps * (1 - eps) / Double(Self.trials)).squareRoot()
            let sumW2 = w.reduce(0) { $0 + $1 * $1 }, ess = pow(w.reduce(0, +), 2) / sumW2
            let combined = (integralError * integralError + epsError * epsError).squareRoot()
            print(String(format: "event %d (%@): integral of W %.5f +- %.5f, acceptance %.5f +- %.5f, pull %.2f, ESS %.0f of %.0f",
                         i, Self.partonEvents[i].label, mean, integralError, eps, epsError, (mean - eps) / combined, ess, n))
            XCTAssertEqual(mean, eps, accuracy: 4 * combined, "event \(i), seeds 61/\(71 + i)")
            XCTAssertGreaterThan(ess, 0.1 * n, "event \(i)")
        }
    }

    /// The mass clamp m = E/2 as a point mass, with a card that makes it frequent (jet mass mean
    /// 0.3: about 12 % of central jets clamp). For one central quark (pT 40 GeV) the single-jet
    /// density J integrates (10^6 proposal draws, 30 % of them on the surface; relative error
    /// 1e-3) to P(E > 0) = 1 - Phi(-E_0 / sigma_E), and its surface part to the clamped fraction of
    /// 10^6 `FastDetector.jet` draws; both within 4 sigma (combined IS and binomial errors).
    func testMassClampIsAnExactPointMass() throws {
        var card = Self.card
        card.jetMassMean = 0.3
        let transfer = try TransferDensity(detector: FastDetector(card: card))
        let quark = FourMomentum(pT: 40, eta: 0.2, phi: 1, mass: 0)
        let rng = RNGStream(seed: 69)
        let draws = 1_000_000
        var clamped = 0
        for _ in 0..<draws {
            guard let jet = transfer.detector.jet(quark, rng) else { continue }
            let surface = jet.pT * cosh(jet.eta) / 3.0.squareRoot()
            if abs(jet.mass - surface) <= 1e-9 * surface { clamped += 1 }
        }
        let proposal = JetProposal(quark, card: card, surfaceProbability: 0.3)
        let proposalRNG = rng.child("proposal")
        var total = 0.0, total2 = 0.0, onSurface = 0.0, onSurface2 = 0.0
        for _ in 0..<draws {
            let jet = proposal.draw(proposalRNG, card: card)
            let logJ = transfer.logJetDensity(jet, given: quark)
            let w = logJ > -.infinity ? exp(logJ - proposal.logDensity(jet, card: card)) : 0
            total += w; total2 += w * w
            let surface = jet.pT * cosh(jet.eta) / 3.0.squareRoot()
            if abs(jet.mass - surface) <= 1e-9 * surface { onSurface += w; onSurface2 += w * w }
        }
        let n = Double(draws)
        func meanAndError(_ sum: Double, _ sum2: Double) -> (Double, Double) { (sum / n, ((sum2 / n - sum * sum / (n * n)) / n).squareRoot()) }
        let (integral, integralError) = meanAndError(total, total2), (point, pointError) = meanAndError(onSurface, onSurface2)
        let f = Double(clamped) / n, fError = (f * (1 - f) / n).squareRoot()
        let positive = 1 - gsl_cdf_ugaussian_P(-quark.e / card.jetEnergyResolution(energy: quark.e, absEta: abs(quark.eta)))
        print(String(format: "seed 69: integral of J %.5f +- %.5f (P(E > 0) = %.6f); surface part %.5f +- %.5f, clamped fraction %.5f +- %.5f",
                     integral, integralError, positive, point, pointError, f, fError))
        XCTAssertEqual(integral, positive, accuracy: 4 * integralError, "seed 69")
        XCTAssertEqual(point, f, accuracy: 4 * (pointError * pointError + fError * fError).squareRoot(), "seed 69")
        XCTAssertGreaterThan(f, 0.05, "the card must make the clamp frequent")
    }

    // MARK: (a) Projections

    /// For each parton event and each of the 10 coordinates: a 30-bin histogram of the detector
    /// events (bins equiprobable under the weighted proposal, plus under- and overflow) against
    /// the importance-sampled prediction trials x integral of W over the bin, with the variance of
    /// both (Poisson and IS). The total is not fitted (dof = bins). p > 1e-3 per projection (30
    /// projections: a correct W fails one with probability about 3 %, fixed seeds make it
    /// reproducible), and every |pull| < 5.
    /// Power: the j1 mass projection of event 0 must fail against W with jet mass mean + 4 %.
    func testProjectionsMatchTheDetector() {
        for (i, samples) in Self.fixture.enumerated() {
            for (k, name) in Self.names.enumerated() {
                let r = Self.projection(samples, coordinate: k, weights: samples.weights)
                print(String(format: "event %d %@: chi2/ndf = %.1f/%d, p = %.3f, max |pull| %.2f", i, name, r.chi2, r.dof, r.p, r.maxPull))
                XCTAssertGreaterThan(r.p, 1e-3, "event \(i), \(name), seeds 61/\(71 + i)")
                XCTAssertLessThan(r.maxPull, 5, "event \(i), \(name)")
            }
        }
        let samples = Self.fixture[0]
        let weights = samples.alternativeWeights
        let r = Self.projection(samples, coordinate: 5, weights: weights)
        print(String(format: "event 0 m_j1 against jet mass mean x 1.04: chi2/ndf = %.1f/%d, p = %.2g", r.chi2, r.dof, r.p))
        XCTAssertLessThan(r.p, 1e-3, "jet mass mean x 1.04 must be seen")
    }

    /// Detector histogram of one coordinate against the weighted proposal.
    static func projection(_ samples: Samples, coordinate k: Int, weights: [Double], bins: Int = 30) -> (chi2: Double, dof: Int, p: Double, maxPull: Double) {
        let values = samples.proposal.map { $0[k] }
        let order = values.indices.sorted { values[$0] < values[$1] }
        let total = weights.reduce(0, +)
        var edges: [Double] = [], running = 0.0, next = 1
        for index in order where next < bins {
            running += weights[index]
            if running >= total * Double(next) / Double(bins) { edges.append(values[index]); next += 1 }
        }
        func bin(_ v: Double) -> Int {
            var low = 0, high = edges.count          // first edge > v
            while low < high { let mid = (low + high) / 2; if edges[mid] <= v { low = mid + 1 } else { high = mid } }
            return low
        }
        var observed = [Double](repeating: 0, count: edges.count + 1)
        var predicted = observed, squares = observed
        for row in samples.detector { observed[bin(row[k])] += 1 }
        for (v, w) in zip(values, weights) where w > 0 { let b = bin(v); predicted[b] += w; squares[b] += w * w }
        let scale = Double(trials) / Double(values.count)
        return chiSquare(observed: observed, expected: predicted.map { $0 * scale },
                         expectedVariance: squares.map { $0 * scale * scale }, totalFixed: false)
    }

    // MARK: (c) Support

    /// log W is finite for 2000 selected zw events and -infinity after removing a jet, adding a
    /// third, swapping the pT order, moving a lepton's direction or changing its flavour; a card
    /// without jet mass smearing is refused. Prints the time of one evaluation (the bench row).
    func testSupportIsTheTwoJetSelection() throws {
        let simulation = ZWSimulation(ColliderConfiguration(process: .zw))
        let transfer = try TransferDensity(detector: simulation.detector)
        let events = simulation.accepted(2_000, RNGStream(seed: 65)).events
        let values = events.map { transfer.logDensity($0.detector, given: $0.hard) }
        let bench = ColliderBenchmarks.transferDensity(evaluations: 20_000, seed: 65)
        print(String(format: "log W: %.2f us per evaluation (ColliderBenchmarks.transferDensity)", bench.seconds / Double(bench.evaluations) * 1e6))
        XCTAssertTrue(bench.seconds.isFinite)
        XCTAssertTrue(values.allSatisfy(\.isFinite), "seed 65: \(values.filter { !$0.isFinite }.count) not finite")
        for e in events.prefix(200) {
            var one = e.detector, three = e.detector, swapped = e.detector, moved = e.detector, flavour = e.detector
            one.jets.removeLast()
            three.jets.append(FourMomentum(pT: 26, eta: 0, phi: 0, mass: 2))
            swapped.jets.reverse()
            moved.leptonMinus = FourMomentum(pT: moved.leptonMinus.pT, eta: moved.leptonMinus.eta + 1e-4, phi: moved.leptonMinus.phi, mass: 0.1)
            flavour.flavour = e.detector.flavour == .electron ? .muon : .electron
            for (label, d) in [("one jet", one), ("three jets", three), ("swapped", swapped), ("lepton moved", moved), ("flavour", flavour)] {
                XCTAssertEqual(transfer.logDensity(d, given: e.hard), -.infinity, label)
            }
        }
        var card = DetectorCard.atlas
        card.jetMassMean = 0
        XCTAssertThrowsError(try TransferDensity(detector: FastDetector(card: card)))
        XCTAssertThrowsError(try transfer.acceptance(events[0].hard, trials: 0, RNGStream(seed: 65)))
    }

    /// acceptance(x_p) by the detector agrees with the selection count of the fixture, and
    /// sigma_fid / sigma_tot at the default parameters agrees with the zw sample's selection
    /// efficiency (0.357 at seed 1; here 10^5 events, 4 sigma).
    func testAcceptanceAndFiducialFraction() throws {
        let transfer = try TransferDensity()
        let hard = Self.partonEvents[0].event
        let a = try transfer.acceptance(hard, trials: 20_000, RNGStream(seed: 66))
        let fixture = Double(Self.fixture[0].kept) / Double(Self.trials)
        print(String(format: "acceptance of event 0: %.4f +- %.4f (fixture %.4f)", a.value, a.error, fixture))
        XCTAssertEqual(a.value, fixture, accuracy: 4 * (a.error * a.error + fixture * (1 - fixture) / Double(Self.trials)).squareRoot())
        let sigma = try transfer.fiducialFraction(try ZWDensity(), events: 100_000, RNGStream(seed: 67))
        let sample = ZWSimulation(ColliderConfiguration(process: .zw)).sample(events: 20_000, rng: RNGStream(seed: 68))
        let e = sample.selectionEfficiency, eError = (e * (1 - e) / (20_000 / e)).squareRoot()
        print(String(format: "sigma_fid / sigma_tot %.4f +- %.4f, sample selection efficiency %.4f +- %.4f", sigma.value, sigma.error, e, eError))
        XCTAssertEqual(sigma.value, e, accuracy: 4 * (sigma.error * sigma.error + eError * eError).squareRoot())
    }
}
