import Foundation

/// Speed measurements for `refold bench` (never used in tests).
public enum TransformerBenchmarks {
    /// A padded batch: `events` events with a uniform count in `minimumTokens...tokens` of
    /// `features` standard-normal features each, padded slots holding noise too.
    public static func randomBatch(events: Int, tokens: Int, minimumTokens: Int, features: Int, rng: RNGStream)
        -> (tokens: Tensor, mask: TokenMask) {
        precondition(1...tokens ~= minimumTokens, "randomBatch: minimum \(minimumTokens) outside 1...\(tokens)")
        let counts = (0..<events).map { _ in minimumTokens + rng.integer(below: tokens - minimumTokens + 1) }
        return (Tensor.normal([events * tokens, features], rng: rng.child("features")), TokenMask(counts: counts, tokens: tokens))
    }

    /// Median milliseconds of one encoder forward pass (no graph) and of one training step
    /// (forward, mean squared error to a random condition, backward, Adam) on `events` events of
    /// 3...8 tokens with 4 features, over `steps` timed steps after 3 warm-up steps.
    public static func trainingStep(config: TransformerConfig, events: Int = 512, tokens: Int = 8, minimumTokens: Int = 3,
                                    features: Int = 4, steps: Int = 20, seed: UInt64 = 1)
        -> (forwardMilliseconds: Double, stepMilliseconds: Double, parameters: Int) {
        let rng = RNGStream(seed: seed)
        let model = TransformerEncoder(inputFeatures: features, config: config, rng: rng.child("model"))
        let optimizer = Adam(model.parameters, learningRate: 1e-3)
        let batch = randomBatch(events: events, tokens: tokens, minimumTokens: minimumTokens, features: features, rng: rng.child("data"))
        let x = Variable(batch.tokens)
        let target = Variable(Tensor.normal([events, config.conditionDimension], rng: rng.child("target")))
        func forward() { _ = withNoGrad { model(x, mask: batch.mask) } }
        func step() {
            optimizer.zeroGrad()
            backward(mean(square(model(x, mask: batch.mask) - target)))
            optimizer.step()
        }
        func median(_ body: () -> Void) -> Double {
            for _ in 0..<3 { body() }
            let times = (0..<steps).map { _ -> Double in
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            return times.sorted()[times.count / 2]
        }
        return (median(forward), median(step), model.parameterCount)
    }
}
