import Foundation
import XCTest
import Flows
import Physics
@testable import Unfolders
import TestSupport

/// Issue [realism] 4: the cINN copies a parton coordinate from the detector only when the training
/// pairs show the detector measures it exactly (`CopyDecision`, recorded in config.json); every
/// other coordinate is sampled. And nothing assumes quarks near the jet threshold: quarks far
/// softer than it pass the coordinate maps, the support and the unfolding.
final class CopyRuleTests: XCTestCase {
    func zwSample(_ events: Int, seed: UInt64) throws -> EventSample {
        try generateColliderSample(ColliderConfiguration(process: .zw), events: events, rng: RNGStream(seed: seed))
    }

    /// The rule on hand-made pairs: max over events of |x_p - x_d| / max(1, |x_d|) at most 1e-6.
    func testRuleOnHandMadePairs() throws {
        let columns = ["pT_l-", "eta_l-", "phi_l-", "eta_l+", "eta_q1"]
        let parton = EventSample.Block(columns: columns, rows: 3, values: [
            40, 0.3, 1.1, -2.0, 0.5,
            60, -1.2, -0.7, 0.1, 1.5,
            90, 2.1, 3.0, 1.3, -0.5,
        ])
        var detector = parton
        detector.columns = ["pT_l-", "eta_l-", "phi_l-", "eta_l+", "eta_j1"]
        for i in 0..<3 {
            detector.values[i * 5] *= 1.02                                                // pT smeared by 2 %
            detector.values[i * 5 + 2] = Double(Float(detector.values[i * 5 + 2]))       // phi stored as float32
        }
        detector.values[1 * 5 + 3] += 1e-4                                                // one event's eta_l+ moved by 1e-4
        detector.values[2 * 5 + 2] -= 2 * Double.pi                                       // phi 3.0 as 3.0 - 2 pi: the same direction
        let decision = CopyDecision.fit(parton, detector)
        XCTAssertEqual(decision.tolerance, 1e-6)
        XCTAssertEqual(decision.checks.map(\.column), ["pT_l-", "eta_l-", "phi_l-", "eta_l+"], "eta_q1 has no detector column")
        XCTAssertEqual(decision.copied, ["eta_l-", "phi_l-"])
        let deviation = Dictionary(uniqueKeysWithValues: decision.checks.map { ($0.column, $0.maxDeviation) })
        XCTAssertEqual(deviation["eta_l-"], 0)
        XCTAssertLessThan(deviation["phi_l-"]!, 1e-7, "float32 round-off: 2^-24 relative at most")
        XCTAssertEqual(deviation["eta_l+"]!, 1e-4, accuracy: 1e-12)
        XCTAssertEqual(deviation["pT_l-"]!, 0.02 / 1.02, accuracy: 1e-12)
    }

    /// Refold's detector measures the lepton directions exactly: copied. A chain whose leptons
    /// radiate (here each detector lepton eta moved by a Gaussian 0.01) gets them sampled, and the
    /// decision travels in config.json to the loaded model.
    func testTrainedModelsCopyOnlyWhatTheirSampleMeasuresExactly() throws {
        var network = try UnfoldingNetwork.preset(.cinn, profile: .quick)
        network.training.epochs = 1
        network.cinn?.unitsPerLayer = 32
        let sample = try zwSample(600, seed: 71)
        let exact = try UnfoldingModel.train(sample: sample, request: UnfoldingTrainingRequest(network: network, seed: 72), out: temporaryFolder())
        XCTAssertEqual(exact.config.copiedColumns, ["eta_l-", "phi_l-", "eta_l+", "phi_l+"])
        XCTAssertEqual(exact.config.copyDecision?.copied, exact.config.copiedColumns)
        XCTAssertEqual(exact.config.copyDecision?.checks.map(\.column), ["pT_l-", "eta_l-", "phi_l-", "pT_l+", "eta_l+", "phi_l+"])

        var radiating = sample
        let rng = RNGStream(seed: 73)
        for name in ["eta_l-", "eta_l+"] {
            let j = radiating.detector!.index(of: name)!
            for i in 0..<radiating.count { radiating.detector!.values[i * radiating.detector!.columns.count + j] += 0.01 * rng.normal(mean: 0, std: 1) }
        }
        let folder = temporaryFolder()
        let sampled = try UnfoldingModel.train(sample: radiating, request: UnfoldingTrainingRequest(network: network, seed: 72), out: folder)
        XCTAssertEqual(sampled.config.copiedColumns, ["phi_l-", "phi_l+"])
        XCTAssertTrue(sampled.config.modelledColumns.contains("eta_l-"))
        let loaded = try UnfoldingModel.load(from: folder)
        XCTAssertEqual(loaded.config.copyDecision, sampled.config.copyDecision)
        let rule = try XCTUnwrap(loaded.describe().first { $0.hasPrefix("copy rule") })
        // The azimuths in the l- frame agree to round-off (4e-16), the smeared eta by 0.03.
        XCTAssertTrue(rule.contains("<= 1e-06") && rule.contains("eta_l- 0.0") && rule.components(separatedBy: " copied").count == 3, rule)
        let u = try loaded.unfold(detector: radiating.detector!.rows(0..<20), njets: nil, samples: 8, rng: RNGStream(seed: 74))
        let j = u.columns.firstIndex(of: "eta_l-")!
        let spread = (0..<20).map { i in
            let values = (0..<8).map { u[event: i, sample: $0, column: j] }
            return values.max()! - values.min()!
        }
        XCTAssertGreaterThan(spread.min()!, 0, "eta_l- is sampled: its K samples differ in every event")
    }

    /// Quarks at 0.05-2 GeV, far below the 25 GeV jet threshold (the jets then come from other
    /// radiation in a real chain): the mass-ratio coordinates and the feature map invert them to
    /// 1e-9, the training support contains them, and a cINN trained on such a sample unfolds
    /// events with finite values and soft quarks inside its support.
    func testQuarksFarBelowTheJetThreshold() throws {
        var sample = try zwSample(600, seed: 75)
        var parton = sample.parton!
        let pT2 = parton.index(of: "pT_q2")!, d = parton.columns.count
        let rng = RNGStream(seed: 76)
        for i in stride(from: 0, to: parton.rows, by: 4) { parton.values[i * d + pT2] = 0.05 + 1.95 * rng.uniform() }
        sample.parton = parton
        let softest = (0..<parton.rows).map { parton[$0, pT2] }.min()!
        XCTAssertLessThan(softest, 0.1)

        let coordinate = try XCTUnwrap(PairMassCoordinate.fit(parton, leading: "q1", subleading: "q2", replacesLeading: true,
                                                             column: "m_jj", modelsRatio: true))
        let back = try coordinate.inverse(try coordinate.forward(parton))
        // The quantile maps clamp in their outer intervals (1 of 400 at each end, as for any sample).
        let invertible = (0..<parton.rows).filter { coordinate.isExactlyInvertible(parton, row: $0) }
        let softRows = (0..<parton.rows).filter { parton[$0, pT2] < 2.1 }
        XCTAssertGreaterThanOrEqual(Set(softRows).intersection(invertible).count, softRows.count - 3, "soft quarks are interior points of the maps")
        for i in invertible { for j in 0..<d { assertClose(back[i, j], parton[i, j], rel: 1e-9, abs: 1e-9, "row \(i) \(parton.columns[j])") } }
        let map = try FeatureMap.fit(parton)
        let events = try map.events(try map.features(parton))
        for (a, b) in zip(events.values, parton.values) { assertClose(a, b, rel: 1e-9, abs: 1e-12, "feature map") }

        var network = try UnfoldingNetwork.preset(.cinn, profile: .quick)
        network.training.epochs = 1
        network.cinn?.unitsPerLayer = 32
        let model = try UnfoldingModel.train(sample: sample, request: UnfoldingTrainingRequest(network: network, seed: 77), out: temporaryFolder())
        let support = try XCTUnwrap(model.config.support)
        XCTAssertEqual(support.ranges.first { $0.column == "pT_q2" }?.lower, softest)
        let soft = (0..<parton.rows).filter { parton[$0, pT2] < 2.1 }.prefix(20)
        let u = try model.unfold(detector: sample.detector!.rows(Array(soft)), njets: nil, samples: 10, rng: RNGStream(seed: 78))
        XCTAssertTrue(u.values.allSatisfy(\.isFinite))
        XCTAssertEqual(u.outsideSupport, 0)
        XCTAssertEqual(try support.violations(u.block), [])
    }

    /// `angleResiduals`: the listed particles' sampled angles become residuals to their detector
    /// objects (the quarks' to the jets; a lepton's once radiation makes it sampled, while the
    /// copied l+ needs none), recorded in config.json, and unfolding maps them back next to the
    /// jets: every sample finite and inside the support. A particle with no such angle is an error.
    func testAngleResidualsTrainAndUnfold() throws {
        var network = try UnfoldingNetwork.preset(.cinn, profile: .quick)
        network.training.epochs = 1
        network.cinn?.unitsPerLayer = 32
        var sample = try zwSample(600, seed: 79)
        let rng = RNGStream(seed: 80)
        let j = sample.detector!.index(of: "eta_l-")!
        for i in 0..<sample.count { sample.detector!.values[i * sample.detector!.columns.count + j] += 0.01 * rng.normal(mean: 0, std: 1) }
        var request = UnfoldingTrainingRequest(network: network, seed: 81)
        request.angleResiduals = ["l-", "l+", "q1", "q2"]
        let folder = temporaryFolder()
        let model = try UnfoldingModel.train(sample: sample, request: request, out: folder)
        let residuals = try XCTUnwrap(model.config.angleResiduals?.residuals)
        XCTAssertEqual(residuals.map(\.parton), ["eta_l-", "eta_q1", "phi_q1", "eta_q2", "phi_q2"])
        XCTAssertEqual(residuals.map(\.detector), ["eta_l-", "eta_j1", "phi_j1", "eta_j2", "phi_j2"])
        XCTAssertTrue(model.config.networkColumns.contains("g(eta_q1-eta_j1)"), "\(model.config.networkColumns)")
        XCTAssertFalse(model.config.networkColumns.contains("eta_q1"))

        var typo = request
        typo.angleResiduals = ["q3"]
        XCTAssertThrowsError(try UnfoldingModel.train(sample: sample, request: typo, out: temporaryFolder())) { error in
            XCTAssertTrue("\(error)".contains("angle residuals of q3"), "\(error)")
        }
        var quarks = request
        quarks.angleResiduals = ["q2"]
        quarks.pairOrder = .jetMatched
        let only = try UnfoldingModel.train(sample: sample, request: quarks, out: temporaryFolder())
        XCTAssertEqual(only.config.angleResiduals?.residuals.map(\.parton), ["eta_q2", "phi_q2"])
        XCTAssertNotNil(only.config.jetMatchedPair)
        // The network's pair is jet-ordered; its samples come back pT-ordered.
        let matchedSamples = try only.unfold(detector: sample.detector!.rows(0..<50), njets: nil, samples: 6, rng: RNGStream(seed: 83))
        let pT1 = matchedSamples.columns.firstIndex(of: "pT_q1")!, pT2 = matchedSamples.columns.firstIndex(of: "pT_q2")!
        for i in 0..<50 { for k in 0..<6 { XCTAssertGreaterThanOrEqual(matchedSamples[event: i, sample: k, column: pT1], matchedSamples[event: i, sample: k, column: pT2]) } }

        let loaded = try UnfoldingModel.load(from: folder)
        XCTAssertEqual(loaded.config.angleResiduals, model.config.angleResiduals)
        // The network features of the training pairs map back to the pairs' own angles.
        let events = sample.detector!.rows(0..<50), truth = sample.parton!.rows(0..<50)
        let features = try loaded.partonTensor(truth, detector: events)
        XCTAssertTrue(features.storage.allSatisfy(\.isFinite))
        let u = try loaded.unfold(detector: events, njets: nil, samples: 6, rng: RNGStream(seed: 82))
        XCTAssertTrue(u.values.allSatisfy(\.isFinite))
        XCTAssertEqual(u.outsideSupport, 0)
        // Each sample's quark direction lies within the residual map's fitted range of its own
        // event's jet (the map's ends bound what it can give back).
        let eta = u.columns.firstIndex(of: "eta_q1")!, jet = events.index(of: "eta_j1")!
        let range = residuals[1].map.knots
        for i in 0..<50 {
            for k in 0..<6 {
                let r = u[event: i, sample: k, column: eta] - events[i, jet]
                XCTAssertTrue(r >= range.first! - 1e-9 && r <= range.last! + 1e-9, "event \(i) sample \(k): residual \(r)")
            }
        }
    }
}
