import XCTest
import Physics
import Tensor
import TestSupport

final class DetectorCardTests: XCTestCase {
    private var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testShippedCardEqualsDefaults() throws {
        XCTAssertEqual(try DetectorCard.load(from: repository.appendingPathComponent("Toys/detector-atlas.toml")), DetectorCard.atlas)
    }

    func testOverridesAndErrors() throws {
        let card = try DetectorCard.parse("[jet]\nminimum_pT = 30\nmaximum_jets = 5\n[electron]\nefficiency = [1, 1, 0.5]\n")
        XCTAssertEqual(card.jetMinimumPT, 30); XCTAssertEqual(card.maximumJets, 5); XCTAssertEqual(card.electron.efficiency, [1, 1, 0.5])
        XCTAssertThrowsError(try DetectorCard.parse("[jet]\nminimum_pt = 30\n", path: "card.toml")) {
            XCTAssertTrue("\($0)".contains("card.toml") && "\($0)".contains("jet.minimum_pt"), "\($0)")
        }
        XCTAssertThrowsError(try DetectorCard.parse("[muon]\nmass = \"heavy\"\n", path: "card.toml")) {
            XCTAssertTrue("\($0)".contains("card.toml") && "\($0)".contains("muon.mass") && "\($0)".contains("number"), "\($0)")
        }
        XCTAssertThrowsError(try DetectorCard.parse("[electron]\nefficiency = [0.9]\n", path: "card.toml")) {
            XCTAssertTrue("\($0)".contains("electron.efficiency") && "\($0)".contains("3 entries"), "\($0)")
        }
    }

    /// Electrons with |eta| <= 0.5: the pull (pT_reco / pT - 1) / sqrt(a^2 + pT^2 b^2) has unit
    /// width; for N accepted leptons the width's standard error is 1/sqrt(2N): assert 3 sigma.
    func testLeptonResolutionMatchesCard() {
        let detector = FastDetector()
        let rng = RNGStream(seed: 21)
        var pulls: [Double] = []
        for _ in 0..<20_000 {
            let pt = rng.uniform(20, 200)
            let truth = FourMomentum(pT: pt, eta: rng.uniform(-0.5, 0.5), phi: rng.uniform(-.pi, .pi))
            guard let reco = detector.lepton(truth, .electron, rng) else { continue }
            let sigma = (0.03 * 0.03 + pt * pt * 1.3e-3 * 1.3e-3).squareRoot()
            pulls.append((reco.pT / pt - 1) / sigma)
        }
        let n = Double(pulls.count), mean = pulls.reduce(0, +) / n
        let width = (pulls.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
        XCTAssertEqual(width, 1, accuracy: 3 / (2 * n).squareRoot(), "seed 21, N \(pulls.count)")
        XCTAssertEqual(mean, 0, accuracy: 3 / n.squareRoot(), "seed 21")
        // Efficiency 0.95 in this region: binomial 3 sigma.
        XCTAssertEqual(n / 20_000, 0.95, accuracy: 3 * (0.95 * 0.05 / 20_000).squareRoot(), "seed 21")
    }

    func testAntiKTMergesWithinRadius() {
        let a = FourMomentum(pT: 50, eta: 0, phi: 0), b = FourMomentum(pT: 20, eta: 0.3, phi: 0.3), c = FourMomentum(pT: 30, eta: 0, phi: 2)
        let jets = FastDetector.antiKT([a, b, c], radius: 0.6).sorted { $0.pT > $1.pT }
        XCTAssertEqual(jets.count, 2)
        assertClose(jets[0].px, (a + b).px, rel: 1e-12); assertClose(jets[1].pT, 30, rel: 1e-12)
        XCTAssertEqual(FastDetector.antiKT([a, b, c], radius: 0.4).count, 3)
    }
}
