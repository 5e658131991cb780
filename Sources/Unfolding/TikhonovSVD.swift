import Tensor

/// SVD unfolding with Tikhonov regularisation towards a reference spectrum t0: minimise
///
///     | W (R t + b - d) |^2 + (tau s_1)^2 | t - t0 |^2,     W = diag(1 / sqrt(max(d_i, 1))),
///
/// solved with the SVD W R = U diag(s) V^T (GSL, s_1 the largest singular value):
/// t = t0 + V diag(s_k / (s_k^2 + tau^2 s_1^2)) U^T W (d - b - R t0). tau is dimensionless: mode k
/// keeps the fraction s_k^2 / (s_k^2 + tau^2 s_1^2). tau = 0 is the least-squares (for a square
/// response: the inverse) solution; tau -> infinity returns t0. Covariance M diag(d) M^T with
/// M = V diag(s_k / (s_k^2 + tau^2 s_1^2)) U^T W.
public enum TikhonovSVD {
    /// - Parameter reference: t0; zero if nil.
    public static func unfold(response: ResponseMatrix, data: [Double], tau: Double,
                              reference: [Double]? = nil, background: [Double]? = nil) throws -> UnfoldingResult {
        let (m, n) = (response.measuredBins, response.truthBins)
        try checkCounts("data", data, expected: m)
        guard tau >= 0, tau.isFinite else { throw RefoldError.value("tau", expected: "a finite value >= 0", actual: tau) }
        let t0 = reference ?? [Double](repeating: 0, count: n)
        try checkCounts("reference", t0, expected: n)
        let signal = try subtract(background, from: data)
        let weights = data.map { 1 / max($0, 1).squareRoot() }
        var weighted = response.entries
        for i in 0..<m { for j in 0..<n { weighted[i * n + j] *= weights[i] } }
        let (u, s, v) = try LinearAlgebra.svd(rows: m, columns: n, entries: weighted)
        guard s.first! > 0 else { throw RefoldError.value("response", expected: "a non-zero matrix", actual: "all singular values 0") }
        // Filtered inverse of the weighted response; a zero singular value contributes nothing.
        let damping = tau * s.first!
        let filter = s.map { $0 > 0 ? $0 / ($0 * $0 + damping * damping) : 0 }
        var map = [Double](repeating: 0, count: n * m)     // M = V diag(filter) U^T W, n x m
        for j in 0..<n {
            for i in 0..<m {
                var sum = 0.0
                for k in 0..<n { sum += v[j * n + k] * filter[k] * u[i * n + k] }
                map[j * m + i] = sum * weights[i]
            }
        }
        let folded0 = try response.fold(t0)
        let residual = (0..<m).map { signal[$0] - folded0[$0] }
        let values = (0..<n).map { j in t0[j] + (0..<m).reduce(0) { $0 + map[j * m + $1] * residual[$1] } }
        let covariance = LinearAlgebra.propagate(map, rows: n, columns: m, variance: data)
        let condition = s.last! > 0 ? s.first! / s.last! : .infinity
        return UnfoldingResult(method: .svd, values: values, covariance: covariance, conditionNumber: condition)
    }
}
