import Foundation

// Elementwise functions. First-order pullbacks are single fused kernels where they are hot
// (relu family, tanh, sigmoid); every pullback is itself a Variable op, so it differentiates.

@inline(__always) private func unary(_ x: Variable, _ value: Tensor,
                                     _ pullback: @escaping (Variable, Variable) -> Void) -> Variable {
    record(value, x, pullback)
}

public func exp(_ x: Variable) -> Variable {
    unary(x, exp(x.value)) { node, g in accumulate(node.parents[0], g * node) }
}

public func log(_ x: Variable) -> Variable {
    unary(x, log(x.value)) { node, g in accumulate(node.parents[0], g / node.parents[0]) }
}

/// tanh, derivative 1 - y^2.
public func tanh(_ x: Variable) -> Variable {
    unary(x, tanh(x.value)) { node, g in accumulate(node.parents[0], tanhBackward(g, node)) }
}

/// atan, derivative 1 / (1 + x^2).
public func atan(_ x: Variable) -> Variable {
    unary(x, atan(x.value)) { node, g in
        let x = node.parents[0]
        accumulate(x, g / (square(x) + 1))
    }
}

/// Logistic sigmoid, derivative y (1 - y).
public func sigmoid(_ x: Variable) -> Variable {
    unary(x, sigmoid(x.value)) { node, g in accumulate(node.parents[0], sigmoidBackward(g, node)) }
}

/// softplus log(1 + e^x) (stable), derivative sigmoid(x).
public func softplus(_ x: Variable) -> Variable {
    unary(x, softplus(x.value)) { node, g in
        let x = node.parents[0]
        accumulate(x, g * sigmoid(x))
    }
}

public func relu(_ x: Variable) -> Variable {
    unary(x, relu(x.value)) { node, g in
        let x = node.parents[0]
        accumulate(x, maskedScale(g, x, positive: 1, negative: 0))
    }
}

/// x for x > 0, slope x otherwise.
public func leakyRelu(_ x: Variable, slope: Float = 0.01) -> Variable {
    unary(x, leakyRelu(x.value, slope: slope)) { node, g in
        let x = node.parents[0]
        accumulate(x, maskedScale(g, x, positive: 1, negative: slope))
    }
}

/// x for x > 0, alpha (e^x - 1) otherwise; derivative 1 or y + alpha.
public func elu(_ x: Variable, alpha: Float = 1) -> Variable {
    unary(x, elu(x.value, alpha: alpha)) { node, g in
        let x = node.parents[0]
        accumulate(x, maskedScale(g, x, positive: 1, negative: 0)
                   + maskedScale(g * (node + alpha), x, positive: 0, negative: 1))
    }
}

public func square(_ x: Variable) -> Variable {
    unary(x, square(x.value)) { node, g in
        let x = node.parents[0]
        accumulate(x, affine(g * x, scale: 2))
    }
}

/// sqrt, derivative 1 / (2 y).
public func sqrt(_ x: Variable) -> Variable {
    unary(x, sqrt(x.value)) { node, g in accumulate(node.parents[0], g / affine(node, scale: 2)) }
}

public func abs(_ x: Variable) -> Variable {
    unary(x, abs(x.value)) { node, g in
        let x = node.parents[0]
        accumulate(x, maskedScale(g, x, positive: 1, negative: -1))
    }
}

/// min(max(x, low), high); gradient 1 inside (low, high), 0 outside.
public func clamp(_ x: Variable, min low: Float, max high: Float) -> Variable {
    unary(x, clamp(x.value, min: low, max: high)) { node, g in
        let x = node.parents[0]
        accumulate(x, rangeMask(g, x, low: low, high: high))
    }
}

// MARK: Fused backward kernels (each differentiable in turn)

/// g * (x > 0 ? positive : negative): the pullback of relu, leaky relu, abs. Linear in g; its
/// derivative in x is zero almost everywhere, so only g receives a gradient.
public func maskedScale(_ g: Variable, _ x: Variable, positive: Float, negative: Float) -> Variable {
        let value = maskedScale(g.value, x.value, positive: positive, negative: negative)
    return record(value, g, x) { node, gg in
        let (g, x) = (node.parents[0], node.parents[1])
        if g.needsGrad { accumulate(g, maskedScale(gg, x, positive: positive, negative: negative)) }
    }
}

/// g where low < x < high, else 0 (the pullback of clamp).
public func rangeMask(_ g: Variable, _ x: Variable, low: Float, high: Float) -> Variable {
    let value = rangeMask(g.value, x.value, low: low, high: high)
    return record(value, g, x) { node, gg in
        let (g, x) = (node.parents[0], node.parents[1])
        if g.needsGrad { accumulate(g, rangeMask(gg, x, low: low, high: high)) }
    }
}

/// g (1 - y^2): the pullback of y = tanh(x).
public func tanhBackward(_ g: Variable, _ y: Variable) -> Variable {
    let value = tanhBackward(g.value, y.value)
    return record(value, g, y) { node, gg in
        let (g, y) = (node.parents[0], node.parents[1])
        if g.needsGrad { accumulate(g, tanhBackward(gg, y)) }
        if y.needsGrad { accumulate(y, affine(gg * g * y, scale: -2)) }
    }
}

/// g y (1 - y): the pullback of y = sigmoid(x).
public func sigmoidBackward(_ g: Variable, _ y: Variable) -> Variable {
    let value = sigmoidBackward(g.value, y.value)
    return record(value, g, y) { node, gg in
        let (g, y) = (node.parents[0], node.parents[1])
        if g.needsGrad { accumulate(g, sigmoidBackward(gg, y)) }
        if y.needsGrad { accumulate(y, gg * g * affine(y, scale: -2, shift: 1)) }
    }
}
