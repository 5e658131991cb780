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
        func step() {
            optimizer.zeroGrad()
            backward(model.loss(partonLevel: xp, detectorLevel: xd, epoch: 0, rng: noise).total)
            clipGradNorm(model.parameterVariables, maxNorm: 10)
            optimizer.step()
        }
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
}
