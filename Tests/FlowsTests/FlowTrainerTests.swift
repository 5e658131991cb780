import XCTest
import Flows
import TestSupport

final class FlowTrainerTests: XCTestCase {
    func smallCINN(seed: UInt64) -> ConditionalINN {
        var config = ConditionalINNConfig.quick
        config.blocks = 3; config.unitsPerLayer = 16; config.conditionUnits = 16; config.conditionOutput = 4
        return ConditionalINN(partonDimension: 3, detectorDimension: 2, config: config, rng: RNGStream(seed: seed))
    }

    func data(_ n: Int, seed: UInt64) -> (partonLevel: Tensor, detectorLevel: Tensor) {
        let rng = RNGStream(seed: seed)
        let xd = Tensor.normal([n, 2], rng: rng)
        var xp = Tensor.normal([n, 3], std: 0.3, rng: rng)
        for i in 0..<n { xp[i, 0] += xd[i, 0]; xp[i, 2] -= xd[i, 1] }
        return (xp, xd)
    }

    let config = TrainingConfig(epochs: 4, batchSize: 64, learningRate: 2e-3, weightDecay: 1e-4, schedule: .cosine, gradientClip: 5)

    func testResumeContinuesBitIdentically() throws {
        let (xp, xd) = data(500, seed: 41)
        let straight = smallCINN(seed: 42)
        try FlowTrainer(model: straight, config: config, rng: RNGStream(seed: 43)).train(partonLevel: xp, detectorLevel: xd)

        let folder = temporaryFolder()
        let url = folder.appendingPathComponent("cinn.safetensors")
        let first = try FlowTrainer(model: smallCINN(seed: 42), config: config, rng: RNGStream(seed: 43), checkpoint: url)
        try first.train(partonLevel: xp, detectorLevel: xd, until: 2)
        XCTAssertEqual(first.completedEpochs, 2)

        let resumed = smallCINN(seed: 42)
        let second = try FlowTrainer(model: resumed, config: config, rng: RNGStream(seed: 43), checkpoint: url)
        try second.resume(from: url)
        XCTAssertEqual(second.completedEpochs, 2)
        XCTAssertEqual(second.optimizer.stepCount, 2 * 8)
        let reports = try second.train(partonLevel: xp, detectorLevel: xd)
        XCTAssertEqual(reports.map(\.epoch), [2, 3])
        for (a, b) in zip(straight.parameters, resumed.parameters) {
            XCTAssertEqual(a.variable.value.storage, b.variable.value.storage, "parameter \(a.name) (seeds 41-43)")
        }
    }

    func testNaNLossStopsWithClearErrorAndKeepsCheckpoint() throws {
        let (xp, xd) = data(300, seed: 44)
        let url = temporaryFolder().appendingPathComponent("cinn.safetensors")
        let trainer = try FlowTrainer(model: smallCINN(seed: 45), config: config, rng: RNGStream(seed: 46), checkpoint: url)
        var progressLines: [EpochReport] = []
        try trainer.train(partonLevel: xp, detectorLevel: xd, until: 1) { progressLines.append($0) }
        XCTAssertEqual(progressLines.count, 1)
        XCTAssertTrue(progressLines[0].trainLoss.isFinite && progressLines[0].eventsPerSecond > 0)

        var poisoned = xp
        poisoned[137, 1] = .nan
        XCTAssertThrowsError(try trainer.train(partonLevel: poisoned, detectorLevel: xd)) { error in
            let message = "\(error)"
            XCTAssertTrue(error is RefoldError, message)
            XCTAssertTrue(message.contains("loss is nan at epoch 1, batch "), message)
            XCTAssertTrue(message.contains("the last good checkpoint \(url.path) holds 1 epoch"), message)
        }
        // The checkpoint of epoch 0 is intact and loads into a fresh model and optimizer.
        let fresh = try FlowTrainer(model: smallCINN(seed: 45), config: config, rng: RNGStream(seed: 46))
        try fresh.resume(from: url)
        XCTAssertEqual(fresh.completedEpochs, 1)
        XCTAssertTrue(fresh.model.parameters.allSatisfy { $0.variable.value.storage.allSatisfy(\.isFinite) })
    }

    func testValidationLossAndShapeErrors() throws {
        let (xp, xd) = data(256, seed: 47)
        let trainer = try FlowTrainer(model: smallCINN(seed: 48), config: TrainingConfig(epochs: 3, batchSize: 64),
                                      rng: RNGStream(seed: 49))
        let reports = try trainer.train(partonLevel: xp, detectorLevel: xd, validation: (xp, xd))
        XCTAssertNotNil(reports.last?.validationLoss)
        XCTAssertLessThan(reports.last!.trainLoss, reports.first!.trainLoss, "NLL decreases (seed 48)")
        XCTAssertThrowsError(try trainer.train(partonLevel: Tensor.normal([256, 4], rng: RNGStream(seed: 1)), detectorLevel: xd)) {
            XCTAssertTrue("\($0)".contains("parton-level events: expected shape [256, 3], got [256, 4]"), "\($0)")
        }
    }

    func testNaiveAndNoiseExtendedINNTrain() throws {
        let (xp, xd) = data(512, seed: 50)
        for base in [BidirectionalINNConfig.naiveQuick, .noiseExtendedQuick] {
            var config = base
            config.blocks = 3; config.unitsPerLayer = 32
            config.detectorNoise = base.variant == .naive ? 0 : 2
            let mass = Observable(name: "x0-x2") { x in sliceColumns(x, start: 0, count: 1) - sliceColumns(x, start: 2, count: 1) }
            let inn = try BidirectionalINN(partonDimension: 3, detectorDimension: 2 + 1, config: config,
                                           partonObservables: [mass], rng: RNGStream(seed: 51))
            // Detector level padded to D_d = 3 with a constant column so that 3 + D_rp = 3 + D_rd.
            var xd3 = Tensor(shape: [512, 3])
            for i in 0..<512 { xd3[i, 0] = xd[i, 0]; xd3[i, 1] = xd[i, 1] }
            let trainer = try FlowTrainer(model: inn, config: TrainingConfig(epochs: 4, batchSize: 128, learningRate: 2e-3),
                                          rng: RNGStream(seed: 52))
            let reports = try trainer.train(partonLevel: xp, detectorLevel: xd3)
            XCTAssertLessThan(reports.last!.trainLoss, reports.first!.trainLoss, "\(config.variant) (seed 51)")
            XCTAssertNotNil(reports.last!.terms[.mmdObservables])
            XCTAssertEqual(reports.last!.terms[.mmdNoise] != nil, config.variant == .noiseExtended)
            let samples = try inn.sample(detectorLevel: gatherRows(xd3, 0..<4), count: 3, rng: RNGStream(seed: 53))
            XCTAssertEqual(samples.shape, [4, 3, 3])
            let identical = samples.storage[0..<3] == samples.storage[3..<6]
            XCTAssertEqual(identical, config.variant == .naive, "naive INN unfolding is deterministic, the eINN's is not")
        }
        XCTAssertThrowsError(try BidirectionalINN(partonDimension: 12, detectorDimension: 8, config: .naiveQuick, rng: RNGStream(seed: 1)))
    }

    /// With mmdEvents = m the eINN's MMD terms are those of the batch's first m rows: equal to the
    /// terms of the whole-batch loss on those m rows (the noise of the first rows is the same
    /// draw), while the MSE still runs over the whole batch.
    func testMMDOnTheFirstRowsOfTheBatch() throws {
        let (xp, xd) = data(16, seed: 60)
        var config = BidirectionalINNConfig.noiseExtendedQuick
        config.blocks = 2; config.unitsPerLayer = 8; config.detectorNoise = 1
        var whole = config
        whole.mmdEvents = nil
        config.mmdEvents = 4
        let mass = Observable(name: "x0-x1") { x in sliceColumns(x, start: 0, count: 1) - sliceColumns(x, start: 1, count: 1) }
        let subset = try BidirectionalINN(partonDimension: 3, detectorDimension: 2, config: config, partonObservables: [mass],
                                          rng: RNGStream(seed: 61))
        let reference = try BidirectionalINN(partonDimension: 3, detectorDimension: 2, config: whole, partonObservables: [mass],
                                             rng: RNGStream(seed: 61))
        let a = subset.loss(partonLevel: Variable(xp), detectorLevel: Variable(xd), epoch: 0, rng: RNGStream(seed: 62))
        let b = reference.loss(partonLevel: Variable(gatherRows(xp, 0..<4)), detectorLevel: Variable(gatherRows(xd, 0..<4)),
                               epoch: 0, rng: RNGStream(seed: 62))
        for term in [LossTerm.mmdFeatures, .mmdNoise, .mmdObservables] {
            let x = try XCTUnwrap(a.terms[term], "\(term)"), y = try XCTUnwrap(b.terms[term], "\(term)")
            XCTAssertEqual(x, y, accuracy: 1e-5 * max(1, abs(y)), "\(term)")
        }
        let full = reference.loss(partonLevel: Variable(xp), detectorLevel: Variable(xd), epoch: 0, rng: RNGStream(seed: 62))
        XCTAssertEqual(try XCTUnwrap(a.terms[.mseParton]), try XCTUnwrap(full.terms[.mseParton]), accuracy: 1e-6)
        var bad = config
        bad.mmdEvents = 1
        XCTAssertThrowsError(try BidirectionalINN(partonDimension: 3, detectorDimension: 2, config: bad, rng: RNGStream(seed: 1))) { error in
            XCTAssertTrue("\(error)".contains("mmdEvents"), "\(error)")
        }
    }

    func testStandardizerRoundTripAndJSON() throws {
        let rng = RNGStream(seed: 54)
        var x = Tensor.normal([1000, 3], mean: 50, std: 20, rng: rng)
        for i in 0..<1000 { x[i, 2] = 7 }  // a constant column
        let s = try Standardizer(fitting: x)
        XCTAssertEqual(s.std[2], 1)
        let z = try s.transform(x)
        let means = mean(z, axis: 0).storage
        for j in 0..<2 { XCTAssertEqual(means[j], 0, accuracy: 1e-4) }
        let back = try s.inverse(z)
        for (a, b) in zip(back.storage, x.storage) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        let decoded = try JSONDecoder().decode(Standardizer.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(decoded, s)
        XCTAssertThrowsError(try s.transform(Tensor(shape: [2, 4])))
    }
}
