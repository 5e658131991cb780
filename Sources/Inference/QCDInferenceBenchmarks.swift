import Flows
import Foundation
import Physics
import Tensor

/// Timed workloads of set-level QCD inference for `refold bench`.
public enum QCDInferenceBenchmarks {
    /// One training epoch of the quick `JetSetINN` (C_A and C_F, sets of up to 100 jets at 100 GeV)
    /// on `sets` training sets (500 generated sets repeated, so the bench does not time the
    /// shower), and the posterior sampling rate: 200 samples for each of the 500 generated sets of 100 jets.
    public static func epochAndSampling(sets: Int, seed: UInt64) -> (epochSeconds: Double, samplesPerSecond: Double) {
        guard let prior = try? ShowerPrior(["C_A=2:4", "C_F=0.6666667:2"]),
              let sample = try? ShowerSample(jets: 500 * 100, energy: 100, initial: .mixed(quarkFraction: 0.5), fixed: ShowerParameters(),
                                             prior: prior, jetsPerSet: 100, seed: seed),
              let generated = try? JetSets(sample) else { return (.nan, .nan) }
        let repeated = JetSets(names: generated.names, parameters: (0..<sets).map { generated.parameters[$0 % 500] },
                               features: (0..<sets).map { generated.features[$0 % 500] })
        let start = DispatchTime.now().uptimeNanoseconds
        guard let (model, _) = try? QCDInferenceModel.train(repeated, config: .quick(parameters: 2), prior: [[2, 4], [0.6666667, 2]],
                                                            optimisation: TrainingConfig(epochs: 1, batchSize: 128), seed: seed) else { return (.nan, .nan) }
        let trained = DispatchTime.now().uptimeNanoseconds
        guard (try? model.posterior(generated.prefix(100), samples: 200, rng: RNGStream(seed: seed).child("bench.qcd-posterior"))) != nil else { return (.nan, .nan) }
        let sampled = DispatchTime.now().uptimeNanoseconds
        return (Double(trained - start) / 1e9, Double(500 * 200) / (Double(sampled - trained) / 1e9))
    }
}
