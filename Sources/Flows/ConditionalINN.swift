import Foundation

/// Sizes and loss weights of a cINN (thesis table 5.2). "Layers" count linear layers, as in the
/// paper's weight counts: a 2-layer subnet is in -> units -> out.
public struct ConditionalINNConfig: Codable, Equatable {
    public var blocks: Int
    public var layersPerBlock: Int
    public var unitsPerLayer: Int
    /// Linear layers of the condition network f(x_d) (ReLU between), hidden width, output width.
    public var conditionLayers: Int
    public var conditionUnits: Int
    public var conditionOutput: Int
    public var clamp: SoftClamp
    public var initialization: SubnetInitialization
    /// lambda_MMD of the observable MMD on generated events (used only with observables).
    public var mmdWeight: WeightSchedule
    public var mmd: MMDLoss

    public init(blocks: Int, layersPerBlock: Int, unitsPerLayer: Int, conditionLayers: Int, conditionUnits: Int,
                conditionOutput: Int, clamp: SoftClamp = .tanh, initialization: SubnetInitialization = .zeroLastLayer,
                mmdWeight: WeightSchedule = .off, mmd: MMDLoss = MMDLoss(widths: MMDLoss.massWidthsGeV)) {
        self.blocks = blocks; self.layersPerBlock = layersPerBlock; self.unitsPerLayer = unitsPerLayer
        self.conditionLayers = conditionLayers; self.conditionUnits = conditionUnits; self.conditionOutput = conditionOutput
        self.clamp = clamp; self.initialization = initialization; self.mmdWeight = mmdWeight; self.mmd = mmd
    }

    /// Table 5.2, no ISR: 24 blocks x 2 layers x 256 units, f: 2 layers x 1024 -> 256,
    /// lambda_MMD 0.5 (about 2M weights for D_p = 12, D_d = 16).
    public static let paper = ConditionalINNConfig(blocks: 24, layersPerBlock: 2, unitsPerLayer: 256, conditionLayers: 2,
                                                   conditionUnits: 1024, conditionOutput: 256,
                                                   mmdWeight: WeightSchedule(initial: 0.5))
    /// Table 5.2, ISR: 3 layers per block, an 8-layer encoder, lambda_MMD 0.04 x 1.6 per 100 epochs.
    public static let paperISR = ConditionalINNConfig(blocks: 24, layersPerBlock: 3, unitsPerLayer: 256, conditionLayers: 8,
                                                      conditionUnits: 1024, conditionOutput: 256,
                                                      mmdWeight: WeightSchedule(initial: 0.04, factor: 1.6, everyEpochs: 100))
    /// Seconds per 100k-event epoch on 2 cores: 8 blocks x 2 layers x 64 units, f: 2 x 128 -> 32.
    public static let quick = ConditionalINNConfig(blocks: 8, layersPerBlock: 2, unitsPerLayer: 64, conditionLayers: 2,
                                                   conditionUnits: 128, conditionOutput: 32,
                                                   mmdWeight: WeightSchedule(initial: 0.5))
}

/// The conditional INN (thesis sec. 5.3.3, fig. 5.5): z = g(x_p; f(x_d)), a stack of all-in-one
/// couplings whose subnets read the condition network's output f(x_d), trained by maximum
/// likelihood (eq. 5.18, 5.19):
///
///     log p(x_p | x_d) = -|z|^2 / 2 - D_p/2 log(2 pi) + log|det dz/dx_p|
///
/// and optionally lambda_MMD * MMD on the caller's observables of x~_p = g^-1(r; f(x_d)),
/// r ~ N(0, 1), against the true x_p of the batch. Weight regularisation (-log p(theta)) is
/// AdamW's decay in FlowTrainer. As an InvertibleTransform its condition is the raw x_d.
/// Parameters "condition.layer*", "flow.block*".
public final class ConditionalINN: InvertibleTransform, UnfoldingFlow {
    public let partonDimension: Int
    public let detectorDimension: Int
    public let config: ConditionalINNConfig
    public let conditionNetwork: MLP
    public let flow: SequentialFlow
    public var observableMMD: ObservableMMD

    /// `rng` draws the condition network (child "condition") and the blocks (child "flow"):
    /// the same seed rebuilds the same permutations, which a checkpoint does not store.
    public init(partonDimension: Int, detectorDimension: Int, config: ConditionalINNConfig,
                observables: [Observable] = [], rng: RNGStream) {
        precondition(partonDimension >= 2 && detectorDimension >= 1,
                     "ConditionalINN: expected D_p >= 2 and D_d >= 1, got \(partonDimension), \(detectorDimension)")
        precondition(config.conditionLayers >= 1, "ConditionalINN: expected conditionLayers >= 1, got \(config.conditionLayers)")
        self.partonDimension = partonDimension
        self.detectorDimension = detectorDimension
        self.config = config
        let sizes = [detectorDimension] + [Int](repeating: config.conditionUnits, count: config.conditionLayers - 1) + [config.conditionOutput]
        conditionNetwork = MLP(sizes: sizes, activation: .relu, rng: rng.child("condition"))
        flow = couplingStack(dimension: partonDimension, conditionDimension: config.conditionOutput, blocks: config.blocks,
                             layers: config.layersPerBlock, units: config.unitsPerLayer, clamp: config.clamp,
                             initialization: config.initialization, rng: rng.child("flow"))
        observableMMD = ObservableMMD(observables: observables, loss: config.mmd)
    }

    public var dimension: Int { partonDimension }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("condition", conditionNetwork) + prefixed("flow", flow)
    }

    private func encoded(_ detectorLevel: Variable?) -> Variable {
        guard let detectorLevel else { preconditionFailure("ConditionalINN: expected a detector-level condition [N, \(detectorDimension)], got none") }
        precondition(detectorLevel.value.rank == 2 && detectorLevel.value.columns == detectorDimension,
                     "ConditionalINN: expected condition [N, \(detectorDimension)], got \(detectorLevel.shape)")
        return conditionNetwork(detectorLevel)
    }

    /// z = g(x_p; f(x_d)) and log|det dz/dx_p|.
    public func forward(_ x: Variable, condition: Variable?) -> (y: Variable, logDet: Variable) {
        flow.forward(x, condition: encoded(condition))
    }

    /// x_p = g^-1(z; f(x_d)) and its log-det.
    public func inverse(_ y: Variable, condition: Variable?) -> (x: Variable, logDet: Variable) {
        flow.inverse(y, condition: encoded(condition))
    }

    /// log p(x_p | x_d) per event [N, 1] (eq. 5.18, 5.19 with the Gaussian normalisation).
    public func logLikelihood(partonLevel: Variable, detectorLevel: Variable) -> Variable {
        let (z, logDet) = forward(partonLevel, condition: detectorLevel)
        let constant = Float(partonDimension) / 2 * Float(Foundation.log(2 * Double.pi))
        return sum(square(z), axis: 1) * -0.5 + logDet - constant
    }

    /// Mean negative log-likelihood, plus lambda_MMD(epoch) * observable MMD when configured.
    public func loss(partonLevel: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        let nll = -mean(logLikelihood(partonLevel: partonLevel, detectorLevel: detectorLevel))
        var result = FlowLoss(total: nll, terms: [.negativeLogLikelihood: nll.scalar])
        let lambda = config.mmdWeight.value(epoch: epoch)
        if lambda > 0, !observableMMD.observables.isEmpty {
            let r = gaussianNoise(rows: partonLevel.value.rows, columns: partonDimension, rng: rng)
            let generated = inverse(r, condition: detectorLevel).x
            if let m = observableMMD(generated: generated, truth: partonLevel) {
                result.total = result.total + m * lambda
                result.terms[.mmdObservables] = m.scalar
            }
        }
        return result
    }

    /// K posterior samples per event, [N, K, D_p]: x_p = g^-1(r; f(x_d)), r ~ N(0, 1), with the
    /// condition network run once per event; batched, without a graph.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        try checkBatch(partonLevel: nil, detectorLevel: detectorLevel)
        guard count >= 1 else { throw RefoldError.value("samples per event", expected: ">= 1", actual: count) }
        return chunkedSampling(events: detectorLevel.rows, count: count, partonDimension: partonDimension, rng: rng) { range, rng in
            let c = conditionNetwork(Variable(gatherRows(detectorLevel, range))).value
            let repeated = Variable(repeatRows(c, times: count))
            let r = gaussianNoise(rows: range.count * count, columns: partonDimension, rng: rng)
            return flow.inverse(r, condition: repeated).x.value
        }
    }

    /// K samples per event with their density: x_p = g^-1(r; f(x_d)) and
    /// log q(x_p | x_d) = -|r|^2 / 2 - D_p/2 log(2 pi) - log|det dx_p/dr|, samples
    /// [N, K, D_p], densities event-major [N K]; for importance sampling, where every draw needs its q.
    public func sampleWithLogDensity(detectorLevel: Tensor, count: Int, rng: RNGStream,
                                     latent: LatentMixture = .standard) throws -> (samples: Tensor, logDensity: [Double]) {
        try checkBatch(partonLevel: nil, detectorLevel: detectorLevel)
        guard count >= 1 else { throw RefoldError.value("samples per event", expected: ">= 1", actual: count) }
        let d = partonDimension
        var logDensity = [Double](repeating: 0, count: detectorLevel.rows * count)
        let samples = chunkedSampling(events: detectorLevel.rows, count: count, partonDimension: d, rng: rng) { range, rng in
            let c = conditionNetwork(Variable(gatherRows(detectorLevel, range))).value
            let r = gaussianNoise(rows: range.count * count, columns: d, rng: rng)
            if !latent.isStandard {
                let choice = rng.child("latent-component")
                r.value.storage.withUnsafeMutableBufferPointer { z in
                    for i in 0..<(range.count * count) {
                        let s = Float(latent.drawScale(choice))
                        for j in 0..<d { z[i * d + j] *= s }
                    }
                }
            }
            let (x, logDet) = flow.inverse(r, condition: Variable(repeatRows(c, times: count)))
            let offset = range.lowerBound * count
            r.value.storage.withUnsafeBufferPointer { z in
                for i in 0..<(range.count * count) {
                    var square = 0.0
                    for j in 0..<d { square += Double(z[i * d + j]) * Double(z[i * d + j]) }
                    logDensity[offset + i] = latent.logDensity(squaredNorm: square, dimension: d) - Double(logDet.value.storage[i])
                }
            }
            return x.value
        }
        return (samples, logDensity)
    }
}

/// The latent distribution of a flow used as an importance sampler: a scale mixture of centred
/// Gaussians sum_k w_k N(0, s_k^2 I). The standard normal is the one the flow was trained with;
/// a wider component (defensive importance sampling, Hesterberg 1995) pushes some draws into the
/// tails that the trained flow underestimates, and bounds the weights there by p / (w_k q_k),
/// while the mixture density stays exact: the flow's Jacobian is the same for every component.
public struct LatentMixture: Sendable, Equatable {
    public let weights: [Double], scales: [Double]
    public static let standard = LatentMixture(uncheckedWeights: [1], scales: [1])

    private init(uncheckedWeights: [Double], scales: [Double]) { weights = uncheckedWeights; self.scales = scales }

    /// Weights (positive, normalised here) and scales (positive), one per component.
    public init(weights: [Double], scales: [Double]) throws {
        guard !weights.isEmpty, weights.count == scales.count, weights.allSatisfy({ $0 > 0 && $0.isFinite }),
              scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw RefoldError.value("latent mixture", expected: "as many positive finite weights as positive finite scales",
                                    actual: "weights \(weights), scales \(scales)")
        }
        let total = weights.reduce(0, +)
        self.init(uncheckedWeights: weights.map { $0 / total }, scales: scales)
    }

    /// "W:S": the standard normal with weight 1 - W and a Gaussian S times wider with weight W.
    public init(defensive text: String) throws {
        let parts = text.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let w = parts[0], let s = parts[1], w > 0, w < 1, s > 1, s.isFinite else {
            throw RefoldError.value("defensive latent component", expected: "W:S with 0 < W < 1 and S > 1, e.g. 0.2:2", actual: text)
        }
        try self.init(weights: [1 - w, w], scales: [1, s])
    }

    var isStandard: Bool { scales.allSatisfy { $0 == 1 } }

    func drawScale(_ rng: RNGStream) -> Double {
        var u = rng.uniform()
        for (w, s) in zip(weights, scales) {
            if u < w { return s }
            u -= w
        }
        return scales[scales.count - 1]
    }

    /// log sum_k w_k N(z; 0, s_k^2 I) for |z|^2 = `squaredNorm` in `dimension` dimensions.
    /// Called once per draw: no allocation, a log-sum-exp over the components.
    public func logDensity(squaredNorm: Double, dimension d: Int) -> Double {
        func term(_ k: Int) -> Double {
            Foundation.log(weights[k]) - Double(d) * Foundation.log(scales[k]) - 0.5 * squaredNorm / (scales[k] * scales[k])
        }
        var top = -Double.infinity
        for k in weights.indices { top = max(top, term(k)) }
        var sum = 0.0
        for k in weights.indices { sum += Foundation.exp(term(k) - top) }
        return top + Foundation.log(sum) - Double(d) / 2 * Foundation.log(2 * Double.pi)
    }
}

extension ConditionalINNConfig: CheckedConfiguration {
    /// Throws unless every size is >= 1 and the MMD weight schedule valid (the MMD's widths are
    /// `MMDLoss.validate`'s, which a study section checks as a nested configuration).
    public func validate() throws {
        guard blocks >= 1, layersPerBlock >= 1, unitsPerLayer >= 1, conditionLayers >= 1, conditionUnits >= 1, conditionOutput >= 1,
              mmdWeight.initial >= 0, mmdWeight.factor > 0, mmdWeight.everyEpochs >= 1 else {
            throw RefoldError.value("ConditionalINNConfig", expected: "blocks, layers_per_block, units_per_layer, condition sizes >= 1; mmd_weight initial >= 0, factor > 0, every_epochs >= 1",
                                    actual: "\(blocks), \(layersPerBlock), \(unitsPerLayer), \(conditionLayers), \(conditionUnits), \(conditionOutput); \(mmdWeight)")
        }
    }
}
