import CBLAS
import Foundation

// Kernels of a transformer encoder over the token layout of `TokenMask`: tokens are rows of a
// [N*T, D] matrix, attention scores of event n and head h are the T x T block at rows
// (n*H + h)*T ..< (n*H + h + 1)*T of a [N*H*T, T] matrix (row: query slot, column: key slot).

// MARK: Layer normalisation

@inline(never)
func kernelLayerNormRow(_ x: UnsafePointer<Float>, _ gain: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                        _ out: UnsafeMutablePointer<Float>, _ f: Int, _ epsilon: Float) -> (mean: Float, rstd: Float) {
    var s: Float = 0
    for j in 0..<f { s += x[j] }
    let mu = s / Float(f)
    var v: Float = 0
    for j in 0..<f { let d = x[j] - mu; v += d * d }
    let rstd = 1 / (v / Float(f) + epsilon).squareRoot()
    for j in 0..<f { out[j] = (x[j] - mu) * rstd * gain[j] + bias[j] }
    return (mu, rstd)
}

/// Per row of x [R, F]: y = (x - mean) / sqrt(var + epsilon) * gain + bias (biased variance over
/// the F features), with the row means and reciprocal standard deviations for the backward pass.
public func layerNorm(_ x: Tensor, gain: Tensor, bias: Tensor, epsilon: Float)
    -> (output: Tensor, mean: [Float], rstd: [Float]) {
    precondition(x.rank == 2 && gain.count == x.columns && bias.count == x.columns,
                 "layerNorm: input \(x.shape) needs gain and bias of \(x.columns) values, got \(gain.shape) and \(bias.shape)")
    let r = x.rows, f = x.columns
    var means = [Float](repeating: 0, count: r), rstds = [Float](repeating: 0, count: r)
    let y = Tensor(shape: x.shape) { out in
        x.storage.withUnsafeBufferPointer { px in
            gain.storage.withUnsafeBufferPointer { pg in
                bias.storage.withUnsafeBufferPointer { pb in
                    for i in 0..<r {
                        (means[i], rstds[i]) = kernelLayerNormRow(px.baseAddress! + i * f, pg.baseAddress!, pb.baseAddress!,
                                                                  out.baseAddress! + i * f, f, epsilon)
                    }
                }
            }
        }
    }
    return (y, means, rstds)
}

@inline(never)
func kernelLayerNormBackwardRow(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ gain: UnsafePointer<Float>,
                                _ mu: Float, _ rstd: Float, _ dx: UnsafeMutablePointer<Float>,
                                _ dGain: UnsafeMutablePointer<Float>, _ dBias: UnsafeMutablePointer<Float>, _ f: Int) {
    var a: Float = 0, b: Float = 0
    for j in 0..<f {
        let xhat = (x[j] - mu) * rstd, gh = g[j] * gain[j]
        a += gh
        b += gh * xhat
        dGain[j] += g[j] * xhat
        dBias[j] += g[j]
    }
    let ma = a / Float(f), mb = b / Float(f)
    for j in 0..<f {
        let xhat = (x[j] - mu) * rstd
        dx[j] = rstd * (g[j] * gain[j] - ma - xhat * mb)
    }
}

/// The pullback of `layerNorm`: with x^ = (x - mean) rstd and h = g gain,
/// dx = rstd (h - mean_j h - x^ mean_j(h x^)), dgain = sum_rows g x^, dbias = sum_rows g.
public func layerNormBackward(_ g: Tensor, _ x: Tensor, gain: Tensor, mean: [Float], rstd: [Float])
    -> (x: Tensor, gain: Tensor, bias: Tensor) {
    precondition(g.shape == x.shape && mean.count == x.rows && rstd.count == x.rows && gain.count == x.columns,
                 "layerNormBackward: gradient \(g.shape), input \(x.shape), gain \(gain.shape), \(mean.count) row statistics")
    let r = x.rows, f = x.columns
    var dGain = Tensor(shape: gain.shape), dBias = Tensor(shape: gain.shape)
    let dx = Tensor(shape: x.shape) { out in
        g.storage.withUnsafeBufferPointer { pgr in
            x.storage.withUnsafeBufferPointer { px in
                gain.storage.withUnsafeBufferPointer { pga in
                    dGain.storage.withUnsafeMutableBufferPointer { dg in
                        dBias.storage.withUnsafeMutableBufferPointer { db in
                            for i in 0..<r {
                                kernelLayerNormBackwardRow(pgr.baseAddress! + i * f, px.baseAddress! + i * f, pga.baseAddress!,
                                                           mean[i], rstd[i], out.baseAddress! + i * f,
                                                           dg.baseAddress!, db.baseAddress!, f)
                            }
                        }
                    }
                }
            }
        }
    }
    return (dx, dGain, dBias)
}

// MARK: GELU (exact, via erf)

/// erf(x) as a rational function x P(x^2) / Q(x^2) on [-4, 4] (clamped outside, where erf is
/// ±1 in Float32): Eigen's `generic_fast_erf_float` coefficients. Largest difference from erf in
/// Double over [-6, 6]: 3.3e-7 (a few ulp near ±1). Branch-free, so the GELU loops vectorise;
/// libm's erff, one call per element, took 21 % of a training step.
@inline(__always) func rationalErf(_ a: Float) -> Float {
    let x = Swift.min(Swift.max(a, -4), 4), x2 = x * x
    var p: Float = -2.72614225801306e-10
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 - 2.10102402082508e-06
    p = p * x2 - 5.69250639462346e-05
    p = p * x2 - 7.34990630326855e-04
    p = p * x2 - 2.95459980854025e-03
    p = p * x2 - 1.60960333262415e-02
    var q: Float = -1.45660718464996e-05
    q = q * x2 - 2.13374055278905e-04
    q = q * x2 - 1.68282697438203e-03
    q = q * x2 - 7.37332916720468e-03
    q = q * x2 - 1.42647390514189e-02
    return x * p / q
}

/// Φ(x) = (1 + erf(x / sqrt 2)) / 2 and φ(x) = exp(-x^2 / 2) / sqrt(2 pi).
@inline(__always) func normalCDF(_ x: Float) -> Float { 0.5 * (1 + rationalErf(x * 0.70710678118654752)) }
@inline(__always) func normalPDF(_ x: Float) -> Float { 0.39894228040143268 * Foundation.exp(-0.5 * x * x) }

@inline(never)
func kernelGelu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { out[i] = x[i] * normalCDF(x[i]) }
}

@inline(never)
func kernelGeluBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { out[i] = g[i] * (normalCDF(x[i]) + x[i] * normalPDF(x[i])) }
}

/// GELU x Φ(x) with the exact normal CDF (Hendrycks & Gimpel 2016), not the tanh approximation
/// (erf by `rationalErf`, within 3.3e-7 of the true erf).
public func gelu(_ t: Tensor) -> Tensor {
    Tensor(shape: t.shape) { out in
        t.storage.withUnsafeBufferPointer { kernelGelu($0.baseAddress!, out.baseAddress!, out.count) }
    }
}

/// g (Φ(x) + x φ(x)): the pullback of `gelu`.
public func geluBackward(_ g: Tensor, _ x: Tensor) -> Tensor {
    precondition(g.shape == x.shape, "geluBackward: shapes \(g.shape) and \(x.shape) differ")
    return Tensor(shape: x.shape) { out in
        g.storage.withUnsafeBufferPointer { pg in
            x.storage.withUnsafeBufferPointer { kernelGeluBackward(pg.baseAddress!, $0.baseAddress!, out.baseAddress!, out.count) }
        }
    }
}

// MARK: Masked softmax

@inline(never)
func kernelMaskedSoftmaxRow(_ x: UnsafePointer<Float>, _ keep: UnsafePointer<Bool>, _ out: UnsafeMutablePointer<Float>, _ t: Int) {
    var m = -Float.infinity
    for j in 0..<t where keep[j] { m = Swift.max(m, x[j]) }
    if m == -Float.infinity {
        for j in 0..<t { out[j] = 0 }
        return
    }
    var s: Float = 0
    for j in 0..<t {
        let e = keep[j] ? Foundation.exp(x[j] - m) : 0
        out[j] = e
        s += e
    }
    let inverse = 1 / s
    for j in 0..<t { out[j] *= inverse }
}

/// Softmax over the last axis of x [N*G, T] where only the key slots `mask` keeps take part:
/// the G rows of event n (for attention G = heads * T) share event n's key mask. Masked keys get
/// weight exactly 0; a row with no key (an empty event) is all zeros, never NaN.
public func maskedSoftmax(_ x: Tensor, mask: TokenMask) -> Tensor {
    precondition(x.rank == 2 && x.columns == mask.tokens && mask.events > 0 && x.rows % mask.events == 0,
                 "maskedSoftmax: scores \(x.shape) need \(mask.tokens) columns and rows a multiple of \(mask.events) events")
    let t = mask.tokens, group = x.rows / max(mask.events, 1)
    return Tensor(shape: x.shape) { out in
        x.storage.withUnsafeBufferPointer { px in
            mask.valid.withUnsafeBufferPointer { keep in
                for i in 0..<x.rows {
                    kernelMaskedSoftmaxRow(px.baseAddress! + i * t, keep.baseAddress! + (i / group) * t, out.baseAddress! + i * t, t)
                }
            }
        }
    }
}

@inline(never)
func kernelSoftmaxBackwardRow(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ t: Int) {
    var s: Float = 0
    for j in 0..<t { s += g[j] * y[j] }
    for j in 0..<t { out[j] = y[j] * (g[j] - s) }
}

/// y (g - sum_j g_j y_j) per row: the pullback of a softmax with output y (masked entries,
/// where y = 0, get 0).
public func softmaxBackward(_ g: Tensor, _ y: Tensor) -> Tensor {
    precondition(g.shape == y.shape && y.rank == 2, "softmaxBackward: shapes \(g.shape) and \(y.shape) differ or are not matrices")
    let t = y.columns
    return Tensor(shape: y.shape) { out in
        g.storage.withUnsafeBufferPointer { pg in
            y.storage.withUnsafeBufferPointer { py in
                for i in 0..<y.rows {
                    kernelSoftmaxBackwardRow(pg.baseAddress! + i * t, py.baseAddress! + i * t, out.baseAddress! + i * t, t)
                }
            }
        }
    }
}

// MARK: Per-event, per-head products

/// The layout of one attention product: N events, H heads, T slots, model width D = H * dk.
struct HeadLayout {
    let events: Int, heads: Int, tokens: Int, width: Int
    var headWidth: Int { width / heads }
    /// Events of at least this many slots multiply their blocks by sgemm; smaller blocks by
    /// direct loops: a BLIS call costs about 3.5 us whatever its size (headScores for 512 events
    /// x 4 heads of 8 x 8 x 8 blocks: 7.1 ms by sgemm, 0.74 ms by loops; see docs/transformer.md).
    static let sgemmFromTokens = 32

    init(rows: Int, width: Int, heads: Int, tokens: Int, _ name: String) {
        precondition(heads > 0 && tokens > 0 && width % heads == 0 && rows % tokens == 0,
                     "\(name): \(rows) x \(width) tokens do not split into \(heads) heads of events of \(tokens) slots")
        events = rows / tokens
        self.heads = heads
        self.tokens = tokens
        self.width = width
    }
}

/// S[n, h] = scale A[n, h] B[n, h]^T for every event n and head h, where X[n, h] is the T x dk
/// block of rows n*T..<(n+1)*T and columns h*dk..<(h+1)*dk of a [N*T, D] matrix: the attention
/// scores Q K^T / sqrt(dk) with scale 1 / sqrt(dk). Output [N*H*T, T].
public func headScores(_ a: Tensor, _ b: Tensor, heads: Int, tokens: Int, scale: Float) -> Tensor {
    precondition(a.rank == 2 && a.shape == b.shape, "headScores: operands \(a.shape) and \(b.shape) differ")
    let l = HeadLayout(rows: a.rows, width: a.columns, heads: heads, tokens: tokens, "headScores")
    let t = l.tokens, d = l.width, dk = l.headWidth
    var s = Tensor(shape: [l.events * l.heads * t, t]) { _ in }
    if t >= HeadLayout.sgemmFromTokens { BLAS.prepare(work: t * t * dk) }
    a.storage.withUnsafeBufferPointer { pa in
        b.storage.withUnsafeBufferPointer { pb in
            s.storage.withUnsafeMutableBufferPointer { ps in
                for n in 0..<l.events {
                    for h in 0..<l.heads {
                        let block = n * t * d + h * dk, out = ps.baseAddress! + (n * l.heads + h) * t * t
                        if t < HeadLayout.sgemmFromTokens {
                            kernelBlockScores(pa.baseAddress! + block, pb.baseAddress! + block, out, t, dk, d, scale)
                        } else {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(t), Int32(dk), scale,
                                        pa.baseAddress! + block, Int32(d), pb.baseAddress! + block, Int32(d), 0, out, Int32(t))
                        }
                    }
                }
            }
        }
    }
    return s
}

/// O[n, h] = scale op(P[n, h]) V[n, h] (op: transpose or not) with P [N*H*T, T] in the layout of
/// `headScores` and V, O [N*T, D] in blocks as there: the attention output for the weights P.
public func headApply(_ p: Tensor, _ v: Tensor, heads: Int, transposeP: Bool = false, scale: Float = 1) -> Tensor {
    precondition(p.rank == 2 && v.rank == 2, "headApply: expected matrices, got \(p.shape) and \(v.shape)")
    let t = p.columns
    let l = HeadLayout(rows: v.rows, width: v.columns, heads: heads, tokens: t, "headApply")
    precondition(p.rows == l.events * l.heads * t, "headApply: weights \(p.shape) do not match \(l.events) events x \(heads) heads x \(t) slots")
    let d = l.width, dk = l.headWidth
    var o = Tensor(shape: v.shape) { _ in }
    if t >= HeadLayout.sgemmFromTokens { BLAS.prepare(work: t * t * dk) }
    p.storage.withUnsafeBufferPointer { pp in
        v.storage.withUnsafeBufferPointer { pv in
            o.storage.withUnsafeMutableBufferPointer { po in
                for n in 0..<l.events {
                    for h in 0..<l.heads {
                        let block = n * t * d + h * dk, weights = pp.baseAddress! + (n * l.heads + h) * t * t
                        if t < HeadLayout.sgemmFromTokens {
                            kernelBlockApply(weights, pv.baseAddress! + block, po.baseAddress! + block, t, dk, d, scale, transposeP)
                        } else {
                            cblas_sgemm(CblasRowMajor, transposeP ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(t), Int32(dk), Int32(t),
                                        scale, weights, Int32(t), pv.baseAddress! + block, Int32(d), 0, po.baseAddress! + block, Int32(d))
                        }
                    }
                }
            }
        }
    }
    return o
}

/// out[i, j] = scale sum_c a[i, c] b[j, c] for T x dk blocks with row stride d, out T x T.
@inline(never)
func kernelBlockScores(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                       _ t: Int, _ dk: Int, _ d: Int, _ scale: Float) {
    for i in 0..<t {
        let ai = a + i * d
        for j in 0..<t {
            let bj = b + j * d
            var s: Float = 0
            for c in 0..<dk { s += ai[c] * bj[c] }
            out[i * t + j] = scale * s
        }
    }
}

/// out[i, :] = scale sum_j op(p)[i, j] v[j, :] for a T x T block p and T x dk blocks v, out
/// with row stride d (one axpy of length dk per weight).
@inline(never)
func kernelBlockApply(_ p: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                      _ t: Int, _ dk: Int, _ d: Int, _ scale: Float, _ transposeP: Bool) {
    let (rowStride, columnStride) = transposeP ? (1, t) : (t, 1)
    for i in 0..<t {
        let oi = out + i * d
        for c in 0..<dk { oi[c] = 0 }
        for j in 0..<t {
            let w = scale * p[i * rowStride + j * columnStride], vj = v + j * d
            for c in 0..<dk { oi[c] += w * vj[c] }
        }
    }
}

// MARK: Token masking and pooling

/// x with the rows of empty slots set to zero (selected, not multiplied: inf and NaN in padding vanish).
public func maskTokens(_ x: Tensor, mask: TokenMask) -> Tensor {
    precondition(x.rank == 2 && x.rows == mask.rows, "maskTokens: tokens \(x.shape) need \(mask.rows) rows (\(mask.events) x \(mask.tokens))")
    let f = x.columns
    return Tensor(shape: x.shape) { out in
        x.storage.withUnsafeBufferPointer { px in
            for i in 0..<x.rows {
                let o = out.baseAddress! + i * f
                if mask.valid[i] { o.update(from: px.baseAddress! + i * f, count: f) } else { o.update(repeating: 0, count: f) }
            }
        }
    }
}

/// The mean over the real tokens of each event: x [N*T, F] -> [N, F]; zero for an empty event.
public func maskedMeanPool(_ x: Tensor, mask: TokenMask) -> Tensor {
    precondition(x.rank == 2 && x.rows == mask.rows, "maskedMeanPool: tokens \(x.shape) need \(mask.rows) rows (\(mask.events) x \(mask.tokens))")
    let f = x.columns, t = mask.tokens
    var y = Tensor(shape: [mask.events, f])
    x.storage.withUnsafeBufferPointer { px in
        y.storage.withUnsafeMutableBufferPointer { py in
            for n in 0..<mask.events where mask.counts[n] > 0 {
                let o = py.baseAddress! + n * f, w = 1 / Float(mask.counts[n])
                for s in 0..<t where mask.valid[n * t + s] {
                    let row = px.baseAddress! + (n * t + s) * f
                    for j in 0..<f { o[j] += w * row[j] }
                }
            }
        }
    }
    return y
}

/// The adjoint of `maskedMeanPool`: row n*T + t is g[n] / count_n for a real token, else zero.
public func spreadOverTokens(_ g: Tensor, mask: TokenMask) -> Tensor {
    precondition(g.rank == 2 && g.rows == mask.events, "spreadOverTokens: \(g.shape) needs \(mask.events) rows, one per event")
    let f = g.columns, t = mask.tokens
    return Tensor(shape: [mask.rows, f]) { out in
        g.storage.withUnsafeBufferPointer { pg in
            for i in 0..<mask.rows {
                let o = out.baseAddress! + i * f, n = i / t
                if mask.valid[i] {
                    let w = 1 / Float(mask.counts[n])
                    for j in 0..<f { o[j] = w * pg[n * f + j] }
                } else {
                    o.update(repeating: 0, count: f)
                }
            }
        }
    }
}
