/// The rows of `t` at `indices`, in that order (a shuffled batch, a subset of events).
public func gatherRows(_ t: Tensor, _ indices: some Collection<Int>) -> Tensor {
    let c = t.columns
    var out = [Float]()
    out.reserveCapacity(indices.count * c)
    t.storage.withUnsafeBufferPointer { x in
        for i in indices { out.append(contentsOf: x[(i * c)..<((i + 1) * c)]) }
    }
    return Tensor(shape: [indices.count, c], storage: out)
}

/// Each row of `t` repeated `times` times in place, [r0, r0, ..., r1, r1, ...]: the condition
/// of every one of K posterior samples per event.
public func repeatRows(_ t: Tensor, times: Int) -> Tensor {
    let c = t.columns
    var out = [Float]()
    out.reserveCapacity(t.rows * times * c)
    t.storage.withUnsafeBufferPointer { x in
        for i in 0..<t.rows { for _ in 0..<times { out.append(contentsOf: x[(i * c)..<((i + 1) * c)]) } }
    }
    return Tensor(shape: [t.rows * times, c], storage: out)
}
