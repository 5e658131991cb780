import Foundation

/// Reductions keep the reduced axis with extent 1, so the result broadcasts back:
/// [R, C] summed over axis 0 is [1, C], over axis 1 is [R, 1], in total [1].
extension Tensor {
    /// (rows, columns) of a matrix or a vector seen as one row.
    var matrixShape: (Int, Int) {
        precondition(rank <= 2, "expected a matrix or a vector, got shape \(shape)")
        return rank == 1 ? (1, shape[0]) : (shape[0], shape[1])
    }
}

/// Sum over axis 0 ([R, C] -> [1, C]) or axis 1 ([R, C] -> [R, 1]), by sgemv.
public func sum(_ t: Tensor, axis: Int) -> Tensor {
    let (r, c) = t.matrixShape
    precondition(axis == 0 || axis == 1, "sum: expected axis 0 or 1, got \(axis)")
    return sumBySgemv(t, rows: r, columns: c, axis: axis)
}

/// Sum of all elements, shape [1] (accumulated in Double).
public func sum(_ t: Tensor) -> Tensor {
    var s = 0.0
    t.storage.withUnsafeBufferPointer { x in for v in x { s += Double(v) } }
    return Tensor(scalar: Float(s))
}

/// Mean over an axis (see `sum(_:axis:)`).
public func mean(_ t: Tensor, axis: Int) -> Tensor {
    let (r, c) = t.matrixShape
    var s = sum(t, axis: axis)
    s.scaleInPlace(1 / Float(axis == 0 ? r : c))
    return s
}

/// Mean of all elements, shape [1].
public func mean(_ t: Tensor) -> Tensor { Tensor(scalar: sum(t).scalar / Float(Swift.max(t.count, 1))) }

/// log sum_j exp(x_ij) over `axis`, stabilised by the maximum: m + log sum exp(x - m).
public func logSumExp(_ t: Tensor, axis: Int) -> Tensor {
    let (r, c) = t.matrixShape
    precondition(axis == 0 || axis == 1, "logSumExp: expected axis 0 or 1, got \(axis)")
    let outer = axis == 1 ? r : c, inner = axis == 1 ? c : r
    let strideOuter = axis == 1 ? c : 1, strideInner = axis == 1 ? 1 : c
    return Tensor(shape: axis == 1 ? [r, 1] : [1, c]) { out in
        t.storage.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                var m = -Float.infinity
                for i in 0..<inner { m = Swift.max(m, x[o * strideOuter + i * strideInner]) }
                if m == -.infinity { out[o] = -.infinity; continue }
                var s: Float = 0
                for i in 0..<inner { s += Foundation.exp(x[o * strideOuter + i * strideInner] - m) }
                out[o] = m + Foundation.log(s)
            }
        }
    }
}

/// `t` repeated along its extent-1 axes to `shape` (the adjoint of `sumToShape`).
public func broadcast(_ t: Tensor, to shape: [Int]) -> Tensor {
    if t.shape == shape { return t }
    if t.shape.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) { return t.reshaped(shape) }
    guard let (mode, result) = Broadcast.of(shape, t.shape), result == shape else {
        preconditionFailure("broadcast: shape \(t.shape) does not broadcast to \(shape)")
    }
    let columns = shape.count >= 2 ? shape[shape.count - 1] : 1
    let n = shape.reduce(1, *)
    return Tensor(shape: shape) { out in
        t.storage.withUnsafeBufferPointer { y in
            switch mode {
            case .scalarB: out.initialize(repeating: y[0])
            case .rowB: var base = 0; while base < n { for j in 0..<columns { out[base + j] = y[j] }; base += columns }
            case .columnB: for r in 0..<(n / Swift.max(columns, 1)) { for j in 0..<columns { out[r * columns + j] = y[r] } }
            default: preconditionFailure("broadcast: shape \(t.shape) does not broadcast to \(shape)")
            }
        }
    }
}

/// Sums `t` down to `shape` over the broadcast axes (the adjoint of `broadcast(_:to:)`).
public func sumToShape(_ t: Tensor, _ shape: [Int]) -> Tensor {
    if t.shape == shape { return t }
    if t.shape.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) { return t.reshaped(shape) }
    guard let (mode, result) = Broadcast.of(t.shape, shape), result == t.shape else {
        preconditionFailure("sumToShape: shape \(t.shape) does not reduce to \(shape)")
    }
    switch mode {
    case .scalarB: return sum(t).reshaped(shape)
    case .rowB: return sum(t, axis: 0).reshaped(shape)
    case .columnB: return sum(t, axis: 1).reshaped(shape)
    default: preconditionFailure("sumToShape: shape \(t.shape) does not reduce to \(shape)")
    }
}
