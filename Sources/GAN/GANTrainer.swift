import Foundation

/// One epoch's summary of GAN training (means over the epoch's steps), for the progress line
/// and the history. The GAN analogue of Flows' EpochReport.
public struct GANEpochReport: Codable, Equatable {
    public var epoch: Int
    /// L_D^(reg), eq. 4.3 / 4.10.
    public var discriminatorLoss: Double
    /// L_G + lambda_G MMD, eq. 4.4 / 4.11.
    public var generatorLoss: Double
    /// The unweighted gradient penalty of eq. 4.3.
    public var gradientPenalty: Double
    /// The unweighted observable MMD (nil without observables).
    public var mmd: Double?
    /// <D> on real and generated events.
    public var meanDiscriminatorReal: Double
    public var meanDiscriminatorFake: Double
    public var generatorLearningRate: Float
    public var discriminatorLearningRate: Float
    public var seconds: Double
    public var eventsPerSecond: Double
    /// Estimated seconds for the remaining epochs.
    public var secondsRemaining: Double

    /// "epoch 3: L_D 1.3862 L_G 0.6931 penalty 0.012 <D> 0.51/0.49 2.1e+04 ev/s ETA 1m 4s".
    public var progressLine: String {
        var line = "epoch \(epoch): L_D \(format(discriminatorLoss)) L_G \(format(generatorLoss)) penalty \(format(gradientPenalty))"
        if let mmd { line += " MMD \(format(mmd))" }
        line += " <D> \(format(meanDiscriminatorReal, 2))/\(format(meanDiscriminatorFake, 2))"
        line += " \(String(format: "%.3g", eventsPerSecond)) ev/s ETA \(Int(secondsRemaining) / 60)m \(Int(secondsRemaining) % 60)s"
        return line
    }
}

private func format(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }

/// Trains an AdversarialModel (the unfolding GANs, the subtraction GAN) by alternating updates: for
/// every batch of x_p (one epoch = one pass over the parton-level events) one discriminator step on
/// eq. 4.3 / 4.10, and after every `discriminatorSteps` discriminator steps one generator step on
/// eq. 4.4 / 4.11 (+ MMD), each with its own Adam. The naive GAN draws its detector batches from an
/// independent permutation (`rng.child("detectorShuffle").child(index: e)`), the FCGAN uses the
/// rows of its x_p batch. `TrainingLoop` runs the epochs: shuffling and noise per epoch (a resumed
/// run continues bit for bit), both networks, both optimizer states and the epoch in `checkpoint`
/// after every epoch, and a NaN or infinite loss or gradient stops with the last good checkpoint.
/// With `generatorAverage` the generator's moving average is what the checkpoint's generator
/// tensors and, after `train`, the model hold; the raw weights travel in the checkpoint as
/// "gan.rawGenerator.*" and training continues from them.
/// Under mpirun the ranks train data-parallel (see `DataParallel`): rank 0's weights go to every
/// rank, each rank takes its shard of every global batch, each network's gradients are averaged in
/// one allreduce per step, and each rank draws its own noise.
public final class GANTrainer<Model: AdversarialModel>: EpochTrainer {
    public let model: Model
    public let config: GANTrainingConfig
    public let generatorOptimizer: Adam
    public let discriminatorOptimizer: Adam
    /// The epochs, streams, NaN guard and checkpoints.
    public let loop: TrainingLoop
    public private(set) var history: [GANEpochReport] = []
    /// theta_avg of the generator while training with `generatorAverage`.
    private var average: [Tensor]?
    /// The raw generator weights while the model holds theta_avg (after `train`).
    private var rawGenerator: [Tensor]?

    /// Metadata keys of a checkpoint.
    public static var epochKey: String { TrainingLoop.epochKey("gan") }
    public static var discriminatorStepKey: String { "gan.discriminatorOptimizerSteps" }

    public init(model: Model, config: GANTrainingConfig, rng: RNGStream, checkpoint: URL? = nil,
                metadata: [String: String] = [:], parallel: DataParallel = DataParallel()) throws {
        try config.validate()
        self.model = model
        self.config = config
        loop = TrainingLoop(name: "GANTrainer", epochs: config.epochs, batchSize: config.batchSize, rng: rng, checkpoint: checkpoint,
                            keyPrefix: "gan", metadata: metadata, parallel: parallel)
        generatorOptimizer = Adam(model.generatorParameters, learningRate: config.generatorLearningRate,
                                  beta1: config.beta1, beta2: config.beta2)
        discriminatorOptimizer = Adam(model.discriminatorParameters, learningRate: config.discriminatorLearningRate,
                                      beta1: config.beta1, beta2: config.beta2)
    }

    /// Restores both networks, both optimizers and the epoch count from a checkpoint written by `train`.
    public func resume(from url: URL) throws {
        let meta = try SafeTensors.read(url).metadata
        guard let dSteps = meta[Self.discriminatorStepKey].flatMap(Int.init) else {
            throw RefoldError.file(url.path, "missing metadata '\(Self.discriminatorStepKey)' (expected a GANTrainer checkpoint)")
        }
        let pair = OptimizerPair(generatorOptimizer, discriminatorOptimizer, discriminatorSteps: dSteps)
        try Checkpoint.load(into: model, optimizer: pair, from: url)
        try loop.resume(from: meta, file: url)
        average = nil; rawGenerator = nil
        if let raw = pair.loadedRawGenerator {
            average = generatorVariables.map(\.value)
            setGenerator(raw)
        }
    }

    private var generatorVariables: [Variable] { model.generatorParameters.map(\.variable) }

    private func setGenerator(_ values: [Tensor]) {
        for (v, t) in zip(generatorVariables, values) { v.value = t }
    }

    /// theta_avg <- beta theta_avg + (1 - beta) theta.
    private func updateAverage() {
        guard let beta = config.generatorAverage else { return }
        let current = generatorVariables.map(\.value)
        average = average.map { zip($0, current).map { $0 * beta + $1 * (1 - beta) } } ?? current
    }

    private func saveCheckpoint(_ url: URL) throws {
        var meta = loop.checkpointMetadata
        meta[Self.discriminatorStepKey] = String(discriminatorOptimizer.stepCount)
        let pair = OptimizerPair(generatorOptimizer, discriminatorOptimizer, discriminatorSteps: discriminatorOptimizer.stepCount)
        guard let average else { return try Checkpoint.save(module: model, optimizer: pair, metadata: meta, to: url) }
        let raw = generatorVariables.map(\.value)
        pair.rawGenerator = zip(model.generatorParameters, raw).map { (name: OptimizerPair.rawPrefix + $0.name, tensor: $1) }
        setGenerator(average)
        defer { setGenerator(raw) }
        try Checkpoint.save(module: model, optimizer: pair, metadata: meta, to: url)
    }

    /// Trains from `completedEpochs` to `config.epochs` (or to `until`, for a run cut in parts; the
    /// schedules always span `config.epochs`) on x_p [N_p, D_p] and x_d [N_d, D_d] (N_d = N_p for
    /// the FCGAN; any N_d for the naive GAN); `progress` gets each epoch's report.
    @discardableResult
    public func train(partonLevel: Tensor, detectorLevel: Tensor, until: Int? = nil,
                      progress: (GANEpochReport) -> Void = { _ in }) throws -> [GANEpochReport] {
        try model.checkTrainingEvents(partonLevel: partonLevel, detectorLevel: detectorLevel)
        let n = partonLevel.rows, nd = detectorLevel.rows
        guard n >= 1, nd >= 1 else { throw RefoldError.value("training events", expected: ">= 1", actual: "\(n), \(nd)") }
        let batches = loop.batches(events: n)
        // The generator steps once every `discriminatorSteps` batches.
        loop.install(config.schedule, rate: config.generatorLearningRate, on: generatorOptimizer, batchesPerEpoch: batches,
                     every: config.discriminatorSteps)
        loop.install(config.schedule, rate: config.discriminatorLearningRate, on: discriminatorOptimizer, batchesPerEpoch: batches)
        if let raw = rawGenerator { setGenerator(raw); rawGenerator = nil }
        parallel.broadcastParameters(generatorVariables + model.discriminatorParameters.map(\.variable))
        if config.generatorAverage != nil, average == nil { average = generatorVariables.map(\.value) }
        let generatorVariables = self.generatorVariables
        let discriminatorVariables = model.discriminatorParameters.map(\.variable)
        let reports = try loop.run(events: n, until: until, save: saveCheckpoint, progress: { history.append($0); progress($0) }) { epoch in
            let detectorOrder = model.needsPairedEvents ? epoch.order : epoch.stream("detectorShuffle").permutation(nd)
            let noise = epoch.noise
            var sums = (d: 0.0, penalty: 0.0, real: 0.0, fake: 0.0, g: 0.0, mmd: 0.0), dCount = 0, gCount = 0
            try epoch.forEachBatch { b in
                let rows = Array(epoch.rows(b))
                let detectorRows = model.needsPairedEvents ? rows : rows.indices.map { detectorOrder[(b * config.batchSize + $0) % nd] }
                let shard = parallel.shard(rows.indices)
                let xp = Variable(gatherRows(partonLevel, rows[shard])), xd = Variable(gatherRows(detectorLevel, detectorRows[shard]))

                let d = try step(discriminatorOptimizer, variables: discriminatorVariables, network: "discriminator",
                                 events: shard.count, of: rows.count, epoch: epoch, batch: b, reported: 3) {
                    let loss = model.discriminatorLoss(partonLevel: xp, detectorLevel: xd, rng: noise)
                    return (loss.total, [loss.gradientPenalty, loss.meanReal, loss.meanFake])
                }
                sums.d += Double(d[0]); sums.penalty += Double(d[1])
                sums.real += Double(d[2]); sums.fake += Double(d[3]); dCount += 1

                guard (b + 1) % config.discriminatorSteps == 0 else { return }
                let g = try step(generatorOptimizer, variables: generatorVariables, network: "generator",
                                 events: shard.count, of: rows.count, epoch: epoch, batch: b, reported: 1) {
                    let loss = model.generatorLoss(partonLevel: xp, detectorLevel: xd, rng: noise)
                    return (loss.total, [loss.mmd ?? 0])
                }
                updateAverage()
                sums.g += Double(g[0]); sums.mmd += Double(g[1]); gCount += 1
            }
            let timing = epoch.timing()
            let dn = Double(max(dCount, 1)), gn = Double(max(gCount, 1))
            return GANEpochReport(epoch: epoch.index, discriminatorLoss: sums.d / dn, generatorLoss: sums.g / gn,
                                  gradientPenalty: sums.penalty / dn,
                                  mmd: model.reportsMMD ? sums.mmd / gn : nil,
                                  meanDiscriminatorReal: sums.real / dn, meanDiscriminatorFake: sums.fake / dn,
                                  generatorLearningRate: generatorOptimizer.learningRate,
                                  discriminatorLearningRate: discriminatorOptimizer.learningRate,
                                  seconds: timing.seconds, eventsPerSecond: timing.eventsPerSecond, secondsRemaining: timing.secondsRemaining)
        }
        if let average {
            rawGenerator = generatorVariables.map(\.value)
            setGenerator(average)
        }
        return reports
    }

    /// One update of one network: the loss of this rank's `events` (of `total` in the global batch)
    /// from `loss` (the differentiable total and `reported` values beside it), its gradients for
    /// `variables` only (the other network gets none), averaged over the ranks together with the
    /// values [total, reported...] in one bucket, then the loop's NaN guard, clipping and the
    /// optimizer step. Returns the global batch's [total, reported...].
    private func step(_ optimizer: Adam, variables: [Variable], network: String, events: Int, of total: Int,
                      epoch: TrainingEpoch, batch: Int, reported: Int, loss: () -> (Variable, [Float])) throws -> [Float] {
        var values: [Float] = []
        if events > 0 {
            let (lossTotal, reported) = loss()
            values = [lossTotal.scalar] + reported
            if values[0].isFinite {
                let grads = gradients(of: lossTotal, withRespectTo: variables)
                for (v, g) in zip(variables, grads) { v.grad = g.value }
            }
        }
        if parallel.isDistributed {
            if values.isEmpty {
                for v in variables { v.grad = nil }
                values = [Float](repeating: 0, count: 1 + reported)
            }
            let share = Float(events) / Float(total)
            var sums = values.map { $0 * share }
            parallel.averageGradients(variables, localEvents: events, globalEvents: total, sums: &sums)
            values = sums
        }
        try epoch.step(optimizer, parameters: variables, loss: values[0], clip: config.gradientClip, network: network, batch: batch)
        return values
    }
}

/// Both Adam optimizers as one for Checkpoint: their state names differ by the parameter prefix
/// ("adam.m.generator.*", "adam.m.discriminator.*"); the generator's step count is the file's
/// optimizer step, the discriminator's travels in the metadata.
final class OptimizerPair: Optimizer {
    let generator: Adam, discriminator: Adam
    let discriminatorSteps: Int
    /// The raw generator weights saved beside theta_avg, and those found by `loadState`.
    var rawGenerator: [(name: String, tensor: Tensor)] = []
    private(set) var loadedRawGenerator: [Tensor]?
    static let rawPrefix = "gan.rawGenerator."

    init(_ generator: Adam, _ discriminator: Adam, discriminatorSteps: Int) {
        self.generator = generator; self.discriminator = discriminator; self.discriminatorSteps = discriminatorSteps
    }

    var parameters: [(name: String, variable: Variable)] { generator.parameters + discriminator.parameters }
    var learningRate: Float {
        get { generator.learningRate }
        set { generator.learningRate = newValue }
    }
    var schedule: LRSchedule? {
        get { generator.schedule }
        set { generator.schedule = newValue }
    }
    var stepCount: Int { generator.stepCount }
    func step() { generator.step(); discriminator.step() }
    var state: [(name: String, tensor: Tensor)] { generator.state + discriminator.state + rawGenerator }
    func loadState(_ tensors: [String: Tensor], stepCount: Int) throws {
        try generator.loadState(tensors, stepCount: stepCount)
        try discriminator.loadState(tensors, stepCount: discriminatorSteps)
        let raw = generator.parameters.map { tensors[Self.rawPrefix + $0.name] }
        if raw.allSatisfy({ $0 != nil }) { loadedRawGenerator = raw.map { $0! } }
    }
}
