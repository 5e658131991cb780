import Foundation
import XCTest
import Physics
import Tensor
import TestSupport

/// The particle-level samples of the precision generators: Z -> mu mu + jets and ttbar -> 6 partons.
final class PrecisionSampleTests: XCTestCase {
    private func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

    /// The median of a relativistic Breit-Wigner truncated to [low, high]: theta halfway between the
    /// images of the window, m^2 = M^2 + M Gamma tan(theta).
    private func breitWignerMedian(mass m: Double, width g: Double, low: Double, high: Double) -> Double {
        let a = atan((low * low - m * m) / (m * g)), b = atan((high * high - m * m) / (m * g))
        return (m * m + m * g * tan(0.5 * (a + b))).squareRoot()
    }

    /// |sum px| and |sum py| relative to the scalar pT sum.
    private func imbalance(_ particles: [FourMomentum]) -> Double {
        let sum = particles.reduce(FourMomentum.zero, +)
        return max(abs(sum.px), abs(sum.py)) / particles.map(\.pT).reduce(0, +)
    }

    /// Z + jets, N = 20k, seed 41: m_mumu median at the truncated Breit-Wigner's (statistical error
    /// pi Gamma / (4 sqrt N) = 0.014 GeV; the jet requirement tilts the spectrum by about 0.4 % per
    /// GeV, which moves the median by about 0.02 GeV; tolerance 0.1 GeV), exact pT balance of muons
    /// and jets, every jet above 20 GeV, every jet pair beyond Delta R = 0.4, jets by descending pT,
    /// all three multiplicities populated.
    func testZJetsPeakBalanceAndSeparation() throws {
        let production = try ZJetsProduction()
        let rng = RNGStream(seed: 41)
        var masses: [Double] = [], counts = [0, 0, 0]
        for _ in 0..<20_000 {
            guard let e = production.trial(rng) else { continue }
            masses.append(e.mMuMu)
            counts[e.jets.count - 1] += 1
            XCTAssertLessThan(imbalance([e.muMinus, e.muPlus] + e.jets), 1e-9, "pT balance, seed 41")
            XCTAssertTrue(e.jets.allSatisfy { $0.pT >= 20 }, "jet threshold, seed 41")
            XCTAssertTrue(e.jetSeparations.allSatisfy { $0 > 0.4 }, "Delta R > R_min, seed 41: \(e.jetSeparations)")
            XCTAssertEqual(e.jets.map(\.pT), e.jets.map(\.pT).sorted(by: >), "pT order, seed 41")
        }
        let expected = breitWignerMedian(mass: 91.1876, width: 2.4952, low: 60, high: 120)
        XCTAssertEqual(median(masses), expected, accuracy: 0.1, "m_mumu median, seed 41")
        let fractions = counts.map { Double($0) / Double(masses.count) }
        XCTAssertTrue(fractions.allSatisfy { $0 > 0.1 }, "1/2/3-jet fractions \(fractions), seed 41")
        XCTAssertGreaterThan(fractions[0], fractions[2], "fewer 3-jet than 1-jet events, seed 41")
    }

    /// The written sample reads back with its columns, multiplicities and events.
    func testZJetsSampleRoundTrip() throws {
        let sample = try ZJetsProduction().sample(events: 500, rng: RNGStream(seed: 42))
        let folder = temporaryFolder()
        try sample.write(to: folder)
        let back = try EventSample.read(from: folder)
        XCTAssertEqual(back.events?.columns, ZJetsProduction.columns(jets: 3))
        XCTAssertEqual(back.njets, sample.njets)
        XCTAssertLessThan(sample.selectionEfficiency, 1)
        for i in 0..<back.count {
            XCTAssertEqual(try ZJetsProduction.event(back.events!, row: i).jets.count, back.njets![i], "row \(i), seed 42")
        }
    }

    /// Event -> coordinates -> event is the identity (mu- azimuth given back), for every multiplicity.
    func testZJetsCoordinatesRoundTrip() throws {
        let production = try ZJetsProduction()
        let rng = RNGStream(seed: 43)
        var checked = [0, 0, 0]
        while checked.min()! < 20 {
            guard let e = production.trial(rng) else { continue }
            checked[e.jets.count - 1] += 1
            let map = try ZJetsCoordinates(jets: e.jets.count, jetMinimumPT: 20)
            let x = try map.coordinates(e)
            XCTAssertEqual(x.count, map.dimension)
            let back = map.event(x[...], phi0: e.muMinus.phi)
            for (a, b) in zip([e.muMinus, e.muPlus] + e.jets, [back.muMinus, back.muPlus] + back.jets) {
                for (u, v) in [(a.px, b.px), (a.py, b.py), (a.pz, b.pz), (a.e, b.e)] { assertClose(u, v, rel: 1e-6, abs: 1e-6) }
            }
        }
    }

    /// f = (Delta R - R-) / (R+ - R-) clamped to [0, 1], the product over pairs, and 1/f with 0 below R-.
    func testSeparationWeight() throws {
        let f = try SeparationWeight(lower: 0.4, upper: 1.2)
        XCTAssertEqual(f.pair(0.3), 0)
        XCTAssertEqual(f.pair(0.8), 0.5, accuracy: 1e-12)
        XCTAssertEqual(f.pair(2), 1)
        XCTAssertEqual(f.event([0.8, 0.6, 3]), 0.5 * 0.25, accuracy: 1e-12)
        XCTAssertEqual(f.inverse([0.8, 0.6]), 8, accuracy: 1e-12)
        XCTAssertEqual(f.inverse([0.8, 0.39]), 0)
        XCTAssertEqual(f.event([]), 1)
        XCTAssertThrowsError(try SeparationWeight(lower: 1, upper: 0.5))
    }

    /// ttbar, N = 20k, seed 44: m(b q1 q2) and m(bbar q3 q4) medians at the truncated top
    /// Breit-Wigner's, m(q1 q2) and m(q3 q4) at the W's (statistical error pi Gamma / (4 sqrt N):
    /// 0.008 GeV for the top, 0.012 GeV for the W; tolerance 5 sigma), the six partons balance in
    /// pT, the W daughters are pT ordered.
    func testTTbarPeaksAndBalance() throws {
        let production = try TTbarProduction()
        let rng = RNGStream(seed: 44)
        let n = 20_000
        var tops: [Double] = [], ws: [Double] = []
        for _ in 0..<n {
            let e = production.generate(rng)
            tops += [e.top.mass, e.antitop.mass]
            ws += [e.wPlus.mass, e.wMinus.mass]
            XCTAssertLessThan(imbalance(e.partons), 1e-9, "pT balance, seed 44")
            XCTAssertGreaterThanOrEqual(e.q1.pT, e.q2.pT)
            XCTAssertGreaterThanOrEqual(e.q3.pT, e.q4.pT)
        }
        let p = TTbarParameters()
        let sigmaTop = Double.pi * p.topWidth / (4 * Double(2 * n).squareRoot())
        let sigmaW = Double.pi * p.wWidth / (4 * Double(2 * n).squareRoot())
        XCTAssertEqual(median(tops), breitWignerMedian(mass: p.topMass, width: p.topWidth, low: p.topMass - 15 * p.topWidth, high: p.topMass + 15 * p.topWidth),
                       accuracy: 5 * sigmaTop, "m_t median, seed 44")
        XCTAssertEqual(median(ws), breitWignerMedian(mass: p.wMass, width: p.wWidth, low: p.wMass - 15 * p.wWidth, high: p.wMass + 15 * p.wWidth),
                       accuracy: 5 * sigmaW, "m_W median, seed 44")
    }

    /// The ttbar sample has 18 columns (pT, eta, phi of b, q1, q2, bbar, q3, q4) and rebuilds m_t.
    func testTTbarSampleColumns() throws {
        let sample = try TTbarProduction().sample(events: 200, rng: RNGStream(seed: 45))
        let block = try XCTUnwrap(sample.events)
        XCTAssertEqual(block.columns.count, 18)
        for i in 0..<block.rows {
            let top = ["b", "q1", "q2"].compactMap { block.momentum($0, row: i) }.reduce(FourMomentum.zero, +)
            XCTAssertEqual(top.mass, 172.5, accuracy: 15 * 1.42 + 1e-6, "row \(i), seed 45")
        }
        var wrong = TTbarParameters()
        wrong.topMass = 100
        XCTAssertThrowsError(try TTbarProduction(parameters: wrong))
    }
}

extension PrecisionSampleTests {
    /// ttbar event -> 17 coordinates -> event is the identity (b azimuth given back).
    func testTTbarCoordinatesRoundTrip() throws {
        let production = try TTbarProduction()
        let rng = RNGStream(seed: 46)
        for _ in 0..<50 {
            let e = production.generate(rng)
            let x = TTbarCoordinates.coordinates(e)
            XCTAssertEqual(x.count, TTbarCoordinates.dimension)
            let back = TTbarCoordinates.event(x[...], phi0: e.b.phi)
            for (a, b) in zip(e.partons, back.partons) {
                for (u, v) in [(a.px, b.px), (a.py, b.py), (a.pz, b.pz), (a.e, b.e)] { assertClose(u, v, rel: 1e-6, abs: 1e-6) }
            }
        }
    }
}
