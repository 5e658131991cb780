import Flows
import Foundation
import NN
import Tensor

/// Sizes and optimisation of an `EventClassifier`.
public struct ClassifierConfig: Codable, Equatable {
    public var hiddenLayers: Int
    public var units: Int
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float

    public init(hiddenLayers: Int = 3, units: Int = 64, epochs: Int = 20, batchSize: Int = 512, learningRate: Float = 1e-3) {
        self.hiddenLayers = hiddenLayers; self.units = units; self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
    }

    public func validated() throws -> ClassifierConfig {
        guard hiddenLayers >= 1, units >= 1, epochs >= 1, batchSize >= 2, learningRate > 0 else {
            throw RefoldError.value("ClassifierConfig", expected: "hidden layers, units, epochs >= 1, batch >= 2, lr > 0",
                                    actual: "\(hiddenLayers), \(units), \(epochs), \(batchSize), \(learningRate)")
        }
        return self
    }
}

/// The discriminator of the controlled precision generator (talk 001, arXiv:2110.13632): an MLP
/// logit phi(x), D = sigmoid(phi), trained on truth (label 1) against generated events (label 0) by
/// the class-balanced cross entropy
///
///     L = <softplus(-phi)>_truth + sum_g w_g softplus(phi_g) / sum_g w_g,
///
/// whose minimiser is D = p_truth / (p_truth + p_generated), so the event weight
/// w = D / (1 - D) = exp(phi) turns the generated density into the truth's where the classifier has
/// converged. The generated events may carry weights w_g (the generator's own event weights): the
/// classifier then compares the truth with the weighted generated density. Inputs are standardised
/// with the union of both training sets. Adam with a cosine schedule through `TrainingLoop`; each
/// epoch draws batches of B/2 truth and B/2 generated rows (epoch e shuffles with
/// `rng.child("shuffle").child(index: e)`), as many as the larger set needs.
public final class EventClassifier: Module {
    public let config: ClassifierConfig
    public let network: MLP
    public private(set) var standardizer: Standardizer
    /// Mean training loss per epoch (ln 4 = 1.386 when nothing is distinguishable).
    public private(set) var history: [Double] = []

    /// `standardizer`: that of a trained classifier being rebuilt from its model folder (the
    /// weights are loaded after); nil for a fresh one (`train` fits it).
    public init(inputs: Int, config: ClassifierConfig, rng: RNGStream, standardizer: Standardizer? = nil) throws {
        self.config = try config.validated()
        guard inputs >= 1, standardizer.map({ $0.dimension == inputs }) ?? true else {
            throw RefoldError.value("classifier inputs", expected: ">= 1, the standardiser's \(standardizer?.dimension ?? inputs)", actual: inputs)
        }
        network = MLP(sizes: [inputs] + [Int](repeating: config.units, count: config.hiddenLayers) + [1], activation: .leakyRelu, rng: rng)
        self.standardizer = try standardizer ?? Standardizer(mean: [Double](repeating: 0, count: inputs), std: [Double](repeating: 1, count: inputs))
    }

    public var parameters: [(name: String, variable: Variable)] { prefixed("network", network) }
    public var inputs: Int { standardizer.dimension }

    /// Trains on `truth` [N_t, D] against `generated` [N_g, D] with optional non-negative weights
    /// of the generated events (default 1).
    public func train(truth: Tensor, generated: Tensor, generatedWeights: [Double]? = nil, rng: RNGStream,
                      progress: (Int, Double) -> Void = { _, _ in }) throws {
        for (name, t) in [("truth", truth), ("generated", generated)] {
            guard t.rank == 2, t.columns == inputs, t.rows >= 1 else {
                throw RefoldError.shape("classifier \(name) events", expected: [t.rows, inputs], actual: t.shape)
            }
            if let i = t.storage.firstIndex(where: { !$0.isFinite }) {
                throw RefoldError.value("classifier \(name) event \(i / inputs) input \(i % inputs)", expected: "a finite value", actual: t.storage[i])
            }
        }
        let w = generatedWeights ?? [Double](repeating: 1, count: generated.rows)
        guard w.count == generated.rows, w.allSatisfy({ $0 >= 0 && $0.isFinite }), w.contains(where: { $0 > 0 }) else {
            throw RefoldError.value("generated event weights", expected: "\(generated.rows) finite weights >= 0, not all 0",
                                    actual: "\(w.count) weights, range \(w.min() ?? .nan)...\(w.max() ?? .nan)")
        }
        standardizer = try Standardizer(fitting: concat([truth, generated], axis: 0))
        let x1 = try standardizer.transform(truth), x0 = try standardizer.transform(generated)
        let half = config.batchSize / 2
        // An epoch is as many batches of B/2 + B/2 rows as the larger set needs.
        let loop = TrainingLoop(name: "EventClassifier", epochs: config.epochs, batchSize: half, rng: rng)
        let events = max(x1.rows, x0.rows)
        let optimizer = Adam(parameters, learningRate: config.learningRate)
        let variables = parameterVariables
        loop.install(.cosine, rate: config.learningRate, on: optimizer, batchesPerEpoch: loop.batches(events: events))
        try loop.run(events: events, progress: { history.append($0.loss); progress($0.epoch, $0.loss) }) { epoch -> (epoch: Int, loss: Double) in
            let order1 = epoch.shuffle.child("truth").permutation(x1.rows), order0 = epoch.shuffle.child("generated").permutation(x0.rows)
            var total = 0.0
            try epoch.forEachBatch { s in
                func batch(_ order: [Int]) -> [Int] { (0..<half).map { order[(s * half + $0) % order.count] } }
                optimizer.zeroGrad()
                let rows0 = batch(order0)
                let weights0 = rows0.map { Float(w[$0]) }, total0 = weights0.reduce(0, +)
                guard total0 > 0 else { return }
                let phi1 = network(Variable(gatherRows(x1, batch(order1)))), phi0 = network(Variable(gatherRows(x0, rows0)))
                let loss = mean(softplus(-phi1)) + sum(softplus(phi0) * Variable(Tensor(shape: [half, 1], storage: weights0))) * (1 / total0)
                if loss.scalar.isFinite { backward(loss) }
                try epoch.step(optimizer, parameters: variables, loss: loss.scalar, clip: 10, batch: s)
                total += Double(loss.scalar)
            }
            return (epoch: epoch.index, loss: total / Double(epoch.batches))
        }
    }

    /// The logit phi = log D / (1 - D) of every row of `x` [N, D].
    public func logits(_ x: Tensor) throws -> [Double] {
        guard x.rank == 2, x.columns == inputs else { throw RefoldError.shape("classifier input", expected: [x.rows, inputs], actual: x.shape) }
        let standardised = try standardizer.transform(x)
        var out: [Double] = []
        out.reserveCapacity(x.rows)
        withNoGrad {
            var start = 0
            while start < x.rows {
                let rows = start..<min(x.rows, start + 8192)
                out += network(Variable(gatherRows(standardised, rows))).value.storage.map(Double.init)
                start = rows.upperBound
            }
        }
        return out
    }
}

/// Discriminator weights w = D / (1 - D) = exp(phi), clipped at `maximum`: the weights and the
/// fraction of events whose weight was clipped.
public func discriminatorWeights(logits: [Double], maximum: Double) -> (weights: [Double], clippedFraction: Double) {
    var clipped = 0
    let weights = logits.map { phi -> Double in
        let w = Foundation.exp(phi)
        if w > maximum { clipped += 1; return maximum }
        return w
    }
    return (weights, logits.isEmpty ? 0 : Double(clipped) / Double(logits.count))
}

extension ClassifierConfig: CheckedConfiguration {
    public func validate() throws { _ = try validated() }
}
