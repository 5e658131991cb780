import XCTest
import Foundation
import TestSupport
@testable import GAN

/// Checkpoints, resume, the NaN guard, sampling shapes and input checks.
final class GANTrainerTests: XCTestCase {
    let tiny = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8, noiseDimension: 2)

    func pairedEvents(_ n: Int, rng: RNGStream) -> (parton: Tensor, detector: Tensor) {
        (Tensor.normal([n, 3], rng: rng.child("parton")), Tensor.normal([n, 4], rng: rng.child("detector")))
    }

    /// 1 epoch + resume to 2 equals 2 epochs straight, bit for bit, with and without the
    /// generator's moving average; with it, the trained model and the checkpoint hold theta_avg.
    func testResumeContinuesBitForBit() throws {
        for average in [nil, 0.9] as [Float?] { try checkResume(average: average) }
    }

    func checkResume(average: Float?) throws {
        let rng = RNGStream(seed: 3)
        let events = pairedEvents(300, rng: rng.child("data"))
        let folder = temporaryFolder()
        let training = GANTrainingConfig(epochs: 2, batchSize: 64, discriminatorSteps: 2, generatorAverage: average)
        let straight = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng.child("model"))
        let straightURL = folder.appendingPathComponent("straight.safetensors")
        try GANTrainer(model: straight, config: training, rng: rng.child("train"), checkpoint: straightURL)
            .train(partonLevel: events.parton, detectorLevel: events.detector)
        let saved = try SafeTensors.read(straightURL).tensors
        for p in straight.parameters {
            XCTAssertEqual(saved[p.name], p.variable.value, "average \(String(describing: average)): checkpoint \(p.name) differs from the model")
        }
        let untrained = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng.child("model"))
        XCTAssertNotEqual(untrained.generatorParameters[0].variable.value, straight.generatorParameters[0].variable.value)
        if average != nil {
            let raw = try XCTUnwrap(saved["gan.rawGenerator." + straight.generatorParameters[0].name])
            XCTAssertNotEqual(raw, straight.generatorParameters[0].variable.value, "the model holds the average, not the raw weights")
        }

        let url = folder.appendingPathComponent("fcgan.safetensors")
        var first = training; first.epochs = 1
        let halfway = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng.child("model"))
        try GANTrainer(model: halfway, config: first, rng: rng.child("train"), checkpoint: url, metadata: ["study": "test"])
            .train(partonLevel: events.parton, detectorLevel: events.detector)
        let meta = try SafeTensors.read(url).metadata
        XCTAssertEqual(meta[GANTrainer<FullyConditionalGAN>.epochKey], "1")
        XCTAssertEqual(meta["study"], "test")

        let resumed = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: RNGStream(seed: 99))
        let trainer = try GANTrainer(model: resumed, config: training, rng: rng.child("train"), checkpoint: url)
        try trainer.resume(from: url)
        XCTAssertEqual(trainer.completedEpochs, 1)
        let reports = try trainer.train(partonLevel: events.parton, detectorLevel: events.detector)
        XCTAssertEqual(reports.map(\.epoch), [1])
        XCTAssertEqual(trainer.discriminatorOptimizer.stepCount, 2 * 5, "5 batches per epoch, one D step each")
        XCTAssertEqual(trainer.generatorOptimizer.stepCount, 2 * 2, "one G step per 2 D steps")
        for (a, b) in zip(straight.parameters, resumed.parameters) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual(a.variable.value, b.variable.value, "average \(String(describing: average)): parameter \(a.name) differs after resume")
        }
    }

    /// SIGINT during training ([reliability] 6): the process survives the signal, the trainer
    /// stops before the next batch with `Interrupted` (exit 130), naming the kept checkpoint and
    /// --resume, and the checkpoint still holds the finished epoch.
    func testSIGINTStopsBeforeTheNextBatchAndKeepsCheckpoint() throws {
        let rng = RNGStream(seed: 5)
        let events = pairedEvents(200, rng: rng.child("data"))
        let url = temporaryFolder().appendingPathComponent("gan.safetensors")
        let model = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng.child("model"))
        let trainer = try GANTrainer(model: model, config: GANTrainingConfig(epochs: 1, batchSize: 100), rng: rng.child("train"), checkpoint: url)
        try trainer.train(partonLevel: events.parton, detectorLevel: events.detector)
        let good = try Data(contentsOf: url)
        Interruption.install()
        defer { Interruption.reset() }
        raise(SIGINT)
        XCTAssertEqual(Interruption.signal, SIGINT)
        let next = try GANTrainer(model: model, config: GANTrainingConfig(epochs: 3, batchSize: 100), rng: rng.child("train"), checkpoint: url)
        try next.resume(from: url)
        XCTAssertThrowsError(try next.train(partonLevel: events.parton, detectorLevel: events.detector)) { error in
            guard let interrupted = error as? Interrupted else { return XCTFail("expected Interrupted, got \(error)") }
            XCTAssertEqual(interrupted.exitCode, 130)
            XCTAssertTrue(interrupted.message.contains("SIGINT received at epoch 1, batch 0 of 2") && interrupted.message.contains(url.path)
                          && interrupted.message.contains("--resume"), interrupted.message)
        }
        XCTAssertEqual(try Data(contentsOf: url), good, "the checkpoint of the finished epoch stays")
    }

    func testNaNLossStopsWithEpochAndBatchAndKeepsCheckpoint() throws {
        let rng = RNGStream(seed: 5)
        let events = pairedEvents(200, rng: rng.child("data"))
        let url = temporaryFolder().appendingPathComponent("gan.safetensors")
        let model = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng.child("model"))
        try GANTrainer(model: model, config: GANTrainingConfig(epochs: 1, batchSize: 200), rng: rng.child("train"), checkpoint: url)
            .train(partonLevel: events.parton, detectorLevel: events.detector)
        let good = try Data(contentsOf: url)

        var poisoned = events.parton
        poisoned.storage[7] = .nan
        let trainer = try GANTrainer(model: model, config: GANTrainingConfig(epochs: 3, batchSize: 200), rng: rng.child("train"),
                                     checkpoint: url)
        try trainer.resume(from: url)
        XCTAssertThrowsError(try trainer.train(partonLevel: poisoned, detectorLevel: events.detector)) { error in
            let message = (error as? RefoldError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("epoch 1, batch 0 of 1"), message)
            XCTAssertTrue(message.contains("nan"), message)
            XCTAssertTrue(message.contains("holds 1 epoch"), message)
        }
        XCTAssertEqual(try Data(contentsOf: url), good, "the last good checkpoint must stay untouched")
        XCTAssertEqual(trainer.completedEpochs, 1)
    }

    func testSamplingShapesAndDeterminism() throws {
        let rng = RNGStream(seed: 9)
        let xd = Tensor.normal([5, 4], rng: rng.child("xd"))
        let naive = try NaiveGAN(partonDimension: 3, detectorDimension: 4, config: GANConfig.quick, rng: rng.child("naive"))
        XCTAssertEqual(naive.noiseDimension, 0)
        let one = try naive.sample(detectorLevel: xd, count: 1, rng: rng.child("a"))
        let many = try naive.sample(detectorLevel: xd, count: 4, rng: rng.child("b"))
        XCTAssertEqual(many.shape, [5, 4, 3])
        for i in 0..<5 { for k in 0..<4 { for j in 0..<3 { XCTAssertEqual(many.storage[(i * 4 + k) * 3 + j], one.storage[i * 3 + j]) } } }

        let fcgan = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: GANConfig.quick, rng: rng.child("fc"))
        XCTAssertEqual(fcgan.noiseDimension, 3, "nil noise dimension means D_p for the FCGAN")
        let samples = try fcgan.sample(detectorLevel: xd, count: 6, rng: rng.child("c"))
        XCTAssertEqual(samples.shape, [5, 6, 3])
        XCTAssertNotEqual(Array(samples.storage[0..<3]), Array(samples.storage[3..<6]), "FCGAN samples of one event must differ")
        XCTAssertEqual(try fcgan.sample(detectorLevel: xd, count: 6, rng: rng.child("c")), samples, "same stream, same samples")

        XCTAssertThrowsError(try fcgan.sample(detectorLevel: Tensor.normal([5, 3], rng: rng), count: 2, rng: rng)) { error in
            XCTAssertTrue("\(error)".contains("expected shape [5, 4], got [5, 3]"), "\(error)")
        }
        XCTAssertThrowsError(try fcgan.sample(detectorLevel: xd, count: 0, rng: rng))
        let samplers: [any UnfoldingSampler] = [naive, fcgan]
        XCTAssertEqual(samplers.map(\.partonDimension), [3, 3])
    }

    func testTrainingInputChecks() throws {
        let rng = RNGStream(seed: 2)
        let fcgan = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng)
        let trainer = try GANTrainer(model: fcgan, config: GANTrainingConfig(epochs: 1, batchSize: 16), rng: rng)
        XCTAssertThrowsError(try trainer.train(partonLevel: Tensor.normal([10, 3], rng: rng), detectorLevel: Tensor.normal([12, 4], rng: rng))) { error in
            XCTAssertTrue("\(error)".contains("parton-level events: expected shape [12, 3], got [10, 3]"), "\(error)")
        }
        // The naive GAN takes unpaired samples of different sizes.
        let naive = try NaiveGAN(partonDimension: 3, detectorDimension: 4, config: tiny, rng: rng)
        let reports = try GANTrainer(model: naive, config: GANTrainingConfig(epochs: 1, batchSize: 16), rng: rng)
            .train(partonLevel: Tensor.normal([40, 3], rng: rng), detectorLevel: Tensor.normal([25, 4], rng: rng))
        XCTAssertEqual(reports.count, 1)
        XCTAssertTrue(reports[0].discriminatorLoss.isFinite && reports[0].generatorLoss.isFinite)
        XCTAssertThrowsError(try GANTrainer(model: naive, config: GANTrainingConfig(epochs: 0), rng: rng))
        XCTAssertThrowsError(try NaiveGAN(partonDimension: 0, detectorDimension: 4, config: tiny, rng: rng))
        var noNoise = tiny; noNoise.noiseDimension = 0
        XCTAssertThrowsError(try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: noNoise, rng: rng))
    }

    /// lambda_G MMD on a caller's observable enters the generator loss and the report.
    func testObservableMMDEntersGeneratorLoss() throws {
        let rng = RNGStream(seed: 4)
        let sum = Observable(name: "sum") { x in Autograd.sum(x, axis: 1) }
        var config = tiny; config.mmd = MMDLoss(widths: [0.5, 2])
        let model = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: config, observables: [sum], rng: rng)
        let xp = Variable(Tensor.normal([32, 3], rng: rng)), xd = Variable(Tensor.normal([32, 4], rng: rng))
        let loss = model.generatorLoss(partonLevel: xp, detectorLevel: xd, rng: rng.child("noise"))
        let mmd = try XCTUnwrap(loss.mmd)
        XCTAssertGreaterThan(mmd, 0)
        assertClose(Double(loss.total.scalar), Double(loss.adversarial + config.lambdaG * mmd), rel: 1e-6)
    }
}
