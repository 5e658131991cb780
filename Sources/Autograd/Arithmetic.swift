// Elementwise arithmetic with broadcasting (see Tensor's `Broadcast`): a gradient flowing to
// a broadcast operand is summed back to its shape.

/// `v` summed down to `shape` over broadcast axes (identity when the shapes agree).
public func sumToShape(_ v: Variable, _ shape: [Int]) -> Variable {
    if v.shape == shape { return v }
    let target = v.shape
    return record(sumToShape(v.value, shape), v) { node, g in
        accumulate(node.parents[0], broadcast(g, to: target))
    }
}

/// `v` repeated along its extent-1 axes to `shape` (identity when the shapes agree).
public func broadcast(_ v: Variable, to shape: [Int]) -> Variable {
    if v.shape == shape { return v }
    let original = v.shape
    return record(broadcast(v.value, to: shape), v) { node, g in
        accumulate(node.parents[0], sumToShape(g, original))
    }
}

/// The same values under another shape (no copy).
public func reshape(_ v: Variable, _ shape: [Int]) -> Variable {
    if v.shape == shape { return v }
    let original = v.shape
    return record(v.value.reshaped(shape), v) { node, g in accumulate(node.parents[0], reshape(g, original)) }
}

/// The transpose of a matrix.
public func transpose(_ v: Variable) -> Variable {
    record(transpose(v.value), v) { node, g in accumulate(node.parents[0], transpose(g)) }
}

public func + (a: Variable, b: Variable) -> Variable {
    record(a.value + b.value, a, b) { node, g in
        let (a, b) = (node.parents[0], node.parents[1])
        if a.needsGrad { accumulate(a, sumToShape(g, a.shape)) }
        if b.needsGrad { accumulate(b, sumToShape(g, b.shape)) }
    }
}

public func - (a: Variable, b: Variable) -> Variable {
    record(a.value - b.value, a, b) { node, g in
        let (a, b) = (node.parents[0], node.parents[1])
        if a.needsGrad { accumulate(a, sumToShape(g, a.shape)) }
        if b.needsGrad { accumulate(b, sumToShape(-g, b.shape)) }
    }
}

public func * (a: Variable, b: Variable) -> Variable {
    record(a.value * b.value, a, b) { node, g in
        let (a, b) = (node.parents[0], node.parents[1])
        if a.needsGrad { accumulate(a, sumToShape(g * b, a.shape)) }
        if b.needsGrad { accumulate(b, sumToShape(g * a, b.shape)) }
    }
}

public func / (a: Variable, b: Variable) -> Variable {
    record(a.value / b.value, a, b) { node, g in
        let (a, b) = (node.parents[0], node.parents[1])
        if a.needsGrad { accumulate(a, sumToShape(g / b, a.shape)) }
        // d(a/b)/db = -a/b^2 = -y/b
        if b.needsGrad { accumulate(b, sumToShape(-(g * node) / b, b.shape)) }
    }
}

/// scale * v + shift in one pass.
public func affine(_ v: Variable, scale: Float, shift: Float = 0) -> Variable {
    record(v.value.affine(scale: scale, shift: shift), v) { node, g in
        accumulate(node.parents[0], scale == 1 ? g : affine(g, scale: scale))
    }
}

public prefix func - (v: Variable) -> Variable { affine(v, scale: -1) }
public func + (v: Variable, s: Float) -> Variable { affine(v, scale: 1, shift: s) }
public func + (s: Float, v: Variable) -> Variable { affine(v, scale: 1, shift: s) }
public func - (v: Variable, s: Float) -> Variable { affine(v, scale: 1, shift: -s) }
public func - (s: Float, v: Variable) -> Variable { affine(v, scale: -1, shift: s) }
public func * (v: Variable, s: Float) -> Variable { affine(v, scale: s) }
public func * (s: Float, v: Variable) -> Variable { affine(v, scale: s) }
public func / (v: Variable, s: Float) -> Variable { affine(v, scale: 1 / s) }

/// s / v elementwise.
public func / (s: Float, v: Variable) -> Variable {
    record(s / v.value, v) { node, g in
        let x = node.parents[0]
        accumulate(x, -(g * node) / x)
    }
}
