import CGSL
import Foundation
import Tensor

/// A chi-square with its degrees of freedom and upper-tail p-value `gsl_cdf_chisq_Q(chi2, ndf)`.
public struct ChiSquare: Equatable, Sendable {
    public let chi2: Double
    public let ndf: Int
    public var perNdf: Double { ndf > 0 ? chi2 / Double(ndf) : .nan }
    public var pValue: Double { ndf > 0 ? gsl_cdf_chisq_Q(chi2, Double(ndf)) : .nan }

    public init(chi2: Double, ndf: Int) { self.chi2 = chi2; self.ndf = ndf }

    /// The measurement noise of chi2/ndf: a chi2 of ndf degrees of freedom and non-centrality
    /// lambda (estimated as max(chi2 - ndf, 0)) has variance 2 (ndf + 2 lambda), so chi2/ndf
    /// scatters by sqrt(2 (ndf + 2 lambda)) / ndf between repetitions with new events.
    public var perNdfNoise: Double {
        guard ndf > 0 else { return .nan }
        let lambda = max(chi2 - Double(ndf), 0)
        return (2 * (Double(ndf) + 2 * lambda)).squareRoot() / Double(ndf)
    }
}

private func checkBins(_ a: Histogram1D, _ b: Histogram1D, _ context: String) throws {
    guard a.edges == b.edges else {
        throw RefoldError.value(context, expected: "identical bin edges (\(a.binCount) bins)", actual: "\(b.binCount) bins with other edges")
    }
}

/// chi2 = sum_i (a_i - b_i)^2 / (sigma_a,i^2 + sigma_b,i^2) over bins with non-zero variance;
/// ndf = those bins minus `constraints` (1 if both are normalised to the same total).
public func chiSquare(_ a: Histogram1D, _ b: Histogram1D, constraints: Int = 0) throws -> ChiSquare {
    try checkBins(a, b, "chiSquare")
    var chi2 = 0.0, bins = 0
    for i in 0..<a.binCount {
        let variance = a.sumOfSquares[i] + b.sumOfSquares[i]
        guard variance > 0 else { continue }
        chi2 += (a.counts[i] - b.counts[i]) * (a.counts[i] - b.counts[i]) / variance
        bins += 1
    }
    return ChiSquare(chi2: chi2, ndf: bins - constraints)
}

/// Pearson chi2 = sum_i (n_i - e_i)^2 / e_i of observed counts against expected counts
/// (bins with e_i > 0); ndf = those bins minus `constraints`.
public func chiSquare(_ observed: Histogram1D, expected: [Double], constraints: Int = 0) throws -> ChiSquare {
    guard expected.count == observed.binCount else {
        throw RefoldError.value("chiSquare expected", expected: "\(observed.binCount) bins", actual: expected.count)
    }
    var chi2 = 0.0, bins = 0
    for (n, e) in zip(observed.counts, expected) where e > 0 {
        chi2 += (n - e) * (n - e) / e
        bins += 1
    }
    return ChiSquare(chi2: chi2, ndf: bins - constraints)
}

/// Pulls (a_i - b_i) / sqrt(sigma_a,i^2 + sigma_b,i^2); 0 where both variances vanish.
public func pulls(_ a: Histogram1D, _ b: Histogram1D) throws -> [Double] {
    try checkBins(a, b, "pulls")
    return (0..<a.binCount).map { i in
        let variance = a.sumOfSquares[i] + b.sumOfSquares[i]
        return variance > 0 ? (a.counts[i] - b.counts[i]) / variance.squareRoot() : 0
    }
}

/// A Kolmogorov-Smirnov statistic D with its effective size and asymptotic p-value.
public struct KolmogorovSmirnov: Equatable, Sendable {
    public let distance: Double
    /// n for one sample, n m / (n + m) for two.
    public let effectiveSize: Double
    /// Q_KS((sqrt(n) + 0.12 + 0.11 / sqrt(n)) D) (Numerical Recipes 14.3.9); conservative for
    /// discrete distributions.
    public var pValue: Double { kolmogorovQ(distance, effectiveSize: effectiveSize) }

    /// Two-sample test.
    public init(_ a: [Double], _ b: [Double]) throws {
        guard !a.isEmpty, !b.isEmpty else { throw RefoldError.value("KolmogorovSmirnov samples", expected: "non-empty", actual: "\(a.count), \(b.count)") }
        let x = a.sorted(), y = b.sorted()
        var i = 0, j = 0, d = 0.0
        while i < x.count, j < y.count {
            let v = min(x[i], y[j])
            while i < x.count, x[i] <= v { i += 1 }
            while j < y.count, y[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
        }
        distance = d
        effectiveSize = Double(x.count * y.count) / Double(x.count + y.count)
    }

    /// One-sample test against a continuous CDF.
    public init(_ sample: [Double], cdf: (Double) -> Double) throws {
        guard !sample.isEmpty else { throw RefoldError.value("KolmogorovSmirnov sample", expected: "non-empty", actual: 0) }
        let x = sample.sorted()
        let n = Double(x.count)
        var d = 0.0
        for (i, v) in x.enumerated() {
            let f = cdf(v)
            d = max(d, abs(Double(i + 1) / n - f), abs(f - Double(i) / n))
        }
        distance = d
        effectiveSize = n
    }

    public init(distance: Double, effectiveSize: Double) {
        self.distance = distance
        self.effectiveSize = effectiveSize
    }
}

/// Q_KS(lambda) = 2 sum_k (-1)^(k-1) exp(-2 k^2 lambda^2), lambda = (sqrt(n) + 0.12 + 0.11/sqrt(n)) D.
func kolmogorovQ(_ distance: Double, effectiveSize n: Double) -> Double {
    let root = n.squareRoot()
    let lambda = (root + 0.12 + 0.11 / root) * distance
    guard lambda > 0.2 else { return 1 }
    var sum = 0.0, sign = 1.0
    for k in 1...100 {
        let term = exp(-2 * Double(k * k) * lambda * lambda)
        sum += sign * term
        if term < 1e-12 * sum { break }
        sign = -sign
    }
    return min(max(2 * sum, 0), 1)
}

/// Squared maximum mean discrepancy with a Gaussian kernel k(x, y) = exp(-|x - y|^2 / (2 w^2)),
/// summed over `widths`: MMD^2 = <k(x,x')> + <k(y,y')> - 2 <k(x,y)>. `unbiased` drops the
/// diagonal terms (then MMD^2 can be slightly negative). O(n m) time. Rows are events.
public func maximumMeanDiscrepancy(_ a: [[Double]], _ b: [[Double]], widths: [Double], unbiased: Bool = true) throws -> Double {
    guard a.count >= 2, b.count >= 2 else {
        throw RefoldError.value("maximumMeanDiscrepancy samples", expected: "at least 2 events each", actual: "\(a.count), \(b.count)")
    }
    let dimension = a[0].count
    for (name, sample) in [("a", a), ("b", b)] {
        if let bad = sample.firstIndex(where: { $0.count != dimension }) {
            throw RefoldError.value("maximumMeanDiscrepancy \(name)[\(bad)]", expected: "\(dimension) coordinates", actual: sample[bad].count)
        }
    }
    guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 }) else {
        throw RefoldError.value("maximumMeanDiscrepancy widths", expected: "positive kernel widths", actual: widths)
    }
    let factors = widths.map { -0.5 / ($0 * $0) }
    func kernel(_ x: [Double], _ y: [Double]) -> Double {
        var d2 = 0.0
        for k in 0..<dimension { d2 += (x[k] - y[k]) * (x[k] - y[k]) }
        return factors.reduce(0) { $0 + exp($1 * d2) }
    }
    func within(_ s: [[Double]]) -> Double {
        var sum = 0.0
        for i in 0..<s.count { for j in (i + 1)..<s.count { sum += kernel(s[i], s[j]) } }
        let n = Double(s.count)
        return unbiased ? 2 * sum / (n * (n - 1)) : (2 * sum + n * Double(widths.count)) / (n * n)
    }
    var cross = 0.0
    for x in a { for y in b { cross += kernel(x, y) } }
    return within(a) + within(b) - 2 * cross / Double(a.count * b.count)
}

/// 1D convenience for `maximumMeanDiscrepancy`.
public func maximumMeanDiscrepancy(_ a: [Double], _ b: [Double], widths: [Double], unbiased: Bool = true) throws -> Double {
    try maximumMeanDiscrepancy(a.map { [$0] }, b.map { [$0] }, widths: widths, unbiased: unbiased)
}
