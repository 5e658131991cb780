import Autograd
import Flows
import Foundation
import GAN
import Inference
import Physics
import Tensor
import TestSupport
@testable import Unfolders
import XCTest

/// The one harness of `ModelFolder`: every model kind, its weights moved away from the values its
/// seed initialises (so that only the saved file can restore them), is saved, recognised by
/// `ModelFolders`, loaded, described as before, and draws exactly the same samples for the same
/// stream. A folder model is saved with its `ModelManifest`, which refuses a changed file.
final class ModelFolderTests: XCTestCase {
    /// Adds 0.01 N(0, 1) to every weight of `modules` (stream `seed`).
    func perturb(_ modules: [Module], seed: UInt64) {
        let rng = RNGStream(seed: seed)
        for module in modules {
            for p in module.parameters {
                var value = p.variable.value
                for i in 0..<value.count { value.storage[i] += Float(0.01 * rng.normal(mean: 0, std: 1)) }
                p.variable.value = value
            }
        }
    }

    func assertSaveLoadRoundTrip<Model: ModelFolder>(_ model: Model, modules: [Module], condition: Model.Condition,
                                                     at url: URL, flatten: (Model.Draws) -> [Double],
                                                     file: StaticString = #filePath, line: UInt = #line) throws {
        perturb(modules, seed: 17)
        try model.save(to: url)
        XCTAssertEqual(ModelFolders.kind(at: url)?.name, Model.modelName, file: file, line: line)
        let loaded = try Model.load(from: url)
        XCTAssertEqual(loaded.describe(), model.describe(), file: file, line: line)
        XCTAssertFalse(model.describe().isEmpty, file: file, line: line)
        let a = flatten(try model.sample(condition, count: 3, rng: RNGStream(seed: 5)))
        let b = flatten(try loaded.sample(condition, count: 3, rng: RNGStream(seed: 5)))
        XCTAssertFalse(a.isEmpty, Model.modelName, file: file, line: line)
        XCTAssertEqual(a, b, Model.modelName, file: file, line: line)
        XCTAssertEqual(try ModelFolders.describe(url).first, "model: \(Model.modelName)", file: file, line: line)
        guard Model.markerFile != nil else { return }
        let manifest = try XCTUnwrap(try ModelManifest.verify(url), "\(Model.modelName) saved without a manifest", file: file, line: line)
        let marker = url.appendingPathComponent(Model.markerFile!)
        XCTAssertNotNil(manifest.files[marker.lastPathComponent], file: file, line: line)
        try Data(try Data(contentsOf: marker) + Data(" ".utf8)).write(to: marker)
        XCTAssertThrowsError(try Model.load(from: url), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(marker.path) && "\(error)".contains("different trainings"), "\(error)", file: file, line: line)
        }
    }

    func zw(_ events: Int, seed: UInt64) throws -> EventSample {
        try generateColliderSample(ColliderConfiguration(process: .zw), events: events, rng: RNGStream(seed: seed))
    }

    func testUnfoldingFlow() throws {
        let sample = try zw(600, seed: 61)
        var network = try UnfoldingNetwork.preset(.cinn, profile: .quick)
        network.training.epochs = 1
        let model = try UnfoldingModel.train(sample: sample, request: UnfoldingTrainingRequest(network: network, seed: 62), out: temporaryFolder())
        try assertSaveLoadRoundTrip(model, modules: [model.flow], condition: (sample.detector!.rows(0..<4), nil),
                                    at: temporaryFolder(), flatten: \.values)
    }

    func testUnfoldingGAN() throws {
        let sample = try zw(600, seed: 63)
        let trained = try GANModelFolder.train(variant: .fcgan, sample: sample, profile: .quick, epochs: 1, seed: 3, out: temporaryFolder())
        try assertSaveLoadRoundTrip(trained, modules: [trained.model], condition: sample.detector!.rows(0..<4), at: temporaryFolder(),
                                    flatten: \.values)
    }

    func testSubtractionGAN() throws {
        let rng = RNGStream(seed: 64)
        let background = Tensor(shape: [200, 2], storage: (0..<400).map { _ in Float(rng.normal(mean: 0, std: 1)) })
        let settings = SubtractionModelSettings(columns: ["x", "y"], network: GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 16),
                                                training: .quick, coordinates: try SubtractionCoordinates(box: nil, fitting: background),
                                                crossSectionB: 1, crossSectionS: 0.2, seed: 9, background: "b", subtract: "s")
        let model = SubtractionModel(settings: settings, model: try settings.model())
        try assertSaveLoadRoundTrip(model, modules: [model.model], condition: (), at: temporaryFolder(), flatten: { $0.storage.map(Double.init) })
    }

    func testZJetsGenerator() throws {
        let truth = try ZJetsProduction().sample(events: 1_500, rng: RNGStream(seed: 65))
        let generator = try ZJetsGenerator.train(sample: truth, source: "test", flow: DensityFlowConfig(dimension: 2, blocks: 2, layersPerBlock: 2, unitsPerLayer: 16),
                                                 training: TrainingConfig(epochs: 1, batchSize: 256), separation: try SeparationWeight(lower: 0.4, upper: 1.2),
                                                 seed: 65, folder: nil)
        try assertSaveLoadRoundTrip(generator, modules: generator.flows, condition: (), at: temporaryFolder(),
                                    flatten: { $0.events!.values + $0.weights! })
    }

    func testBINN() throws {
        let model = try BINNModel(config: BINNConfig(dimension: 2, blocks: 2, hiddenLayers: 1, units: 8, trainingEvents: 100),
                                  standardizer: try Standardizer(mean: [1, 2], std: [2, 3]), columns: ["x", "y"], seed: 4)
        try assertSaveLoadRoundTrip(model, modules: [model.network], condition: (),
                                    at: temporaryFolder().appendingPathComponent("binn.safetensors"), flatten: { $0.flatMap { $0 } })
    }

    func testMEMProposal() throws {
        let proposal = MEMProposal(config: MEMProposal.quickConfig, residualScale: try Standardizer(mean: .init(repeating: 0, count: MEMResidual.dimension),
                                                                                                   std: .init(repeating: 1, count: MEMResidual.dimension)),
                                   conditionScale: try Standardizer(mean: .init(repeating: 0, count: MEMResidual.conditionDimension),
                                                                    std: .init(repeating: 1, count: MEMResidual.conditionDimension)), seed: 6)
        let simulation = ZWSimulation(ColliderConfiguration(process: .zw))
        let events = simulation.accepted(3, RNGStream(seed: 66)).events.map(\.detector)
        try assertSaveLoadRoundTrip(proposal, modules: [proposal.model], condition: events, at: temporaryFolder(),
                                    flatten: { $0.residual + $0.logDensity })
    }

    func testQCDInference() throws {
        let config = JetSetINNConfig(parameters: 2, maximumJets: 4, minimumJets: 1, embeddingLayers: 1, embeddingUnits: 8, summaryDimension: 4,
                                     inn: ConditionalINNConfig(blocks: 2, layersPerBlock: 1, unitsPerLayer: 8, conditionLayers: 1,
                                                               conditionUnits: 8, conditionOutput: 4))
        let f = JetFeatures.names.count
        let model = try QCDInferenceModel(config: config, names: ["C_A", "C_F"], prior: [[2, 4], [1, 2]],
                                          featureScale: try Standardizer(mean: .init(repeating: 0, count: f), std: .init(repeating: 1, count: f)),
                                          parameterScale: try Standardizer(mean: [3, 1.5], std: [0.5, 0.3]), seed: 7)
        let rng = RNGStream(seed: 67)
        let sets = JetSets(names: ["C_A", "C_F"], parameters: [[3, 1.3], [2.5, 1.6]],
                           features: (0..<2).map { _ in (0..<3).map { _ in (0..<f).map { _ in rng.normal(mean: 0, std: 1) } } })
        try assertSaveLoadRoundTrip(model, modules: [model.network], condition: sets, at: temporaryFolder(),
                                    flatten: { $0.flatMap { $0.flatMap { $0 } } })
    }

    func testMEMFlow() throws {
        var configuration = ColliderConfiguration(process: .zwISR)
        configuration.card.maximumJets = 5
        let sample = try generateColliderSample(configuration, events: 400, rng: RNGStream(seed: 68))
        var config = MEMFlowConfig.quick
        config.transformer = TransformerConfig(modelDimension: 16, heads: 2, layers: 1, feedForwardDimension: 32, conditionDimension: 8)
        config.flow = SplineFlowConfig(conditioner: .coupling, transforms: 2, layers: 1, units: 16, spline: RationalQuadraticSpline(bins: 8, bound: 5))
        config.regressionUnits = 16
        config.pretraining = TrainingConfig(epochs: 1, batchSize: 256, learningRate: 2e-3, schedule: .constant)
        config.training = TrainingConfig(epochs: 1, batchSize: 256, learningRate: 2e-3, schedule: .constant)
        let model = try MEMFlowModel.train(sample: sample, config: config, seed: 8, folder: temporaryFolder(), resume: false, source: "test")
        try assertSaveLoadRoundTrip(model, modules: [model.network], condition: sample.detector!.rows(0..<3), at: temporaryFolder(),
                                    flatten: \.values)
    }

    /// A folder that holds no model is refused with every kind named.
    func testNotAModel() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        XCTAssertNil(ModelFolders.kind(at: folder))
        XCTAssertThrowsError(try ModelFolders.describe(folder)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(folder.path) && text.contains(UnfoldingModel.modelName) && text.contains(QCDInferenceModel.modelName), text)
        }
    }
}
