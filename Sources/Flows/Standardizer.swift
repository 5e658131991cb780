/// Per-column standardisation x' = (x - mean) / std, fitted in Double; a constant column gets
/// std 1 (so it maps to 0 instead of dividing by zero). JSON-codable, to store beside a model.
public struct Standardizer: Codable, Equatable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) throws {
        guard mean.count == std.count, std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw RefoldError.value("Standardizer", expected: "equal lengths and positive finite std", actual: "\(mean.count) means, std \(std)")
        }
        self.mean = mean
        self.std = std
    }

    /// Column means and (population) standard deviations of `data` [N, D].
    public init(fitting data: Tensor) throws {
        guard data.rank == 2, data.rows >= 1 else {
            throw RefoldError.value("Standardizer data", expected: "a matrix [N >= 1, D]", actual: "shape \(data.shape)")
        }
        let (n, d) = (data.rows, data.columns)
        var m = [Double](repeating: 0, count: d), s = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { m[j] += Double(data[i, j]) } }
        m = m.map { $0 / Double(n) }
        for i in 0..<n { for j in 0..<d { let r = Double(data[i, j]) - m[j]; s[j] += r * r } }
        s = s.map { v in let sd = (v / Double(n)).squareRoot(); return sd > 0 && sd.isFinite ? sd : 1 }
        try self.init(mean: m, std: s)
    }

    public var dimension: Int { mean.count }

    private func check(_ t: Tensor) throws {
        guard t.rank == 2 || t.rank == 3, t.columns == dimension else {
            throw RefoldError.shape("Standardizer input", expected: [t.shape.first ?? 0, dimension], actual: t.shape)
        }
    }

    /// (x - mean) / std per column ([N, D] or [N, K, D]).
    public func transform(_ t: Tensor) throws -> Tensor {
        try check(t)
        var out = t
        for i in 0..<out.count { let j = i % dimension; out.storage[i] = Float((Double(t.storage[i]) - mean[j]) / std[j]) }
        return out
    }

    /// x std + mean per column ([N, D] or [N, K, D], e.g. samples).
    public func inverse(_ t: Tensor) throws -> Tensor {
        try check(t)
        var out = t
        for i in 0..<out.count { let j = i % dimension; out.storage[i] = Float(Double(t.storage[i]) * std[j] + mean[j]) }
        return out
    }
}
