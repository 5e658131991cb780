import Foundation

/// A dense layer with a fixed 0/1 connectivity mask M [out, in]: y = x (W ⊙ M)^T + b.
///
/// The mask is multiplied into the weight on every call, so dL/dW = (g^T x) ⊙ M: masked weights
/// get a zero gradient and never act (MADE, Germain, Gregor, Murray & Larochelle 2015,
/// arXiv:1502.03509). They start at zero as well.
public final class MaskedDense: Module {
    public let weight: Variable
    public let bias: Variable
    /// M as a constant (no gradient).
    public let mask: Variable

    /// Weight from `initializer` with `rng` (then masked), bias zero.
    public init(mask: Tensor, initializer: Initializer = .kaimingUniform, rng: RNGStream) {
        precondition(mask.rank == 2 && mask.rows > 0 && mask.columns > 0 && mask.storage.allSatisfy { $0 == 0 || $0 == 1 },
                     "MaskedDense: expected a 0/1 mask [out, in], got shape \(mask.shape)")
        self.mask = Variable(mask)
        weight = Variable(initializer.weight(outputs: mask.rows, inputs: mask.columns, rng: rng) * mask, requiresGrad: true, name: "weight")
        bias = Variable(Tensor(shape: [mask.rows]), requiresGrad: true, name: "bias")
    }

    public var inputs: Int { weight.value.columns }
    public var outputs: Int { weight.value.rows }

    /// x (W ⊙ M)^T + b, with a ReLU fused when `relu`.
    public func callAsFunction(_ x: Variable, relu: Bool = false) -> Variable {
        let masked = weight * mask
        return relu ? linearLeakyRelu(x, masked, bias, slope: 0) : linear(x, masked, bias)
    }

    public var parameters: [(name: String, variable: Variable)] { [("weight", weight), ("bias", bias)] }
}

/// MADE with a condition: an MLP from (x [N, D], c [N, C]) to `outputsPerFeature` numbers per
/// feature, [N, D * outputsPerFeature] in feature-major blocks, where the block of feature j
/// depends only on the features i with order[i] < order[j] and on c.
///
/// Degrees (Germain et al. sec. 4): feature i has degree order[i] + 1 in 1...D, every condition
/// input degree 0, hidden unit u of a layer degree m_u = lo + u mod (D - lo), with lo = 0 when
/// conditional (units of degree 0 see only c, so the first feature's block still reads c) and
/// lo = 1 otherwise. A hidden unit sees inputs of degree <= m_u; the output block of feature j
/// sees hidden units with m_u < order[j] + 1. Hence every path from x_i to block j has
/// order[i] + 1 <= m <= order[j]: the Jacobian of the outputs in x is strictly triangular in
/// `order`. ReLU between layers.
public final class MaskedAutoencoder: Module {
    public let dimension: Int
    public let conditionDimension: Int
    public let outputsPerFeature: Int
    /// order[i]: the position of feature i in the autoregressive order (a permutation of 0..<D).
    public let order: [Int]
    public let layers: [MaskedDense]

    /// `layers` linear layers (at least 2) of `units` hidden units; layer i draws from
    /// `rng.child(index: i)`. `zeroLastLayer` starts every output at 0.
    public init(order: [Int], conditionDimension: Int, outputsPerFeature: Int, layers: Int = 3, units: Int = 64,
                zeroLastLayer: Bool = true, rng: RNGStream) {
        let d = order.count
        precondition(order.sorted() == Array(0..<d) && d >= 1,
                     "MaskedAutoencoder: expected order to be a permutation of 0..<D, got \(order)")
        precondition(layers >= 2 && units >= 1 && outputsPerFeature >= 1 && conditionDimension >= 0,
                     "MaskedAutoencoder: expected layers >= 2, units >= 1, outputsPerFeature >= 1, conditionDimension >= 0, got \(layers), \(units), \(outputsPerFeature), \(conditionDimension)")
        precondition(conditionDimension > 0 || d >= 2,
                     "MaskedAutoencoder: an unconditional MADE needs D >= 2, got D = \(d)")
        self.dimension = d
        self.conditionDimension = conditionDimension
        self.outputsPerFeature = outputsPerFeature
        self.order = order
        let inputDegrees = order.map { $0 + 1 } + [Int](repeating: 0, count: conditionDimension)
        let lo = conditionDimension > 0 ? 0 : 1
        let hiddenDegrees = (0..<units).map { lo + $0 % (d - lo) }
        let outputDegrees = order.flatMap { [Int](repeating: $0 + 1, count: outputsPerFeature) }
        func mask(_ outputs: [Int], _ inputs: [Int], strict: Bool) -> Tensor {
            Tensor(shape: [outputs.count, inputs.count], storage: outputs.flatMap { o in
                inputs.map { i in (strict ? i < o : i <= o) ? 1 : 0 }
            })
        }
        var built: [MaskedDense] = []
        var previous = inputDegrees
        for i in 0..<layers {
            let isLast = i == layers - 1
            let next = isLast ? outputDegrees : hiddenDegrees
            built.append(MaskedDense(mask: mask(next, previous, strict: isLast),
                                     initializer: isLast && zeroLastLayer ? .zeros : .kaimingUniform, rng: rng.child(index: i)))
            previous = next
        }
        self.layers = built
    }

    /// [N, D * outputsPerFeature] from x [N, D] and c [N, C] (nil when C = 0).
    public func callAsFunction(_ x: Variable, condition: Variable?) -> Variable {
        var h = x
        if conditionDimension > 0 {
            guard let condition else { preconditionFailure("MaskedAutoencoder: expected a condition [N, \(conditionDimension)], got none") }
            precondition(condition.value.rank == 2 && condition.shape == [x.value.rows, conditionDimension],
                         "MaskedAutoencoder: expected condition [\(x.value.rows), \(conditionDimension)], got \(condition.shape)")
            h = concat([x, condition])
        }
        for (i, layer) in layers.enumerated() { h = layer(h, relu: i < layers.count - 1) }
        return h
    }

    public var parameters: [(name: String, variable: Variable)] {
        layers.enumerated().flatMap { prefixed("layer\($0.offset)", $0.element) }
    }
}
