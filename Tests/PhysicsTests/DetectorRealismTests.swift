import CGSL
import Foundation
import XCTest
import Physics
import Tensor
import TestSupport

/// The realism effects of the fast detector. Statistical checks compare a Monte Carlo mean or
/// fraction over N draws with its closed form and allow 4 standard errors (sample standard
/// deviation / sqrt(N), or sqrt(p (1 - p) / N) for a fraction): a correct implementation fails
/// one of them with probability about 6e-5. Seeds are fixed, so a failure replays.
final class DetectorRealismTests: XCTestCase {
    private let sigmas = 4.0
    private var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private func meanAndError(_ x: [Double]) -> (mean: Double, error: Double) {
        let n = Double(x.count), mean = x.reduce(0, +) / n
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (mean, (variance / n).squareRoot())
    }

    func testDefaultCardHasEveryEffectOffAndRealisticCardLoads() throws {
        XCTAssertTrue(DetectorCard.atlas.realismIsOff)
        let realistic = try DetectorCard.load(from: repository.appendingPathComponent("Toys/detector-realistic.toml"))
        XCTAssertFalse(realistic.realismIsOff)
        XCTAssertTrue(realistic.electron.photonRadiation.isOn && realistic.muon.photonRadiation.isOn)
        XCTAssertTrue(realistic.quarkRadiation.isOn && realistic.jetResponse.isOn)
        // Everything else is the ATLAS-like default.
        var stripped = realistic
        stripped.electron.photonRadiation = .init(); stripped.muon.photonRadiation = .init()
        stripped.quarkRadiation = .init(); stripped.jetResponse = .init()
        XCTAssertEqual(stripped, .atlas)
        XCTAssertThrowsError(try DetectorCard.parse("[quark_radiation]\nminimum_kt = 2\n", path: "card.toml")) {
            XCTAssertTrue("\($0)".contains("quark_radiation.minimum_kt"), "\($0)")
        }
        XCTAssertThrowsError(try DetectorCard.parse("[jet]\nhadronisation_tail_dof = 2\n", path: "card.toml")) {
            XCTAssertTrue("\($0)".contains("hadronisation_tail_dof") && "\($0)".contains("> 2"), "\($0)")
        }
    }

    /// With every effect off the detector draws nothing extra: an explicit all-off card and the
    /// default give the same events, and the stream is left where the default leaves it.
    func testEffectsOffDrawNothing() {
        var off = DetectorCard.atlas
        off.electron.photonRadiation = .init(collinearLog: 0, minimumFraction: 0.2)
        off.quarkRadiation = .init(sudakovCoefficient: 0, minimumKT: 5, maximumEmissions: 3)
        off.jetResponse = .init(hadronisationTailDOF: 7)
        let production = ZWProduction(parameters: ZWParameters())
        let a = RNGStream(seed: 77), b = RNGStream(seed: 77)
        for _ in 0..<500 {
            let hard = production.generate(wPrime: false, a)
            XCTAssertEqual(production.generate(wPrime: false, b), hard)
            XCTAssertEqual(FastDetector().reconstruct(hard, a), FastDetector(card: off).reconstruct(hard, b))
        }
        XCTAssertEqual(a.uniform(), b.uniform())
    }

    /// Photon FSR: the mean photon energy fraction per lepton is (alpha/2 pi) L int (1 + (1-z)^2) dz,
    /// the emission probability (alpha/2 pi) L int (1 + (1-z)^2)/z dz (N = 200k, 4 sigma).
    func testPhotonFractionMeanAndEmissionProbability() {
        let radiation = DetectorCard.PhotonRadiation(collinearLog: 23.2, minimumFraction: 0.01)
        let rng = RNGStream(seed: 2101)
        let z = (0..<200_000).map { _ in FastDetector.photonFraction(radiation, rng) }
        let (mean, error) = meanAndError(z)
        XCTAssertEqual(mean, radiation.meanFraction, accuracy: sigmas * error, "seed 2101")
        let p = radiation.emissionProbability, emitted = Double(z.filter { $0 > 0 }.count) / Double(z.count)
        XCTAssertEqual(emitted, p, accuracy: sigmas * (p * (1 - p) / Double(z.count)).squareRoot(), "seed 2101")
        XCTAssertGreaterThanOrEqual(z.filter { $0 > 0 }.min() ?? 1, 0.01)
    }

    /// Through the detector the photon lowers m_ll: with FSR the fraction of Z -> mu mu events with
    /// m_ll < 80 GeV (reconstructed) grows by more than 4 sigma of the difference.
    func testPhotonRadiationGivesALowMassTail() {
        var card = DetectorCard.atlas
        card.muon.photonRadiation = .init(collinearLog: 12.5)
        let production = ZWProduction(parameters: ZWParameters())
        func lowTail(_ detector: FastDetector, seed: UInt64) -> (Double, Int) {
            let rng = RNGStream(seed: seed)
            var low = 0, n = 0
            while n < 20_000 {
                let hard = production.generate(wPrime: false, rng)
                guard let lm = detector.lepton(hard.leptonMinus, .muon, rng), let lp = detector.lepton(hard.leptonPlus, .muon, rng) else { continue }
                n += 1
                if (lm + lp).mass < 80 { low += 1 }
            }
            return (Double(low) / Double(n), n)
        }
        let (plain, n) = lowTail(FastDetector(), seed: 2102), (radiated, _) = lowTail(FastDetector(card: card), seed: 2102)
        let error = ((plain * (1 - plain) + radiated * (1 - radiated)) / Double(n)).squareRoot()
        XCTAssertGreaterThan(radiated - plain, sigmas * error, "plain \(plain), with FSR \(radiated), seed 2102")
    }

    /// Out-of-cone loss and hadronisation: the mean response E[(1 - f)(1 + sigma t)] = 1 - fbar(pT)
    /// (the cap at 0.95 is e^-19 away at these means), and the Student-t tail: the fraction of
    /// |t| > 4 equals 2 Q_t(4; nu), far above the Gaussian 6e-5 (N = 200k, 4 sigma).
    func testJetResponseMeanAndTails() {
        let response = DetectorCard.JetResponse(outOfConeFraction: 0.02, outOfConeOffset: 1.0, hadronisationSigma: 0.05,
                                                hadronisationTailDOF: 4)
        let rng = RNGStream(seed: 2103), pT = 40.0
        let k = (0..<200_000).map { _ in FastDetector.jetResponseFactor(response, pT: pT, rng) }
        let (mean, error) = meanAndError(k)
        XCTAssertEqual(mean, 1 - response.meanLoss(pT: pT), accuracy: sigmas * error, "seed 2103")

        let smearing = DetectorCard.JetResponse(hadronisationSigma: 0.05, hadronisationTailDOF: 4)
        let t = (0..<200_000).map { _ in (FastDetector.jetResponseFactor(smearing, pT: pT, rng) - 1) / 0.05 }
        let tail = Double(t.filter { abs($0) > 4 }.count) / Double(t.count), expected = 2 * gsl_cdf_tdist_Q(4, 4)
        XCTAssertEqual(tail, expected, accuracy: sigmas * (expected * (1 - expected) / Double(t.count)).squareRoot(), "seed 2103")
        XCTAssertGreaterThan(expected, 100 * 2 * gsl_cdf_ugaussian_Q(4))
    }

    /// Gluon radiation: the partons sum to the W exactly and are massless; the fraction of W decays
    /// without any emission is Delta(E/2, kT_min)^2 (N = 50k, 4 sigma).
    func testQuarkRadiationConservesMomentumAndFollowsSudakov() {
        let radiation = DetectorCard.QuarkRadiation(sudakovCoefficient: 0.064, minimumKT: 2, maximumEmissions: 8)
        let rng = RNGStream(seed: 2104)
        let w = FourMomentum(pT: 60, eta: 0.7, phi: 1.1, mass: 80.379)
        let (q1, q2) = { () -> (FourMomentum, FourMomentum) in
            let (a, b) = (FourMomentum(e: 40.1895, px: 0, py: 40.1895 * 0.6, pz: 40.1895 * 0.8),
                          FourMomentum(e: 40.1895, px: 0, py: -40.1895 * 0.6, pz: -40.1895 * 0.8))
            return (a.fromRestFrame(of: w), b.fromRestFrame(of: w))
        }()
        var none = 0
        let n = 50_000
        for _ in 0..<n {
            let partons = FastDetector.radiateQuarks(q1, q2, radiation, rng)
            if partons.count == 2 { none += 1 }
            let total = partons.reduce(.zero, +)
            assertAllClose([total.e, total.px, total.py, total.pz], [w.e, w.px, w.py, w.pz], rel: 1e-9, abs: 1e-9)
            for p in partons { XCTAssertEqual(p.mass2, 0, accuracy: 1e-8 * p.e * p.e) }
        }
        let p0 = pow(radiation.noEmissionProbability(quarkEnergy: 40.1895), 2), fraction = Double(none) / Double(n)
        XCTAssertEqual(fraction, p0, accuracy: sigmas * (p0 * (1 - p0) / Double(n)).squareRoot(), "seed 2104")
    }

    /// Through the realistic card: more W quarks have no jet within the match radius than with the
    /// default card, and jets from the radiation enter the jet count (more events with three or
    /// more jets). Both differences beyond 4 sigma on 20k hard events.
    func testRadiationLosesQuarkJetsAndAddsJets() throws {
        let realistic = try DetectorCard.load(from: repository.appendingPathComponent("Toys/detector-realistic.toml"))
        let production = ZWProduction(parameters: ZWParameters())
        func fractions(_ detector: FastDetector) -> (unmatched: Double, extra: Double, quarks: Int, events: Int) {
            let rng = RNGStream(seed: 2105)
            var unmatched = 0, extra = 0, quarks = 0, events = 0
            while events < 20_000 {
                let hard = production.generate(wPrime: false, rng)
                guard let event = detector.reconstruct(hard, rng) else { continue }
                events += 1
                if event.jets.count >= 3 { extra += 1 }
                for q in [hard.quark1, hard.quark2] where q.pT > 30 && abs(q.eta) < 2.0 {
                    quarks += 1
                    if !event.jets.contains(where: { $0.deltaR(q) < detector.card.matchRadius }) { unmatched += 1 }
                }
            }
            return (Double(unmatched) / Double(quarks), Double(extra) / Double(events), quarks, events)
        }
        let plain = fractions(FastDetector()), real = fractions(FastDetector(card: realistic))
        func error(_ a: Double, _ na: Int, _ b: Double, _ nb: Int) -> Double {
            (a * (1 - a) / Double(na) + b * (1 - b) / Double(nb)).squareRoot()
        }
        XCTAssertGreaterThan(real.unmatched - plain.unmatched, sigmas * error(real.unmatched, real.quarks, plain.unmatched, plain.quarks),
                             "quarks without a jet: default \(plain.unmatched), realistic \(real.unmatched)")
        XCTAssertGreaterThan(real.extra - plain.extra, sigmas * error(real.extra, real.events, plain.extra, plain.events),
                             ">= 3 jets: default \(plain.extra), realistic \(real.extra)")
    }
}
