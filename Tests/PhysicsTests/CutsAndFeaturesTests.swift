import XCTest
import Physics
import Tensor
import TestSupport

final class CutsAndFeaturesTests: XCTestCase {
    /// Cut pass fractions on the zw detector level, seeds 41 and 42 (N = 20k each):
    /// I 0.93, II 0.45, III 0.13, IV 0.42 at this commit. Asserted: the nesting III in II in I
    /// (the windows are nested), agreement between the seeds within 4 binomial sigma of the
    /// difference, and closeness to the thesis' Delphes numbers (0.88, 0.38, 0.14, 0.39) within
    /// 0.1, the accuracy of the toy spectrum.
    func testCutPassFractions() throws {
        let n = 20_000
        let a = try generateColliderSample(ColliderConfiguration(process: .zw), events: n, rng: RNGStream(seed: 41)).detector!
        let b = try generateColliderSample(ColliderConfiguration(process: .zw), events: n, rng: RNGStream(seed: 42)).detector!
        let thesis: [JetCut: Double] = [.I: 0.88, .II: 0.38, .III: 0.14, .IV: 0.39]
        var fractions: [JetCut: Double] = [:]
        for cut in JetCut.allCases {
            let fa = try cut.passFraction(a), fb = try cut.passFraction(b)
            fractions[cut] = fa
            XCTAssertEqual(fa, fb, accuracy: 4 * (2 * fa * (1 - fa) / Double(n)).squareRoot(), "cut \(cut.rawValue), seeds 41/42")
            XCTAssertEqual(fa, thesis[cut]!, accuracy: 0.1, "cut \(cut.rawValue), seed 41")
        }
        XCTAssertLessThan(fractions[.III]!, fractions[.II]!); XCTAssertLessThan(fractions[.II]!, fractions[.I]!)
        // Events passing III pass II, those passing II pass I.
        let m1 = try JetCut.I.mask(a), m2 = try JetCut.II.mask(a), m3 = try JetCut.III.mask(a)
        XCTAssertFalse(zip(m2, m1).contains { $0 && !$1 }); XCTAssertFalse(zip(m3, m2).contains { $0 && !$1 })
    }

    func testFeatureMapRoundTrip() throws {
        let sample = try generateColliderSample(ColliderConfiguration(process: .zwISR), events: 2_000, rng: RNGStream(seed: 43))
        for block in [sample.parton!, sample.detector!] {
            let map = try FeatureMap.fit(block)
            let features = try map.features(block)
            let back = try map.events(features)
            assertAllClose(back.values, block.values, rel: 1e-5, abs: 1e-5, "seed 43")
            // Standardised: column means 0.
            let mean0 = (0..<features.rows).map { features[$0, 0] }.reduce(0, +) / Double(features.rows)
            XCTAssertEqual(mean0, 0, accuracy: 1e-9)
            let url = temporaryFolder().appendingPathComponent("features.json")
            try map.write(to: url)
            XCTAssertEqual(try FeatureMap.read(from: url), map)
        }
        let padded = try FeatureMap.fit(sample.detector!)
        XCTAssertEqual(padded.logOffsets[sample.detector!.index(of: "pT_j4")!], FeatureMap.paddedOffset)
        XCTAssertEqual(padded.logOffsets[sample.detector!.index(of: "pT_j1")!], 0)
    }

    func testSampleFolderRoundTrip() throws {
        let folder = temporaryFolder()
        let sample = try generateColliderSample(ColliderConfiguration(process: .zwISR), events: 500, rng: RNGStream(seed: 44))
        try sample.write(to: folder)
        let back = try EventSample.read(from: folder)
        XCTAssertEqual(back.parton, sample.parton); XCTAssertEqual(back.detector, sample.detector); XCTAssertEqual(back.njets, sample.njets)
        XCTAssertEqual(back.selectionEfficiency, sample.selectionEfficiency)
    }

    private let lhe = Fixtures.zwLHE

    func testLHEReader() throws {
        let events = try LHEReader.parse(lhe)
        XCTAssertEqual(events.count, 1); XCTAssertEqual(events[0].finalState.count, 4); XCTAssertEqual(events[0].weight, 0.25)
        let (block, weights) = try LHEReader.zwPartonLevel(events)
        XCTAssertEqual(block.columns, ColliderColumns.parton); XCTAssertEqual(weights, [0.25])
        XCTAssertEqual(block[0, 0], 50, accuracy: 1e-12)    // pT of the electron
        XCTAssertEqual(block[0, 6], 10, accuracy: 1e-12)    // q1 is the harder quark
        let broken = lhe.replacingOccurrences(of: "+3.0e+01 +4.0e+01", with: "+3.0e+01 abc")
        XCTAssertThrowsError(try LHEReader.parse(broken, path: "zw.lhe")) {
            XCTAssertTrue("\($0)".hasPrefix("zw.lhe:9:"), "\($0)")
        }
        let short = lhe.replacingOccurrences(of: " 6 1 +2.5e-01", with: " 7 1 +2.5e-01")
        XCTAssertThrowsError(try LHEReader.parse(short, path: "zw.lhe")) {
            XCTAssertTrue("\($0)".contains("zw.lhe:13") && "\($0)".contains("expected 7 particle lines"), "\($0)")
        }
    }
}
