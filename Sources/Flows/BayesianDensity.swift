import Foundation

/// p(x) and sigma_pred(x) at points (thesis eq. 6.32): mean and standard deviation over M weight
/// draws theta_m ~ q of p(x | theta_m).
public struct DensityEstimate: Equatable {
    public var density: [Double]
    public var sigma: [Double]
    public var draws: Int

    public init(density: [Double], sigma: [Double], draws: Int) { self.density = density; self.sigma = sigma; self.draws = draws }
}

/// One marginal observable of the events (section 6.3.5): a function of an event row, binned in
/// `bins` equal bins on [low, high).
public struct MarginalObservable {
    public var name: String
    public var bins: Int
    public var low: Double, high: Double
    public var value: ([Double]) -> Double

    public init(name: String, bins: Int, low: Double, high: Double, value: @escaping ([Double]) -> Double) {
        precondition(bins >= 1 && high > low, "MarginalObservable \(name): expected bins >= 1 and high > low, got \(bins), [\(low), \(high))")
        self.name = name; self.bins = bins; self.low = low; self.high = high; self.value = value
    }

    /// Column `j` of the event.
    public static func column(_ j: Int, name: String, bins: Int, low: Double, high: Double) -> MarginalObservable {
        MarginalObservable(name: name, bins: bins, low: low, high: high) { $0[j] }
    }

    public var edges: [Double] { (0...bins).map { low + (high - low) * Double($0) / Double(bins) } }
    public var centers: [Double] { (0..<bins).map { low + (high - low) * (Double($0) + 0.5) / Double(bins) } }

    /// Normalised density histogram (events / (N width)) of `events` rows.
    public func histogram(_ rows: [[Double]]) -> [Double] {
        var counts = [Double](repeating: 0, count: bins)
        let width = (high - low) / Double(bins)
        for row in rows {
            let v = value(row)
            guard v.isFinite, v >= low, v < high else { continue }
            counts[min(bins - 1, Int((v - low) / width))] += 1
        }
        return counts.map { $0 / (Double(max(rows.count, 1)) * width) }
    }
}

/// The mean and standard deviation of the M histograms of one observable (identical binning).
public struct MarginalBand {
    public var name: String
    public var edges: [Double]
    public var mean: [Double]
    public var sigma: [Double]
    public var draws: Int
    public var centers: [Double] { (0..<mean.count).map { 0.5 * (edges[$0] + edges[$0 + 1]) } }

    public init(name: String, edges: [Double], mean: [Double], sigma: [Double], draws: Int) {
        self.name = name; self.edges = edges; self.mean = mean; self.sigma = sigma; self.draws = draws
    }
}
