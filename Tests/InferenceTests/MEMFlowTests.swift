import XCTest
import Flows
import Inference
import NN
import Physics
import TestSupport

final class MEMFlowTests: XCTestCase {
    /// 1500 zw-isr events (2-4 jets), seed 15; generated once for the class.
    static let sample: EventSample = {
        var configuration = ColliderConfiguration(process: .zwISR)
        configuration.card.maximumJets = 5
        return try! generateColliderSample(configuration, events: 1_500, rng: RNGStream(seed: 15))
    }()

    /// A network small enough for the debug build: D 16 x 1 layer, 3 coupling transforms of 2 x 32.
    static func tiny(epochs: Int, schedule: LearningRateSchedule = .constant) -> MEMFlowConfig {
        var config = MEMFlowConfig.quick
        config.transformer = TransformerConfig(modelDimension: 16, heads: 2, layers: 1, feedForwardDimension: 32, conditionDimension: 8)
        config.flow = SplineFlowConfig(conditioner: .coupling, transforms: 3, layers: 2, units: 32, spline: RationalQuadraticSpline(bins: 8, bound: 5))
        config.regressionUnits = 32
        config.pretraining = TrainingConfig(epochs: 1, batchSize: 256, learningRate: 2e-3, schedule: .constant)
        config.training = TrainingConfig(epochs: epochs, batchSize: 256, learningRate: 2e-3, schedule: schedule)
        return config
    }

    func partons(_ block: EventSample.Block, row i: Int) -> [FourMomentum] {
        (0..<4).map { FourMomentum(pT: block[i, 3 * $0], eta: block[i, 3 * $0 + 1], phi: block[i, 3 * $0 + 2]) }
    }

    /// Truth partons -> y -> partons to 1e-7 relative in pT (eta, phi absolute), with any
    /// azimuth reference; any y in R^10 (here N(0, 3^2)) gives four physical momenta whose
    /// transverse momenta balance to round-off.
    func testCoordinatesRoundTripAndEveryPointIsPhysical() throws {
        let map = try RamboPartonCoordinates()
        let parton = Self.sample.parton!
        for i in 0..<200 {
            let p = partons(parton, row: i), reference = Double(i) * 0.031 - 3
            let back = map.partons(from: map.coordinates(of: p, referencePhi: reference), referencePhi: reference)
            for a in 0..<4 {
                assertClose(back[a].pT, p[a].pT, rel: 1e-7, abs: 1e-9, "pT of parton \(a), event \(i)")
                assertClose(back[a].eta, p[a].eta, rel: 0, abs: 1e-7, "eta of parton \(a), event \(i)")
                assertClose(FourMomentum.wrapPhi(back[a].phi - p[a].phi), 0, rel: 0, abs: 1e-7, "phi of parton \(a), event \(i)")
            }
        }
        let rng = RNGStream(seed: 7)
        for _ in 0..<2_000 {
            let y = (0..<RamboPartonCoordinates.dimension).map { _ in rng.normal(std: 3) }
            let p = map.partons(from: y, referencePhi: rng.uniform(-.pi, .pi))
            XCTAssertTrue(p.allSatisfy { $0.pT > 0 && $0.eta.isFinite && $0.e > 0 && abs($0.mass2) <= 1e-6 * $0.e * $0.e }, "\(y) -> \(p)")
            XCTAssertLessThan(RamboPartonCoordinates.relativeImbalance(p), 1e-12)
            XCTAssertGreaterThanOrEqual(p[2].pT, p[3].pT, "quarks ordered by pT")
            let total = p.reduce(FourMomentum.zero, +)
            XCTAssertLessThanOrEqual(total.e, map.sqrtSHadronic * (1 + 1e-12), "the partonic energy fits the collider")
        }
    }

    /// The logit-RAMBO measure: for y drawn from the logistic density (r, x uniform), q(y) equals
    /// prod_i sigma'(y_i), so E[w / q_phase] = E[exp(logMeasure) / q(y)] = E[w(s_hat)]: the
    /// Jacobian of the logit step is exact, leaving the RAMBO weight (checked against its formula).
    func testLogMeasureIsTheLogitJacobianTimesTheRamboWeight() throws {
        let map = try RamboPartonCoordinates(), rng = RNGStream(seed: 11)
        for _ in 0..<100 {
            let u = (0..<10).map { _ in rng.uniform(0.01, 0.99) }
            let y = u.map { log($0 / (1 - $0)) }
            let logistic = u.reduce(0.0) { $0 + log($1 * (1 - $1)) }
            let sHat = u[8] * u[9] * map.sqrtSHadronic * map.sqrtSHadronic
            assertClose(map.logMeasure(y) - logistic, log(RamboOnDiet.masslessVolume(particles: 4, s: sHat)), rel: 1e-9, abs: 1e-9, "log w")
        }
    }

    /// Tokens ignore empty jet slots: the same events padded to 5 and to 8 jet slots give the
    /// same condition, so a model samples events with more jets than it was trained with.
    func testTokensAreIndependentOfTheNumberOfSlots() throws {
        let detector = Self.sample.detector!.rows(0..<64)
        let slots = (detector.columns.count - 8) / 4
        let extra = 3, wide = ColliderColumns.detector(jets: slots + extra)
        var values: [Double] = []
        for i in 0..<detector.rows { values += (0..<detector.columns.count).map { detector[i, $0] } + [Double](repeating: 0, count: 4 * extra) }
        let padded = EventSample.Block(columns: wide, rows: detector.rows, values: values)
        let a = try MEMFlowTokens.raw(detector, source: "test"), b = try MEMFlowTokens.raw(padded, source: "test")
        let scale = try MEMFlowTokens.fitScale(a.tokens)
        let network = MEMFlowNetwork(config: Self.tiny(epochs: 1), trainingSlots: a.slots, rng: RNGStream(seed: 3))
        let ca = withNoGrad { network.condition(Variable(MEMFlowTokens.tensor(a.tokens, events: detector.rows, slots: a.slots, scale: scale))).value }
        let cb = withNoGrad { network.condition(Variable(MEMFlowTokens.tensor(b.tokens, events: detector.rows, slots: b.slots, scale: scale))).value }
        XCTAssertEqual(b.slots, a.slots + extra)
        assertAllClose(ca.storage.map(Double.init), cb.storage.map(Double.init), rel: 1e-5, abs: 1e-6, "condition with padded slots")
    }

    /// A short training lowers the likelihood loss; the folder reads back to a model that samples
    /// bit for bit like the trained one, with the same seed the same samples, every sample
    /// physical and balanced below 1e-6 relative (in pT, eta, phi as written).
    func testTrainingFolderRoundTripSamplesAndSeed() throws {
        let folder = temporaryFolder()
        var losses: [Double] = []
        let model = try MEMFlowModel.train(sample: Self.sample, config: Self.tiny(epochs: 4, schedule: .cosine), seed: 5, folder: folder,
                                           resume: false, source: "test") { stage, report in
            if stage == .likelihood { losses.append(report.trainLoss) }
        }
        XCTAssertEqual(losses.count, 4)
        XCTAssertLessThan(losses.last!, losses.first! - 0.3, "likelihood loss per epoch \(losses)")
        let read = try MEMFlowModel.read(from: folder)
        XCTAssertEqual(read.description, model.description)
        let detector = Self.sample.detector!.rows(0..<50)
        let a = try model.sample(detector: detector, count: 40, rng: RNGStream(seed: 9), source: "test")
        let b = try read.sample(detector: detector, count: 40, rng: RNGStream(seed: 9), source: "test")
        let c = try read.sample(detector: detector, count: 40, rng: RNGStream(seed: 10), source: "test")
        XCTAssertEqual(a.values, b.values, "same seed, same samples")
        XCTAssertNotEqual(a.values, c.values)
        XCTAssertEqual(a.values.count, 50 * 40 * 12)
        XCTAssertEqual(a.unphysical, 0)
        XCTAssertTrue(a.values.allSatisfy(\.isFinite))
        XCTAssertLessThan(a.maximumImbalance, 1e-6)
        XCTAssertThrowsError(try MEMFlowModel.read(from: temporaryFolder("missing"))) { XCTAssertTrue("\($0)".contains("memflow.json"), "\($0)") }
    }

    /// Two likelihood epochs in one run equal one epoch, then a resumed second (constant rate):
    /// the checkpoint holds the optimizer and the epoch, and the shuffles come from the epoch.
    func testResumeContinuesBitForBit() throws {
        let straight = temporaryFolder("straight"), parts = temporaryFolder("parts")
        let events = EventSample(generator: "zw-isr", seed: 15, parton: Self.sample.parton!.rows(0..<600), detector: Self.sample.detector!.rows(0..<600))
        let a = try MEMFlowModel.train(sample: events, config: Self.tiny(epochs: 2), seed: 8, folder: straight, resume: false, source: "test")
        _ = try MEMFlowModel.train(sample: events, config: Self.tiny(epochs: 1), seed: 8, folder: parts, resume: false, source: "test")
        let b = try MEMFlowModel.train(sample: events, config: Self.tiny(epochs: 2), seed: 8, folder: parts, resume: true, source: "test")
        for (p, q) in zip(a.network.parameters, b.network.parameters) { XCTAssertEqual(p.variable.value.storage, q.variable.value.storage, p.name) }
    }
}
