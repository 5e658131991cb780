import Foundation
import Tensor

/// Calibration of per-event posteriors (thesis sec. 5.3): for event i with truth t_i and K
/// posterior samples, the rank r_i = #{samples < t_i} in 0...K. For a calibrated posterior r_i
/// is uniform on 0...K, so the fraction of events with r <= k equals (k + 1) / (K + 1).
/// The curve plots expected quantile (k + 1)/(K + 1) against that observed fraction; the
/// maximum deviation is the discrete Kolmogorov distance to the diagonal. A perfect posterior
/// still shows about 1.36/sqrt(N) at 95 % (1.63/sqrt(N) at 99 %): gate with enough events.
public struct CalibrationCurve: Equatable, Sendable {
    /// (expected quantile, observed fraction), starting at (0, 0) and ending at (1, 1).
    public let points: [(expected: Double, observed: Double)]
    /// max_k |observed - expected|.
    public let maxDeviation: Double
    public let events: Int
    public let samplesPerEvent: Int
    /// Each event's quantile (r + 0.5) / (K + 1) of its truth in its posterior.
    public let quantiles: [Double]

    /// Kolmogorov p-value of `maxDeviation` against uniform quantiles (N events); conservative
    /// for the discrete ranks.
    public var pValue: Double { kolmogorovQ(maxDeviation, effectiveSize: Double(events)) }

    /// `truth[i]` and `samples[i]` (K >= 1 values, the same K for every event).
    public init(truth: [Double], samples: [[Double]]) throws {
        guard !truth.isEmpty else { throw RefoldError.value("CalibrationCurve truth", expected: "at least 1 event", actual: 0) }
        guard samples.count == truth.count else {
            throw RefoldError.value("CalibrationCurve samples", expected: "\(truth.count) events (one per truth)", actual: samples.count)
        }
        let k = samples[0].count
        guard k >= 1 else { throw RefoldError.value("CalibrationCurve samples[0]", expected: "at least 1 sample", actual: 0) }
        if let bad = samples.firstIndex(where: { $0.count != k }) {
            throw RefoldError.value("CalibrationCurve samples[\(bad)]", expected: "\(k) samples", actual: samples[bad].count)
        }
        var rankCounts = Array(repeating: 0, count: k + 1)
        var quantiles: [Double] = []
        quantiles.reserveCapacity(truth.count)
        for (t, posterior) in zip(truth, samples) {
            let rank = posterior.reduce(0) { $0 + ($1 < t ? 1 : 0) }
            rankCounts[rank] += 1
            quantiles.append((Double(rank) + 0.5) / Double(k + 1))
        }
        var points: [(Double, Double)] = [(0, 0)]
        var cumulative = 0, deviation = 0.0
        let n = Double(truth.count)
        for r in 0...k {
            cumulative += rankCounts[r]
            let expected = Double(r + 1) / Double(k + 1), observed = Double(cumulative) / n
            deviation = max(deviation, abs(observed - expected))
            points.append((expected, observed))
        }
        self.points = points
        maxDeviation = deviation
        events = truth.count
        samplesPerEvent = k
        self.quantiles = quantiles
    }

    /// One curve per coordinate: `truth[i][d]`, `samples[i][s][d]` (event, sample, coordinate).
    public static func perCoordinate(truth: [[Double]], samples: [[[Double]]]) throws -> [CalibrationCurve] {
        guard let dimension = truth.first?.count else { throw RefoldError.value("CalibrationCurve truth", expected: "at least 1 event", actual: 0) }
        guard samples.count == truth.count else {
            throw RefoldError.value("CalibrationCurve samples", expected: "\(truth.count) events", actual: samples.count)
        }
        for (i, event) in samples.enumerated() {
            if truth[i].count != dimension { throw RefoldError.value("CalibrationCurve truth[\(i)]", expected: "\(dimension) coordinates", actual: truth[i].count) }
            if let bad = event.firstIndex(where: { $0.count != dimension }) {
                throw RefoldError.value("CalibrationCurve samples[\(i)][\(bad)]", expected: "\(dimension) coordinates", actual: event[bad].count)
            }
        }
        return try (0..<dimension).map { d in
            try CalibrationCurve(truth: truth.map { $0[d] }, samples: samples.map { $0.map { $0[d] } })
        }
    }

    /// The measurement noise of the largest max deviation over `curves` (curves of the same events):
    /// the standard deviation of that largest deviation over `replicas` bootstrap resamples of the
    /// events, the same resample for every curve so that correlations between coordinates stay.
    /// An upper estimate: for a calibrated posterior it gives about 1.3 times the scatter between
    /// independent samples, 0.26/sqrt(N) (`MeasurementNoiseTests`).
    public static func bootstrapNoise(ofLargestDeviation curves: [CalibrationCurve], replicas: Int = 200,
                                      rng: RNGStream) -> Double {
        guard let first = curves.first, first.events > 1, replicas > 1 else { return .nan }
        let n = first.events
        let ranks = curves.map { c in c.quantiles.map { Int(($0 * Double(c.samplesPerEvent + 1)).rounded(.down)) } }
        var counts = [Int](), largest = [Double]()
        largest.reserveCapacity(replicas)
        var drawn = [Int](repeating: 0, count: n)
        for _ in 0..<replicas {
            for i in 0..<n { drawn[i] = rng.integer(below: n) }
            var worst = 0.0
            for (c, rank) in zip(curves, ranks) {
                let k = c.samplesPerEvent
                counts = [Int](repeating: 0, count: k + 1)
                for i in drawn { counts[rank[i]] += 1 }
                var cumulative = 0
                for r in 0...k {
                    cumulative += counts[r]
                    worst = max(worst, abs(Double(cumulative) / Double(n) - Double(r + 1) / Double(k + 1)))
                }
            }
            largest.append(worst)
        }
        return Measured(0, spreadOf: largest).noise
    }

    public static func == (a: CalibrationCurve, b: CalibrationCurve) -> Bool {
        a.maxDeviation == b.maxDeviation && a.quantiles == b.quantiles && a.samplesPerEvent == b.samplesPerEvent
    }
}
