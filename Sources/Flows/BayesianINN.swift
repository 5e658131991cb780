import Foundation

/// Sizes of a BINN (thesis tables 6.1, 6.2). `hiddenLayers` counts hidden layers, so a subnet has
/// hiddenLayers + 1 linear layers.
public struct BINNConfig: Codable, Equatable {
    public var dimension: Int
    public var blocks: Int
    public var hiddenLayers: Int
    public var units: Int
    public var priorWidth: Float
    /// N in the loss NLL + KL / N (eq. 6.16): the training-set size.
    public var trainingEvents: Int

    public init(dimension: Int, blocks: Int, hiddenLayers: Int, units: Int, priorWidth: Float = 1, trainingEvents: Int) {
        self.dimension = dimension; self.blocks = blocks; self.hiddenLayers = hiddenLayers; self.units = units
        self.priorWidth = priorWidth; self.trainingEvents = trainingEvents
    }

    /// Table 6.1 (toys): 20 blocks, 3 hidden layers x 32 units, prior 1, 300k events.
    public static func paper(dimension: Int = 2, trainingEvents: Int = 300_000) -> BINNConfig {
        BINNConfig(dimension: dimension, blocks: 20, hiddenLayers: 3, units: 32, trainingEvents: trainingEvents)
    }
    /// Table 6.2 (Drell-Yan): 20 blocks, 2 hidden layers x 64 units, prior 1, 1M events (182k weights for D = 4).
    public static func drellYanPaper(dimension: Int = 4, trainingEvents: Int = 1_000_000) -> BINNConfig {
        BINNConfig(dimension: dimension, blocks: 20, hiddenLayers: 2, units: 64, trainingEvents: trainingEvents)
    }
    /// Two cores, a minute or two: 8 blocks, 2 hidden layers x 32 units.
    public static func quick(dimension: Int = 2, trainingEvents: Int) -> BINNConfig {
        BINNConfig(dimension: dimension, blocks: 8, hiddenLayers: 2, units: 32, trainingEvents: trainingEvents)
    }

    /// Table 6.1 training: 300 epochs, batch 512, Adam lr 1e-3 (constant).
    public static let paperTraining = TrainingConfig(epochs: 300, batchSize: 512, learningRate: 1e-3, weightDecay: 0,
                                                     schedule: .constant, gradientClip: 10)
    /// Table 6.2 training: 500 epochs.
    public static let drellYanTraining = TrainingConfig(epochs: 500, batchSize: 512, learningRate: 1e-3, weightDecay: 0,
                                                        schedule: .constant, gradientClip: 10)
}

/// The Bayesian INN (thesis sec. 6.2.3, eq. 6.15-6.16): an unconditional flow x <-> z whose
/// coupling subnets are Bayesian, trained on
///
///     L = < -log p_Z(G(x; theta)) - log|det dG/dx| >_batch + KL(q_phi, p) / N
///
/// with theta drawn per batch by local reparametrisation. A density estimator: it conforms to
/// `UnfoldingFlow` with x as "parton level" and no detector level (D_d = 0), so FlowTrainer
/// trains it with its progress, checkpoints, NaN guard and resume.
public final class BayesianINN: UnfoldingFlow {
    public let config: BINNConfig
    public let flow: SequentialFlow
    public let couplings: [BayesianCoupling]

    /// Block i from `rng.child(index: i)`.
    public init(config: BINNConfig, rng: RNGStream) {
        precondition(config.dimension >= 2 && config.blocks >= 1 && config.hiddenLayers >= 0 && config.trainingEvents >= 1,
                     "BayesianINN: expected dimension >= 2, blocks >= 1, hiddenLayers >= 0, trainingEvents >= 1, got \(config)")
        self.config = config
        couplings = (0..<config.blocks).map { i in
            BayesianCoupling(dimension: config.dimension, layers: config.hiddenLayers + 1, units: config.units,
                             priorWidth: config.priorWidth, rng: rng.child(index: i))
        }
        flow = SequentialFlow(couplings, prefix: "block")
    }

    public var partonDimension: Int { config.dimension }
    public var detectorDimension: Int { 0 }
    public var parameters: [(name: String, variable: Variable)] { flow.parameters }
    public var bayesianLayers: [BayesianDense] { couplings.flatMap(\.subnet.layers) }

    /// Number of Bayesian weights (each with a mean and a variance).
    public var bayesianWeightCount: Int { bayesianLayers.reduce(0) { $0 + $1.weightCount } }

    public func setMode(_ mode: BayesianMode) { for layer in bayesianLayers { layer.mode = mode } }

    /// One weight draw theta ~ q for every layer (layer k from `rng.child(index: k)`), kept until the next call.
    public func resample(rng: RNGStream) {
        for (k, layer) in bayesianLayers.enumerated() { layer.resample(rng: rng.child(index: k)) }
    }

    /// Sum of the layers' KL(q || p).
    public func klDivergence() -> Variable {
        let layers = bayesianLayers
        return layers.dropFirst().reduce(layers[0].klDivergence()) { $0 + $1.klDivergence() }
    }

    /// -log p(x | theta) per event [N, 1] with the current mode's weights (standardised coordinates).
    public func negativeLogLikelihood(_ x: Variable) -> Variable {
        let (z, logDet) = flow.forward(x, condition: nil)
        let half = Float(0.5 * Double(config.dimension) * Foundation.log(2 * Double.pi))
        return sum(square(z), axis: 1) * 0.5 + half - logDet
    }

    public func loss(partonLevel: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        setMode(.training(rng))
        let nll = mean(negativeLogLikelihood(partonLevel))
        let kl = klDivergence() * (1 / Float(config.trainingEvents))
        return FlowLoss(total: nll + kl, terms: [.negativeLogLikelihood: nll.scalar])
    }

    /// x = G^-1(z), z ~ N(0, 1), with the current weights: `count` events per detector-level row.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        let rows = detectorLevel.rows
        return chunkedSampling(events: rows, count: count, partonDimension: config.dimension, rng: rng) { range, r in
            flow.inverse(gaussianNoise(rows: range.count * count, columns: config.dimension, rng: r), condition: nil).x.value
        }
    }
}

extension BINNConfig: CheckedConfiguration {
    /// Throws unless every size is >= 1 and the prior width positive.
    public func validate() throws {
        guard blocks >= 1, hiddenLayers >= 1, units >= 1, priorWidth > 0, priorWidth.isFinite else {
            throw RefoldError.value("BINNConfig", expected: "blocks, hidden_layers, units >= 1, prior_width > 0",
                                    actual: "\(blocks), \(hiddenLayers), \(units), \(priorWidth)")
        }
    }
}
