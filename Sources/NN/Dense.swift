@_exported import Autograd
import Foundation

/// Weight initialisers (uniform, bounds from the fan-in/out of a [out, in] weight).
public enum Initializer {
    /// He et al. 2015: U(-b, b), b = gain sqrt(3 / fan_in), gain sqrt(2) (ReLU).
    case kaimingUniform
    /// Glorot & Bengio 2010: U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
    case xavierUniform
    /// All zeros (for example the last layer of a coupling subnet, so a block starts as identity).
    case zeros

    /// A [out, in] weight drawn from `rng`.
    public func weight(outputs: Int, inputs: Int, rng: RNGStream) -> Tensor {
        let bound: Float
        switch self {
        case .kaimingUniform: bound = Float(2.0.squareRoot() * (3.0 / Double(max(inputs, 1))).squareRoot())
        case .xavierUniform: bound = Float((6.0 / Double(max(inputs + outputs, 1))).squareRoot())
        case .zeros: return Tensor(shape: [outputs, inputs])
        }
        return Tensor.uniform([outputs, inputs], low: -bound, high: bound, rng: rng)
    }
}

/// A fully connected layer y = x W^T + b with weight [out, in] and bias [out] (PyTorch layout).
public final class Dense: Module {
    public let weight: Variable
    public let bias: Variable

    /// Weight from `initializer` with `rng`, bias zero.
    public init(inputs: Int, outputs: Int, initializer: Initializer = .kaimingUniform, rng: RNGStream) {
        precondition(inputs > 0 && outputs > 0, "Dense: expected positive sizes, got \(inputs) -> \(outputs)")
        weight = Variable(initializer.weight(outputs: outputs, inputs: inputs, rng: rng), requiresGrad: true, name: "weight")
        bias = Variable(Tensor(shape: [outputs]), requiresGrad: true, name: "bias")
    }

    public var inputs: Int { weight.value.columns }
    public var outputs: Int { weight.value.rows }

    public func callAsFunction(_ x: Variable) -> Variable { linear(x, weight, bias) }

    public var parameters: [(name: String, variable: Variable)] { [("weight", weight), ("bias", bias)] }
}

/// Elementwise activations.
public enum Activation: Equatable {
    case relu
    /// slope 0.01 for x < 0 (PyTorch's default)
    case leakyRelu
    /// alpha 1
    case elu
    case tanh, softplus, sigmoid, identity

    public func callAsFunction(_ x: Variable) -> Variable {
        switch self {
        case .relu: return Autograd.relu(x)
        case .leakyRelu: return Autograd.leakyRelu(x, slope: 0.01)
        case .elu: return Autograd.elu(x, alpha: 1)
        case .tanh: return Autograd.tanh(x)
        case .softplus: return Autograd.softplus(x)
        case .sigmoid: return Autograd.sigmoid(x)
        case .identity: return x
        }
    }
}

/// A multilayer perceptron: Dense layers of `sizes` (input, hidden..., output) with the
/// activation between them and none after the last. Parameters "layer0.weight", "layer0.bias", ...
public final class MLP: Module {
    public let layers: [Dense]
    public let activation: Activation

    /// Layer i draws its weight from `rng.child(index: i)`; `lastInitializer` sets the last layer's.
    public init(sizes: [Int], activation: Activation = .relu, initializer: Initializer = .kaimingUniform,
                lastInitializer: Initializer? = nil, rng: RNGStream) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "MLP: expected at least two positive sizes, got \(sizes)")
        self.activation = activation
        layers = (0..<(sizes.count - 1)).map { i in
            let isLast = i == sizes.count - 2
            return Dense(inputs: sizes[i], outputs: sizes[i + 1],
                         initializer: isLast ? (lastInitializer ?? initializer) : initializer, rng: rng.child(index: i))
        }
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = x
        for (i, layer) in layers.enumerated() {
            let isLast = i == layers.count - 1
            switch activation {
            case .relu where !isLast: h = linearLeakyRelu(h, layer.weight, layer.bias, slope: 0)
            case .leakyRelu where !isLast: h = linearLeakyRelu(h, layer.weight, layer.bias, slope: 0.01)
            default:
                h = layer(h)
                if !isLast { h = activation(h) }
            }
        }
        return h
    }

    public var parameters: [(name: String, variable: Variable)] {
        layers.enumerated().flatMap { prefixed("layer\($0.offset)", $0.element) }
    }
}
