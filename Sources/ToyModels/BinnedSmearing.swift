import Tensor

/// A binned response g_ij = P(measured bin i | truth bin j): rows = measured bins, columns =
/// truth bins, row-major. Folding is eq. 5.1, sigma_i^(d) = sum_j g_ij sigma_j^(p).
/// A column may sum to less than one: the efficiency (events that are not measured at all).
public struct SmearingMatrix: Equatable {
    public let measuredBins: Int
    public let truthBins: Int
    /// Row-major entries, `entries[i * truthBins + j]` = g_ij.
    public let entries: [Double]

    public init(measuredBins: Int, truthBins: Int, entries: [Double]) throws {
        guard measuredBins > 0, truthBins > 0 else {
            throw RefoldError.value("SmearingMatrix bins", expected: "positive counts", actual: "\(measuredBins) x \(truthBins)")
        }
        guard entries.count == measuredBins * truthBins else {
            throw RefoldError.shape("SmearingMatrix entries", expected: [measuredBins * truthBins], actual: [entries.count])
        }
        if let bad = entries.firstIndex(where: { !($0 >= 0) }) {
            throw RefoldError.value("SmearingMatrix entry (\(bad / truthBins), \(bad % truthBins))", expected: "a probability >= 0", actual: entries[bad])
        }
        self.measuredBins = measuredBins
        self.truthBins = truthBins
        self.entries = entries
    }

    /// The tridiagonal N-bin smearing of eq. 5.3: 1 - 2x on the diagonal, x on both neighbours,
    /// 1 - x in the two corner rows, so every column sums to one and the matrix is symmetric.
    public static func tridiagonal(bins: Int, x: Double) throws -> SmearingMatrix {
        guard bins >= 3 else { throw RefoldError.value("tridiagonal bins", expected: "N >= 3", actual: bins) }
        guard (0...0.5).contains(x) else { throw RefoldError.value("tridiagonal x", expected: "0 <= x <= 0.5", actual: x) }
        var g = [Double](repeating: 0, count: bins * bins)
        for i in 0..<bins {
            let edge = i == 0 || i == bins - 1
            g[i * bins + i] = edge ? 1 - x : 1 - 2 * x
            if i > 0 { g[i * bins + i - 1] = x }
            if i < bins - 1 { g[i * bins + i + 1] = x }
        }
        return try SmearingMatrix(measuredBins: bins, truthBins: bins, entries: g)
    }

    public subscript(measured i: Int, truth j: Int) -> Double { entries[i * truthBins + j] }

    /// Rows as nested arrays (measured bin i -> [g_i0, g_i1, ...]).
    public var rows: [[Double]] { (0..<measuredBins).map { Array(entries[$0 * truthBins..<($0 + 1) * truthBins]) } }

    /// epsilon_j = sum_i g_ij: the probability that a truth-bin-j event is measured at all.
    public var efficiency: [Double] {
        (0..<truthBins).map { j in (0..<measuredBins).reduce(0) { $0 + entries[$1 * truthBins + j] } }
    }

    /// The expected measured spectrum sum_j g_ij t_j + b_i (b: fakes/background, optional).
    public func fold(_ truth: [Double], background: [Double]? = nil) throws -> [Double] {
        guard truth.count == truthBins else { throw RefoldError.shape("fold truth", expected: [truthBins], actual: [truth.count]) }
        if let background, background.count != measuredBins {
            throw RefoldError.shape("fold background", expected: [measuredBins], actual: [background.count])
        }
        return (0..<measuredBins).map { i in
            var sum = background?[i] ?? 0
            for j in 0..<truthBins { sum += entries[i * truthBins + j] * truth[j] }
            return sum
        }
    }

    /// One pseudo-measurement: Poisson counts around the folded spectrum.
    public func fold(_ truth: [Double], background: [Double]? = nil, rng: RNGStream) throws -> [Double] {
        try fold(truth, background: background).map { Double(rng.poisson(mean: $0)) }
    }
}

/// Equal-width bins on [lower, upper): the bin index of a value, nil outside (a miss).
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
        return try! SmearingMatrix(measuredBins: measuredBins, truthBins: truthBins, entries: g)
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
