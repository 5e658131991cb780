import Autograd
import Flows
import Foundation
import NN
import Physics
import Tensor

/// One token per reconstructed object of a zw-type detector event (leptons and any number of
/// jets), F = 8 features:
///
///     (log pT, eta, sin dphi, cos dphi, log(1 + m)) standardised, then the type one-hot (l-, l+, jet),
///
/// dphi the azimuth from the measured l-. A detector block [N, 8 + 4 T_jets] in the collider
/// columns becomes a token matrix [N, T F] with T = 2 + T_jets slots (empty jet slots, pT = 0,
/// all zero); a slot is a token iff its one-hot is set.
public enum MEMFlowTokens {
    public static let features = 8
    /// The standardised features (the first five).
    public static let continuous = 5
    public static let typeOffset = 5

    /// Jet slots of a detector block in the collider columns (l-, l+, j1 ... jn; pT, eta, phi, m).
    public static func jetSlots(_ detector: EventSample.Block, source: String) throws -> Int {
        let slots = (detector.columns.count - 8) / 4
        guard slots >= 1, detector.columns == ColliderColumns.detector(jets: slots) else {
            throw RefoldError.file(source, "detector columns: expected \(ColliderColumns.detector(jets: 2)) (any number of jet slots), got \(detector.columns)")
        }
        return slots
    }

    /// The raw (unstandardised) tokens [N, T F] and the l- azimuth of each event.
    public static func raw(_ detector: EventSample.Block, source: String) throws -> (tokens: [Double], slots: Int, referencePhi: [Double]) {
        let jets = try jetSlots(detector, source: source), t = 2 + jets, width = t * features
        var tokens = [Double](repeating: 0, count: detector.rows * width), reference = [Double](repeating: 0, count: detector.rows)
        let columns = detector.columns.count
        detector.values.withUnsafeBufferPointer { v in
            for i in 0..<detector.rows {
                let row = i * columns, phi0 = v[row + 2]
                reference[i] = phi0
                for s in 0..<t {
                    let pT = v[row + 4 * s], eta = v[row + 4 * s + 1], phi = v[row + 4 * s + 2], m = v[row + 4 * s + 3]
                    guard pT > 0 else { continue }
                    let o = i * width + s * features, dphi = phi - phi0
                    tokens[o] = log(pT); tokens[o + 1] = eta; tokens[o + 2] = sin(dphi); tokens[o + 3] = cos(dphi)
                    tokens[o + 4] = log(1 + max(0, m))
                    tokens[o + typeOffset + min(s, 2)] = 1
                }
            }
        }
        return (tokens, t, reference)
    }

    /// The standardisation of the continuous features, fitted over the real tokens.
    public static func fitScale(_ tokens: [Double]) throws -> Standardizer {
        var rows: [Float] = []
        for o in stride(from: 0, to: tokens.count, by: features) where isToken(tokens, at: o) {
            for j in 0..<continuous { rows.append(Float(tokens[o + j])) }
        }
        return try Standardizer(fitting: Tensor(shape: [rows.count / continuous, continuous], storage: rows))
    }

    @inline(__always) static func isToken(_ tokens: [Double], at o: Int) -> Bool {
        tokens[o + typeOffset] + tokens[o + typeOffset + 1] + tokens[o + typeOffset + 2] > 0.5
    }

    /// Standardised tokens as the network's detector-level input [N, T F] (Float32).
    public static func tensor(_ tokens: [Double], events: Int, slots: Int, scale: Standardizer) -> Tensor {
        var out = [Float](repeating: 0, count: tokens.count)
        for o in stride(from: 0, to: tokens.count, by: features) where isToken(tokens, at: o) {
            for j in 0..<continuous { out[o + j] = Float((tokens[o + j] - scale.mean[j]) / scale.std[j]) }
            for j in continuous..<features { out[o + j] = Float(tokens[o + j]) }
        }
        return Tensor(shape: [events, slots * features], storage: out)
    }

    /// Which slots of a token matrix [N, T F] hold a token.
    public static func mask(_ tokens: Tensor) -> TokenMask {
        let t = tokens.columns / features
        return tokens.storage.withUnsafeBufferPointer { s in
            TokenMask(events: tokens.rows, tokens: t, valid: (0..<(tokens.rows * t)).map { isTokenFloat(s, at: $0 * features) })
        }
    }

    @inline(__always) static func isTokenFloat(_ s: UnsafeBufferPointer<Float>, at o: Int) -> Bool {
        s[o + typeOffset] + s[o + typeOffset + 1] + s[o + typeOffset + 2] > 0.5
    }
}

/// Sizes of a MEMFlow network and its two training stages; start from `quick` or `paper` and
/// change what differs.
public struct MEMFlowConfig: Codable, Equatable {
    public var transformer: TransformerConfig
    public var flow: SplineFlowConfig
    /// Hidden units of the regression head (2 layers) of the pre-training.
    public var regressionUnits: Int
    /// Huber delta of the regression, in standardised target units.
    public var huberDelta: Float
    public var pretraining: TrainingConfig
    public var training: TrainingConfig

    /// Minutes on 2 cores: transformer D 32 x 2 layers, condition 16; 6 coupling spline
    /// transforms (K 16, B 5, 2 x 64); 3 epochs of regression, 12 of likelihood.
    public static let quick = MEMFlowConfig(
        transformer: .quick,
        flow: SplineFlowConfig(conditioner: .coupling, transforms: 6, layers: 3, units: 64, spline: RationalQuadraticSpline(bins: 16, bound: 5)),
        regressionUnits: 64, huberDelta: 1,
        pretraining: TrainingConfig(epochs: 3, batchSize: 512, learningRate: 1e-3, schedule: .constant),
        training: TrainingConfig(epochs: 12, batchSize: 512, learningRate: 1e-3, schedule: .cosine))

    /// The CMS sizes (seed 004_): transformer D 64 x 4 layers x 8 heads, feed-forward 512,
    /// condition 16; 6 autoregressive spline transforms, 40 bins, 2 x 512 subnets.
    public static let paper = MEMFlowConfig(
        transformer: TransformerConfig(modelDimension: 64, heads: 8, layers: 4, feedForwardDimension: 512, conditionDimension: 16),
        flow: SplineFlowConfig(conditioner: .autoregressive, transforms: 6, layers: 3, units: 512, spline: RationalQuadraticSpline(bins: 40, bound: 5)),
        regressionUnits: 128, huberDelta: 1,
        pretraining: TrainingConfig(epochs: 20, batchSize: 512, learningRate: 5e-4, schedule: .constant),
        training: TrainingConfig(epochs: 100, batchSize: 512, learningRate: 5e-4, schedule: .cosine))
}

/// The CMS MEMFlow network (seed 004_): a transformer over the reconstructed objects (any
/// number of jets) pooled to a condition c, a regression head c -> y for pre-training, and a
/// conditional rational-quadratic spline flow p(y | c) over the standardised
/// `RamboPartonCoordinates`.
///
///     regression stage:  L = mean_i Huber_delta(head(c_i) - y_i)   (encoder and head trained)
///     likelihood stage:  L = -mean_i log p(y_i | c_i)               (encoder and flow trained jointly)
///
/// The detector level is the token matrix of `MEMFlowTokens` [N, T F]: any T works, so a model
/// trained with four jet slots unfolds events with more. Parameters "encoder.*", "regression.*",
/// "flow.*".
public final class MEMFlowNetwork: UnfoldingFlow {
    public enum Stage: String, Codable, Sendable { case regression, likelihood }

    public let config: MEMFlowConfig
    public let encoder: TransformerEncoder
    public let regression: MLP
    public let flow: ConditionalSplineFlow
    /// The token slots of the training sample (the width `FlowTrainer` checks).
    public let trainingSlots: Int
    public var stage: Stage = .regression

    /// `rng` children "encoder", "regression", "flow".
    public init(config: MEMFlowConfig, trainingSlots: Int, rng: RNGStream) {
        self.config = config
        self.trainingSlots = trainingSlots
        let c = config.transformer.conditionDimension, d = RamboPartonCoordinates.dimension
        encoder = TransformerEncoder(inputFeatures: MEMFlowTokens.features, config: config.transformer, rng: rng.child("encoder"))
        regression = MLP(sizes: [c, config.regressionUnits, config.regressionUnits, d], activation: .relu, rng: rng.child("regression"))
        flow = ConditionalSplineFlow(dimension: d, conditionDimension: c, config: config.flow, rng: rng.child("flow"))
    }

    public var partonDimension: Int { RamboPartonCoordinates.dimension }
    public var detectorDimension: Int { trainingSlots * MEMFlowTokens.features }

    public var parameters: [(name: String, variable: Variable)] {
        prefixed("encoder", encoder) + prefixed("regression", regression) + prefixed("flow", flow)
    }

    /// The pooled condition [N, C] of tokens [N, T F] (any T).
    public func condition(_ tokens: Variable) -> Variable {
        let n = tokens.value.rows, t = tokens.value.columns / MEMFlowTokens.features
        return encoder(reshape(tokens, [n * t, MEMFlowTokens.features]), mask: MEMFlowTokens.mask(tokens.value))
    }

    /// Huber_delta(d) = d^2 / 2 for |d| <= delta, delta (|d| - delta / 2) beyond; with
    /// q = min(|d|, delta) that is q^2 / 2 + delta (|d| - q).
    static func huber(_ d: Variable, delta: Float) -> Variable {
        let a = abs(d), q = clamp(a, min: 0, max: delta)
        return mean(square(q) * 0.5 + (a - q) * delta)
    }

    public func loss(partonLevel: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        let c = condition(detectorLevel)
        switch stage {
        case .regression:
            let l = Self.huber(regression(c) - partonLevel, delta: config.huberDelta)
            return FlowLoss(total: l, terms: [.huberRegression: l.scalar])
        case .likelihood:
            let nll = mean(flow.logLikelihood(partonLevel, condition: c)) * -1
            return FlowLoss(total: nll, terms: [.negativeLogLikelihood: nll.scalar])
        }
    }

    /// `count` flow samples per event of tokens [N, T F] (any T): [N, K, 10] standardised
    /// coordinates, without a graph, in chunks of about 16k rows.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        guard detectorLevel.rank == 2, detectorLevel.columns % MEMFlowTokens.features == 0, detectorLevel.columns > 0 else {
            throw RefoldError.shape("MEMFlow tokens", expected: [detectorLevel.rows, trainingSlots * MEMFlowTokens.features], actual: detectorLevel.shape)
        }
        guard count >= 1 else { throw RefoldError.value("MEMFlow samples per event", expected: ">= 1", actual: count) }
        var tails = SplineTailCount()
        let samples = chunkedSampling(events: detectorLevel.rows, count: count, partonDimension: partonDimension, rng: rng) { rows, stream in
            let c = condition(Variable(gatherRows(detectorLevel, rows))).value
            defer { tails = flow.lastTailCounts.reduce(tails, +) }
            return flow.sample(condition: repeatRows(c, times: count), rng: stream)
        }
        lastSampleTails = tails
        return samples
    }

    /// Spline-tail counts summed over the transforms and chunks of the last `sample` call.
    public private(set) var lastSampleTails = SplineTailCount()
}
