import Tensor

/// Unfolding by matrix inversion, eq. 5.2: t = R^-1 (d - b) for a square response (GSL LU).
/// Covariance R^-1 diag(d) R^-T from Poisson data; the condition number s_max / s_min of R
/// (GSL SVD) says how much the inversion amplifies the data's fluctuations.
public enum MatrixInversion {
    public static func unfold(response: ResponseMatrix, data: [Double], background: [Double]? = nil) throws -> UnfoldingResult {
        let n = response.truthBins
        guard response.measuredBins == n else {
            throw RefoldError.value("matrix inversion", expected: "a square response", actual: "\(response.measuredBins) measured x \(n) truth bins")
        }
        try checkCounts("data", data, expected: n)
        let signal = try subtract(background, from: data)
        let inverse = try LinearAlgebra.inverse(n, response.entries)
        let values = (0..<n).map { k in (0..<n).reduce(0) { $0 + inverse[k * n + $1] * signal[$1] } }
        let covariance = LinearAlgebra.propagate(inverse, rows: n, columns: n, variance: data)
        let condition = try LinearAlgebra.conditionNumber(rows: n, columns: n, entries: response.entries)
        return UnfoldingResult(method: .invert, values: values, covariance: covariance, conditionNumber: condition)
    }

    /// The inverse R^-1 (row-major), for the closed-form checks of eq. 5.5.
    public static func inverse(_ response: ResponseMatrix) throws -> [Double] {
        guard response.measuredBins == response.truthBins else {
            throw RefoldError.value("inverse", expected: "a square response", actual: "\(response.measuredBins) x \(response.truthBins)")
        }
        return try LinearAlgebra.inverse(response.truthBins, response.entries)
    }

    /// s_max / s_min of the response (GSL SVD).
    public static func conditionNumber(_ response: ResponseMatrix) throws -> Double {
        let (m, n) = (response.measuredBins, response.truthBins)
        // GSL's SVD needs rows >= columns; the singular values of R^T are those of R.
        if m >= n { return try LinearAlgebra.conditionNumber(rows: m, columns: n, entries: response.entries) }
        let transposed = (0..<n).flatMap { j in (0..<m).map { response.entries[$0 * n + j] } }
        return try LinearAlgebra.conditionNumber(rows: n, columns: m, entries: transposed)
    }
}

/// d - b, checked.
func subtract(_ background: [Double]?, from data: [Double]) throws -> [Double] {
    guard let background else { return data }
    try checkCounts("background", background, expected: data.count)
    return zip(data, background).map { $0 - $1 }
}
