import XCTest
import Foundation
import Autograd
import TestSupport

/// The contract of `TrainingLoop` on a one-weight least-squares fit y = w x: every event once per
/// epoch from that epoch's own stream, a run cut at `until` and resumed from its checkpoint equal
/// to the straight run bit for bit, the NaN guard keeping the last good checkpoint, and the
/// refusals of `resume`.
final class TrainingLoopTests: XCTestCase {
    final class Line: Module {
        let w = Variable(Tensor(shape: [1, 1], storage: [0.1]), requiresGrad: true)
        var parameters: [(name: String, variable: Variable)] { [("w", w)] }
    }

    /// x_i = i / 10, y = 2 x (y_poison NaN in the event `poison`).
    func events(_ n: Int, poison: Int? = nil) -> (x: Tensor, y: Tensor) {
        let x = (0..<n).map { Float($0) / 10 }
        var y = x.map { 2 * $0 }
        if let poison { y[poison] = .nan }
        return (Tensor(shape: [n, 1], storage: x), Tensor(shape: [n, 1], storage: y))
    }

    /// Trains `model` with a fresh Adam through `loop` (cosine over the loop's epochs); returns the
    /// epoch losses.
    func train(_ model: Line, _ loop: TrainingLoop, events: (x: Tensor, y: Tensor), until: Int? = nil, resume: URL? = nil) throws -> [Double] {
        let optimizer = Adam(model.parameters, learningRate: 0.05)
        if let resume { try loop.resume(from: try Checkpoint.load(into: model, optimizer: optimizer, from: resume), file: resume) }
        let n = events.x.rows
        loop.install(.cosine, rate: 0.05, on: optimizer, batchesPerEpoch: loop.batches(events: n))
        return try loop.run(events: n, until: until, save: { url in
            try Checkpoint.save(module: model, optimizer: optimizer, metadata: loop.checkpointMetadata, to: url)
        }) { epoch in
            var total = 0.0
            try epoch.forEachBatch { b in
                let rows = epoch.rows(b)
                optimizer.zeroGrad()
                let loss = mean(square(matmul(Variable(gatherRows(events.x, rows)), model.w) - Variable(gatherRows(events.y, rows))))
                if loss.scalar.isFinite { backward(loss) }
                try epoch.step(optimizer, parameters: model.parameterVariables, loss: loss.scalar, clip: 1, batch: b)
                total += Double(loss.scalar)
            }
            return total / Double(epoch.batches)
        }
    }

    func testEveryEventOncePerEpochFromThatEpochsStream() throws {
        let rng = RNGStream(seed: 12)
        let loop = TrainingLoop(name: "test", epochs: 3, batchSize: 4, rng: rng)
        var orders: [[Int]] = []
        let indices = try loop.run(events: 10) { epoch -> Int in
            XCTAssertEqual(epoch.batches, 3)
            XCTAssertEqual(epoch.order, rng.child("shuffle").child(index: epoch.index).permutation(10), "seed 12")
            var rows: [Int] = []
            try epoch.forEachBatch { rows += epoch.rows($0) }
            orders.append(rows)
            return epoch.index
        }
        XCTAssertEqual(indices, [0, 1, 2])
        XCTAssertEqual(loop.completedEpochs, 3)
        for order in orders { XCTAssertEqual(order.sorted(), Array(0..<10)) }
        XCTAssertNotEqual(orders[0], orders[1], "seed 12: each epoch shuffles anew")
    }

    func testResumedRunEqualsTheStraightRunBitForBit() throws {
        let data = events(50)
        let straight = Line()
        let losses = try train(straight, TrainingLoop(name: "test", epochs: 4, batchSize: 8, rng: RNGStream(seed: 13)), events: data)

        let url = temporaryFolder().appendingPathComponent("line.safetensors")
        let first = TrainingLoop(name: "test", epochs: 4, batchSize: 8, rng: RNGStream(seed: 13), checkpoint: url, keyPrefix: "line")
        let head = try train(Line(), first, events: data, until: 2)
        let meta = try SafeTensors.read(url).metadata
        XCTAssertEqual(meta["line.completedEpochs"], "2")
        XCTAssertEqual(meta["line.seed"], "13")

        let resumed = Line()
        let second = TrainingLoop(name: "test", epochs: 4, batchSize: 8, rng: RNGStream(seed: 13), checkpoint: url, keyPrefix: "line")
        let tail = try train(resumed, second, events: data, resume: url)
        XCTAssertEqual(head + tail, losses, "seed 13")
        XCTAssertEqual(resumed.w.value.storage, straight.w.value.storage, "seed 13")
    }

    func testNaNLossStopsNamingEpochAndBatchAndKeepsTheLastCheckpoint() throws {
        let url = temporaryFolder().appendingPathComponent("line.safetensors")
        let model = Line()
        let loop = TrainingLoop(name: "test", epochs: 3, batchSize: 4, rng: RNGStream(seed: 14), checkpoint: url)
        _ = try train(model, loop, events: events(10), until: 1)
        let good = try Data(contentsOf: url)
        XCTAssertThrowsError(try train(model, loop, events: events(10, poison: 3))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("test: loss is nan at epoch 1, batch "), message)
            XCTAssertTrue(message.contains("of 3; training stopped, the last good checkpoint \(url.path) holds 1 epoch(s)"), message)
        }
        XCTAssertEqual(loop.completedEpochs, 1)
        XCTAssertEqual(try Data(contentsOf: url), good, "the checkpoint of epoch 0 stays")
    }

    func testResumeRefusesAnotherSeedOrAFileWithoutTheEpochCount() throws {
        let url = URL(fileURLWithPath: "/tmp/line.safetensors")
        let loop = TrainingLoop(name: "test", epochs: 3, batchSize: 4, rng: RNGStream(seed: 15), keyPrefix: "line")
        XCTAssertThrowsError(try loop.resume(from: ["line.completedEpochs": "1", "line.seed": "16"], file: url)) {
            XCTAssertTrue("\($0)".contains("trained from another seed ('line.seed' 16, this run's stream 15)"), "\($0)")
        }
        XCTAssertThrowsError(try loop.resume(from: ["flows.completedEpochs": "1"], file: url)) {
            XCTAssertTrue("\($0)".contains("missing metadata 'line.completedEpochs' (expected a test checkpoint)"), "\($0)")
        }
        XCTAssertEqual(loop.completedEpochs, 0)
        try loop.resume(from: ["line.completedEpochs": "2", "line.seed": "15"], file: url)
        XCTAssertEqual(loop.completedEpochs, 2)
    }

    /// An optimizer stepping every 2nd of 5 batches over 3 epochs: 3 x 5 / 2 = 7 steps, 2 an epoch.
    func testSchedulesSpanTheRunInTheOptimizersOwnSteps() {
        let loop = TrainingLoop(name: "test", epochs: 3, batchSize: 4, rng: RNGStream(seed: 17))
        let optimizer = Adam(Line().parameters, learningRate: 1)
        loop.install(.cosine, rate: 1, on: optimizer, batchesPerEpoch: 5, every: 2)
        XCTAssertEqual((optimizer.schedule as? CosineLR)?.totalSteps, 7)
        loop.install(.exponential(gammaPerEpoch: 0.25), rate: 1, on: optimizer, batchesPerEpoch: 5, every: 2)
        XCTAssertEqual(optimizer.schedule?.rate(step: 2) ?? .nan, 0.25, accuracy: 1e-6, "gamma per epoch after 2 steps")
        loop.install(.constant, rate: 1, on: optimizer, batchesPerEpoch: 5)
        XCTAssertNil(optimizer.schedule)
    }

    func testProgressIsQuietUnderCI() {
        let progress = TerminalProgress(environment: ["CI": "true"])
        XCTAssertFalse(progress.isLive)
        progress.update("epoch 1/1")
        progress.finish()
    }
}
