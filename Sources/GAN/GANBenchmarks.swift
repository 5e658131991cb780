import Foundation

/// Speed measurements for `refold bench` (never used in tests).
public enum GANBenchmarks {
    /// Seconds for one FCGAN training epoch (D_p = 12, D_d = 16 as in the ZW study, one
    /// discriminator step with the double-backward penalty and one generator step per batch) on
    /// `events` events, extrapolated from `batches` timed steps after 2 warm-up steps.
    public static func fcganEpoch(events: Int = 290_000, config: GANConfig = .paper, seed: UInt64 = 1,
                                  batches: Int = 20, batchSize: Int = 512) -> Double {
        let rng = RNGStream(seed: seed)
        guard let model = try? FullyConditionalGAN(partonDimension: 12, detectorDimension: 16, config: config,
                                                   rng: rng.child("model")) else { return .nan }
        let data = rng.child("data")
        let xp = Variable(Tensor.normal([batchSize, 12], rng: data)), xd = Variable(Tensor.normal([batchSize, 16], rng: data))
        let generatorOptimizer = Adam(model.generatorParameters, learningRate: 1e-4, beta1: 0.5, beta2: 0.9)
        let discriminatorOptimizer = Adam(model.discriminatorParameters, learningRate: 1e-4, beta1: 0.5, beta2: 0.9)
        let noise = rng.child("noise")
        func step() {
            let d = model.discriminatorLoss(partonLevel: xp, detectorLevel: xd, rng: noise).total
            for (p, g) in zip(discriminatorOptimizer.parameters, gradients(of: d, withRespectTo: discriminatorOptimizer.parameters.map(\.variable))) {
                p.variable.grad = g.value
            }
            discriminatorOptimizer.step()
            let g = model.generatorLoss(partonLevel: xp, detectorLevel: xd, rng: noise).total
            for (p, gr) in zip(generatorOptimizer.parameters, gradients(of: g, withRespectTo: generatorOptimizer.parameters.map(\.variable))) {
                p.variable.grad = gr.value
            }
            generatorOptimizer.step()
        }
        for _ in 0..<2 { step() }
        let start = Date()
        for _ in 0..<batches { step() }
        let perBatch = Date().timeIntervalSince(start) / Double(batches)
        return perBatch * Double((events + batchSize - 1) / batchSize)
    }
}
