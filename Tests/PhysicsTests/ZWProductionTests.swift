import XCTest
import Physics
import Tensor
import TestSupport

final class ZWProductionTests: XCTestCase {
    private func quantiles(_ v: [Double]) -> (median: Double, iqr: Double) {
        let s = v.sorted()
        return (s[s.count / 2], s[3 * s.count / 4] - s[s.count / 4])
    }

    /// |sum px| and |sum py| relative to the scalar pT sum.
    private func imbalance(_ particles: [FourMomentum]) -> Double {
        let sum = particles.reduce(FourMomentum.zero, +)
        return max(abs(sum.px), abs(sum.py)) / particles.map(\.pT).reduce(0, +)
    }

    /// Parton m_ll is the Z Breit-Wigner: median within 0.1 GeV of m_Z and the interquartile range
    /// equal to Gamma_Z. For a Cauchy of half-width g the median's standard error is pi g / (2 sqrt N)
    /// = 0.014 GeV at N = 20k; the truncation at +-15 Gamma narrows the IQR by 3 % (to 0.967 Gamma);
    /// the IQR's standard error is 1.4 %: tolerance 0.967 Gamma +- 4 sigma.
    func testZPeakAndWidth() {
        let production = ZWProduction()
        let rng = RNGStream(seed: 31)
        var mll: [Double] = [], mjj: [Double] = [], imbalances: [Double] = []
        for _ in 0..<20_000 {
            let e = production.generate(rng)
            mll.append((e.leptonMinus + e.leptonPlus).mass)
            mjj.append((e.quark1 + e.quark2).mass)
            imbalances.append(imbalance(e.particles))
            XCTAssertGreaterThanOrEqual(e.quark1.pT, e.quark2.pT)
        }
        let z = quantiles(mll), w = quantiles(mjj)
        XCTAssertEqual(z.median, 91.1876, accuracy: 0.1, "seed 31")
        XCTAssertEqual(z.iqr, 0.967 * 2.4952, accuracy: 4 * 0.014 * 2.4952, "seed 31")
        XCTAssertEqual(w.median, 80.379, accuracy: 0.1, "seed 31")
        XCTAssertLessThan(imbalances.max()!, 1e-6, "hard process pT balance, seed 31")
    }

    /// W' -> ZW: m_ZW median at 1300 GeV; standard error pi (Gamma/2) / (2 sqrt N) = 0.17 GeV at
    /// N = 5000, tolerance 0.7 GeV (4 sigma); the IQR is Gamma = 15 GeV within 10 %.
    func testWPrimePeak() {
        let production = ZWProduction()
        let rng = RNGStream(seed: 32)
        let m = (0..<5_000).map { _ in production.generate(wPrime: true, rng).total.mass }
        let q = quantiles(m)
        XCTAssertEqual(q.median, 1300, accuracy: 0.7, "seed 32")
        XCTAssertEqual(q.iqr, 15, accuracy: 1.5, "seed 32")
    }

    /// The mixed sample holds round(f N) W' events, and they show up as a peak in parton m_ZW.
    func testWPrimeSampleMixture() throws {
        var configuration = ColliderConfiguration(process: .wPrime)
        configuration.wPrimeFraction = 0.2
        let sample = try generateColliderSample(configuration, events: 2_000, rng: RNGStream(seed: 33))
        XCTAssertEqual(sample.parameters["wprime_events"], 400)
        let m = Observable.mZW.values(sample.parton!)
        let inPeak = Double(m.filter { abs($0 - 1300) < 30 }.count) / Double(m.count)
        // 400 W' events, a fraction atan(4) / atan(40) = 0.857 of them within +-2 Gamma (Cauchy
        // truncated at +-20 Gamma); the SM tail there is below 0.5 %: binomial 4 sigma + 0.005.
        let expected = 0.2 * atan(4.0) / atan(40.0)
        XCTAssertEqual(inPeak, expected, accuracy: 4 * (expected * (1 - expected) / 2_000).squareRoot() + 0.005, "seed 33")
    }

    /// ISR: the recoiled hard system plus the emissions balance in pT; the parton-level reference
    /// (no recoil) balances on its own.
    func testISRTransverseBalance() {
        let production = ZWProduction()
        let rng = RNGStream(seed: 34)
        var emitted = 0
        for _ in 0..<5_000 {
            let r = InitialStateRadiation.radiate(production.generate(rng), ISRParameters(), rng)
            emitted += r.emissions.isEmpty ? 0 : 1
            XCTAssertLessThan(imbalance(r.recoiled.particles + r.emissions), 1e-6, "seed 34")
            XCTAssertLessThan(imbalance(r.hard.particles), 1e-6, "seed 34")
            assertClose(r.recoiled.total.mass, r.hard.total.mass, rel: 1e-9)
        }
        XCTAssertGreaterThan(emitted, 0)
    }

    /// Detector smearing widens m_jj: IQR of the detector m_jj over the parton IQR (= Gamma_W)
    /// above 3 (the calorimeter term sigma_E / E ~ 10 % at 40 GeV gives about 8 GeV).
    func testDetectorMjjWiderThanPartonWidth() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zw), events: 10_000, rng: RNGStream(seed: 35))
        let parton = quantiles(Observable.mJJ.values(sample.parton!)), detector = quantiles(Observable.mJJ.values(sample.detector!))
        XCTAssertEqual(parton.iqr, 2.085, accuracy: 0.25, "seed 35")
        XCTAssertGreaterThan(detector.iqr / parton.iqr, 3, "seed 35: detector IQR \(detector.iqr), parton \(parton.iqr)")
        XCTAssertEqual(sample.detector!.columns.count, 16)
        XCTAssertNil(sample.njets)
        XCTAssertTrue((0.2...0.6).contains(sample.selectionEfficiency), "\(sample.selectionEfficiency)")
    }

    /// ISR jet multiplicities (thesis 5.4.1: 530k / 190k / 60k of 780k = 0.68 / 0.24 / 0.08):
    /// a falling sequence with most events at two jets.
    func testISRJetMultiplicities() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zwISR), events: 5_000, rng: RNGStream(seed: 36))
        let njets = sample.njets!
        let f = (2...4).map { n in Double(njets.filter { $0 == n }.count) / Double(njets.count) }
        XCTAssertTrue((0.55...0.8).contains(f[0]), "seed 36: fractions \(f)")
        XCTAssertGreaterThan(f[1], f[2], "seed 36: \(f)"); XCTAssertGreaterThan(f[0], f[1])
        XCTAssertGreaterThan(f[2], 0.01, "seed 36: \(f)")
        XCTAssertEqual(sample.detector!.columns.count, 24)
        // Zero padding: jets beyond njets are zero.
        let j3 = sample.detector!.index(of: "pT_j3")!
        for i in 0..<sample.count where njets[i] == 2 { XCTAssertEqual(sample.detector![i, j3], 0) }
    }

    /// Drell-Yan: pT balance is built in, m_ee median at m_Z.
    func testDrellYan() {
        let sample = DrellYanProduction().sample(events: 5_000, rng: RNGStream(seed: 37))
        let m = (0..<sample.count).map { row -> Double in
            let (e, ebar) = DrellYanProduction.momenta((0..<4).map { sample.events![row, $0] })
            XCTAssertLessThan(imbalance([e, ebar]), 1e-12)
            return (e + ebar).mass
        }
        // Median standard error pi 1.25 / (2 sqrt 5000) = 0.03 GeV.
        XCTAssertEqual(quantiles(m).median, 91.1876, accuracy: 0.15, "seed 37")
    }

    /// Every stored field of ZWParameters has a name in `fields` (so `record` and `--set` see it),
    /// and setting it by name changes exactly that field.
    func testEveryParameterCanBeSetByName() throws {
        XCTAssertEqual(ZWParameters.fields.count, Mirror(reflecting: ZWParameters()).children.count)
        XCTAssertEqual(Set(ZWParameters().record.keys), Set(ZWParameters.fields.map(\.name)))
        for field in ZWParameters.fields {
            let set = try ZWParameters().setting(field.name, to: "1.25")
            XCTAssertEqual(set[keyPath: field.keyPath], 1.25, field.name)
            XCTAssertEqual(set.record.filter { $0.value != ZWParameters().record[$0.key] }.map(\.key), [field.name])
        }
        XCTAssertEqual(try ZWParameters().setting("m_W", to: "79.5e0").wMass, 79.5)
        // `refold generate --set NAME=VALUE`, applied in order.
        let set = try ZWParameters().setting(["m_W=81", "angular_B = 0.5", "m_W=82"])
        XCTAssertEqual(set.wMass, 82); XCTAssertEqual(set.angularB, 0.5)
        XCTAssertThrowsError(try ZWParameters().setting(["m_W"])) { XCTAssertTrue("\($0)".contains("NAME=VALUE"), "\($0)") }
        XCTAssertNoThrow(try ZWParameters().validated())
        XCTAssertThrowsError(try ZWParameters().setting(["Gamma_W=0"]).validated()) { XCTAssertTrue("\($0)".contains("Gamma_W"), "\($0)") }
        XCTAssertThrowsError(try ZWParameters().setting(["m_Wprime=100", "Gamma_Wprime=1"]).validated()) { XCTAssertTrue("\($0)".contains("m_Wprime"), "\($0)") }
        XCTAssertThrowsError(try ZWParameters().setting(["m_W=abc"])) { XCTAssertTrue("\($0)".contains("m_W") && "\($0)".contains("'abc'"), "\($0)") }
    }

    /// An unknown name lists the valid names; a value that is not a finite number names key and value.
    func testSettingRejectsUnknownNamesAndNonNumbers() {
        XCTAssertThrowsError(try ZWParameters().setting("w_mass", to: "80")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("w_mass") && message.contains("m_W") && message.contains("angular_B"), message)
        }
        for bad in ["eighty", "", "nan", "inf"] {
            XCTAssertThrowsError(try ZWParameters().setting("m_W", to: bad)) { error in
                XCTAssertTrue("\(error)".contains("m_W") && "\(error)".contains("'\(bad)'"), "\(error)")
            }
        }
    }
}
