import CBLAS

// Fused kernels for backward passes and layers. Each loop lives in a function whose scalars are
// plain parameters (not closure captures), so the compiler can vectorise it.

@inline(never)
func kernelMaskedScale(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                       _ n: Int, _ positive: Float, _ negative: Float) {
    for i in 0..<n { out[i] = (x[i] > 0 ? positive : negative) * g[i] }
}

@inline(never)
func kernelRangeMask(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                     _ n: Int, _ low: Float, _ high: Float) {
    for i in 0..<n { out[i] = x[i] > low && x[i] < high ? g[i] : 0 }
}

@inline(never)
func kernelTanhBackward(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { out[i] = g[i] * (1 - y[i] * y[i]) }
}

@inline(never)
func kernelSigmoidBackward(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { out[i] = g[i] * y[i] * (1 - y[i]) }
}

@inline(never)
func kernelFillRows(_ row: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ rows: Int, _ columns: Int) {
    var o = out
    for _ in 0..<rows {
        o.update(from: row, count: columns)
        o += columns
    }
}

@inline(__always)
private func binaryKernel(_ a: Tensor, _ b: Tensor, _ name: String,
                          _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
    precondition(a.shape == b.shape, "\(name): shapes \(a.shape) and \(b.shape) differ")
    return Tensor(shape: a.shape) { out in
        a.storage.withUnsafeBufferPointer { x in
            b.storage.withUnsafeBufferPointer { y in body(x.baseAddress!, y.baseAddress!, out.baseAddress!, out.count) }
        }
    }
}

/// g (x > 0 ? positive : negative): the pullback of relu (1, 0), leaky relu (1, slope), abs (1, -1).
public func maskedScale(_ g: Tensor, _ x: Tensor, positive: Float, negative: Float) -> Tensor {
    binaryKernel(g, x, "maskedScale") { kernelMaskedScale($0, $1, $2, $3, positive, negative) }
}

/// g where low < x < high, else 0: the pullback of clamp.
public func rangeMask(_ g: Tensor, _ x: Tensor, low: Float, high: Float) -> Tensor {
    binaryKernel(g, x, "rangeMask") { kernelRangeMask($0, $1, $2, $3, low, high) }
}

/// g (1 - y^2): the pullback of y = tanh(x).
public func tanhBackward(_ g: Tensor, _ y: Tensor) -> Tensor {
    binaryKernel(g, y, "tanhBackward") { kernelTanhBackward($0, $1, $2, $3) }
}

/// g y (1 - y): the pullback of y = sigmoid(x).
public func sigmoidBackward(_ g: Tensor, _ y: Tensor) -> Tensor {
    binaryKernel(g, y, "sigmoidBackward") { kernelSigmoidBackward($0, $1, $2, $3) }
}

/// A [rows, C] matrix whose every row is `row` ([C] or [1, C]).
public func repeatRows(_ row: Tensor, rows: Int) -> Tensor {
    let c = row.count
    return Tensor(shape: [rows, c]) { out in
        row.storage.withUnsafeBufferPointer { kernelFillRows($0.baseAddress!, out.baseAddress!, rows, c) }
    }
}

/// Sums of the rows (axis 0, [1, C]) or the columns (axis 1, [R, 1]) of a matrix by sgemv with
/// a vector of ones.
func sumBySgemv(_ t: Tensor, rows r: Int, columns c: Int, axis: Int) -> Tensor {
    let length = axis == 0 ? r : c
    let ones = [Float](repeating: 1, count: max(length, 1))
    return Tensor(shape: axis == 0 ? [1, c] : [r, 1]) { out in
        if length == 0 { out.initialize(repeating: 0); return }
        t.storage.withUnsafeBufferPointer { x in
            ones.withUnsafeBufferPointer { o in
                cblas_sgemv(CblasRowMajor, axis == 0 ? CblasTrans : CblasNoTrans, Int32(r), Int32(c), 1,
                            x.baseAddress, Int32(c), o.baseAddress, 1, 0, out.baseAddress, 1)
            }
        }
    }
}

@inline(never)
func kernelLeakyReluInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ slope: Float) {
    for i in 0..<n { x[i] = x[i] > 0 ? x[i] : slope * x[i] }
}

extension Tensor {
    /// x <- (x > 0 ? x : slope x) in place (slope 0: relu).
    public mutating func leakyReluInPlace(slope: Float) {
        storage.withUnsafeMutableBufferPointer { kernelLeakyReluInPlace($0.baseAddress!, $0.count, slope) }
    }
}
