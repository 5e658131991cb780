import Foundation
import XCTest
import Autograd
import Flows
import GAN
import Physics
import Unfolders
import Tensor
import TestSupport

final class TTbarGeneratorTests: XCTestCase {
    /// The differentiable masses of the MMD against FourMomentum's on 200 truth events (seed 81):
    /// m_t (both tops) and m_W (both W's) from the standardised coordinates agree within 1e-3
    /// relative (Float32 through exp, cosh and cos; the 0.01 GeV^2 regulator shifts m by < 1e-6 GeV),
    /// and the MMD's gradient reaches every coordinate column.
    func testDifferentiableMassesMatchFourMomenta() throws {
        let production = try TTbarProduction(), rng = RNGStream(seed: 81)
        let events = (0..<200).map { _ in production.generate(rng) }
        let x = TTbarGenerator.coordinates(events)
        let standardizer = try Standardizer(fitting: x)
        let input = Variable(try standardizer.transform(x), requiresGrad: true)
        let (top, w) = TTbarGenerator.masses(input, standardizer: standardizer)
        let expectedTop = events.map(\.top.mass) + events.map(\.antitop.mass), expectedW = events.map(\.wPlus.mass) + events.map(\.wMinus.mass)
        for (i, m) in top.value.storage.enumerated() {
            XCTAssertEqual(Double(m), expectedTop[i], accuracy: 1e-3 * expectedTop[i], "m_t row \(i), seed 81")
        }
        for (i, m) in w.value.storage.enumerated() {
            XCTAssertEqual(Double(m), expectedW[i], accuracy: 1e-3 * expectedW[i], "m_W row \(i), seed 81")
        }
        let shifted = Variable(Tensor(shape: [400, 1], storage: events.map { Float($0.top.mass + 5) } + events.map { Float($0.antitop.mass + 5) }))
        let loss = TTbarGenerator.massMMD(top, shifted)
        backward(loss)
        let gradient = try XCTUnwrap(input.grad)
        for j in 0..<TTbarCoordinates.dimension {
            XCTAssertTrue((0..<200).contains { gradient[$0, j] != 0 }, "column \(j): no gradient from the m_t MMD")
        }
    }

    /// INN and GAN, with the MMD: one epoch on 600 events, the model folder written, loaded back and
    /// sampled (same events for the same seed), the ttbar columns, and the MMD reported by the GAN.
    func testTrainSaveLoadSampleBothNetworks() throws {
        let production = try TTbarProduction(), rng = RNGStream(seed: 82)
        let events = (0..<600).map { _ in production.generate(rng) }
        for network in [GeneratorNetwork.inn, .gan] {
            let folder = temporaryFolder("ttbar-\(network.rawValue)")
            let generator = try TTbarGenerator.train(events: events, network: network,
                                                     flow: DensityFlowConfig(dimension: 2, blocks: 2, layersPerBlock: 2, unitsPerLayer: 16),
                                                     training: TrainingConfig(epochs: 1, batchSize: 200),
                                                     gan: GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 16),
                                                     ganTraining: GANTrainingConfig(epochs: 1, batchSize: 200), mmdWeight: 1, seed: 82, folder: folder)
            XCTAssertEqual(ModelFolders.kind(at: folder)?.name, TTbarGenerator.modelName)
            let loaded = try TTbarGenerator.load(from: folder)
            let a = try generator.sample(events: 300, rng: RNGStream(seed: 83)), b = try loaded.sample(events: 300, rng: RNGStream(seed: 83))
            XCTAssertEqual(a.events, b.events, "\(network.rawValue), seed 83")
            XCTAssertEqual(a.events?.columns, TTbarProduction.columns)
            XCTAssertTrue(a.events!.values.allSatisfy(\.isFinite), "\(network.rawValue): non-finite generated values")
            if network == .gan { XCTAssertTrue(loaded.gan!.reportsMMD) } else { XCTAssertNotNil(loaded.flow!.observableMMD) }
        }
        XCTAssertThrowsError(try TTbarGenerator.train(events: events, network: .binn, flow: DensityFlowConfig(dimension: 2), training: TrainingConfig(epochs: 1),
                                                      gan: .quick, ganTraining: .quick, mmdWeight: 0, seed: 1))
        XCTAssertThrowsError(try TTbarGenerator.train(events: events, network: .inn, flow: DensityFlowConfig(dimension: 2), training: TrainingConfig(epochs: 1),
                                                      gan: .quick, ganTraining: .quick, mmdWeight: -1, seed: 1))
    }

    /// PeakShape on 40,000 draws of a Breit-Wigner of width Gamma = 2 (seed 84): the median within
    /// 4 of its stated sigma of the centre and the IQR within 4 sigma of Gamma (the quartiles of a
    /// Breit-Wigner lie at +- Gamma / 2).
    func testPeakShapeOfBreitWigner() throws {
        let rng = RNGStream(seed: 84), gamma = 2.0
        let values = (0..<40_000).map { _ in 80 + gamma / 2 * tan(.pi * (rng.uniform() - 0.5)) }
        let peak = try PeakShape(values)
        XCTAssertEqual(peak.median, 80, accuracy: 4 * peak.medianError, "seed 84")
        XCTAssertEqual(peak.iqr, gamma, accuracy: 4 * peak.iqrError, "seed 84")
        XCTAssertThrowsError(try PeakShape([1, 2, .nan]))
    }
}
