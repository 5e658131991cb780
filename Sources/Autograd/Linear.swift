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
    precondition(x.value.rank == 2 && weight.value.rank == 2 && x.value.columns == weight.value.columns,
                 "linear: input \(x.shape) does not match weight \(weight.shape) ([out, in])")
    let n = x.value.rows, out = weight.value.rows
    var y: Tensor
    if let bias {
        precondition(bias.value.count == out, "linear: bias shape \(bias.shape) does not match weight \(weight.shape)")
        y = repeatRows(bias.value, rows: n)
        matmul(x.value, weight.value, transposeB: true, into: &y, beta: 1)
    } else {
        y = matmul(x.value, weight.value, transposeB: true)
    }
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return record(y, parents) { node, g in
        let (x, w) = (node.parents[0], node.parents[1])
        if x.needsGrad { accumulate(x, matmul(g, w)) }
        if w.needsGrad { accumulate(w, matmul(g, x, transposeA: true)) }
        if node.parents.count > 2, node.parents[2].needsGrad {
            accumulate(node.parents[2], sumToShape(g, node.parents[2].shape))
        }
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
