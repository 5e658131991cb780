import Foundation

/// Speed measurements for `refold bench` (never used in tests).
public enum FlowBenchmarks {
    /// Seconds for one training epoch of a cINN (D_p = 12, D_d = 16 as in the ZW study, batch
    /// 512, Adam) on `events` events, extrapolated from `batches` timed steps after 3 warm-up steps.
    public static func cinnEpoch(events: Int = 290_000, config: ConditionalINNConfig = .paper, seed: UInt64 = 1,
                                 batches: Int = 50, batchSize: Int = 512) -> Double {
        let rng = RNGStream(seed: seed)
        let model = ConditionalINN(partonDimension: 12, detectorDimension: 16, config: config, rng: rng.child("model"))
        let optimizer = Adam(model.parameters, learningRate: 8e-4)
        let data = rng.child("data")
        let xp = Variable(Tensor.normal([batchSize, 12], rng: data)), xd = Variable(Tensor.normal([batchSize, 16], rng: data))
        let noise = rng.child("noise")
        return epochSeconds(events: events, batchSize: batchSize, batches: batches) {
            optimizer.zeroGrad()
            backward(model.loss(partonLevel: xp, detectorLevel: xd, epoch: 0, rng: noise).total)
            clipGradNorm(model.parameterVariables, maxNorm: 10)
            optimizer.step()
        }
    }

    /// Seconds for one training epoch of a BINN (loss NLL + KL / N with local reparametrisation,
    /// batch 512, Adam) on `config.trainingEvents` events, extrapolated from `batches` timed steps.
    public static func binnEpoch(config: BINNConfig = .drellYanPaper(), seed: UInt64 = 1, batches: Int = 50,
                                 batchSize: Int = 512) -> Double {
        let rng = RNGStream(seed: seed)
        let model = BayesianINN(config: config, rng: rng.child("model"))
        let optimizer = Adam(model.parameters, learningRate: 1e-3)
        let x = Variable(Tensor.normal([batchSize, config.dimension], rng: rng.child("data")))
        let none = Variable(Tensor(shape: [batchSize, 0]))
        let noise = rng.child("noise")
        return epochSeconds(events: config.trainingEvents, batchSize: batchSize, batches: batches) {
            optimizer.zeroGrad()
            backward(model.loss(partonLevel: x, detectorLevel: none, epoch: 0, rng: noise).total)
            clipGradNorm(model.parameterVariables, maxNorm: 10)
            optimizer.step()
        }
    }

    /// Seconds for an epoch of `events` events in batches of `batchSize`, extrapolated from
    /// `batches` timed calls of `step` after 3 warm-up ones.
    static func epochSeconds(events: Int, batchSize: Int, batches: Int, step: () -> Void) -> Double {
        for _ in 0..<3 { step() }
        let start = Date()
        for _ in 0..<batches { step() }
        let perBatch = Date().timeIntervalSince(start) / Double(batches)
        return perBatch * Double((events + batchSize - 1) / batchSize)
    }

    /// Unfolded events per second: `samples` posterior samples for each of `events` events.
    public static func sampling(events: Int = 2_000, samples: Int = 100, config: ConditionalINNConfig = .paper,
                                seed: UInt64 = 1) -> Double {
        let rng = RNGStream(seed: seed)
        let model = ConditionalINN(partonDimension: 12, detectorDimension: 16, config: config, rng: rng.child("model"))
        let xd = Tensor.normal([events, 16], rng: rng.child("data"))
        let start = Date()
        _ = try? model.sample(detectorLevel: xd, count: samples, rng: rng.child("sample"))
        return Double(events) / max(Date().timeIntervalSince(start), 1e-9)
    }

    /// A conditional spline flow (`SplineFlowConfig.quick` with the given conditioner: 6
    /// transforms, K = 16, B = 5; D = 10, C = 16, batch 512): median milliseconds of one training
    /// step (forward, NLL, backward, Adam) and of one sampling pass (the inverse of a batch, D
    /// MADE passes per autoregressive transform), over `steps` timed repetitions after 3 warm-up
    /// ones, and the fraction of the sampling pass's spline inputs in the linear tails.
    public static func splineFlowStep(conditioner: SplineFlowConfig.Conditioner, dimension: Int = 10, conditionDimension: Int = 16,
                                      batchSize: Int = 512, steps: Int = 20, seed: UInt64 = 1)
        -> (trainingMilliseconds: Double, samplingMilliseconds: Double, samplingTailFraction: Double) {
        let rng = RNGStream(seed: seed)
        var config = SplineFlowConfig.quick
        config.conditioner = conditioner
        let flow = ConditionalSplineFlow(dimension: dimension, conditionDimension: conditionDimension, config: config, rng: rng.child("model"))
        let optimizer = Adam(flow.parameters, learningRate: 1e-3)
        let data = rng.child("data")
        let x = Variable(Tensor.normal([batchSize, dimension], rng: data)), c = Tensor.normal([batchSize, conditionDimension], rng: data)
        func milliseconds(_ body: () -> Void) -> [Double] {
            for _ in 0..<3 { body() }
            return (0..<steps).map { _ in
                let start = Date()
                body()
                return Date().timeIntervalSince(start) * 1e3
            }.sorted()
        }
        let training = milliseconds {
            optimizer.zeroGrad()
            backward(-mean(flow.logLikelihood(x, condition: Variable(c))))
            optimizer.step()
        }
        let noise = rng.child("sample")
        let sampling = milliseconds { _ = flow.sample(condition: c, rng: noise) }
        let tails = flow.lastTailCounts.reduce(SplineTailCount(), +)
        return (training[steps / 2], sampling[steps / 2], tails.fraction)
    }

    /// The Z+jets INN generator's largest flow (a `WeightedDensityFlow` of D = 14, the 3-jet
    /// coordinates): seconds per training epoch on `events` weighted events (batch 512, Adam;
    /// extrapolated from `batches` timed steps after 3 warm-up ones) and generated points per second
    /// (inverse pass of `samples` latent points).
    public static func densityFlowEpochAndSampling(dimension: Int = 14, config: DensityFlowConfig, events: Int = 60_000,
                                                   samples: Int = 100_000, batches: Int = 20, seed: UInt64 = 1) -> (epochSeconds: Double, samplesPerSecond: Double) {
        let rng = RNGStream(seed: seed)
        var sized = config
        sized.dimension = dimension
        guard let flow = try? WeightedDensityFlow(config: sized, rng: rng.child("model")) else { return (.nan, .nan) }
        let optimizer = Adam(flow.parameters, learningRate: 1e-3)
        let x = Variable(Tensor.normal([512, dimension], rng: rng.child("data"))), w = Variable(Tensor(shape: [512, 1], repeating: 1))
        let epoch = epochSeconds(events: events, batchSize: 512, batches: batches) {
            optimizer.zeroGrad()
            backward(flow.loss(partonLevel: x, detectorLevel: w, epoch: 0, rng: rng).total)
            clipGradNorm(flow.parameterVariables, maxNorm: 10)
            optimizer.step()
        }
        let sampling = Date()
        _ = try? flow.sample(events: samples, rng: rng.child("sample"))
        return (epoch, Double(samples) / max(Date().timeIntervalSince(sampling), 1e-9))
    }
}

extension FlowBenchmarks {
    /// Seconds per global batch of `batchSize` events when FlowTrainer trains a cINN (D_p = 12,
    /// D_d = 16) data-parallel over the world's ranks (`batchSize / ranks` events each, one
    /// allreduce per step): the second epoch of `batches` batches, after a first one as warm-up.
    public static func dataParallelStep(config: ConditionalINNConfig = .paper, batchSize: Int = 512, batches: Int = 10,
                                        seed: UInt64 = 1) throws -> Double {
        let rng = RNGStream(seed: seed)
        let model = ConditionalINN(partonDimension: 12, detectorDimension: 16, config: config, rng: rng.child("model"))
        let n = batchSize * batches
        let xp = Tensor.normal([n, 12], rng: rng.child("parton")), xd = Tensor.normal([n, 16], rng: rng.child("detector"))
        let training = TrainingConfig(epochs: 2, batchSize: batchSize, learningRate: 8e-4)
        let reports = try FlowTrainer(model: model, config: training, rng: rng.child("train")).train(partonLevel: xp, detectorLevel: xd)
        return reports[1].seconds / Double(batches)
    }
}
