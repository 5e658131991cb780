import Flows
import Foundation
import Physics
import Tensor

/// Timed workloads of MEMFlow for `refold bench`.
public enum MEMFlowBenchmarks {
    /// One likelihood epoch of `config` on `events` zw-isr events (up to 6 jets; after one
    /// regression epoch, not timed) and the sampling rate on 1000 of them x 20 samples, coordinates
    /// to momenta included. Returns (epoch seconds, training events/s, samples/s); NaN on failure.
    public static func epochAndSampling(events: Int, config: MEMFlowConfig = .quick, seed: UInt64)
        -> (epochSeconds: Double, eventsPerSecond: Double, samplesPerSecond: Double) {
        var configuration = ColliderConfiguration(process: .zwISR)
        configuration.card.maximumJets = 6
        guard let sample = try? generateColliderSample(configuration, events: events, rng: RNGStream(seed: seed).child("bench.memflow-sample")) else {
            return (.nan, .nan, .nan)
        }
        var timed = config
        timed.pretraining.epochs = 1; timed.training.epochs = 1
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("refold-bench-memflow-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var epoch: EpochReport?
        guard let model = try? MEMFlowModel.train(sample: sample, config: timed, seed: seed, folder: folder, resume: false, source: "bench",
                                                  progress: { stage, report in if stage == .likelihood { epoch = report } }),
              let detector = sample.detector?.rows(0..<min(1_000, events)) else { return (.nan, .nan, .nan) }
        let start = DispatchTime.now().uptimeNanoseconds
        guard (try? model.sample(detector: detector, count: 20, rng: RNGStream(seed: seed).child("bench.memflow-draws"), source: "bench")) != nil else {
            return (.nan, .nan, .nan)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (epoch?.seconds ?? .nan, epoch?.eventsPerSecond ?? .nan, Double(detector.rows * 20) / seconds)
    }
}
