import Config
import Foundation
import XCTest
import Studies
import TestSupport
import Validation

/// The three ZW studies at a test size (a few thousand events, a few epochs, seed 2026): each
/// runs end to end, measures every gate of its spec and writes its plots. The bounds are loose
/// versions of the spec's gates, set from the statistics of the small size (stated per test).
final class ZWStudyTests: XCTestCase {
    func run(_ file: String, seed: UInt64 = 2026, adjust: (inout StudySpec) -> Void) throws -> (StudyResult, URL) {
        let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Toys/\(file)")
        var spec = try XCTUnwrap(StudySpec.load(toys).first)
        adjust(&spec)
        let registry = StudyCatalog.registry()
        let folder = temporaryFolder(file)
        let (result, _) = registry.run(StudyContext(spec: spec, profile: .quick, seed: seed, folder: folder))
        if case .error(let message) = result.status { XCTFail("\(file), seed \(seed): \(message)") }
        for gate in result.gates { XCTAssertTrue(gate.value.isFinite, "\(file) gate \(gate.name) not measured (seed \(seed))") }
        return (result, folder)
    }

    func small(_ spec: inout StudySpec, events: Int, testEvents: Int, epochs: Int, samples: Int) {
        var o = spec.profiles[.quick] ?? ProfileSettings(generator: spec.generator, network: spec.network)
        o.generator.events = events; o.generator.testEvents = testEvents
        o.network.set("training", "epochs", .int(epochs)); o.network.samplesPerEvent = samples; o.network.calibrationEvents = testEvents
        spec.profiles[.quick] = o
    }

    /// 6000 training events, 6 epochs (64 units), 1500 test events x 20 samples. Calibration
    /// floor 1.95/sqrt(1500) = 0.05 over 12 coordinates; the modelled coordinates of an
    /// undertrained cINN sit near it, the derived pT_q1 (m_jj is the network's coordinate) is worst
    /// (measured 0.28 at this size, 0.05 at the quick size); broken units put the truth outside
    /// every posterior: 0.5.
    func testZWDetectorStudy() throws {
        let (result, folder) = try run("zw-detector.toml") { spec in
            small(&spec, events: 6000, testEvents: 1500, epochs: 6, samples: 20)
            spec.profiles[.quick]?.network.set("cinn", "units_per_layer", .int(64))
            spec.profiles[.quick]?.network.parameters["compare"] = .strings(["inn"])
            spec.profiles[.quick]?.network.parameters["compare_training_events"] = .int(600)
            spec.profiles[.quick]?.network.parameters["compare_events"] = .int(300)
            spec.profiles[.quick]?.network.parameters["compare_epochs"] = .int(1)
        }
        XCTAssertEqual(Set(result.gates.map(\.name)), ["pT_q1-max-deviation", "pT_q2-max-deviation", "m_jj-max-deviation",
                                                       "dphi_jj-max-deviation", "calibration-quick", "calibration"])
        // The paper's calibration gate is measured with the same value and shown as not gated.
        XCTAssertEqual(result.gates.first { $0.name == "calibration" }?.verdict, .notGated)
        XCTAssertEqual(result.measurements["calibration"], result.measurements["calibration-quick"])
        for (name, m) in result.measurements { XCTAssertTrue(m.noise.isFinite && m.noise > 0, "\(name) noise \(m.noise)") }
        XCTAssertLessThan(result.measurements["calibration-quick"]!.value, 0.4, "seed 2026")
        // 6 epochs on 6000 events: the spectra are far from the gate; this only catches broken units.
        XCTAssertLessThan(result.measurements["pT_q1-max-deviation"]!.value, 2, "seed 2026")
        XCTAssertEqual(result.quantities["inn epochs"]?.value, 1)
        XCTAssertNotNil(result.quantities["inn pT_q1 max deviation"])
        assertFigures(result, ["cinn-m_jj", "cinn-calibration-q1", "inn-pT_q1"])
    }

    /// 3000 zw-isr events, 3 epochs (64 units), 800 test events x 10 samples. The spec's decay
    /// coordinates derive the pair's transverse momentum from the leptons, so every unfolded
    /// event balances to rounding (1e-9 of its scalar pT sum; quarks from another event: 0.40),
    /// and m_jj is a coordinate: its median per multiplicity lands within the 3 GeV gate even
    /// this undertrained (measured 0.02, 0.09, 0.24 GeV for 2, 3, 4+ jets; per-quark coordinates
    /// with the MMD gave 7-13 GeV at 16k events).
    func testZWISRStudy() throws {
        let (result, folder) = try run("zw-isr.toml") { spec in
            small(&spec, events: 3000, testEvents: 800, epochs: 3, samples: 10)
            spec.profiles[.quick]?.network.set("cinn", "units_per_layer", .int(64))
        }
        XCTAssertLessThan(result.measurements["transverse-imbalance"]!.value, 1e-9, "seed 2026")
        for jets in ["2j", "3j"] { XCTAssertLessThan(abs(result.measurements["m-jj-median-shift-\(jets)"]!.value), 3, "\(jets), seed 2026") }
        assertFigures(result, ["isr-2j-m_jj"])
    }

    /// 6000 SM events, 5 epochs, 2000 test events with 10 % W' (200 W' events): the fit runs
    /// on truth and unfolded spectra and the truth's peak sits at 1300 GeV within 15 GeV (its
    /// Gaussian sigma ~15 GeV over sqrt(200) events, a 10-sigma bound for fit bias).
    func testWPrimeStudy() throws {
        let (result, folder) = try run("wprime.toml") { small(&$0, events: 6000, testEvents: 2000, epochs: 5, samples: 2) }
        let mu = try XCTUnwrap(result.quantities["truth-peak-mu"])
        XCTAssertEqual(mu.value, 1300, accuracy: 15, "\(mu)")
        assertFigures(result, ["wprime-mzw"])
    }
}
