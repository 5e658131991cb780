import Foundation

/// Optimisation settings of FlowTrainer. Adam, or AdamW when `weightDecay` > 0 (the cINN's
/// weight regularisation -log p(theta), eq. 5.18).
public struct TrainingConfig: Codable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var weightDecay: Float
    public var schedule: LearningRateSchedule
    /// Clip the joint gradient norm to this value (nil: no clipping).
    public var gradientClip: Float?

    public init(epochs: Int, batchSize: Int = 512, learningRate: Float = 8e-4, weightDecay: Float = 0,
                schedule: LearningRateSchedule = .constant, gradientClip: Float? = 10) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.weightDecay = weightDecay; self.schedule = schedule; self.gradientClip = gradientClip
    }

    /// Tables 5.1/5.2: 1000 epochs, batch 512, lr 8e-4.
    public static let paper = TrainingConfig(epochs: 1000, batchSize: 512, learningRate: 8e-4, weightDecay: 1e-5,
                                             schedule: .exponential(gammaPerEpoch: 0.999))
    /// A few minutes on 2 cores with the quick network presets.
    public static let quick = TrainingConfig(epochs: 30, batchSize: 512, learningRate: 1e-3, weightDecay: 1e-5,
                                             schedule: .oneCycle)
}

/// One epoch's summary, for the progress line and the history.
public struct EpochReport: Codable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    /// Mean unweighted loss terms over the epoch's batches.
    public var terms: [LossTerm: Double]
    public var learningRate: Float
    public var seconds: Double
    public var eventsPerSecond: Double
    /// Estimated seconds for the remaining epochs.
    public var secondsRemaining: Double
}

/// Trains an UnfoldingFlow on paired events x_p [N, D_p], x_d [N, D_d] (Float32, standardised by
/// the caller) with one Adam, through `TrainingLoop`: epoch e shuffles with
/// `rng.child("shuffle").child(index: e)` and draws loss noise from `rng.child("noise").child(index: e)`,
/// so a run resumed from the checkpoint of epoch e - 1 continues bit for bit; after every epoch the
/// model, the optimizer state and the epoch go to `checkpoint` atomically; a NaN or infinite loss
/// or gradient throws a RefoldError naming the epoch and batch, and the last good checkpoint stays.
/// Under mpirun the ranks train data-parallel (see `DataParallel`): rank 0's initial weights go to
/// every rank, each rank takes its shard of every global batch of `config.batchSize` events, the
/// gradients are averaged in one allreduce per step, and each rank draws its own loss noise.
public final class FlowTrainer<Model: UnfoldingFlow>: EpochTrainer {
    public let model: Model
    public let config: TrainingConfig
    public let optimizer: Adam
    /// The epochs, streams, NaN guard and checkpoints.
    public let loop: TrainingLoop
    public private(set) var history: [EpochReport] = []

    public init(model: Model, config: TrainingConfig, rng: RNGStream, checkpoint: URL? = nil, metadata: [String: String] = [:],
                parallel: DataParallel = DataParallel()) throws {
        guard config.epochs >= 1, config.batchSize >= 1, config.learningRate > 0 else {
            throw RefoldError.value("TrainingConfig", expected: "epochs >= 1, batchSize >= 1, learningRate > 0",
                                    actual: "\(config.epochs), \(config.batchSize), \(config.learningRate)")
        }
        self.model = model
        self.config = config
        loop = TrainingLoop(name: "FlowTrainer", epochs: config.epochs, batchSize: config.batchSize, rng: rng, checkpoint: checkpoint,
                            keyPrefix: "flows", metadata: metadata, parallel: parallel)
        optimizer = Adam(model.parameters, learningRate: config.learningRate, weightDecay: config.weightDecay,
                         decoupled: config.weightDecay > 0)
    }

    /// Restores model, optimizer and epoch count from a checkpoint written by `train`.
    public func resume(from url: URL) throws {
        try loop.resume(from: try Checkpoint.load(into: model, optimizer: optimizer, from: url), file: url)
    }

    /// Trains from `completedEpochs` to `config.epochs` (or to `until`, for a run cut in parts;
    /// the LR schedule always spans `config.epochs`); `progress` gets each epoch's report.
    @discardableResult
    public func train(partonLevel: Tensor, detectorLevel: Tensor, validation: (partonLevel: Tensor, detectorLevel: Tensor)? = nil,
                      until: Int? = nil, progress: (EpochReport) -> Void = { _ in }) throws -> [EpochReport] {
        try model.checkBatch(partonLevel: partonLevel, detectorLevel: detectorLevel)
        if let validation { try model.checkBatch(partonLevel: validation.partonLevel, detectorLevel: validation.detectorLevel) }
        let n = partonLevel.rows
        guard n >= 1 else { throw RefoldError.value("training events", expected: ">= 1", actual: n) }
        loop.install(config.schedule, rate: config.learningRate, on: optimizer, batchesPerEpoch: loop.batches(events: n))
        let parameters = model.parameterVariables
        parallel.broadcastParameters(parameters)
        let events = (partonLevel: partonLevel, detectorLevel: detectorLevel)
        return try loop.run(events: n, until: until, save: { url in
            try Checkpoint.save(module: model, optimizer: optimizer, metadata: loop.checkpointMetadata, to: url)
        }, progress: { history.append($0); progress($0) }) { epoch in
            var lossSum = 0.0
            var termSums: [LossTerm: Double] = [:]
            try epoch.forEachBatch { b in
                let rows = epoch.rows(b)
                optimizer.zeroGrad()
                let (value, terms) = parallel.isDistributed
                    ? shardLossAndGradient(events, rows, epoch: epoch.index, noise: epoch.noise, parameters: parameters)
                    : lossAndGradient(events, rows, epoch: epoch.index, noise: epoch.noise)
                try epoch.step(optimizer, parameters: parameters, loss: value, clip: config.gradientClip, batch: b)
                lossSum += Double(value) * Double(rows.count)
                for (k, v) in terms { termSums[k, default: 0] += Double(v) * Double(rows.count) }
            }
            let validationLoss = try validation.map { try evaluate(partonLevel: $0.partonLevel, detectorLevel: $0.detectorLevel, epoch: epoch.index) }
            let timing = epoch.timing()
            return EpochReport(epoch: epoch.index, trainLoss: lossSum / Double(n), validationLoss: validationLoss,
                               terms: termSums.mapValues { $0 / Double(n) }, learningRate: optimizer.learningRate,
                               seconds: timing.seconds, eventsPerSecond: timing.eventsPerSecond, secondsRemaining: timing.secondsRemaining)
        }
    }

    /// Mean loss over `partonLevel`, `detectorLevel` in batches, without a graph (noise from
    /// `rng.child("validation").child(index: epoch)`).
    public func evaluate(partonLevel: Tensor, detectorLevel: Tensor, epoch: Int) throws -> Double {
        try model.checkBatch(partonLevel: partonLevel, detectorLevel: detectorLevel)
        let n = partonLevel.rows
        let noise = rng.child("validation").child(index: epoch)
        var total = 0.0
        try withNoGrad {
            var start = 0
            while start < n {
                let rows = start..<min(n, start + config.batchSize)
                let loss = model.loss(partonLevel: Variable(gatherRows(partonLevel, rows)),
                                      detectorLevel: Variable(gatherRows(detectorLevel, rows)), epoch: epoch, rng: noise)
                guard loss.total.scalar.isFinite else {
                    throw RefoldError("FlowTrainer: validation loss is \(loss.total.scalar) at epoch \(epoch), events \(rows)")
                }
                total += Double(loss.total.scalar) * Double(rows.count)
                start = rows.upperBound
            }
        }
        return total / Double(max(n, 1))
    }

    typealias Events = (partonLevel: Tensor, detectorLevel: Tensor)

    /// The loss on `rows` of `events` and its gradient in the parameters' `.grad` (none if the loss
    /// is not finite).
    private func lossAndGradient(_ events: Events, _ rows: ArraySlice<Int>, epoch: Int, noise: RNGStream) -> (Float, [LossTerm: Float]) {
        let loss = model.loss(partonLevel: Variable(gatherRows(events.partonLevel, rows)),
                              detectorLevel: Variable(gatherRows(events.detectorLevel, rows)), epoch: epoch, rng: noise)
        let value = loss.total.scalar
        if value.isFinite { backward(loss.total) }
        return (value, loss.terms)
    }

    /// The global batch's loss, terms and gradient from this rank's shard: the shard's values and
    /// gradient weighted by its share of the events and summed over the ranks in one bucket
    /// [loss, terms..., term present...]. A NaN loss on one rank is a NaN on every rank.
    private func shardLossAndGradient(_ events: Events, _ rows: ArraySlice<Int>, epoch: Int, noise: RNGStream,
                                      parameters: [Variable]) -> (Float, [LossTerm: Float]) {
        let shard = parallel.shard(rows)
        let allTerms = LossTerm.allCases, count = Float(shard.count)
        var sums = [Float](repeating: 0, count: 1 + 2 * allTerms.count)
        if !shard.isEmpty {
            let (value, terms) = lossAndGradient(events, shard, epoch: epoch, noise: noise)
            sums[0] = value * count
            for (i, term) in allTerms.enumerated() {
                guard let v = terms[term] else { continue }
                sums[1 + i] = v * count
                sums[1 + allTerms.count + i] = 1
            }
        }
        parallel.averageGradients(parameters, localEvents: shard.count, globalEvents: rows.count, sums: &sums)
        let total = Float(rows.count)
        var terms: [LossTerm: Float] = [:]
        for (i, term) in allTerms.enumerated() where sums[1 + allTerms.count + i] > 0 { terms[term] = sums[1 + i] / total }
        return (sums[0] / total, terms)
    }
}

/// A one-line summary of an epoch: "epoch 3/20  train 1.234  val 1.301  12.3k ev/s  ETA 0:42".
public func progressLine(_ r: EpochReport, epochs: Int) -> String {
    let eta = Int(r.secondsRemaining.rounded())
    let val = r.validationLoss.map { String(format: "  val %.4f", $0) } ?? ""
    return String(format: "epoch %d/%d  train %.4f%@  %.1fk ev/s  ETA %d:%02d", r.epoch + 1, epochs, r.trainLoss, val,
                  r.eventsPerSecond / 1000, eta / 60, eta % 60)
}

extension TrainingConfig: CheckedConfiguration {
    /// Throws unless epochs and batch size are >= 1, the rate is positive, the decay non-negative
    /// and a gradient clip (when set) positive.
    public func validate() throws {
        var gammaOK = true
        if case .exponential(let gamma) = schedule { gammaOK = gamma > 0 && gamma <= 1 }
        guard epochs >= 1, batchSize >= 1, learningRate > 0, learningRate.isFinite, weightDecay >= 0, (gradientClip ?? 1) > 0, gammaOK else {
            throw RefoldError.value("TrainingConfig", expected: "epochs >= 1, batch_size >= 1, learning_rate > 0, weight_decay >= 0, gradient_clip > 0, gamma_per_epoch in (0, 1]",
                                    actual: "\(epochs), \(batchSize), \(learningRate), \(weightDecay), \(gradientClip.map { "\($0)" } ?? "off"), \(schedule)")
        }
    }
}
