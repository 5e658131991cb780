import XCTest
import Foundation
import TestSupport
@testable import GAN

/// The subtraction GAN's weighted discriminator loss on a tiny network against the same loss
/// written out by hand, its coordinate map, and its refusals.
final class SubtractionGANTests: XCTestCase {
    /// A 1 -> 1 -> 1 network (two linear layers, tanh between): phi(x) = v tanh(w x + b) + c.
    func setTiny(_ net: MLP, _ p: [Float]) {
        net.layers[0].weight.value = Tensor(shape: [1, 1], storage: [p[0]])
        net.layers[0].bias.value = Tensor(shape: [1], storage: [p[1]])
        net.layers[1].weight.value = Tensor(shape: [1, 1], storage: [p[2]])
        net.layers[1].bias.value = Tensor(shape: [1], storage: [p[3]])
    }

    func tinyModel(sigmaB: Double = 3, sigmaS: Double = 1, lambda: Float = 0.4) throws -> SubtractionGAN {
        let config = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 1, activation: .tanh,
                               noiseDimension: 1, lambdaD: lambda)
        let coordinates = try SubtractionCoordinates(box: nil, fitting: Tensor(shape: [2, 1], storage: [-1, 1]))
        let model = try SubtractionGAN(columns: ["x"], config: config, coordinates: coordinates, crossSectionB: sigmaB,
                                       crossSectionS: sigmaS, rng: RNGStream(seed: 5))
        setTiny(model.discriminator, [1.7, -0.3, 1.4, 0.2])
        setTiny(model.generator, [0.9, 0.1, -1.2, 0.3])
        return model
    }

    /// L_D = <-log D>_B + w_S <-log(1 - D)>_S + (1 - w_S) <-log(1 - D)>_G + lambda penalty with
    /// the same weights, w_S = sigma_S / sigma_B = 1/3, the generated events G(r) computed by hand
    /// from the same normal draws the model uses.
    func testWeightedLossMatchesHandComputation() throws {
        let model = try tinyModel()
        let b: [Double] = [0.4, -0.8, 1.3], s: [Double] = [0.1, -1.5]
        let seed = RNGStream(seed: 77)
        let loss = model.discriminatorLoss(partonLevel: Variable(Tensor(shape: [3, 1], storage: b.map(Float.init))),
                                           detectorLevel: Variable(Tensor(shape: [2, 1], storage: s.map(Float.init))), rng: seed)
        let r = Tensor.normal([3, 1], rng: RNGStream(seed: 77)).storage.map(Double.init)
        let g = r.map { -1.2 * Foundation.tanh(0.9 * $0 + 0.1) + 0.3 }
        func phi(_ x: Double) -> (value: Double, slope: Double) {
            let t = Foundation.tanh(1.7 * x - 0.3)
            return (1.4 * t + 0.2, 1.4 * 1.7 * (1 - t * t))
        }
        func sigmoid(_ z: Double) -> Double { 1 / (1 + Foundation.exp(-z)) }
        let share = 1.0 / 3
        var ce = 0.0, penalty = 0.0, meanFake = 0.0
        for x in b {
            let (f, k) = phi(x), d = sigmoid(f)
            ce -= Foundation.log(d) / 3; penalty += (1 - d) * (1 - d) * k * k / 3
        }
        for (events, weight) in [(s, share / 2), (g, (1 - share) / 3)] {
            for x in events {
                let (f, k) = phi(x), d = sigmoid(f)
                ce -= weight * Foundation.log(1 - d); penalty += weight * d * d * k * k; meanFake += weight * d
            }
        }
        assertClose(Double(loss.crossEntropy), ce, rel: 1e-5, "weighted cross entropy")
        assertClose(Double(loss.gradientPenalty), penalty, rel: 1e-5, "weighted penalty")
        assertClose(Double(loss.total.scalar), ce + 0.4 * penalty, rel: 1e-5, "L_D")
        assertClose(Double(loss.meanFake), meanFake, rel: 1e-5, "<D> over the weighted mixture")
        XCTAssertGreaterThan(penalty, 0.05, "the penalty must not be negligible for this check")

        let generatorLoss = model.generatorLoss(partonLevel: Variable(Tensor(shape: [3, 1], storage: b.map(Float.init))),
                                                detectorLevel: Variable(Tensor(shape: [2, 1], storage: s.map(Float.init))),
                                                rng: RNGStream(seed: 77))
        let hand = g.map { -Foundation.log(sigmoid(phi($0).value)) }.reduce(0, +) / 3
        assertClose(Double(generatorLoss.adversarial), hand, rel: 1e-5, "L_G = <-log D(G(r))>")
    }

    /// With uniform weights the weighted loss is the plain eq. 4.3.
    func testUniformWeightsReproduceTheUnweightedLoss() {
        let net = MLP(sizes: [2, 8, 1], activation: .tanh, rng: RNGStream(seed: 3))
        let real = Tensor.normal([5, 2], rng: RNGStream(seed: 1)), fake = Tensor.normal([4, 2], rng: RNGStream(seed: 2))
        let plain = regularizedDiscriminatorLoss(real: real, fake: fake, lambda: 0.3) { net($0) }
        let weighted = regularizedDiscriminatorLoss(real: real, fake: fake, lambda: 0.3,
                                                    fakeWeights: Tensor(shape: [4, 1], storage: Array(repeating: 0.25, count: 4))) { net($0) }
        assertClose(Double(weighted.total.scalar), Double(plain.total.scalar), rel: 1e-6)
        assertClose(Double(weighted.meanFake), Double(plain.meanFake), rel: 1e-6)
    }

    /// Columns go through the logit box map and come back inside the box; values outside are refused.
    func testCoordinatesRoundTripAndBounds() throws {
        let x = Tensor(shape: [4, 2], storage: [1, 0.5, 100, -2, 37.5, 3, 2, 0])
        let c = try SubtractionCoordinates(box: try BoxMap(.logit, lower: [1, -3], upper: [100, 4]), fitting: x)
        let back = try c.inverse(try c.forward(x, name: "x"))
        for i in 0..<4 {
            // The edges are moved inside by 1e-6 of the range.
            assertClose(Double(back[i, 0]), Double(x[i, 0]), rel: 1e-4, abs: 2e-4, "bounded column, row \(i)")
            assertClose(Double(back[i, 1]), Double(x[i, 1]), rel: 1e-4, abs: 2e-4, "second column, row \(i)")
        }
        XCTAssertThrowsError(try c.forward(Tensor(shape: [1, 2], storage: [0.5, 0]), name: "S events")) { error in
            XCTAssertTrue("\(error)".contains("S events row 0 column 0"), "\(error)")
        }
        XCTAssertThrowsError(try c.forward(Tensor(shape: [1, 2], storage: [2, .nan]), name: "B events"))
    }

    func testRefusesANegativeDifference() throws {
        XCTAssertThrowsError(try tinyModel(sigmaB: 1, sigmaS: 2)) { error in
            XCTAssertTrue("\(error)".contains("sigma_B > sigma_S"), "\(error)")
        }
    }

    /// Samples live inside the bounds and the trainer runs, checkpoints and reloads.
    func testTrainSaveAndLoad() throws {
        let rng = RNGStream(seed: 9)
        let b = Tensor(shape: [256, 1], storage: (0..<256).map { _ in Float(rng.uniform(1, 10)) })
        let s = Tensor(shape: [256, 1], storage: (0..<256).map { _ in Float(1 * pow(10, rng.uniform())) })
        let settings = SubtractionModelSettings(columns: ["x"], network: GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8),
                                                training: GANTrainingConfig(epochs: 2, batchSize: 64),
                                                coordinates: try SubtractionCoordinates(box: try BoxMap(.logit, lower: [1], upper: [10]), fitting: b),
                                                crossSectionB: 2, crossSectionS: 1, seed: 4, background: "b", subtract: "s")
        let folder = temporaryFolder()
        let model = try settings.train(background: b, subtract: s, into: folder)
        let (loaded, reloaded) = try SubtractionModelSettings.load(from: folder)
        XCTAssertEqual(loaded, settings)
        let x = try model.sample(count: 1000, rng: RNGStream(seed: 1)), y = try reloaded.sample(count: 1000, rng: RNGStream(seed: 1))
        XCTAssertEqual(x.storage, y.storage, "the reloaded model samples the same events")
        XCTAssertTrue(x.storage.allSatisfy { $0 >= 1 && $0 <= 10 }, "samples inside [1, 10]")
    }

    /// Training 1 epoch and resuming to 2 gives the weights of 2 epochs straight; changed
    /// settings are refused on resume.
    func testResumeContinuesBitForBit() throws {
        let rng = RNGStream(seed: 9)
        let b = Tensor(shape: [256, 1], storage: (0..<256).map { _ in Float(rng.uniform(1, 10)) })
        let s = Tensor(shape: [256, 1], storage: (0..<256).map { _ in Float(pow(10, rng.uniform())) })
        func settings(epochs: Int, seed: UInt64 = 4) throws -> SubtractionModelSettings {
            SubtractionModelSettings(columns: ["x"], network: GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8),
                                     training: GANTrainingConfig(epochs: epochs, batchSize: 64),
                                     coordinates: try SubtractionCoordinates(box: try BoxMap(.logit, lower: [1], upper: [10]), fitting: b),
                                     crossSectionB: 2, crossSectionS: 1, seed: seed, background: "b", subtract: "s")
        }
        let straight = temporaryFolder(), resumed = temporaryFolder()
        let a = try settings(epochs: 2).train(background: b, subtract: s, into: straight)
        _ = try settings(epochs: 1).train(background: b, subtract: s, into: resumed)
        let c = try settings(epochs: 2).train(background: b, subtract: s, into: resumed, resume: true)
        XCTAssertEqual(a.parameters.map(\.variable.value), c.parameters.map(\.variable.value))
        XCTAssertThrowsError(try settings(epochs: 3, seed: 5).train(background: b, subtract: s, into: resumed, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("only --epochs may change"), "\(error)")
        }
    }
}
