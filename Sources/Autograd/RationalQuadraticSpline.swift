import Foundation

/// A monotonic rational-quadratic spline on [-B, B] with K bins, identity outside (Durkan,
/// Bekasov, Murray & Papamakarios 2019, "Neural Spline Flows", arXiv:1906.04032, sec. 3.1 and
/// app. A). Per feature it reads 3K - 1 unnormalised parameters (w~_1..K, h~_1..K, d~_1..K-1):
///
///     w_k = m_w + (1 - K m_w) softmax(w~)_k,   x_k = -B + 2B sum_{m<k} w_m   (x_0 = -B, x_K = B)
///     h_k = m_h + (1 - K m_h) softmax(h~)_k,   y_k likewise
///     delta_k = m_d + softplus(d~_k + c),  c = log(e^(1 - m_d) - 1),  delta_0 = delta_K = 1
///
/// so zero parameters give the identity (equal bins, unit slopes), and in bin k with
/// xi = (x - x_k) / W_k, s_k = H_k / W_k, theta = xi (1 - xi):
///
///     y = y_k + H_k (s_k xi^2 + delta_k theta) / (s_k + (delta_k+1 + delta_k - 2 s_k) theta)
///     dy/dx = s_k^2 (delta_k+1 xi^2 + 2 s_k theta + delta_k (1 - xi)^2) / (s_k + (delta_k+1 + delta_k - 2 s_k) theta)^2
///
/// The boundary slopes 1 join the linear tails y = x with a continuous first derivative. The
/// inverse solves the quadratic a xi^2 + b xi + c = 0 of app. A in the form
/// xi = 2c / (-b - sqrt(b^2 - 4ac)), which has no cancellation.
public struct RationalQuadraticSpline: Equatable, Codable, Sendable {
    /// K, the number of bins.
    public var bins: Int
    /// B: the spline maps [-B, B] onto itself; |x| > B is the identity.
    public var bound: Float
    /// m_w and m_h as fractions of 2B: no bin narrower or lower than 2B m, so every bin slope
    /// s_k = H_k / W_k lies in [m_h, 1 / m_w] and the inverse quadratic stays well conditioned.
    public var minimumBinWidth: Float
    public var minimumBinHeight: Float
    /// m_d: the interior knot slopes are at least this (the log-det is bounded below).
    public var minimumDerivative: Float

    /// Defaults: K = 8, B = 5 (zuko's NSF), minima 1e-3 (the paper's code).
    public init(bins: Int = 8, bound: Float = 5, minimumBinWidth: Float = 1e-3, minimumBinHeight: Float = 1e-3,
                minimumDerivative: Float = 1e-3) {
        precondition(bins >= 1 && bound > 0, "RationalQuadraticSpline: expected bins >= 1 and bound > 0, got \(bins), \(bound)")
        precondition(minimumBinWidth >= 0 && minimumBinHeight >= 0 && Float(bins) * Swift.max(minimumBinWidth, minimumBinHeight) < 1,
                     "RationalQuadraticSpline: expected 0 <= K * minimum bin width/height < 1, got K = \(bins), \(minimumBinWidth), \(minimumBinHeight)")
        precondition(minimumDerivative >= 0 && minimumDerivative < 1,
                     "RationalQuadraticSpline: expected 0 <= minimum derivative < 1, got \(minimumDerivative)")
        self.bins = bins; self.bound = bound
        self.minimumBinWidth = minimumBinWidth; self.minimumBinHeight = minimumBinHeight; self.minimumDerivative = minimumDerivative
    }

    /// 3K - 1 unnormalised parameters per transformed feature: K widths, K heights, K - 1 slopes.
    public var parametersPerFeature: Int { 3 * bins - 1 }

    /// c with m_d + softplus(c) = 1: zero raw slopes give unit slopes.
    public var derivativeShift: Double {
        Foundation.log(Foundation.expm1(1 - Double(minimumDerivative)))
    }

    /// Elements of `x` outside [-B, B] (in the linear tails). NaN counts as outside.
    public func tailCount(_ x: Tensor) -> Int {
        let b = bound
        var count = 0
        for v in x.storage where !(v >= -b && v <= b) { count += 1 }
        return count
    }
}

/// Which way the spline is evaluated.
public enum SplineDirection: Equatable, Sendable {
    /// y = g(x) and log|dy/dx|.
    case forward
    /// x = g^-1(y) and log|dx/dy| = -log|dy/dx|.
    case inverse
}

/// The spline applied elementwise to `x` [N, D] with per-element parameters [N, D (3K - 1)]
/// (feature j reads columns j (3K-1) ..< (j+1) (3K-1): widths, heights, slopes), fused into one
/// op. The result is [N, D + 1]: the transformed values in columns 0 ..< D and, in column D, the
/// per-event log-det sum_j log|dg_j| of the direction taken (the [N, 1] a transform returns).
///
/// Gradients w.r.t. x and the raw parameters come from one backward kernel (analytic partials of
/// y and log dy/dx; the inverse by the implicit function theorem). First order only: a
/// second-order pass (`gradients(createGraph: true)`) through this op stops with a message.
public func rationalQuadraticSpline(_ x: Variable, parameters: Variable, spline: RationalQuadraticSpline,
                                    direction: SplineDirection) -> Variable {
    let (n, d) = (x.value.rows, x.value.columns)
    precondition(x.value.rank == 2, "rationalQuadraticSpline: expected input [N, D], got \(x.shape)")
    precondition(parameters.value.rank == 2 && parameters.shape == [n, d * spline.parametersPerFeature],
                 "rationalQuadraticSpline: expected parameters [\(n), \(d * spline.parametersPerFeature)] (D = \(d), 3K - 1 = \(spline.parametersPerFeature)), got \(parameters.shape)")
    let value = Tensor(shape: [n, d + 1]) { out in
        x.value.storage.withUnsafeBufferPointer { xs in
            parameters.value.storage.withUnsafeBufferPointer { ps in
                SplineKernel(spline).evaluate(xs.baseAddress!, ps.baseAddress!, out.baseAddress!, rows: n, features: d,
                                              inverse: direction == .inverse)
            }
        }
    }
    return record(value, [x, parameters]) { node, g in
        precondition(!GradMode.isEnabled, "rationalQuadraticSpline: second-order gradients (createGraph) are not implemented")
        let (x, p) = (node.parents[0], node.parents[1])
        var gradX = Tensor(shape: x.shape), gradP = Tensor(shape: p.shape)
        x.value.storage.withUnsafeBufferPointer { xs in
            p.value.storage.withUnsafeBufferPointer { ps in
                node.value.storage.withUnsafeBufferPointer { out in
                    g.value.storage.withUnsafeBufferPointer { gs in
                        gradX.storage.withUnsafeMutableBufferPointer { gx in
                            gradP.storage.withUnsafeMutableBufferPointer { gp in
                                SplineKernel(spline).backward(xs.baseAddress!, ps.baseAddress!, out.baseAddress!, gs.baseAddress!,
                                                              gx.baseAddress!, gp.baseAddress!, rows: n, features: d,
                                                              inverse: direction == .inverse)
                            }
                        }
                    }
                }
            }
        }
        if x.needsGrad { accumulate(x, Variable(gradX)) }
        if p.needsGrad { accumulate(p, Variable(gradP)) }
    }
}

// MARK: Kernel

/// The per-element spline: the softmax exponentials in Float (the inputs are Float32), knots,
/// bin geometry and derivatives in Double; one scratch buffer per call.
private struct SplineKernel {
    let bins: Int
    let bound: Double
    let widthScale: Double, minimumWidth: Double
    let heightScale: Double, minimumHeight: Double
    let minimumDerivative: Double, derivativeShift: Double

    init(_ s: RationalQuadraticSpline) {
        bins = s.bins
        bound = Double(s.bound)
        minimumWidth = Double(s.minimumBinWidth)
        widthScale = 1 - Double(s.bins) * minimumWidth
        minimumHeight = Double(s.minimumBinHeight)
        heightScale = 1 - Double(s.bins) * minimumHeight
        minimumDerivative = Double(s.minimumDerivative)
        derivativeShift = s.derivativeShift
    }

    /// One element's bin: knots, sizes, slopes, and the softmax pieces the gradient needs.
    struct Bin {
        var k = 0
        var xk = 0.0, width = 0.0, yk = 0.0, height = 0.0
        var delta0 = 1.0, delta1 = 1.0
    }

    /// softmax(raw) into `probabilities`; knots -B + 2B cumsum(m + scale p) into `knots` [K + 1].
    @inline(__always)
    func knots(_ raw: UnsafePointer<Float>, _ probabilities: UnsafeMutablePointer<Double>, _ knots: UnsafeMutablePointer<Double>,
               minimum: Double, scale: Double) {
        var top = -Float.infinity
        for m in 0..<bins { top = Swift.max(top, raw[m]) }
        var total = 0.0
        for m in 0..<bins {
            let e = Double(Foundation.exp(raw[m] - top))
            probabilities[m] = e
            total += e
        }
        knots[0] = -bound
        let normalisation = 1 / total
        for m in 0..<bins {
            probabilities[m] *= normalisation
            knots[m + 1] = knots[m] + 2 * bound * (minimum + scale * probabilities[m])
        }
        knots[bins] = bound
    }

    /// The largest k < K with knots[k] <= v.
    @inline(__always)
    func search(_ knots: UnsafePointer<Double>, _ v: Double) -> Int {
        var k = 0
        while k + 1 < bins && knots[k + 1] <= v { k += 1 }
        return k
    }

    @inline(__always)
    func derivative(_ raw: UnsafePointer<Float>, at k: Int) -> Double {
        k == 0 || k == bins ? 1 : minimumDerivative + softplus(Double(raw[k - 1]) + derivativeShift)
    }

    @inline(__always)
    func softplus(_ v: Double) -> Double { Swift.max(v, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(v))) }

    /// Sets up the bin of `v`, searched on the x knots (`onOutput` false) or the y knots.
    @inline(__always)
    func bin(_ p: UnsafePointer<Float>, _ v: Double, onOutput: Bool, _ scratch: Scratch) -> Bin {
        knots(p, scratch.widthP, scratch.xKnots, minimum: minimumWidth, scale: widthScale)
        knots(p + bins, scratch.heightP, scratch.yKnots, minimum: minimumHeight, scale: heightScale)
        var b = Bin()
        b.k = search(onOutput ? scratch.yKnots : scratch.xKnots, v)
        b.xk = scratch.xKnots[b.k]; b.width = scratch.xKnots[b.k + 1] - b.xk
        b.yk = scratch.yKnots[b.k]; b.height = scratch.yKnots[b.k + 1] - b.yk
        b.delta0 = derivative(p + 2 * bins, at: b.k)
        b.delta1 = derivative(p + 2 * bins, at: b.k + 1)
        return b
    }

    /// y(xi) and log dy/dx in bin `b`.
    @inline(__always)
    func value(_ b: Bin, xi: Double) -> (y: Double, logSlope: Double) {
        let s = b.height / b.width
        let theta = xi * (1 - xi)
        let den = s + (b.delta0 + b.delta1 - 2 * s) * theta
        let y = b.yk + b.height * (s * xi * xi + b.delta0 * theta) / den
        let q = b.delta1 * xi * xi + 2 * s * theta + b.delta0 * (1 - xi) * (1 - xi)
        return (y, Foundation.log(s * s * q / (den * den)))
    }

    /// xi in [0, 1] with y(xi) = v (app. A, the root without cancellation).
    @inline(__always)
    func inverseXi(_ b: Bin, _ v: Double) -> Double {
        let s = b.height / b.width
        let delta = v - b.yk
        let sum = b.delta0 + b.delta1 - 2 * s
        let qa = b.height * (s - b.delta0) + delta * sum
        let qb = b.height * b.delta0 - delta * sum
        let qc = -s * delta
        let root = Foundation.sqrt(Swift.max(qb * qb - 4 * qa * qc, 0))
        let denominator = -qb - root
        let xi = denominator == 0 ? 0 : 2 * qc / denominator
        return Swift.min(Swift.max(xi, 0), 1)
    }

    /// Softmax probabilities [K] and knots [K + 1] of widths and heights, in one buffer that the
    /// caller allocates once per kernel call and frees.
    struct Scratch {
        let buffer: UnsafeMutablePointer<Double>
        let widthP, heightP, xKnots, yKnots: UnsafeMutablePointer<Double>
        init(bins: Int) {
            buffer = .allocate(capacity: 4 * bins + 2)
            widthP = buffer; heightP = buffer + bins; xKnots = buffer + 2 * bins; yKnots = buffer + 3 * bins + 1
        }
        func deallocate() { buffer.deallocate() }
    }

    func evaluate(_ x: UnsafePointer<Float>, _ parameters: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                  rows: Int, features: Int, inverse: Bool) {
        let scratch = Scratch(bins: bins)
        defer { scratch.deallocate() }
        let stride = 3 * bins - 1
        for i in 0..<rows {
            var logDet = 0.0
            for j in 0..<features {
                let v = Double(x[i * features + j])
                let o = i * (features + 1) + j
                guard v >= -bound && v <= bound else { out[o] = Float(v); continue }
                let b = bin(parameters + (i * features + j) * stride, v, onOutput: inverse, scratch)
                if inverse {
                    let xi = inverseXi(b, v)
                    out[o] = Float(b.xk + xi * b.width)
                    logDet -= value(b, xi: xi).logSlope
                } else {
                    let (y, logSlope) = value(b, xi: (v - b.xk) / b.width)
                    out[o] = Float(y)
                    logDet += logSlope
                }
            }
            out[i * (features + 1) + features] = Float(logDet)
        }
    }

    /// Gradients of L given dL/d(out) `g` [N, D + 1]. Forward: L depends on y(x, theta) and
    /// l = log y'(x, theta). Inverse: x(y, theta) solves y(x, theta) = y, so with
    /// a = g_x - g_l dl/dx, dL/dy = a / y' and dL/dtheta = -a y_theta / y' - g_l l_theta: both are
    /// c_y y_theta + c_l l_theta at the point x, which `accumulateParameters` spreads to the raw
    /// parameters.
    func backward(_ x: UnsafePointer<Float>, _ parameters: UnsafePointer<Float>, _ out: UnsafePointer<Float>,
                  _ g: UnsafePointer<Float>, _ gradX: UnsafeMutablePointer<Float>, _ gradP: UnsafeMutablePointer<Float>,
                  rows: Int, features: Int, inverse: Bool) {
        let scratch = Scratch(bins: bins)
        defer { scratch.deallocate() }
        let stride = 3 * bins - 1
        for i in 0..<rows {
            let gLogDet = Double(g[i * (features + 1) + features])
            for j in 0..<features {
                let e = i * features + j
                let v = Double(x[e])
                let gValue = Double(g[i * (features + 1) + j])
                guard v >= -bound && v <= bound else { gradX[e] = Float(gValue); continue }
                let p = parameters + e * stride
                let b = bin(p, v, onOutput: inverse, scratch)
                // The point on the x side: the input (forward) or the output (inverse).
                let xValue = inverse ? Double(out[i * (features + 1) + j]) : v
                let xi = Swift.min(Swift.max((xValue - b.xk) / b.width, 0), 1)
                let partials = Partials(b, xi: xi)
                let cy: Double, cl: Double
                if inverse {
                    let a = gValue - gLogDet * partials.lXi / b.width
                    cy = -a / partials.slope
                    cl = -gLogDet
                    gradX[e] = Float(a / partials.slope)
                } else {
                    cy = gValue
                    cl = gLogDet
                    gradX[e] = Float((cy * partials.fXi + cl * partials.lXi) / b.width)
                }
                accumulateParameters(b, partials, xi: xi, cy: cy, cl: cl, p, gradP + e * stride, scratch)
            }
        }
    }

    /// Partial derivatives of f = y - y_k and l = log dy/dx in (xi, s, H, delta_k, delta_k+1).
    struct Partials {
        var fXi = 0.0, fS = 0.0, fH = 0.0, fDelta0 = 0.0, fDelta1 = 0.0
        var lXi = 0.0, lS = 0.0, lDelta0 = 0.0, lDelta1 = 0.0
        /// dy/dx.
        var slope = 0.0
        let s: Double

        @inline(__always)
        init(_ b: Bin, xi: Double) {
            s = b.height / b.width
            let (d0, d1, h) = (b.delta0, b.delta1, b.height)
            let theta = xi * (1 - xi)
            let sum = d0 + d1 - 2 * s
            let den = s + sum * theta
            let num = h * (s * xi * xi + d0 * theta)
            let denXi = sum * (1 - 2 * xi)
            let denS = 1 - 2 * theta
            let den2 = den * den
            fXi = (h * (2 * s * xi + d0 * (1 - 2 * xi)) * den - num * denXi) / den2
            fS = (h * xi * xi * den - num * denS) / den2
            fH = num / (h * den)
            fDelta0 = theta * (h * den - num) / den2
            fDelta1 = -num * theta / den2
            let q = d1 * xi * xi + 2 * s * theta + d0 * (1 - xi) * (1 - xi)
            lXi = (2 * d1 * xi + 2 * s * (1 - 2 * xi) - 2 * d0 * (1 - xi)) / q - 2 * denXi / den
            lS = 2 / s + 2 * theta / q - 2 * denS / den
            lDelta0 = (1 - xi) * (1 - xi) / q - 2 * theta / den
            lDelta1 = xi * xi / q - 2 * theta / den
            slope = s * s * q / den2
        }
    }

    /// Adds c_y dy/dtheta + c_l dl/dtheta (x fixed) to the element's raw-parameter gradient.
    @inline(__always)
    func accumulateParameters(_ b: Bin, _ d: Partials, xi: Double, cy: Double, cl: Double,
                              _ p: UnsafePointer<Float>, _ gp: UnsafeMutablePointer<Float>, _ scratch: Scratch) {
        // xi = (x - x_k) / W, s = H / W.
        let gXi = cy * d.fXi + cl * d.lXi
        let gS = cy * d.fS + cl * d.lS
        let gKnotX = -gXi / b.width
        let gWidth = -(gXi * xi + gS * d.s) / b.width
        let gKnotY = cy
        let gHeight = cy * d.fH + gS / b.width
        spread(gKnot: gKnotX, gSize: gWidth, k: b.k, scratch.widthP, scale: widthScale, gp)
        spread(gKnot: gKnotY, gSize: gHeight, k: b.k, scratch.heightP, scale: heightScale, gp + bins)
        let slopes = gp + 2 * bins
        if b.k >= 1 {
            slopes[b.k - 1] = Float((cy * d.fDelta0 + cl * d.lDelta0) * sigmoid(Double(p[2 * bins + b.k - 1]) + derivativeShift))
        }
        if b.k + 1 <= bins - 1 {
            slopes[b.k] = Float((cy * d.fDelta1 + cl * d.lDelta1) * sigmoid(Double(p[2 * bins + b.k]) + derivativeShift))
        }
    }

    /// Knot k = -B + 2B sum_{m<k} u_m and size 2B u_k with u = m + scale softmax(raw): the
    /// gradient a_m = 2B (g_knot [m < k] + g_size [m = k]) through the softmax Jacobian,
    /// scale p_j (a_j - sum_m p_m a_m).
    @inline(__always)
    func spread(gKnot: Double, gSize: Double, k: Int, _ probabilities: UnsafePointer<Double>, scale: Double,
                _ out: UnsafeMutablePointer<Float>) {
        var below = 0.0
        for m in 0..<k { below += probabilities[m] }
        let mean = 2 * bound * (gKnot * below + gSize * probabilities[k])
        for m in 0..<bins {
            let a = m < k ? 2 * bound * gKnot : (m == k ? 2 * bound * gSize : 0)
            out[m] = Float(scale * probabilities[m] * (a - mean))
        }
    }

    @inline(__always)
    func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
}
