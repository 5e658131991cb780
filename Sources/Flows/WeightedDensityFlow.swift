import Foundation

/// Sizes of a `WeightedDensityFlow` (all-in-one couplings, `couplingStack`).
public struct DensityFlowConfig: Codable, Equatable {
    public var dimension: Int
    public var blocks: Int
    public var layersPerBlock: Int
    public var unitsPerLayer: Int
    /// Columns of a condition c every coupling sees (the augmentation parameter a of the theory
    /// band); nil or 0: an unconditional flow (model folders written before it decode as such).
    public var conditionDimension: Int?

    public init(dimension: Int, blocks: Int = 8, layersPerBlock: Int = 2, unitsPerLayer: Int = 64, conditionDimension: Int? = nil) {
        self.dimension = dimension; self.blocks = blocks; self.layersPerBlock = layersPerBlock; self.unitsPerLayer = unitsPerLayer
        self.conditionDimension = conditionDimension
    }

    /// The condition's columns (0 without one).
    public var conditions: Int { conditionDimension ?? 0 }

    public func validated() throws -> DensityFlowConfig {
        guard dimension >= 2, blocks >= 1, layersPerBlock >= 1, unitsPerLayer >= 1, conditions >= 0 else {
            throw RefoldError.value("DensityFlowConfig", expected: "dimension >= 2, blocks, layers, units >= 1, condition >= 0",
                                    actual: "\(dimension), \(blocks), \(layersPerBlock), \(unitsPerLayer), \(conditions)")
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
/// second array is the per-event weight column [N, 1] (followed by the condition's columns for a
/// conditional flow, [N, 1 + C]): the trainer's shuffling, checkpoints, resume and NaN guard then
/// apply unchanged. Parameters "flow.block*".
///
/// With `observableMMD` and `mmdWeight` > 0 the loss adds lambda MMD(o(g^-1(z)), o(x)) on
/// `mmdEvents` rows of each batch (talk 002: the MMD on m_t and m_W for narrow resonances a
/// likelihood alone does not resolve); the generated side keeps its graph, so the gradient reaches
/// the flow through its inverse. Unconditional flows only.
public final class WeightedDensityFlow: UnfoldingFlow {
    public let config: DensityFlowConfig
    public let flow: SequentialFlow
    /// Observables of generated against training events for the MMD term (nil: none).
    public var observableMMD: ObservableMMD?
    /// lambda of the MMD term.
    public var mmdWeight: Float = 0
    /// Rows of a batch in the MMD (its kernel sums cost N^2).
    public var mmdEvents = 128

    /// `rng` draws the subnets and permutations: the same seed rebuilds the same permutations.
    public init(config: DensityFlowConfig, rng: RNGStream) throws {
        self.config = try config.validated()
        flow = couplingStack(dimension: config.dimension, conditionDimension: config.conditions, blocks: config.blocks,
                             layers: config.layersPerBlock, units: config.unitsPerLayer, rng: rng)
    }

    public var partonDimension: Int { config.dimension }
    /// The weight column, then the condition's.
    public var detectorDimension: Int { 1 + config.conditions }
    public var parameters: [(name: String, variable: Variable)] { prefixed("flow", flow) }

    /// log p(x | c) per event [N, 1]; `condition` [N, C] exactly when the flow has one.
    public func logDensity(_ x: Variable, condition: Variable? = nil) -> Variable {
        precondition((condition?.value.columns ?? 0) == config.conditions,
                     "WeightedDensityFlow: expected \(config.conditions) condition columns, got \(condition?.value.columns ?? 0)")
        let (z, logDet) = flow.forward(x, condition: condition)
        let constant = Float(config.dimension) / 2 * Float(Foundation.log(2 * Double.pi))
        return sum(square(z), axis: 1) * -0.5 + logDet - constant
    }

    /// The weighted negative log-likelihood of a batch: x [N, D], `detectorLevel` [N, 1 + C] the
    /// weights (non-negative, not all zero) and the condition; plus the MMD term when set.
    public func loss(partonLevel x: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        let c = config.conditions
        let weights = c == 0 ? detectorLevel : sliceColumns(detectorLevel, start: 0, count: 1)
        let condition = c == 0 ? nil : Variable(sliceColumns(detectorLevel, start: 1, count: c).value)
        // The weights are data (no gradient): their sum is a number.
        let total = weights.value.storage.reduce(Float(0), +)
        let nll = sum(logDensity(x, condition: condition) * Variable(weights.value)) * (-1 / Swift.max(total, .leastNormalMagnitude))
        guard mmdWeight > 0, c == 0, let observableMMD else { return FlowLoss(total: nll, terms: [.negativeLogLikelihood: nll.scalar]) }
        let m = Swift.min(mmdEvents, x.value.rows)
        let generated = flow.inverse(gaussianNoise(rows: m, columns: config.dimension, rng: rng.child("mmd")), condition: nil).x
        guard let mmd = observableMMD(generated: generated, truth: sliceRows(Variable(x.value), start: 0, count: m)) else {
            return FlowLoss(total: nll, terms: [.negativeLogLikelihood: nll.scalar])
        }
        return FlowLoss(total: nll + mmdWeight * mmd, terms: [.negativeLogLikelihood: nll.scalar, .mmdObservables: mmd.scalar])
    }

    /// `count` events per row of `detectorLevel` (its values unused): [N, K, D], for the protocol.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        let x = try sample(events: detectorLevel.rows * count, rng: rng)
        return x.reshaped([detectorLevel.rows, count, config.dimension])
    }

    /// `events` generated points [events, D] in the flow's coordinates, without a graph (chunks of
    /// 16384 rows, chunk k from `rng.child(index: k)`); `condition` [events, C] exactly when the
    /// flow has one.
    public func sample(events: Int, condition: Tensor? = nil, rng: RNGStream) throws -> Tensor {
        guard events >= 1 else { throw RefoldError.value("generated events", expected: ">= 1", actual: events) }
        guard (condition?.columns ?? 0) == config.conditions, condition.map({ $0.rows == events }) ?? true else {
            throw RefoldError.shape("generator condition", expected: [events, config.conditions], actual: condition?.shape ?? [])
        }
        let d = config.dimension, c = config.conditions
        return chunkedSampling(events: events, count: 1, partonDimension: d, rng: rng) { range, rng in
            let rows = condition.map { t in
                Variable(Tensor(shape: [range.count, c], storage: Array(t.storage[(range.lowerBound * c)..<(range.upperBound * c)])))
            }
            return flow.inverse(gaussianNoise(rows: range.count, columns: d, rng: rng), condition: rows).x.value
        }.reshaped([events, d])
    }
}

extension DensityFlowConfig: CheckedConfiguration {
    public func validate() throws { _ = try validated() }
}
