import Foundation
import XCTest
import GAN
import Tensor
import TestSupport

final class EventClassifierTests: XCTestCase {
    /// Truth N(0.5, 1) against generated N(0, 1) in one dimension: the exact ratio is
    /// exp(0.5 x - 1/8), so D/(1 - D) moves the generated mean from 0 to 0.5. 20k events each,
    /// 10 epochs; the reweighted mean of 20k independent generated events within 0.05 of 0.5 (its
    /// standard error is 0.008, the rest is the classifier's training error), and with generated
    /// events weighted by the exact ratio already, the weights stay near 1 (mean within 0.05).
    func testWeightsMoveGeneratedTowardsTruth() throws {
        let rng = RNGStream(seed: 61)
        let n = 20_000
        let truth = Tensor.normal([n, 1], rng: rng.child("truth")) + 0.5
        let generated = Tensor.normal([n, 1], rng: rng.child("generated"))
        let evaluation = Tensor.normal([n, 1], rng: rng.child("evaluation"))
        let config = ClassifierConfig(hiddenLayers: 2, units: 32, epochs: 10, batchSize: 512, learningRate: 3e-3)
        let classifier = try EventClassifier(inputs: 1, config: config, rng: rng.child("init"))
        try classifier.train(truth: truth, generated: generated, rng: rng.child("train"))
        let (w, clipped) = discriminatorWeights(logits: try classifier.logits(evaluation), maximum: 50)
        let mean = zip(w, evaluation.storage).reduce(0) { $0 + $1.0 * Double($1.1) } / w.reduce(0, +)
        XCTAssertEqual(mean, 0.5, accuracy: 0.05, "seed 61")
        XCTAssertLessThan(clipped, 0.001)
        XCTAssertLessThan(classifier.history.last!, classifier.history.first! + 1e-9)

        let exact = (0..<n).map { Foundation.exp(0.5 * Double(generated[$0, 0]) - 0.125) }
        let second = try EventClassifier(inputs: 1, config: config, rng: rng.child("init2"))
        try second.train(truth: truth, generated: generated, generatedWeights: exact, rng: rng.child("train2"))
        let (w2, _) = discriminatorWeights(logits: try second.logits(evaluation), maximum: 50)
        XCTAssertEqual(w2.reduce(0, +) / Double(n), 1, accuracy: 0.05, "already weighted, seed 61")
        XCTAssertThrowsError(try second.train(truth: truth, generated: generated, generatedWeights: [1], rng: rng))
    }

    func testClipping() {
        let (w, f) = discriminatorWeights(logits: [0, Foundation.log(3), 5], maximum: 10)
        XCTAssertEqual(w[0], 1, accuracy: 1e-12)
        XCTAssertEqual(w[1], 3, accuracy: 1e-12)
        XCTAssertEqual(w[2], 10)
        XCTAssertEqual(f, 1.0 / 3, accuracy: 1e-12)
    }
}
