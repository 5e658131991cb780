// Reductions keep the reduced axis with extent 1 ([R, C] -> [1, C] over axis 0, [R, 1] over
// axis 1, [1] in total), so results broadcast back against their input.

/// Sum over axis 0 or 1.
public func sum(_ x: Variable, axis: Int) -> Variable {
    let shape = x.shape
    return record(sum(x.value, axis: axis), x) { node, g in accumulate(node.parents[0], broadcast(g, to: shape)) }
}

/// Sum of all elements, shape [1].
public func sum(_ x: Variable) -> Variable {
    let shape = x.shape
    return record(sum(x.value), x) { node, g in accumulate(node.parents[0], broadcast(g, to: shape)) }
}

/// Mean over axis 0 or 1.
public func mean(_ x: Variable, axis: Int) -> Variable {
    let shape = x.shape
    let value = mean(x.value, axis: axis)
    let n = Float(x.value.count / max(value.count, 1))
    return record(value, x) { node, g in
        accumulate(node.parents[0], broadcast(affine(g, scale: 1 / n), to: shape))
    }
}

/// Mean of all elements, shape [1].
public func mean(_ x: Variable) -> Variable {
    let shape = x.shape
    let n = Float(max(x.value.count, 1))
    return record(mean(x.value), x) { node, g in
        accumulate(node.parents[0], broadcast(affine(g, scale: 1 / n), to: shape))
    }
}

/// log sum exp over an axis (max-stabilised); gradient g softmax(x) along that axis.
public func logSumExp(_ x: Variable, axis: Int) -> Variable {
    record(logSumExp(x.value, axis: axis), x) { node, g in
        let x = node.parents[0]
        accumulate(x, g * exp(x - node))
    }
}
