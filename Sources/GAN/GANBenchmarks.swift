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
        return epochSeconds(model, first: Tensor.normal([batchSize, 12], rng: data), second: Tensor.normal([batchSize, 16], rng: data),
                            events: events, batches: batches, seed: seed)
    }

    /// Seconds for one subtraction-GAN epoch over `events` B events with 2 columns (the Drell-Yan
    /// study's m_ee, cos theta; the S batch as large as the B batch), same extrapolation.
    public static func subtractionEpoch(events: Int = 50_000, config: GANConfig, seed: UInt64 = 1,
                                        batches: Int = 20, batchSize: Int = 512) -> Double {
        let rng = RNGStream(seed: seed)
        let b = Tensor.normal([batchSize, 2], rng: rng.child("b")), s = Tensor.normal([batchSize, 2], rng: rng.child("s"))
        guard let coordinates = try? SubtractionCoordinates(box: nil, fitting: b),
              let model = try? SubtractionGAN(columns: ["m_ee", "cos_theta"], config: config, coordinates: coordinates,
                                              crossSectionB: 1, crossSectionS: 0.01, rng: rng.child("model")) else { return .nan }
        return epochSeconds(model, first: b, second: s, events: events, batches: batches, seed: seed)
    }

    /// One discriminator and one generator step per batch, each with its own Adam, timed.
    static func epochSeconds<Model: AdversarialModel>(_ model: Model, first: Tensor, second: Tensor, events: Int, batches: Int,
                                                      seed: UInt64) -> Double {
        let x = Variable(first), y = Variable(second)
        let generatorOptimizer = Adam(model.generatorParameters, learningRate: 1e-4, beta1: 0.5, beta2: 0.9)
        let discriminatorOptimizer = Adam(model.discriminatorParameters, learningRate: 1e-4, beta1: 0.5, beta2: 0.9)
        let noise = RNGStream(seed: seed).child("noise")
        func step() {
            let d = model.discriminatorLoss(partonLevel: x, detectorLevel: y, rng: noise).total
            for (p, g) in zip(discriminatorOptimizer.parameters, gradients(of: d, withRespectTo: discriminatorOptimizer.parameters.map(\.variable))) {
                p.variable.grad = g.value
            }
            discriminatorOptimizer.step()
            let g = model.generatorLoss(partonLevel: x, detectorLevel: y, rng: noise).total
            for (p, gr) in zip(generatorOptimizer.parameters, gradients(of: g, withRespectTo: generatorOptimizer.parameters.map(\.variable))) {
                p.variable.grad = gr.value
            }
            generatorOptimizer.step()
        }
        for _ in 0..<2 { step() }
        let start = Date()
        for _ in 0..<batches { step() }
        let perBatch = Date().timeIntervalSince(start) / Double(batches)
        return perBatch * Double((events + first.rows - 1) / first.rows)
    }
}
