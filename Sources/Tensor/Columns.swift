import CBLAS

// Feature-axis (column) operations on matrices [batch, features], and batch distances.

/// Concatenation along axis 1 (features, all with the same rows) or axis 0 (batch).
public func concat(_ parts: [Tensor], axis: Int = 1) -> Tensor {
    precondition(!parts.isEmpty, "concat: expected at least one tensor")
    precondition(parts.allSatisfy { $0.rank == 2 }, "concat: expected matrices, got shapes \(parts.map(\.shape))")
    if axis == 0 {
        let c = parts[0].shape[1]
        precondition(parts.allSatisfy { $0.shape[1] == c }, "concat(axis: 0): columns differ: \(parts.map(\.shape))")
        var storage = [Float](); storage.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { storage.append(contentsOf: p.storage) }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }, c], storage: storage)
    }
    precondition(axis == 1, "concat: expected axis 0 or 1, got \(axis)")
    let r = parts[0].shape[0]
    precondition(parts.allSatisfy { $0.shape[0] == r }, "concat(axis: 1): rows differ: \(parts.map(\.shape))")
    let total = parts.reduce(0) { $0 + $1.shape[1] }
    return Tensor(shape: [r, total]) { out in
        var offset = 0
        for p in parts {
            let w = p.shape[1]
            p.storage.withUnsafeBufferPointer { x in
                for i in 0..<r { for j in 0..<w { out[i * total + offset + j] = x[i * w + j] } }
            }
            offset += w
        }
    }
}

/// Columns start..<start+count of a matrix.
public func sliceColumns(_ t: Tensor, start: Int, count: Int) -> Tensor {
    precondition(t.rank == 2 && start >= 0 && count >= 0 && start + count <= t.shape[1],
                 "sliceColumns: columns \(start)..<\(start + count) outside shape \(t.shape)")
    let r = t.shape[0], c = t.shape[1]
    return Tensor(shape: [r, count]) { out in
        t.storage.withUnsafeBufferPointer { x in
            for i in 0..<r { for j in 0..<count { out[i * count + j] = x[i * c + start + j] } }
        }
    }
}

/// A [rows, columns] matrix of zeros with `t` written into columns start..<start+t.columns
/// (the adjoint of `sliceColumns`).
public func padColumns(_ t: Tensor, start: Int, columns: Int) -> Tensor {
    precondition(t.rank == 2 && start >= 0 && start + t.shape[1] <= columns,
                 "padColumns: shape \(t.shape) at column \(start) does not fit \(columns) columns")
    let r = t.shape[0], w = t.shape[1]
    return Tensor(shape: [r, columns]) { out in
        out.initialize(repeating: 0)
        t.storage.withUnsafeBufferPointer { x in
            for i in 0..<r { for j in 0..<w { out[i * columns + start + j] = x[i * w + j] } }
        }
    }
}

/// Split along the feature axis into blocks of the given widths (summing to the columns).
public func split(_ t: Tensor, sizes: [Int]) -> [Tensor] {
    precondition(t.rank == 2 && sizes.reduce(0, +) == t.shape[1],
                 "split: sizes \(sizes) must sum to the columns of shape \(t.shape)")
    var start = 0
    return sizes.map { w in defer { start += w }; return sliceColumns(t, start: start, count: w) }
}

/// y[:, j] = x[:, indices[j]] (a permutation, or any selection of columns).
public func gatherColumns(_ t: Tensor, indices: [Int]) -> Tensor {
    precondition(t.rank == 2, "gatherColumns: expected a matrix, got shape \(t.shape)")
    let r = t.shape[0], c = t.shape[1], w = indices.count
    precondition(indices.allSatisfy { $0 >= 0 && $0 < c }, "gatherColumns: indices must lie in 0..<\(c)")
    return Tensor(shape: [r, w]) { out in
        t.storage.withUnsafeBufferPointer { x in
            indices.withUnsafeBufferPointer { idx in
                for i in 0..<r { for j in 0..<w { out[i * w + j] = x[i * c + idx[j]] } }
            }
        }
    }
}

/// y[:, indices[j]] += x[:, j] into `columns` zero columns (the adjoint of `gatherColumns`).
public func scatterAddColumns(_ t: Tensor, indices: [Int], columns c: Int) -> Tensor {
    precondition(t.rank == 2 && t.shape[1] == indices.count && indices.allSatisfy { $0 >= 0 && $0 < c },
                 "scatterAddColumns: shape \(t.shape), \(indices.count) indices into \(c) columns")
    let r = t.shape[0], w = indices.count
    return Tensor(shape: [r, c]) { out in
        out.initialize(repeating: 0)
        t.storage.withUnsafeBufferPointer { x in
            indices.withUnsafeBufferPointer { idx in
                for i in 0..<r { for j in 0..<w { out[i * c + idx[j]] += x[i * w + j] } }
            }
        }
    }
}

/// d_ij = |x_i|^2 + |y_j|^2 - 2 x_i . y_j for x [N, D], y [M, D]: one sgemm plus the norms,
/// clamped at 0 against round-off.
public func pairwiseSquaredDistances(_ x: Tensor, _ y: Tensor) -> Tensor {
    precondition(x.rank == 2 && y.rank == 2 && x.shape[1] == y.shape[1],
                 "pairwiseSquaredDistances: expected [N, D] and [M, D], got \(x.shape) and \(y.shape)")
    let n = x.shape[0], m = y.shape[0]
    var d = Tensor(shape: [n, m]) { $0.initialize(repeating: 0) }
    matmul(x, y, transposeB: true, into: &d, alpha: -2, beta: 0)
    let nx = sum(square(x), axis: 1), ny = sum(square(y), axis: 1)
    nx.storage.withUnsafeBufferPointer { a in
        ny.storage.withUnsafeBufferPointer { b in
            d.storage.withUnsafeMutableBufferPointer { out in
                for i in 0..<n { for j in 0..<m { out[i * m + j] = Swift.max(out[i * m + j] + a[i] + b[j], 0) } }
            }
        }
    }
    return d
}
