import Foundation
import Tensor
import ToyModels
import Unfolding

/// The N-bin response of eq. 5.3 times a per-column efficiency.
func tridiagonalResponse(bins: Int, x: Double, efficiency: Double = 1) throws -> ResponseMatrix {
    let g = try SmearingMatrix.tridiagonal(bins: bins, x: x)
    return try ResponseMatrix(measuredBins: bins, truthBins: bins, entries: g.entries.map { $0 * efficiency })
}

/// A falling truth spectrum 2000 exp(-j / 3).
func fallingSpectrum(_ bins: Int) -> [Double] { (0..<bins).map { 2000 * exp(-Double($0) / 3) } }

/// Sample covariance (n x n, row-major) of repeated results.
func sampleCovariance(_ draws: [[Double]]) -> [Double] {
    let n = draws[0].count, m = Double(draws.count)
    let mean = (0..<n).map { j in draws.reduce(0) { $0 + $1[j] } / m }
    var c = [Double](repeating: 0, count: n * n)
    for t in draws { for a in 0..<n { for b in 0..<n { c[a * n + b] += (t[a] - mean[a]) * (t[b] - mean[b]) / (m - 1) } } }
    return c
}
