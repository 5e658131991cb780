import XCTest
import Foundation
import TestSupport
@testable import GAN

/// Small GANs learn known distributions.
final class GANLearningTests: XCTestCase {
    /// Tiny matrices: one BLAS thread is faster, and robust on a loaded machine.
    override func setUp() { BLAS.setThreads(1) }

    /// 40 epochs of 20k events, batch 256, Adam 1e-3 annealed to 0 (cosine: the last iterates
    /// settle instead of oscillating around the equilibrium).
    let training = GANTrainingConfig(epochs: 40, batchSize: 256, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3,
                                     schedule: .cosine)

    /// 0.5 N(-2, 0.5) + 0.5 N(2, 0.5).
    static func mixtureCDF(_ x: Double) -> Double {
        func phi(_ z: Double) -> Double { 0.5 * Foundation.erfc(-z / 2.0.squareRoot()) }
        return 0.5 * phi((x + 2) / 0.5) + 0.5 * phi((x - 2) / 0.5)
    }

    /// sup |F_n - F| of `samples` against `cdf`.
    static func ksDistance(_ samples: [Double], cdf: (Double) -> Double) -> Double {
        let sorted = samples.sorted(), n = Double(sorted.count)
        var d = 0.0
        for (i, x) in sorted.enumerated() {
            let f = cdf(x)
            d = max(d, Double(i + 1) / n - f, f - Double(i) / n)
        }
        return d
    }

    static func width(_ s: [Double]) -> Double {
        let m = s.reduce(0, +) / Double(max(s.count, 1))
        return (s.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(s.count - 1, 1))).squareRoot()
    }

    /// A naive GAN maps x_d ~ N(0, 1) to the two-mode mixture (unpaired batches, 20k parton-level
    /// events). Two-sample check on 10^4 generated events against the exact CDF: a perfect
    /// sampler gives sqrt(N) D_KS < 1.95 at 99.9 %, i.e. D_KS < 0.0195. This GAN reaches about
    /// 0.07 (mode shapes slightly distorted, ~1 % of events in the gap), so the bound is 0.09:
    /// a wrong mode weight (0.4/0.6) gives D_KS >= 0.1 and a single mode 0.5. Mode weights,
    /// means and widths are checked on their own.
    func testNaiveGANLearnsGaussianMixture() throws {
        let seed: UInt64 = 7
        let rng = RNGStream(seed: seed)
        let data = rng.child("data")
        let n = 20_000
        let parton = (0..<n).map { _ in Float(data.normal(mean: data.uniform() < 0.5 ? -2 : 2, std: 0.5)) }
        let detector = Tensor.normal([n / 2, 1], rng: data)  // fewer, unpaired detector-level events
        let config = GANConfig(generatorLayers: 3, discriminatorLayers: 3, unitsPerLayer: 64, lambdaD: 0.1)
        let model = try NaiveGAN(partonDimension: 1, detectorDimension: 1, config: config, rng: rng.child("model"))
        let trainer = try GANTrainer(model: model, config: training,
                                     rng: rng.child("train"))
        let reports = try trainer.train(partonLevel: Tensor(shape: [n, 1], storage: parton), detectorLevel: detector)
        let samples = try model.sample(detectorLevel: Tensor.normal([10_000, 1], rng: rng.child("test")), count: 1,
                                       rng: rng.child("sample")).storage.map(Double.init)
        let ks = Self.ksDistance(samples, cdf: Self.mixtureCDF)
        let upper = samples.filter { $0 > 0 }, lower = samples.filter { $0 <= 0 }
        let weight = Double(upper.count) / Double(samples.count)
        let meanUpper = upper.reduce(0, +) / Double(max(upper.count, 1)), meanLower = lower.reduce(0, +) / Double(max(lower.count, 1))
        let context = "seed \(seed): D_KS \(ks), weight \(weight), means \(meanLower) \(meanUpper), widths \(Self.width(lower)) \(Self.width(upper)), last epoch \(reports.last!.progressLine)"
        print("Gaussian mixture: \(context)")
        XCTAssertLessThan(ks, 0.09, context)
        // Weight: binomial sigma 0.005 for 10^4 events; 0.05 is the model tolerance.
        assertClose(weight, 0.5, rel: 0, abs: 0.05, context)
        assertClose(meanLower, -2, rel: 0, abs: 0.15, context)
        assertClose(meanUpper, 2, rel: 0, abs: 0.15, context)
        assertClose(Self.width(lower), 0.5, rel: 0, abs: 0.1, context)
        assertClose(Self.width(upper), 0.5, rel: 0, abs: 0.1, context)
    }

    /// An FCGAN learns p(x_p | x_d) = N(x_d, 0.5) from paired events x_d ~ N(0, 1),
    /// x_p = x_d + N(0, 0.5). For x_d in {-1, 0, 1}, 4000 samples each: the statistical errors
    /// of mean and width are 0.008 and 0.006; the tolerances (0.1 on the mean, 0.5 +- 0.1 on
    /// the width) are model tolerances, tight enough to fail a network that ignores x_d (mean
    /// off by 1) or collapses its noise (width 0).
    func testFCGANLearnsConditionalGaussian() throws {
        let seed: UInt64 = 11
        let rng = RNGStream(seed: seed)
        let data = rng.child("data")
        let n = 20_000
        let detector = Tensor.normal([n, 1], rng: data)
        let parton = Tensor(shape: [n, 1], storage: detector.storage.map { $0 + Float(data.normal(mean: 0, std: 0.5)) })
        let config = GANConfig(generatorLayers: 3, discriminatorLayers: 3, unitsPerLayer: 64, noiseDimension: 2, lambdaD: 0.1)
        let model = try FullyConditionalGAN(partonDimension: 1, detectorDimension: 1, config: config, rng: rng.child("model"))
        let trainer = try GANTrainer(model: model, config: training,
                                     rng: rng.child("train"))
        let reports = try trainer.train(partonLevel: parton, detectorLevel: detector)
        let conditions: [Float] = [-1, 0, 1]
        let k = 4000
        let samples = try model.sample(detectorLevel: Tensor(shape: [3, 1], storage: conditions), count: k, rng: rng.child("sample"))
        for (i, xd) in conditions.enumerated() {
            let s = samples.storage[(i * k)..<((i + 1) * k)].map(Double.init)
            let mean = s.reduce(0, +) / Double(k)
            let std = (s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(k - 1)).squareRoot()
            let context = "seed \(seed), x_d = \(xd): mean \(mean), std \(std), last epoch \(reports.last!.progressLine)"
            print("FCGAN conditional: \(context)")
            assertClose(mean, Double(xd), rel: 0, abs: 0.1, context)
            assertClose(std, 0.5, rel: 0, abs: 0.1, context)
        }
    }
}
