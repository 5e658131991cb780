import Tensor

/// Bin-by-bin correction factors from a simulated truth/reco pair with the same binning:
/// c_j = N_truth,j / N_reco,j, t_j = c_j d_j, error c_j sqrt(d_j) (diagonal covariance).
/// Exact only when the simulation has the data's truth shape and migrations are negligible.
public enum BinByBin {
    public static func unfold(data: [Double], simulatedTruth: [Double], simulatedReco: [Double]) throws -> UnfoldingResult {
        let n = data.count
        try checkCounts("data", data, expected: n)
        try checkCounts("simulated truth", simulatedTruth, expected: n)
        try checkCounts("simulated reco", simulatedReco, expected: n)
        if let empty = simulatedReco.firstIndex(of: 0) {
            throw RefoldError.value("simulated reco bin \(empty)", expected: "a positive count (the correction divides by it)", actual: 0)
        }
        let factors = (0..<n).map { simulatedTruth[$0] / simulatedReco[$0] }
        var covariance = [Double](repeating: 0, count: n * n)
        for j in 0..<n { covariance[j * n + j] = factors[j] * factors[j] * data[j] }
        return UnfoldingResult(method: .binByBin, values: (0..<n).map { factors[$0] * data[$0] }, covariance: covariance)
    }
}
