// Feature-axis (column) ops: concatenation, split, permutation.

/// Concatenation along axis 1 (features) or 0 (batch).
public func concat(_ parts: [Variable], axis: Int = 1) -> Variable {
    let widths = parts.map { axis == 1 ? $0.value.columns : $0.value.rows }
    return record(concat(parts.map(\.value), axis: axis), parts) { node, g in
        var start = 0
        for (p, w) in zip(node.parents, widths) {
            if p.needsGrad {
                accumulate(p, axis == 1 ? sliceColumns(g, start: start, count: w) : sliceRows(g, start: start, count: w))
            }
            start += w
        }
    }
}

/// Split along the feature axis into blocks of the given widths.
public func split(_ x: Variable, sizes: [Int]) -> [Variable] {
    precondition(x.value.rank == 2 && sizes.reduce(0, +) == x.value.columns,
                 "split: sizes \(sizes) must sum to the columns of shape \(x.shape)")
    var start = 0
    return sizes.map { w in defer { start += w }; return sliceColumns(x, start: start, count: w) }
}

/// Columns start..<start+count.
public func sliceColumns(_ x: Variable, start: Int, count: Int) -> Variable {
    let total = x.value.columns
    return record(sliceColumns(x.value, start: start, count: count), x) { node, g in
        accumulate(node.parents[0], padColumns(g, start: start, columns: total))
    }
}

/// Zero columns around `x`, which lands at column `start` of `columns`.
public func padColumns(_ x: Variable, start: Int, columns: Int) -> Variable {
    let width = x.value.columns
    return record(padColumns(x.value, start: start, columns: columns), x) { node, g in
        accumulate(node.parents[0], sliceColumns(g, start: start, count: width))
    }
}

/// Rows start..<start+count (a batch slice).
public func sliceRows(_ x: Variable, start: Int, count: Int) -> Variable {
    let rows = x.value.rows, c = x.value.columns
    precondition(x.value.rank == 2 && start >= 0 && start + count <= rows, "sliceRows: rows \(start)..<\(start + count) outside shape \(x.shape)")
    let value = Tensor(shape: [count, c], storage: Array(x.value.storage[(start * c)..<((start + count) * c)]))
    return record(value, x) { node, g in
        var parts: [Variable] = []
        if start > 0 { parts.append(Variable(Tensor(shape: [start, c]))) }
        parts.append(g)
        if start + count < rows { parts.append(Variable(Tensor(shape: [rows - start - count, c]))) }
        accumulate(node.parents[0], parts.count == 1 ? g : concat(parts, axis: 0))
    }
}

/// y[:, j] = x[:, indices[j]] (a fixed permutation, or any column selection).
public func gatherColumns(_ x: Variable, indices: [Int]) -> Variable {
    let columns = x.value.columns
    return record(gatherColumns(x.value, indices: indices), x) { node, g in
        accumulate(node.parents[0], scatterAddColumns(g, indices: indices, columns: columns))
    }
}

/// out[:, indices[j]] += x[:, j] into `columns` zero columns (the adjoint of gatherColumns).
public func scatterAddColumns(_ x: Variable, indices: [Int], columns: Int) -> Variable {
    record(scatterAddColumns(x.value, indices: indices, columns: columns), x) { node, g in
        accumulate(node.parents[0], gatherColumns(g, indices: indices))
    }
}
