import Tensor

/// Iterative Bayesian unfolding (D'Agostini, NIM A 362 (1995) 487). With prior p_j and efficiency
/// epsilon_j = sum_i R_ij, one iteration is
///
///     t_j = (1 / epsilon_j) sum_i [R_ij p_j / sum_k R_ik p_k] (d_i - b_i),    p <- t,
///
/// and the covariance comes from Poisson toys: the same unfolding of d' ~ Poisson(d).
/// A truth bin with epsilon_j = 0 is not constrained by the data and stays at zero.
public enum IterativeBayes {
    /// - Parameters:
    ///   - prior: starting truth spectrum (any normalisation); flat if nil.
    ///   - toys: Poisson pseudo-data sets for the covariance (0: no covariance, zeros returned).
    public static func unfold(response: ResponseMatrix, data: [Double], prior: [Double]? = nil,
                              iterations: Int, background: [Double]? = nil,
                              toys: Int = 500, rng: RNGStream) throws -> UnfoldingResult {
        let n = response.truthBins
        try checkCounts("data", data, expected: response.measuredBins)
        guard iterations >= 1 else { throw RefoldError.value("iterations", expected: ">= 1", actual: iterations) }
        guard toys >= 0 else { throw RefoldError.value("toys", expected: ">= 0", actual: toys) }
        let start = prior ?? [Double](repeating: 1, count: n)
        try checkCounts("prior", start, expected: n)
        guard start.contains(where: { $0 > 0 }) else { throw RefoldError.value("prior", expected: "at least one positive bin", actual: start) }
        if let background { try checkCounts("background", background, expected: response.measuredBins) }

        var convergence: [Double] = []
        let values = iterate(response, data, background, start, iterations, &convergence)

        var covariance = [Double](repeating: 0, count: n * n)
        if toys > 1 {
            var mean = [Double](repeating: 0, count: n)
            var draws: [[Double]] = []
            var unused: [Double] = []
            for _ in 0..<toys {
                let pseudo = data.map { Double(rng.poisson(mean: $0)) }
                let t = iterate(response, pseudo, background, start, iterations, &unused)
                for j in 0..<n { mean[j] += t[j] / Double(toys) }
                draws.append(t)
            }
            for t in draws {
                for a in 0..<n { for b in 0..<n { covariance[a * n + b] += (t[a] - mean[a]) * (t[b] - mean[b]) / Double(toys - 1) } }
            }
        }
        return UnfoldingResult(method: .ibu, values: values, covariance: covariance, convergence: convergence)
    }

    /// `iterations` D'Agostini steps from `prior`; appends the relative change of each step.
    static func iterate(_ r: ResponseMatrix, _ data: [Double], _ background: [Double]?, _ prior: [Double],
                        _ iterations: Int, _ convergence: inout [Double]) -> [Double] {
        let (m, n) = (r.measuredBins, r.truthBins)
        let efficiency = r.efficiency
        let signal = (0..<m).map { max(data[$0] - (background?[$0] ?? 0), 0) }
        var p = prior
        for _ in 0..<iterations {
            var t = [Double](repeating: 0, count: n)
            for i in 0..<m where signal[i] > 0 {
                var folded = 0.0
                for k in 0..<n { folded += r.entries[i * n + k] * p[k] }
                guard folded > 0 else { continue }
                let weight = signal[i] / folded
                for j in 0..<n { t[j] += r.entries[i * n + j] * p[j] * weight }
            }
            for j in 0..<n { t[j] = efficiency[j] > 0 ? t[j] / efficiency[j] : 0 }
            let total = t.reduce(0, +)
            let change = zip(t, p).reduce(0) { $0 + abs($1.0 - $1.1) }
            convergence.append(total > 0 ? change / total : 0)
            p = t
        }
        return p
    }
}
