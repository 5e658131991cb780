import CGSL
import Foundation

/// A monotone map of one variable to a unit Gaussian: g(x) = Phi^-1(F(x)), F the CDF of a
/// training sample, piecewise linear between its quantiles at k / intervals (GSL's Gaussian
/// quantile). Used for resonance masses, whose sharp peaks become one smooth coordinate.
public struct QuantileGaussianisation: Codable, Equatable, Sendable {
    /// The sample at the probabilities k / (knots.count - 1), strictly increasing.
    public var knots: [Double]

    /// Number of quantile intervals of a fit.
    public static let intervals = 400
    /// Probabilities stay in [1e-4, 1 - 1e-4] (|g| <= 3.7): values outside the fitted range map
    /// to its ends.
    static let tail = 1e-4

    /// Fits the quantiles of `values` (at least 2).
    public init(fitting values: [Double]) {
        let sorted = values.sorted()
        let n = Double(sorted.count - 1)
        knots = (0...Self.intervals).map { k in
            let x = Double(k) / Double(Self.intervals) * n, i = min(Int(x), sorted.count - 2), t = x - Double(i)
            return sorted[i] * (1 - t) + sorted[i + 1] * t
        }
        // Strictly increasing, so the map inverts (ties spread by 1e-9).
        for k in 1..<knots.count where knots[k] <= knots[k - 1] { knots[k] = knots[k - 1] + 1e-9 }
    }

    /// x -> g(x) = Phi^-1(F(x)).
    public func gaussianised(_ x: Double) -> Double {
        let k = knots.count - 1
        var lo = 0, hi = k
        while hi - lo > 1 { let mid = (lo + hi) / 2; if knots[mid] <= x { lo = mid } else { hi = mid } }
        let t = min(max((x - knots[lo]) / (knots[hi] - knots[lo]), 0), 1)
        return gsl_cdf_ugaussian_Pinv(min(max((Double(lo) + t) / Double(k), Self.tail), 1 - Self.tail))
    }

    /// g -> x, the inverse of `gaussianised`; NaN stays NaN (the caller refuses it).
    public func value(gaussianised g: Double) -> Double {
        if g.isNaN { return .nan }
        let k = knots.count - 1
        let x = min(max(gsl_cdf_ugaussian_P(g), Self.tail), 1 - Self.tail) * Double(k)
        let i = min(Int(x), k - 1), t = x - Double(i)
        return knots[i] * (1 - t) + knots[i + 1] * t
    }

    /// Whether `x` lies inside the fitted range, away from its two outer intervals.
    public func isInterior(_ x: Double) -> Bool { x > knots[1] && x < knots[knots.count - 2] }
}
