import Foundation
import XCTest
import Autograd
import Flows
import Physics
@testable import Unfolders
import TestSupport

/// Model folders: train -> config.json + checkpoint -> load -> unfold in physical units, the
/// differentiable m_jj against the four-momentum one, and the column-mismatch error.
final class ZWModelFolderTests: XCTestCase {
    func zwSample(_ events: Int, seed: UInt64, process: ColliderProcess = .zw) throws -> EventSample {
        try generateColliderSample(ColliderConfiguration(process: process), events: events, rng: RNGStream(seed: seed))
    }

    func testTrainLoadUnfoldRoundTrip() throws {
        let sample = try zwSample(1200, seed: 61)
        var network = try UnfoldingNetwork.preset(.cinn, profile: .quick)
        network.training.epochs = 2
        let folder = temporaryFolder()
        let trained = try UnfoldingModel.train(sample: sample, request: UnfoldingTrainingRequest(network: network, seed: 62), out: folder)
        XCTAssertEqual(trained.config.trainingEvents, 1080)
        // m_jj and the pT ratio are network coordinates (PairMassCoordinate), so the cINN needs no m_jj MMD.
        XCTAssertEqual(trained.config.observables, [])
        XCTAssertEqual(trained.config.networkColumns, ["pT_l-", "pT_l+", "g(m_jj)", "eta_q1", "phi_q1", "g(ln(pT_q1/pT_q2))", "eta_q2", "phi_q2"])
        let loaded = try UnfoldingModel.load(from: folder)
        XCTAssertEqual(loaded.config, trained.config)
        for (a, b) in zip(trained.flow.parameters, loaded.flow.parameters) {
            XCTAssertEqual(a.variable.value.storage, b.variable.value.storage, "parameter \(a.name) (seed 62)")
        }
        let detector = sample.detector!.rows(0..<50)
        let u1 = try loaded.unfold(detector: detector, njets: nil, samples: 4, rng: RNGStream(seed: 63))
        let u2 = try trained.unfold(detector: detector, njets: nil, samples: 4, rng: RNGStream(seed: 63))
        XCTAssertEqual(u1.values, u2.values, "same weights, same seed 63: identical samples")
        XCTAssertEqual([u1.events, u1.samplesPerEvent, u1.columns.count], [50, 4, 12])
        XCTAssertEqual(u1.columns, ColliderColumns.parton)
        // Physical units: every pT sample positive (exp of the log feature).
        for j in [0, 3, 6, 9] { for i in 0..<50 { for k in 0..<4 { XCTAssertGreaterThan(u1[event: i, sample: k, column: j], 0) } } }

        // The detector keeps lepton directions: those four columns are copied, not modelled, and the
        // azimuths are measured from the detector-level l- (then rotated back and wrapped).
        XCTAssertEqual(trained.config.azimuthReference, "phi_l-")
        XCTAssertEqual(trained.config.copiedColumns, ["eta_l-", "phi_l-", "eta_l+", "phi_l+"])
        XCTAssertEqual(trained.flow.partonDimension, 8)
        for name in trained.config.copiedColumns! {
            let j = u1.columns.firstIndex(of: name)!, d = detector.index(of: name)!
            for i in 0..<50 { for k in 0..<4 { assertClose(u1[event: i, sample: k, column: j], detector[i, d], rel: 1e-12, abs: 1e-12, name) } }
        }
        for name in ["phi_q1", "phi_q2"] {
            let j = u1.columns.firstIndex(of: name)!
            for i in 0..<50 { for k in 0..<4 { XCTAssertLessThanOrEqual(abs(u1[event: i, sample: k, column: j]), Double.pi, name) } }
        }

        // Two quarks closer than the jet radius (0.6) form one jet: the training pairs start at
        // Delta R >= 0.6. A 2-epoch network's samples outside the training support (that, or a
        // pT or eta beyond its training range) were redrawn until none is left.
        let support = try XCTUnwrap(trained.config.support)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(support.pair).minimum, DetectorCard().jetRadius)
        XCTAssertEqual(support.ranges.map(\.column), ["pT_l-", "pT_l+", "pT_q1", "eta_q1", "pT_q2", "eta_q2"])
        XCTAssertGreaterThan(u1.redrawnSamples, 0, "an untrained flow leaks out of the support (seed 63)")
        XCTAssertEqual(u1.outsideSupport, 0)
        XCTAssertEqual(try support.violations(u1.block), [])

        let wrong = try zwSample(20, seed: 64, process: .zwISR)
        XCTAssertThrowsError(try loaded.unfold(detector: wrong.detector!, njets: wrong.njets, samples: 1, rng: RNGStream(seed: 1))) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("detector columns: expected [\"pT_l-\"") && message.contains("\"m_j4\"]"), message)
        }
    }

    /// m_jj from standardised features through the differentiable inverse map agrees with the
    /// four-momentum mass of massless quarks (Float32: 1e-3 relative).
    func testDifferentiableMassMatchesFourMomenta() throws {
        let sample = try zwSample(200, seed: 65)
        let parton = sample.parton!
        let map = try FeatureMap.fit(parton)
        let observable = try XCTUnwrap(UnfoldingModel.observables(["m_jj", "m_ll"], map: map).first)
        XCTAssertEqual(observable.name, "m_jj")
        let x = Variable(try map.tensor(parton), requiresGrad: true)
        let m = observable.compute(x)
        for i in 0..<parton.rows {
            let expected = Physics.Observable.mJJ.value(parton, row: i)!
            assertClose(Double(m.value.storage[i]), expected, rel: 1e-3, "event \(i) (seed 65)")
        }
        backward(sum(m))
        XCTAssertTrue(x.grad!.storage.allSatisfy(\.isFinite))
    }

    func testISRConditionAppendsOneHotJetCount() throws {
        let sample = try zwSample(400, seed: 66, process: .zwISR)
        var network = try UnfoldingNetwork.preset(.cinnISR, profile: .quick)
        network.training.epochs = 1
        let model = try UnfoldingModel.train(sample: sample, request: UnfoldingTrainingRequest(network: network, seed: 67), out: temporaryFolder())
        XCTAssertEqual(model.flow.detectorDimension, 24 + 3)
        let condition = try model.detectorTensor(sample.detector!, njets: sample.njets)
        for i in 0..<sample.count {
            let slot = min(sample.njets![i], 4) - 2
            XCTAssertEqual((0..<3).map { condition[i, 24 + $0] }, (0..<3).map { $0 == slot ? 1 : 0 }, "event \(i), njets \(sample.njets![i])")
        }
        XCTAssertThrowsError(try model.detectorTensor(sample.detector!, njets: nil)) {
            XCTAssertTrue("\($0)".contains("njets: expected 400 jet counts"), "\($0)")
        }
    }
}
