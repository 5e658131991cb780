import Autograd
import Flows
import Foundation
import Tensor
import TestSupport
@testable import Unfolders
import XCTest

/// The BINN model folder (a checkpoint with the standardiser, the columns and the box): leaks of
/// hard boundaries, the logit box, training to the wedge and reloading.
final class BINNModelTests: XCTestCase {
    /// Phi(z) from erfc.
    private func phi(_ z: Double) -> Double { 0.5 * erfc(-z / 2.squareRoot()) }

    /// Hard boundaries leak (issue #8): an untrained BINN (zero last-layer means, identity global
    /// affine) is the standardiser's Gaussian, so its fraction of events outside [0, 1]^2 is
    /// 1 - prod_j [Phi((1 - m_j) / s_j) - Phi(-m_j / s_j)] = 0.158 for the wedge's moments; 20k events,
    /// 4 binomial sigma. With a logit box nothing leaks and the density integrates to one on the box
    /// (a 400 x 400 midpoint sum of a smooth density that vanishes at the edges: deterministic, 1e-3).
    func testHardBoundariesLeakAndTheLogitBoxDoesNot() throws {
        let seed: UInt64 = 42
        let config = BINNConfig(dimension: 2, blocks: 3, hiddenLayers: 1, units: 8, trainingEvents: 1000)
        let mean = [2.0 / 3, 0.5], std = [(1.0 / 18).squareRoot(), (1.0 / 12).squareRoot()]
        let hard = try BINNModel(config: config, standardizer: try Standardizer(mean: mean, std: std), columns: ["x", "y"], seed: seed)
        let box = [0.0...1.0, 0.0...1.0]
        let n = 20_000
        let expected = 1 - (0..<2).reduce(1.0) { $0 * (phi((1 - mean[$1]) / std[$1]) - phi(-mean[$1] / std[$1])) }
        let leaked = try hard.fractionOutside(box, events: n, draws: 0, rng: RNGStream(seed: seed))
        XCTAssertEqual(leaked.mean, expected, accuracy: 4 * (expected * (1 - expected) / Double(n)).squareRoot(), "seed \(seed)")

        let logit = try BINNModel(config: config, standardizer: try Standardizer(mean: [0, 0], std: [1.5, 1.5]), columns: ["x", "y"],
                                  seed: seed, box: try BoxMap(.logit, lower: [0, 0], upper: [1, 1]))
        XCTAssertEqual(try logit.fractionOutside(box, events: 2000, draws: 2, rng: RNGStream(seed: seed)).mean, 0)
        let cells = 400
        let centres = (0..<cells).map { Float((Double($0) + 0.5) / Double(cells)) }
        let points = Tensor(shape: [cells * cells, 2], storage: centres.flatMap { x in centres.flatMap { [x, $0] } })
        let density = try logit.density(at: points, draws: 0, rng: RNGStream(seed: seed)).density
        XCTAssertEqual(density.reduce(0, +) / Double(cells * cells), 1, accuracy: 1e-3, "seed \(seed)")
        XCTAssertEqual(try logit.density(at: Tensor(shape: [1, 2], storage: [1.2, 0.5]), draws: 0, rng: RNGStream(seed: seed)).density, [0])

        // The box travels with the checkpoint.
        let url = temporaryFolder().appendingPathComponent("logit.safetensors")
        try Checkpoint.save(module: logit.network, metadata: logit.metadata, to: url)
        XCTAssertEqual(try BINNModel.load(from: url).box, logit.box)
    }

    /// A small BINN learns the wedge p(x, y) = 2x (20k events, 6 blocks x 2 hidden x 32, 15 epochs,
    /// 1170 weight updates): on the interior 16 x 16 grid (a 0.1 boundary strip excluded, as in the
    /// thesis) the learned density lies within 2 sigma_pred (M = 30 draws) of 2x at >= 60 % of the
    /// points (measured 70 %; 25 % after 480 updates, 1 % untrained), and within 10 % of the truth at
    /// the centre. The 90 % of the thesis needs its 100x longer training (the studies measure it).
    func testSmallBINNPlacesTheWedgeWithinItsBand() throws {
        let seed: UInt64 = 34
        BLAS.setThreads(1)
        let rng = RNGStream(seed: seed)
        let n = 20_000
        var values = [Float]()
        for _ in 0..<n { values += [Float(rng.uniform().squareRoot()), Float(rng.uniform())] }
        let events = Tensor(shape: [n, 2], storage: values)
        let config = BINNConfig(dimension: 2, blocks: 6, hiddenLayers: 2, units: 32, trainingEvents: n)
        let model = try BINNModel(config: config, standardizer: try Standardizer(fitting: events), columns: ["x", "y"], seed: seed)
        let training = TrainingConfig(epochs: 15, batchSize: 256, learningRate: 5e-3, weightDecay: 0, schedule: .cosine, gradientClip: 10)
        let folder = temporaryFolder()
        let checkpoint = folder.appendingPathComponent("wedge.safetensors")
        let trainer = try BINNTraining.train(model, events: events, config: training, checkpoint: checkpoint)
        XCTAssertLessThan(trainer.history.last!.trainLoss, trainer.history.first!.trainLoss, "seed \(seed)")

        let cells = (0..<16).map { 0.1 + 0.8 * (Double($0) + 0.5) / 16 }
        let points = Tensor(shape: [256, 2], storage: cells.flatMap { x in cells.flatMap { [Float(x), Float($0)] } })
        let estimate = try model.density(at: points, draws: 30, rng: RNGStream(seed: seed).child("draws"))
        let inside = (0..<256).filter { abs(estimate.density[$0] - 2 * Double(points[$0, 0])) <= 2 * estimate.sigma[$0] }.count
        XCTAssertGreaterThanOrEqual(Double(inside) / 256, 0.6, "seed \(seed): \(inside)/256 points in the 2 sigma band")
        XCTAssertTrue(estimate.sigma.allSatisfy { $0 > 0 }, "seed \(seed)")
        let centre = try model.density(at: Tensor(shape: [1, 2], storage: [0.5, 0.5]), draws: 30, rng: RNGStream(seed: seed).child("draws"))
        XCTAssertEqual(centre.density[0], 1, accuracy: 0.1, "seed \(seed)")

        // The checkpoint reloads to the same densities (same draws).
        let loaded = try BINNModel.load(from: checkpoint)
        let again = try loaded.density(at: points, draws: 30, rng: RNGStream(seed: seed).child("draws"))
        assertAllClose(again.density, estimate.density, rel: 1e-6)

        // Marginals (sec. 6.3.5): the x histogram follows 2x within its band plus the sampling error.
        let bands = try model.marginals([.column(0, name: "x", bins: 10, low: 0, high: 1)], events: 20_000, draws: 10, rng: RNGStream(seed: seed))
        let band = bands[0]
        let covered = band.centers.indices.filter { b in
            let stat = (2 * band.centers[b] / (20_000 * 0.1)).squareRoot()
            return abs(band.mean[b] - 2 * band.centers[b]) <= 3 * (band.sigma[b] + stat)
        }
        XCTAssertGreaterThanOrEqual(covered.count, 8, "seed \(seed): \(band.mean) ± \(band.sigma)")
    }
}
