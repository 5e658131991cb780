import Foundation
import Tensor

/// A weighted 1D histogram with under- and overflow. Bin i covers [edges[i], edges[i+1]).
/// The binning rule of plots that define no gate: equal bins over `range`, as many as the
/// statistics allow, that is the largest count in `allowed` for which every bin between the 5 % and
/// 95 % quantiles of `values` holds at least `minimumCount` entries (400: a statistical error of
/// 5 % per bin). Gate histograms keep the bins their gate was defined on; the gate's noise shows
/// whether the statistics carry them.
public func finestUniformEdges(_ values: [Double], range: ClosedRange<Double>, minimumCount: Double = 400,
                               allowed: ClosedRange<Int> = 10...60) -> [Double] {
    let inside = values.filter { range.contains($0) }.sorted()
    func edges(_ n: Int) -> [Double] { (0...n).map { range.lowerBound + (range.upperBound - range.lowerBound) * Double($0) / Double(n) } }
    guard inside.count >= 20 else { return edges(allowed.lowerBound) }
    let low = inside[inside.count / 20], high = inside[inside.count * 19 / 20]
    for n in allowed.reversed() {
        let e = edges(n)
        var counts = [Double](repeating: 0, count: n)
        for v in inside {
            let b = min(Int((v - range.lowerBound) / (range.upperBound - range.lowerBound) * Double(n)), n - 1)
            counts[b] += 1
        }
        let central = (0..<n).filter { e[$0 + 1] > low && e[$0] < high }
        if central.allSatisfy({ counts[$0] >= minimumCount }) { return e }
    }
    return edges(allowed.lowerBound)
}

public struct Histogram1D: Equatable, Sendable {
    public let edges: [Double]
    /// Sum of weights per bin.
    public private(set) var counts: [Double]
    /// Sum of squared weights per bin (the Poisson variance of a weighted count).
    public private(set) var sumOfSquares: [Double]
    public private(set) var underflow: Double = 0
    public private(set) var overflow: Double = 0
    private let uniform: Bool

    /// `bins` uniform bins on [low, high).
    public init(bins: Int, low: Double, high: Double) throws {
        guard bins > 0 else { throw RefoldError.value("Histogram1D bins", expected: "> 0", actual: bins) }
        guard low < high, low.isFinite, high.isFinite else {
            throw RefoldError.value("Histogram1D range", expected: "finite low < high", actual: "\(low)...\(high)")
        }
        edges = (0...bins).map { low + (high - low) * Double($0) / Double(bins) }
        counts = Array(repeating: 0, count: bins)
        sumOfSquares = counts
        uniform = true
    }

    /// Explicit, strictly increasing edges.
    public init(edges: [Double]) throws {
        guard edges.count >= 2 else { throw RefoldError.value("Histogram1D edges", expected: "at least 2", actual: edges.count) }
        for i in 1..<edges.count where !(edges[i] > edges[i - 1]) {
            throw RefoldError.value("Histogram1D edges[\(i)]", expected: "> \(edges[i - 1])", actual: edges[i])
        }
        self.edges = edges
        counts = Array(repeating: 0, count: edges.count - 1)
        sumOfSquares = counts
        uniform = false
    }

    /// A histogram with given bin contents and their errors (an unfolded spectrum, a mean of
    /// histograms): `sumOfSquares` holds the squared errors.
    public init(edges: [Double], counts: [Double], errors: [Double]) throws {
        try self.init(edges: edges)
        guard counts.count == binCount, errors.count == binCount else {
            throw RefoldError.value("Histogram1D contents", expected: "\(binCount) counts and errors", actual: "\(counts.count) and \(errors.count)")
        }
        self.counts = counts
        sumOfSquares = errors.map { $0 * $0 }
    }

    /// A histogram of `values` (weights default to 1).
    public init(_ values: [Double], weights: [Double]? = nil, bins: Int, low: Double, high: Double) throws {
        try self.init(bins: bins, low: low, high: high)
        try fill(values, weights: weights)
    }

    public var binCount: Int { counts.count }
    public var centers: [Double] { (0..<binCount).map { 0.5 * (edges[$0] + edges[$0 + 1]) } }
    public var widths: [Double] { (0..<binCount).map { edges[$0 + 1] - edges[$0] } }
    /// Poisson errors sqrt(sum w^2) per bin.
    public var errors: [Double] { sumOfSquares.map { $0.squareRoot() } }
    /// Sum of weights in range (without under- and overflow).
    public var total: Double { counts.reduce(0, +) }

    /// The bin of `x`: -1 below, `binCount` at or above the last edge; NaN counts as overflow.
    public func bin(of x: Double) -> Int {
        guard x >= edges[0] else { return x.isNaN ? binCount : -1 }
        guard x < edges[binCount] else { return binCount }
        if uniform {
            let i = Int((x - edges[0]) / (edges[binCount] - edges[0]) * Double(binCount))
            return min(max(i, 0), binCount - 1)
        }
        var low = 0, high = binCount
        while high - low > 1 {
            let mid = (low + high) / 2
            if x >= edges[mid] { low = mid } else { high = mid }
        }
        return low
    }

    public mutating func fill(_ x: Double, weight: Double = 1) {
        let i = bin(of: x)
        if i < 0 { underflow += weight } else if i >= binCount { overflow += weight } else {
            counts[i] += weight
            sumOfSquares[i] += weight * weight
        }
    }

    public mutating func fill(_ values: [Double], weights: [Double]? = nil) throws {
        if let weights {
            guard weights.count == values.count else {
                throw RefoldError.value("Histogram1D weights", expected: "\(values.count) values", actual: weights.count)
            }
            for (x, w) in zip(values, weights) { fill(x, weight: w) }
        } else {
            for x in values { fill(x) }
        }
    }

    /// counts / (total * width): integrates to 1 over the range.
    public var density: [Double] {
        let sum = total
        return (0..<binCount).map { sum > 0 ? counts[$0] / (sum * widths[$0]) : 0 }
    }

    /// Errors of `density`, sqrt(sum w^2) / (total * width) (the total's own fluctuation neglected).
    public var densityErrors: [Double] {
        let sum = total
        return (0..<binCount).map { sum > 0 ? errors[$0] / (sum * widths[$0]) : 0 }
    }
}

/// A weighted 2D histogram; bin (i, j) covers [x_i, x_i+1) x [y_j, y_j+1). Entries outside are
/// counted in `outside`.
public struct Histogram2D: Equatable, Sendable {
    public let x: Histogram1D
    public let y: Histogram1D
    /// counts[i][j]: x bin i, y bin j.
    public private(set) var counts: [[Double]]
    public private(set) var sumOfSquares: [[Double]]
    public private(set) var outside: Double = 0

    public init(xBins: Int, xRange: ClosedRange<Double>, yBins: Int, yRange: ClosedRange<Double>) throws {
        try self.init(x: Histogram1D(bins: xBins, low: xRange.lowerBound, high: xRange.upperBound),
                      y: Histogram1D(bins: yBins, low: yRange.lowerBound, high: yRange.upperBound))
    }

    /// Bins from the edges of two (empty) 1D histograms.
    public init(x: Histogram1D, y: Histogram1D) {
        self.x = x
        self.y = y
        counts = Array(repeating: Array(repeating: 0, count: y.binCount), count: x.binCount)
        sumOfSquares = counts
    }

    public mutating func fill(_ xValue: Double, _ yValue: Double, weight: Double = 1) {
        let i = x.bin(of: xValue), j = y.bin(of: yValue)
        guard i >= 0, i < x.binCount, j >= 0, j < y.binCount else { outside += weight; return }
        counts[i][j] += weight
        sumOfSquares[i][j] += weight * weight
    }

    public mutating func fill(_ xs: [Double], _ ys: [Double], weights: [Double]? = nil) throws {
        guard xs.count == ys.count, weights == nil || weights!.count == xs.count else {
            throw RefoldError.value("Histogram2D fill", expected: "\(xs.count) x, y and weights",
                                    actual: "\(ys.count) y, \(weights?.count ?? xs.count) weights")
        }
        for k in 0..<xs.count { fill(xs[k], ys[k], weight: weights?[k] ?? 1) }
    }

    public var total: Double { counts.reduce(0) { $0 + $1.reduce(0, +) } }

    /// counts / (total * area): integrates to 1 over the range.
    public var density: [[Double]] {
        let sum = total
        let xw = x.widths, yw = y.widths
        return counts.enumerated().map { i, row in
            row.enumerated().map { j, c in sum > 0 ? c / (sum * xw[i] * yw[j]) : 0 }
        }
    }
}
