import Flows
import Foundation
import Inference
import Physics
import Tensor
import TestSupport
import XCTest

/// The learned transfer density against the closed-form one on held-out pairs. The analytic W is
/// the true density of the simulation, so for any normalised learned density q the mean of
/// d = log W - log q over pairs drawn from W estimates KL(W || q) >= 0 (Gibbs): a learned density
/// that "beats" the truth by more than the noise sd(d) / sqrt(N) has a wrong normalisation or
/// Jacobian; a mean above the stated bound means the flow learned the response poorly.
final class LearnedTransferTests: XCTestCase {
    static let simulation = ZWSimulation(ColliderConfiguration(process: .zw))

    /// 20,000 training events (40,000 jets), 8 epochs of batch 256, seed 5; 2,000 held-out events (seed 77).
    /// Jets of quarks with pT > 40 GeV and |eta| < eta_max - 0.3, where the recording probability
    /// is 1 to better than 1e-4 (the flow is normalised over recorded jets): KL per jet in
    /// [-4 sigma, 0.25 nats]. Leptons (the pair, efficiencies taken out of the analytic one):
    /// KL in [-4 sigma, 0.25 nats]. The lower bound is statistical (N about 2,000, sigma about
    /// 0.01); the upper one a quality bound, measured when written: jets 0.065 +- 0.009, lepton
    /// pair 0.110 +- 0.010 nats (with batch 1,024, a quarter of the steps, the lepton pair was 0.50).
    func testLearnedResponseAgreesWithTheAnalyticOnHeldOutPairs() throws {
        let training = Self.simulation.accepted(20_000, RNGStream(seed: 5).child("training")).events.map { (hard: $0.hard, detector: $0.detector) }
        let (learned, history) = try LearnedTransfer.train(events: training, matching: Self.simulation.detector,
                                                           training: TrainingConfig(epochs: 8, batchSize: 256, learningRate: 1e-3, weightDecay: 0, schedule: .cosine),
                                                           seed: 5)
        XCTAssertEqual(history.count, 16, "8 epochs of the jet flow and 8 of the lepton flow")
        let analytic = try TransferDensity(detector: Self.simulation.detector)
        let card = Self.simulation.detector.card
        let heldOut = Self.simulation.accepted(2_000, RNGStream(seed: 77)).events.filter { $0.detector.jets.count == 2 }
        var jets: [FourMomentum] = [], partons: [FourMomentum] = []
        var leptonDifferences: [Double] = []
        for e in heldOut {
            guard let (j1, j2) = Self.simulation.detector.match(quarks: (e.hard.quark1, e.hard.quark2), jets: e.detector.jets) else { continue }
            for (q, j) in [(e.hard.quark1, e.detector.jets[j1]), (e.hard.quark2, e.detector.jets[j2])]
            where q.pT > 40 && abs(q.eta) < card.jetMaximumEta - 0.3 { jets.append(j); partons.append(q) }
            let response = e.hard.flavour == .electron ? card.electron : card.muon
            let r1 = try XCTUnwrap(response.region(abs(e.hard.leptonMinus.eta))), r2 = try XCTUnwrap(response.region(abs(e.hard.leptonPlus.eta)))
            let exact = analytic.logLeptonDensity(e.detector.leptonMinus, given: e.hard.leptonMinus, e.hard.flavour)
                + analytic.logLeptonDensity(e.detector.leptonPlus, given: e.hard.leptonPlus, e.hard.flavour)
                - log(response.efficiency[r1]) - log(response.efficiency[r2])
            leptonDifferences.append(exact - learned.logLeptonDensities(e.detector, given: [e.hard])[0])
        }
        let learnedJets = learned.logJetDensities(jets, given: partons)
        let jetDifferences = jets.indices.map { analytic.logJetDensity(jets[$0], given: partons[$0]) - learnedJets[$0] }
        XCTAssertGreaterThan(jetDifferences.count, 1_500, "held-out jets above 40 GeV")
        for (name, d) in [("jet", jetDifferences), ("lepton pair", leptonDifferences)] {
            XCTAssertTrue(d.allSatisfy(\.isFinite), "\(name): every held-out pair has a finite learned and analytic density")
            let n = Double(d.count), mean = d.reduce(0, +) / n
            let sigma = (d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) / n).squareRoot()
            print("learned transfer, \(name): KL estimate \(mean) ± \(sigma) nats over \(d.count) held-out pairs")
            XCTAssertGreaterThan(mean, -4 * sigma, "\(name): KL(W || W_learned) estimate \(mean) below -4 sigma (\(sigma), N = \(d.count)): the learned density beats the truth, a normalisation error")
            XCTAssertLessThan(mean, 0.25, "\(name): KL(W || W_learned) \(mean) ± \(sigma) nats, expected below 0.25")
        }
    }

    /// The folder round trip: `write` then `read` gives the same log densities, and a folder of
    /// another kind is refused naming the file.
    func testModelFolderRoundTrip() throws {
        let training = Self.simulation.accepted(1_500, RNGStream(seed: 9)).events.map { (hard: $0.hard, detector: $0.detector) }
        let (learned, _) = try LearnedTransfer.train(events: training, matching: Self.simulation.detector,
                                                     training: TrainingConfig(epochs: 1, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine), seed: 3)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("learned-transfer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try learned.write(to: folder)
        let back = try LearnedTransfer.read(from: folder)
        let events = training.prefix(20)
        for e in events where e.detector.jets.count == 2 {
            let a = learned.logDensities(e.detector, given: [e.hard])[0], b = back.logDensities(e.detector, given: [e.hard])[0]
            XCTAssertEqual(a, b, "log W_learned after the round trip")
        }
        let description = folder.appendingPathComponent(LearnedTransfer.descriptionFile)
        let text = try String(contentsOf: description, encoding: .utf8).replacingOccurrences(of: "mem-learned-transfer", with: "mem-proposal")
        try text.write(to: description, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LearnedTransfer.read(from: folder)) { error in
            XCTAssertTrue("\(error)".contains(LearnedTransfer.descriptionFile), "the error names the file: \(error)")
        }
    }
}
