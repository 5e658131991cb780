import Flows
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

    /// Per-event likelihoods by flow importance sampling for the first `events` selected zw events:
    /// a quick `MEMProposal` trained for `epochs` on `trainingEvents` (timed apart), then `draws`
    /// draws per event. Returns the training time, the time per event at `draws` draws, and the
    /// median draws each event needs for 1 % (K (sigma_K / mu / 0.01)^2), from which the rate at
    /// 1 % follows (draws cost the same whatever their number), and the median effective sample
    /// size as a fraction of the draws.
    public static func flowLikelihood(events: Int, draws: Int, trainingEvents: Int, epochs: Int,
                                      seed: UInt64) -> (trainingSeconds: Double, secondsPerEvent: Double, medianDrawsForOnePercent: Double, medianESSFraction: Double) {
        let (simulation, rng, training) = pairedSample(trainingEvents, stream: "bench.mem-flow", seed: seed)
        var start = DispatchTime.now().uptimeNanoseconds
        guard let (proposal, _) = try? MEMProposal.train(events: training, matching: simulation.detector,
                                                         training: TrainingConfig(epochs: epochs, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine),
                                                         seed: seed),
              let transfer = try? TransferDensity(detector: simulation.detector), let density = try? ZWDensity() else { return (.nan, .nan, .nan, .nan) }
        let trainingSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let sample = simulation.accepted(events, rng.child("events")).events
        guard let likelihoods = try? sample.map({ try EventLikelihood(event: $0.detector, density: density, transfer: transfer) }) else { return (.nan, .nan, .nan, .nan) }
        start = DispatchTime.now().uptimeNanoseconds
        guard let sampled = try? FlowLikelihood.sample(likelihoods, proposal: proposal, draws: draws, rng: rng.child("draws")) else { return (.nan, .nan, .nan, .nan) }
        let needed = sampled.map { e -> Double in
            let f = e.estimate(density)
            return Double(e.draws) * (f.error / f.value / 0.01) * (f.error / f.value / 0.01)
        }.sorted()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let ess = sampled.map { $0.estimate(density).effectiveSampleSize / Double($0.draws) }.sorted()
        return (trainingSeconds, seconds / Double(events), needed[needed.count / 2], ess[ess.count / 2])
    }

    /// The default zw simulation, the bench's stream and `events` paired training events from its child "training".
    static func pairedSample(_ events: Int, stream: String, seed: UInt64)
        -> (simulation: ZWSimulation, rng: RNGStream, events: [(hard: HardEvent, detector: DetectorEvent)]) {
        let simulation = ZWSimulation(ColliderConfiguration(process: .zw))
        let rng = RNGStream(seed: seed).child(stream)
        return (simulation, rng, simulation.accepted(events, rng.child("training")).events.map { (hard: $0.hard, detector: $0.detector) })
    }

    /// The learned transfer: training time of `LearnedTransfer` on `trainingEvents` zw events for
    /// `epochs`, then log W of 1,000 held-out pairs (both assignments) by the networks, batched,
    /// against the closed form: evaluations per second of each, and the mean of
    /// log W_analytic - log W_learned - log(lepton efficiencies) over the pairs (a KL-type distance
    /// in nats per event; the learned flows do not see the efficiencies).
    public static func learnedTransfer(trainingEvents: Int, epochs: Int, seed: UInt64)
        -> (trainingSeconds: Double, learnedPerSecond: Double, analyticPerSecond: Double, meanLogRatio: Double) {
        let (simulation, rng, training) = pairedSample(trainingEvents, stream: "bench.mem-transfer", seed: seed)
        var start = DispatchTime.now().uptimeNanoseconds
        guard let (learned, _) = try? LearnedTransfer.train(events: training, matching: simulation.detector,
                                                            training: TrainingConfig(epochs: epochs, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine),
                                                            seed: seed),
              let analytic = try? TransferDensity(detector: simulation.detector) else { return (.nan, .nan, .nan, .nan) }
        let trainingSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let pairs = simulation.accepted(1_000, rng.child("held-out")).events.filter { $0.detector.jets.count == 2 }
        start = DispatchTime.now().uptimeNanoseconds
        let logLearned = pairs.map { learned.logDensities($0.detector, given: [$0.hard])[0] }
        let learnedSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        start = DispatchTime.now().uptimeNanoseconds
        let logAnalytic = pairs.map { analytic.logDensity($0.detector, given: $0.hard) }
        let analyticSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let card = simulation.detector.card
        var sum = 0.0, n = 0
        for (i, e) in pairs.enumerated() where logAnalytic[i].isFinite && logLearned[i].isFinite {
            let response = e.hard.flavour == .electron ? card.electron : card.muon
            guard let r1 = response.region(abs(e.hard.leptonMinus.eta)), let r2 = response.region(abs(e.hard.leptonPlus.eta)) else { continue }
            sum += logAnalytic[i] - log(response.efficiency[r1]) - log(response.efficiency[r2]) - logLearned[i]; n += 1
        }
        return (trainingSeconds, Double(pairs.count) / learnedSeconds, Double(pairs.count) / analyticSeconds, sum / Double(max(n, 1)))
    }
}
