// The ops of a transformer encoder over variable-length token sets (layout: `TokenMask`, tokens
// as rows of [N*T, D], see docs/transformer.md). First-order pullbacks are fused kernels; each
// is itself a Variable op (or, for layerNorm under createGraph, the same formula in Variable
// ops), so every op here also has a second derivative.

// MARK: Layer normalisation

/// Per row of x [R, F]: (x - mean) / sqrt(var + epsilon) * gain + bias, gain and bias [F]
/// (Ba, Kiros & Hinton 2016; biased variance over the features, as PyTorch).
public func layerNorm(_ x: Variable, gain: Variable, bias: Variable, epsilon: Float = 1e-5) -> Variable {
    let (y, means, rstds) = layerNorm(x.value, gain: gain.value, bias: bias.value, epsilon: epsilon)
    return record(y, [x, gain, bias]) { node, g in
        let (x, gain, bias) = (node.parents[0], node.parents[1], node.parents[2])
        if GradMode.isEnabled {
            // createGraph: the same pullback in differentiable ops.
            let centred = x - mean(x, axis: 1)
            let rstd = 1 / sqrt(mean(square(centred), axis: 1) + epsilon)
            let xhat = centred * rstd
            if x.needsGrad {
                let h = g * gain
                accumulate(x, rstd * (h - mean(h, axis: 1) - xhat * mean(h * xhat, axis: 1)))
            }
            if gain.needsGrad { accumulate(gain, sumToShape(g * xhat, gain.shape)) }
            if bias.needsGrad { accumulate(bias, sumToShape(g, bias.shape)) }
            return
        }
        let d = layerNormBackward(g.value, x.value, gain: gain.value, mean: means, rstd: rstds)
        if x.needsGrad { accumulate(x, Variable(d.x)) }
        if gain.needsGrad { accumulate(gain, Variable(d.gain.reshaped(gain.shape))) }
        if bias.needsGrad { accumulate(bias, Variable(d.bias.reshaped(bias.shape))) }
    }
}

// MARK: GELU

/// GELU x Φ(x) with the exact normal CDF via erf; derivative Φ(x) + x φ(x).
public func gelu(_ x: Variable) -> Variable {
    record(gelu(x.value), x) { node, g in accumulate(node.parents[0], geluBackward(g, node.parents[0])) }
}

/// g (Φ(x) + x φ(x)): the pullback of gelu; d/dx = g φ(x) (2 - x^2).
public func geluBackward(_ g: Variable, _ x: Variable) -> Variable {
    record(geluBackward(g.value, x.value), g, x) { node, gg in
        let (g, x) = (node.parents[0], node.parents[1])
        if g.needsGrad { accumulate(g, geluBackward(gg, x)) }
        if x.needsGrad {
            let x2 = square(x)
            let phi = exp(affine(x2, scale: -0.5)) * 0.398942280401432678
            accumulate(x, gg * g * phi * (2 - x2))
        }
    }
}

// MARK: Masked softmax

/// Softmax over the last axis of scores [N*G, T] restricted to the key slots that `mask` keeps
/// (the G rows of event n use event n's slots): masked keys get weight 0, an event without
/// tokens gets an all-zero row. Gradient y (g - sum_j g_j y_j).
public func maskedSoftmax(_ x: Variable, mask: TokenMask) -> Variable {
    record(maskedSoftmax(x.value, mask: mask), x) { node, g in accumulate(node.parents[0], softmaxBackward(g, node)) }
}

/// y (g - sum_j g_j y_j) per row (the pullback of a softmax y). Its own derivatives:
/// d/dg = softmaxBackward(gg, y), d/dy = gg (g - sum g y) - g sum(gg y).
public func softmaxBackward(_ g: Variable, _ y: Variable) -> Variable {
    record(softmaxBackward(g.value, y.value), g, y) { node, gg in
        let (g, y) = (node.parents[0], node.parents[1])
        if g.needsGrad { accumulate(g, softmaxBackward(gg, y)) }
        if y.needsGrad { accumulate(y, gg * (g - sum(g * y, axis: 1)) - g * sum(gg * y, axis: 1)) }
    }
}

// MARK: Attention products

/// Per event n and head h: S[n, h] = scale A[n, h] B[n, h]^T (see the Tensor `headScores`):
/// [N*T, D] x [N*T, D] -> [N*H*T, T]. Gradients dA = scale g B, dB = scale g^T A.
public func headScores(_ a: Variable, _ b: Variable, heads: Int, tokens: Int, scale: Float) -> Variable {
    record(headScores(a.value, b.value, heads: heads, tokens: tokens, scale: scale), a, b) { node, g in
        let (a, b) = (node.parents[0], node.parents[1])
        if a.needsGrad { accumulate(a, headApply(g, b, heads: heads, scale: scale)) }
        if b.needsGrad { accumulate(b, headApply(g, a, heads: heads, transposeP: true, scale: scale)) }
    }
}

/// Per event n and head h: O[n, h] = scale op(P[n, h]) V[n, h]: [N*H*T, T] x [N*T, D] -> [N*T, D].
/// Gradients (P V): dP = g V^T, dV = P^T g; (P^T V): dP = V g^T, dV = P g.
public func headApply(_ p: Variable, _ v: Variable, heads: Int, transposeP: Bool = false, scale: Float = 1) -> Variable {
    let tokens = p.value.columns
    return record(headApply(p.value, v.value, heads: heads, transposeP: transposeP, scale: scale), p, v) { node, g in
        let (p, v) = (node.parents[0], node.parents[1])
        if p.needsGrad {
            accumulate(p, transposeP ? headScores(v, g, heads: heads, tokens: tokens, scale: scale)
                                     : headScores(g, v, heads: heads, tokens: tokens, scale: scale))
        }
        if v.needsGrad { accumulate(v, headApply(p, g, heads: heads, transposeP: !transposeP, scale: scale)) }
    }
}

/// Scaled dot-product attention per event and head (Vaswani et al. 2017) over q, k, v [N*T, D]:
/// softmax(Q K^T / sqrt(dk)) V with padded keys masked out, dk = D / heads. Output [N*T, D];
/// rows of padded slots hold finite values that nothing real depends on.
public func multiHeadAttention(query q: Variable, key k: Variable, value v: Variable, mask: TokenMask, heads: Int) -> Variable {
    precondition(q.shape == k.shape && q.shape == v.shape && q.value.rows == mask.rows,
                 "multiHeadAttention: query \(q.shape), key \(k.shape), value \(v.shape) for \(mask.rows) token rows")
    let scale = 1 / Float(q.value.columns / heads).squareRoot()
    let weights = maskedSoftmax(headScores(q, k, heads: heads, tokens: mask.tokens, scale: scale), mask: mask)
    return headApply(weights, v, heads: heads)
}

// MARK: Token masking and pooling

/// Tokens [N*T, F] with the rows of empty slots replaced by zeros (whatever they held, inf and
/// NaN included); no gradient reaches the replaced rows.
public func maskTokens(_ x: Variable, mask: TokenMask) -> Variable {
    record(maskTokens(x.value, mask: mask), x) { node, g in accumulate(node.parents[0], maskTokens(g, mask: mask)) }
}

/// Mean over the real tokens of each event: [N*T, F] -> [N, F] (zero for an empty event).
public func maskedMeanPool(_ x: Variable, mask: TokenMask) -> Variable {
    record(maskedMeanPool(x.value, mask: mask), x) { node, g in accumulate(node.parents[0], spreadOverTokens(g, mask: mask)) }
}

/// g[n] / count_n on each real token row of event n, zero on padding: [N, F] -> [N*T, F]
/// (the adjoint of `maskedMeanPool`).
public func spreadOverTokens(_ g: Variable, mask: TokenMask) -> Variable {
    record(spreadOverTokens(g.value, mask: mask), g) { node, gg in accumulate(node.parents[0], maskedMeanPool(gg, mask: mask)) }
}
