import Foundation

/// Sizes of a `WeightedDensityFlow` (all-in-one couplings, `couplingStack`).
public struct DensityFlowConfig: Codable, Equatable {
    public var dimension: Int
    public var blocks: Int
    public var layersPerBlock: Int
    public var unitsPerLayer: Int

    public init(dimension: Int, blocks: Int = 8, layersPerBlock: Int = 2, unitsPerLayer: Int = 64) {
        self.dimension = dimension; self.blocks = blocks; self.layersPerBlock = layersPerBlock; self.unitsPerLayer = unitsPerLayer
    }

    public func validated() throws -> DensityFlowConfig {
        guard dimension >= 2, blocks >= 1, layersPerBlock >= 1, unitsPerLayer >= 1 else {
            throw RefoldError.value("DensityFlowConfig", expected: "dimension >= 2, blocks, layers, units >= 1",
                                    actual: "\(dimension), \(blocks), \(layersPerBlock), \(unitsPerLayer)")
        }
        return self
    }
}

/// An unconditional INN generator: x = g^-1(z), z ~ N(0, 1) in D dimensions, trained by weighted
/// maximum likelihood,
///
///     L = - sum_i w_i log p(x_i) / sum_i w_i,   log p(x) = -|g(x)|^2 / 2 - D/2 log(2 pi) + log|det dg/dx|,
///
/// whose minimum is the weighted density p(x) ∝ w(x) p_data(x) (the precision generator's Delta R
/// weight f; w = 1 is plain maximum likelihood). Through `FlowTrainer` (`UnfoldingFlow`) the
/// second array is the per-event weight column [N, 1]: the trainer's shuffling, checkpoints,
/// resume and NaN guard then apply unchanged. Parameters "flow.block*".
public final class WeightedDensityFlow: UnfoldingFlow {
    public let config: DensityFlowConfig
    public let flow: SequentialFlow

    /// `rng` draws the subnets and permutations: the same seed rebuilds the same permutations.
    public init(config: DensityFlowConfig, rng: RNGStream) throws {
        self.config = try config.validated()
        flow = couplingStack(dimension: config.dimension, blocks: config.blocks, layers: config.layersPerBlock,
                             units: config.unitsPerLayer, rng: rng)
    }

    public var partonDimension: Int { config.dimension }
    /// The weight column.
    public var detectorDimension: Int { 1 }
    public var parameters: [(name: String, variable: Variable)] { prefixed("flow", flow) }

    /// log p(x) per event [N, 1].
    public func logDensity(_ x: Variable) -> Variable {
        let (z, logDet) = flow.forward(x, condition: nil)
        let constant = Float(config.dimension) / 2 * Float(Foundation.log(2 * Double.pi))
        return sum(square(z), axis: 1) * -0.5 + logDet - constant
    }

    /// The weighted negative log-likelihood of a batch: x [N, D], weights [N, 1] (non-negative,
    /// not all zero).
    public func loss(partonLevel x: Variable, detectorLevel weights: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        // The weights are data (no gradient): their sum is a number.
        let total = weights.value.storage.reduce(Float(0), +)
        let nll = sum(logDensity(x) * weights) * (-1 / Swift.max(total, .leastNormalMagnitude))
        return FlowLoss(total: nll, terms: [.negativeLogLikelihood: nll.scalar])
    }

    /// `count` events per row of `detectorLevel` (its values unused): [N, K, D], for the protocol.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        let x = try sample(events: detectorLevel.rows * count, rng: rng)
        return x.reshaped([detectorLevel.rows, count, config.dimension])
    }

    /// `events` generated points [events, D] in the flow's coordinates, without a graph (chunks of
    /// 16384 rows, chunk k from `rng.child(index: k)`).
    public func sample(events: Int, rng: RNGStream) throws -> Tensor {
        guard events >= 1 else { throw RefoldError.value("generated events", expected: ">= 1", actual: events) }
        let d = config.dimension
        return chunkedSampling(events: events, count: 1, partonDimension: d, rng: rng) { range, rng in
            flow.inverse(gaussianNoise(rows: range.count, columns: d, rng: rng), condition: nil).x.value
        }.reshaped([events, d])
    }
}

extension DensityFlowConfig: CheckedConfiguration {
    public func validate() throws { _ = try validated() }
}
