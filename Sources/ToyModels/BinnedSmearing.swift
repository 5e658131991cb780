import Tensor

import Unfolding

/// A binned smearing g_ij = P(measured bin i | truth bin j): Unfolding's response matrix (rows =
/// measured bins, columns = truth bins; a column sums to the efficiency).
public typealias SmearingMatrix = ResponseMatrix

extension ResponseMatrix {
    /// The tridiagonal N-bin smearing of eq. 5.3: 1 - 2x on the diagonal, x on both neighbours,
    /// 1 - x in the two corner rows, so every column sums to one and the matrix is symmetric.
    public static func tridiagonal(bins: Int, x: Double) throws -> ResponseMatrix {
        guard bins >= 3 else { throw RefoldError.value("tridiagonal bins", expected: "N >= 3", actual: bins) }
        guard (0...0.5).contains(x) else { throw RefoldError.value("tridiagonal x", expected: "0 <= x <= 0.5", actual: x) }
        var g = [Double](repeating: 0, count: bins * bins)
        for i in 0..<bins {
            let edge = i == 0 || i == bins - 1
            g[i * bins + i] = edge ? 1 - x : 1 - 2 * x
            if i > 0 { g[i * bins + i - 1] = x }
            if i < bins - 1 { g[i * bins + i + 1] = x }
        }
        return try ResponseMatrix(measuredBins: bins, truthBins: bins, entries: g)
    }
}

public struct Binning: Equatable, Sendable {
    public let lower: Double, upper: Double, bins: Int

    public init(lower: Double, upper: Double, bins: Int) throws {
        guard bins > 0, upper > lower, lower.isFinite, upper.isFinite else {
            throw RefoldError.value("Binning", expected: "bins > 0 and lower < upper (finite)", actual: "\(bins) bins on [\(lower), \(upper))")
        }
        self.lower = lower; self.upper = upper; self.bins = bins
    }

    public var width: Double { (upper - lower) / Double(bins) }
    public func index(of value: Double) -> Int? {
        guard value >= lower, value < upper else { return nil }
        return min(Int((value - lower) / width), bins - 1)
    }
    public var centres: [Double] { (0..<bins).map { lower + (Double($0) + 0.5) * width } }
}

/// Migration counts from (truth bin, measured bin) pairs of a simulated sample, with misses
/// (truth event not measured: measured = nil) and fakes (measured event without truth: truth = nil).
/// The response is g_ij = N(measured i, truth j) / N(truth j), misses included in the denominator.
public struct MigrationCounts {
    public let truthBins: Int, measuredBins: Int
    /// N(measured i, truth j), row-major (rows = measured bins).
    public private(set) var migrations: [Double]
    /// N(truth j), misses included.
    public private(set) var truthTotals: [Double]
    /// Measured events without a truth partner, per measured bin.
    public private(set) var fakes: [Double]

    public init(truthBins: Int, measuredBins: Int) {
        precondition(truthBins > 0 && measuredBins > 0, "MigrationCounts: expected positive bin counts, got \(truthBins), \(measuredBins)")
        self.truthBins = truthBins; self.measuredBins = measuredBins
        migrations = [Double](repeating: 0, count: truthBins * measuredBins)
        truthTotals = [Double](repeating: 0, count: truthBins)
        fakes = [Double](repeating: 0, count: measuredBins)
    }

    /// Records one event. Both nil (neither level in range) is ignored.
    public mutating func fill(truth: Int?, measured: Int?, weight: Double = 1) {
        precondition(truth.map { (0..<truthBins).contains($0) } ?? true, "fill: truth bin \(truth!) outside 0..<\(truthBins)")
        precondition(measured.map { (0..<measuredBins).contains($0) } ?? true, "fill: measured bin \(measured!) outside 0..<\(measuredBins)")
        switch (truth, measured) {
        case let (j?, i?): migrations[i * truthBins + j] += weight; truthTotals[j] += weight
        case let (j?, nil): truthTotals[j] += weight
        case let (nil, i?): fakes[i] += weight
        case (nil, nil): break
        }
    }

    /// g_ij = N(i, j) / N(j); a truth bin without events gets a zero column.
    public var response: SmearingMatrix {
        var g = migrations
        for i in 0..<measuredBins {
            for j in 0..<truthBins { g[i * truthBins + j] = truthTotals[j] > 0 ? migrations[i * truthBins + j] / truthTotals[j] : 0 }
        }
        return try! ResponseMatrix(measuredBins: measuredBins, truthBins: truthBins, entries: g)
    }

    /// Fraction of measured events in bin i without a truth partner: F_i / (F_i + sum_j N(i, j)).
    public var fakeFraction: [Double] {
        (0..<measuredBins).map { i in
            let matched = (0..<truthBins).reduce(0) { $0 + migrations[i * truthBins + $1] }
            return fakes[i] + matched > 0 ? fakes[i] / (fakes[i] + matched) : 0
        }
    }

    /// Measured spectrum of the simulated sample (matched plus fakes).
    public var measuredTotals: [Double] {
        (0..<measuredBins).map { i in fakes[i] + (0..<truthBins).reduce(0) { $0 + migrations[i * truthBins + $1] } }
    }
}
