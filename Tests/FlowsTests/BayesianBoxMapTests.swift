import Foundation
import XCTest
import Flows
import TestSupport

final class BayesianBoxMapTests: XCTestCase {
    /// Phi(z) from erfc.
    private func phi(_ z: Double) -> Double { 0.5 * erfc(-z / 2.squareRoot()) }

    /// Round trip x -> u -> x, and the log-Jacobian through an exact identity: the logit of a uniform
    /// variable is logistic and its probit is N(0, 1), so log|du/dx| + log p_u(u) = -log(box volume)
    /// for every point inside. Points outside or on an edge get density 0 (log-Jacobian -inf).
    func testBoxMapRoundTripAndJacobian() throws {
        let seed: UInt64 = 41
        let rng = RNGStream(seed: seed)
        let lower = [-1.0, 2.0], upper = [3.0, 2.5]
        let logVolume = Foundation.log(4.0) + Foundation.log(0.5)
        var storage = [Float]()
        for _ in 0..<500 { storage += [Float(-1 + 4 * rng.uniform()), Float(2 + 0.5 * rng.uniform())] }
        let x = Tensor(shape: [500, 2], storage: storage.map { min(max($0, -0.999), 2.999) })
        for kind in BoxMap.Kind.allCases {
            let box = try BoxMap(kind, lower: lower, upper: upper)
            let (u, logJacobian) = try box.forward(x)
            let back = try box.inverse(u)
            for i in 0..<x.count { XCTAssertEqual(back.storage[i], x.storage[i], accuracy: 2e-5, "\(kind), seed \(seed), element \(i)") }
            for i in 0..<x.rows {
                let logPU = (0..<2).reduce(0.0) { sum, j in
                    let v = Double(u[i, j])
                    switch kind {
                    case .logit: return sum - v - 2 * Foundation.log(1 + Foundation.exp(-v))
                    case .probit: return sum - 0.5 * v * v - 0.5 * Foundation.log(2 * Double.pi)
                    }
                }
                // u is stored in Float: its rounding (relative 6e-8, |u| < 10) moves log p_u by < 1e-5.
                XCTAssertEqual(logJacobian[i] + logPU, -logVolume, accuracy: 1e-4, "\(kind), seed \(seed), row \(i)")
            }
            let outside = try box.forward(Tensor(shape: [3, 2], storage: [-1, 2.2, 3.5, 2.2, 0, 2.5])).logJacobian
            XCTAssertEqual(outside, [-.infinity, -.infinity, -.infinity], "\(kind)")
            let extreme = try box.inverse(Tensor(shape: [2, 2], storage: [-30, 30, 30, -30]))
            for i in 0..<4 { XCTAssertTrue((Float(lower[i % 2])...Float(upper[i % 2])).contains(extreme.storage[i]), "\(kind): \(extreme.storage)") }
        }
        XCTAssertThrowsError(try BoxMap(.logit, lower: [0, 1], upper: [1, 1]))
        XCTAssertThrowsError(try BoxMap(.logit, lower: [0], upper: [1, 1]))
    }

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
}
