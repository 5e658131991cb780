// Matrix products (BLIS sgemm) and the fused dense layer.

/// op(a) op(b), with op the transpose where asked.
public func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
    record(matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB), a, b) { node, g in
        let (a, b) = (node.parents[0], node.parents[1])
        switch (transposeA, transposeB) {
        case (false, false): // C = A B
            if a.needsGrad { accumulate(a, matmul(g, b, transposeB: true)) }
            if b.needsGrad { accumulate(b, matmul(a, g, transposeA: true)) }
        case (true, false): // C = A^T B
            if a.needsGrad { accumulate(a, matmul(b, g, transposeB: true)) }
            if b.needsGrad { accumulate(b, matmul(a, g)) }
        case (false, true): // C = A B^T
            if a.needsGrad { accumulate(a, matmul(g, b)) }
            if b.needsGrad { accumulate(b, matmul(g, a, transposeA: true)) }
        case (true, true): // C = A^T B^T
            if a.needsGrad { accumulate(a, matmul(b, g, transposeA: true, transposeB: true)) }
            if b.needsGrad { accumulate(b, matmul(g, a, transposeA: true, transposeB: true)) }
        }
    }
}

/// x W^T + b for x [N, in], weight [out, in] (PyTorch layout), bias [out]: the bias rows are
/// written first and the sgemm accumulates onto them (beta = 1), one pass.
public func linear(_ x: Variable, _ weight: Variable, _ bias: Variable?) -> Variable {
    record(affineOutput(x, weight, bias), linearParents(x, weight, bias)) { node, g in linearPullback(node, g) }
}

/// leakyRelu(x W^T + b, slope) (slope 0: relu) with the activation applied in place on the
/// product; the pullback masks by the output's sign (y > 0 exactly where x W^T + b > 0).
public func linearLeakyRelu(_ x: Variable, _ weight: Variable, _ bias: Variable?, slope: Float = 0) -> Variable {
    precondition(slope >= 0, "linearLeakyRelu: expected slope >= 0, got \(slope)")
    var y = affineOutput(x, weight, bias)
    y.leakyReluInPlace(slope: slope)
    return record(y, linearParents(x, weight, bias)) { node, g in
        linearPullback(node, maskedScale(g, node, positive: 1, negative: slope))
    }
}

private func linearParents(_ x: Variable, _ weight: Variable, _ bias: Variable?) -> [Variable] {
    bias.map { [x, weight, $0] } ?? [x, weight]
}

private func affineOutput(_ x: Variable, _ weight: Variable, _ bias: Variable?) -> Tensor {
    precondition(x.value.rank == 2 && weight.value.rank == 2 && x.value.columns == weight.value.columns,
                 "linear: input \(x.shape) does not match weight \(weight.shape) ([out, in])")
    guard let bias else { return matmul(x.value, weight.value, transposeB: true) }
    precondition(bias.value.count == weight.value.rows, "linear: bias shape \(bias.shape) does not match weight \(weight.shape)")
    var y = repeatRows(bias.value, rows: x.value.rows)
    matmul(x.value, weight.value, transposeB: true, into: &y, beta: 1)
    return y
}

/// d/dx = g W, d/dW = g^T x, d/db = column sums of g.
private func linearPullback(_ node: Variable, _ g: Variable) {
    let (x, w) = (node.parents[0], node.parents[1])
    if x.needsGrad { accumulate(x, matmul(g, w)) }
    if w.needsGrad { accumulate(w, matmul(g, x, transposeA: true)) }
    if node.parents.count > 2, node.parents[2].needsGrad {
        accumulate(node.parents[2], sumToShape(g, node.parents[2].shape))
    }
}

/// d_ij = |x_i - y_j|^2 for x [N, D], y [M, D] (MMD kernels); gradients
/// d/dx_i = 2 (sum_j g_ij x_i - (g y)_i), d/dy_j = 2 (sum_i g_ij y_j - (g^T x)_j).
public func pairwiseSquaredDistances(_ x: Variable, _ y: Variable) -> Variable {
    record(pairwiseSquaredDistances(x.value, y.value), x, y) { node, g in
        let (x, y) = (node.parents[0], node.parents[1])
        if x.needsGrad { accumulate(x, affine(x * sum(g, axis: 1) - matmul(g, y), scale: 2)) }
        if y.needsGrad {
            let columnSums = reshape(sum(g, axis: 0), [g.value.columns, 1])
            accumulate(y, affine(y * columnSums - matmul(g, x, transposeA: true), scale: 2))
        }
    }
}
