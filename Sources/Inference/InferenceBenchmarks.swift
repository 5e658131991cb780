import Foundation
import Physics
import Tensor

/// Timed workloads of the Inference module for `refold bench`.
public enum InferenceBenchmarks {
    /// Per-event likelihoods by VEGAS to `relativeError` for the first `events` selected zw events
    /// (default parameters and card): wall time, event count, and the median number of integrand
    /// evaluations per event.
    public static func vegasLikelihood(events: Int, relativeError: Double, seed: UInt64) -> (seconds: Double, events: Int, medianEvaluations: Double) {
        let simulation = ZWSimulation(ColliderConfiguration(process: .zw))
        let rng = RNGStream(seed: seed).child("bench.mem-vegas")
        let sample = simulation.accepted(events, rng.child("events")).events
        guard let transfer = try? TransferDensity(detector: simulation.detector), let density = try? ZWDensity() else { return (.nan, 0, .nan) }
        let schedule = Vegas.Schedule(warmUpCalls: 5_000, callsPerIteration: 4_000, maximumRuns: 8, relativeError: relativeError)
        var evaluations: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        for (i, e) in sample.enumerated() {
            guard let likelihood = try? EventLikelihood(event: e.detector, density: density, transfer: transfer) else { continue }
            evaluations.append(Double(likelihood.integrate(schedule, rng.child(index: i)).evaluations))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        evaluations.sort()
        return (seconds, evaluations.count, evaluations.isEmpty ? .nan : evaluations[evaluations.count / 2])
    }
}
