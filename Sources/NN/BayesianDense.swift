import Foundation

/// How a Bayesian layer evaluates.
public enum BayesianMode {
    /// Local reparametrisation (Kingma, Salimans & Welling 2015): output mean x mu^T + b,
    /// variance x^2 (sigma^2)^T, one standard-normal draw per output element from the stream.
    case training(RNGStream)
    /// The weight draw fixed by the last `resample(rng:)`: a deterministic network p(x | theta).
    case sampled
    /// The posterior means mu (no noise).
    case mean
}

/// Mean-field Gaussian dense layer (thesis sec. 6.2.3, eq. 6.9-6.16): every weight has a mean mu
/// and a log-variance log sigma^2 (initialised near -9); the bias is deterministic. Prior
/// N(0, prior^2) per weight, KL in closed form:
///
///     KL = 1/2 Σ [ (mu^2 + sigma^2) / prior^2 - log sigma^2 - 1 + log prior^2 ].
///
/// Parameters "mean" [out, in], "logVariance" [out, in], "bias" [out].
public final class BayesianDense: Module {
    public let mean: Variable
    public let logVariance: Variable
    public let bias: Variable
    public let priorWidth: Float
    public var mode: BayesianMode = .mean
    /// The weight of the last `resample` (a constant).
    public private(set) var sampledWeight: Tensor?

    /// Initial log sigma^2 (the BINN reference code draws it from N(-9, 0.001)).
    public static let initialLogVariance: Float = -9

    /// mu from `initializer`, log sigma^2 = -9 + 0.001 N(0, 1), bias 0; `rng` child "mean", "logVariance".
    public init(inputs: Int, outputs: Int, initializer: Initializer = .kaimingUniform, priorWidth: Float = 1, rng: RNGStream) {
        precondition(inputs > 0 && outputs > 0, "BayesianDense: expected positive sizes, got \(inputs) -> \(outputs)")
        precondition(priorWidth > 0 && priorWidth.isFinite, "BayesianDense: expected a positive prior width, got \(priorWidth)")
        mean = Variable(initializer.weight(outputs: outputs, inputs: inputs, rng: rng.child("mean")), requiresGrad: true, name: "mean")
        logVariance = Variable(Tensor.normal([outputs, inputs], mean: BayesianDense.initialLogVariance, std: 1e-3, rng: rng.child("logVariance")),
                               requiresGrad: true, name: "logVariance")
        bias = Variable(Tensor(shape: [outputs]), requiresGrad: true, name: "bias")
        self.priorWidth = priorWidth
    }

    public var inputs: Int { mean.value.columns }
    public var outputs: Int { mean.value.rows }
    public var weightCount: Int { mean.value.count }

    public var parameters: [(name: String, variable: Variable)] {
        [("mean", mean), ("logVariance", logVariance), ("bias", bias)]
    }

    /// Draws W = mu + sigma eps once (eps ~ N(0, 1) from `rng`) and switches to `.sampled`.
    public func resample(rng: RNGStream) {
        let eps = Tensor.normal(mean.value.shape, rng: rng)
        var w = mean.value
        for i in 0..<w.count {
            w.storage[i] += Foundation.exp(0.5 * logVariance.value.storage[i]) * eps.storage[i]
        }
        sampledWeight = w
        mode = .sampled
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        switch mode {
        case .mean:
            return linear(x, mean, bias)
        case .sampled:
            guard let w = sampledWeight else { preconditionFailure("BayesianDense: .sampled before resample(rng:)") }
            return linear(x, Variable(w), bias)
        case .training(let rng):
            let outputMean = linear(x, mean, bias)
            let variance = matmul(square(x), exp(logVariance), transposeB: true)
            let noise = Variable(Tensor.normal(outputMean.shape, rng: rng))
            // 1e-12 keeps sqrt differentiable for an all-zero input row (ReLU); its gradient there is multiplied by x^2 = 0.
            return outputMean + sqrt(variance + 1e-12) * noise
        }
    }

    /// The closed-form KL(q || p) summed over the weights (a scalar Variable).
    public func klDivergence() -> Variable {
        let p2 = priorWidth * priorWidth
        let terms = (square(mean) + exp(logVariance)) * (1 / p2) - logVariance
        return (sum(terms) + Float(weightCount) * (Foundation.log(p2) - 1)) * 0.5
    }
}

/// An MLP of BayesianDense layers (activation between them, none after the last), parameters
/// "layer0.mean", ...; layer i from `rng.child(index: i)`.
public final class BayesianMLP: Module {
    public let layers: [BayesianDense]
    public let activation: Activation

    public init(sizes: [Int], activation: Activation = .relu, initializer: Initializer = .kaimingUniform,
                lastInitializer: Initializer? = nil, priorWidth: Float = 1, rng: RNGStream) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "BayesianMLP: expected at least two positive sizes, got \(sizes)")
        self.activation = activation
        layers = (0..<(sizes.count - 1)).map { i in
            BayesianDense(inputs: sizes[i], outputs: sizes[i + 1],
                          initializer: i == sizes.count - 2 ? (lastInitializer ?? initializer) : initializer,
                          priorWidth: priorWidth, rng: rng.child(index: i))
        }
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = activation(h) }
        }
        return h
    }

    public var parameters: [(name: String, variable: Variable)] {
        layers.enumerated().flatMap { prefixed("layer\($0.offset)", $0.element) }
    }

    public func klDivergence() -> Variable {
        layers.dropFirst().reduce(layers[0].klDivergence()) { $0 + $1.klDivergence() }
    }
}
