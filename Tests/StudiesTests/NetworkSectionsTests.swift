import Config
import Flows
import Foundation
import GAN
import Inference
import Unfolders
@testable import Studies
import Validation
import XCTest

/// The typed `[network.<section>]` tables of the shipped studies decode into the trainers' own
/// config structs under every profile, with the values the studies ran with before the sections
/// existed (the flat `[network]` keys and `[network.parameters]` of stop 28, same gate values).
final class NetworkSectionsTests: XCTestCase {
    static let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Toys")

    func spec(_ name: String) throws -> StudySpec { try StudySpec(contentsOf: Self.toys.appendingPathComponent("\(name).toml")) }

    func testEveryShippedSpecDecodesUnderEveryProfile() throws {
        for spec in try StudySpec.load(Self.toys) {
            XCTAssertNoThrow(try StudyCatalog.checkNetworkSections(spec), spec.name)
        }
    }

    func testMigratedValues() throws {
        let wedge = try BINNStudy.configs(spec("wedge").settings(for: .quick).network)
        XCTAssertEqual([wedge.0.blocks, wedge.0.hiddenLayers, wedge.0.units, wedge.1.epochs, wedge.1.batchSize], [20, 3, 32, 13, 512])
        XCTAssertEqual(wedge.1.learningRate, 1e-3)
        XCTAssertEqual(wedge.1.schedule, .cosine)
        let ring = try BINNStudy.configs(spec("ring").settings(for: .quick).network)
        XCTAssertEqual([ring.0.blocks, ring.0.hiddenLayers, ring.0.units, ring.1.epochs, ring.1.batchSize], [12, 2, 32, 30, 256])
        XCTAssertEqual(ring.1.learningRate, 5e-3)

        let cuts = try spec("zw-cuts")
        let (gan, ganTraining) = try ZWGANStudy.configs(cuts.settings(for: .quick).network, profile: .quick)
        XCTAssertEqual([gan.generatorLayers, gan.discriminatorLayers, gan.unitsPerLayer, ganTraining.epochs], [4, 4, 128, 40])
        XCTAssertEqual([ganTraining.generatorLearningRate, ganTraining.discriminatorLearningRate], [2e-4, 2 * 2e-4], "two time-scale: D at twice G")
        XCTAssertEqual(gan.mmd.widths, [2, 8, 25, 67])
        XCTAssertEqual(ganTraining.schedule, .cosine)
        let paperGAN = try ZWGANStudy.configs(cuts.settings(for: .paper).network, profile: .paper)
        XCTAssertEqual(paperGAN.1.discriminatorLearningRate, 2 * paperGAN.1.generatorLearningRate)
        XCTAssertEqual([paperGAN.0.generatorLayers, paperGAN.0.unitsPerLayer, paperGAN.1.epochs], [12, 512, 1200])

        let detector = try spec("zw-detector").settings(for: .quick).network
        let cinn = try UnfoldingNetwork.preset(.cinn, profile: .quick, study: detector)
        XCTAssertEqual([cinn.cinn?.unitsPerLayer, cinn.cinn?.blocks, cinn.training.epochs, cinn.training.batchSize], [128, 8, 150, 512])
        XCTAssertEqual(cinn.training.learningRate, 8e-4)

        let (subtraction, subtractionTraining) = try SubtractionStudy.configs(spec("subtraction").settings(for: .quick).network)
        XCTAssertEqual([subtraction.generatorLayers, subtraction.unitsPerLayer, subtraction.noiseDimension, subtractionTraining.epochs], [4, 64, 32, 16])
        XCTAssertEqual(subtractionTraining.generatorAverage, 0.99)
        XCTAssertEqual(subtractionTraining.schedule, .cosine)

        let (qcd, qcdTraining) = try QCDInferenceStudy.configs(spec("qcd-inference").settings(for: .paper).network,
                                                                parameters: 2, maximumJets: 100, minimumJets: 10)
        XCTAssertEqual([qcd.inn.blocks, qcd.inn.conditionOutput, qcd.embeddingLayers, qcd.summaryDimension, qcdTraining.epochs, qcdTraining.batchSize],
                       [6, 16, 3, 32, 150, 128])
        XCTAssertEqual(qcdTraining.schedule, .oneCycle)

        let (flow, flowTraining, classifier) = try GeneratorStudy.configs(spec("generator").settings(for: .quick).network)
        XCTAssertEqual([flow.blocks, flow.layersPerBlock, flow.unitsPerLayer, flowTraining.epochs, classifier.hiddenLayers, classifier.epochs],
                       [10, 2, 64, 100, 3, 20])
        let memflow = try ZWMEMFlowStudy.config(spec("zw-memflow").settings(for: .quick).network, profile: .quick)
        XCTAssertEqual(memflow.training.epochs, 20)
        XCTAssertEqual(memflow.pretraining, MEMFlowConfig.quick.pretraining)
    }

    /// A key set to its preset's value decodes to the preset exactly (the JSON round trip keeps
    /// every Float), and a wrong key of a shipped spec is refused naming its file and line.
    func testRoundTripAndErrorsInShippedFile() throws {
        var network = try spec("zw-cuts").settings(for: .paper).network
        let preset = GANModelSettings.presets(.paper)
        network.set("training", "beta1", .double(Double(preset.1.beta1)))
        XCTAssertEqual(try network.decode("gan", over: preset.0).lambdaD, 1e-3)
        XCTAssertEqual(try network.decode("training", over: preset.1).beta1, preset.1.beta1)

        let file = Self.toys.appendingPathComponent("zw-cuts.toml")
        let text = try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "units_per_layer = 128", with: "units = 128")
        let broken = try StudySpec(text: text, file: "zw-cuts.toml")
        XCTAssertThrowsError(try StudyCatalog.checkNetworkSections(broken)) {
            let line = text.components(separatedBy: "\n").firstIndex { $0.hasPrefix("units = 128") }! + 1
            XCTAssertTrue("\($0)".hasPrefix("zw-cuts.toml:\(line): "), "\($0)")
            XCTAssertTrue("\($0)".contains("profile.quick.network.gan.units: unknown key (known keys: activation, discriminator_layers"), "\($0)")
        }
    }

    /// Property names with runs of capitals (`observableMMD`), enumerations by name, nested
    /// checks: a study may configure the INN, and a value out of range inside a sub-table is
    /// refused at its own line.
    func testNamesEnumerationsAndNestedChecks() throws {
        let text = """
        [study]
        name = "x"
        kind = "zwDetector"
        [generator]
        name = "zw"
        [network]
        variant = "inn"
        [network.inn]
        blocks = 4
        clamp = "atan"
        feature_mmd = { widths = [0.5], kernel = "breitWigner" }
        [network.training]
        schedule = { exponential = { gamma_per_epoch = 0.99 } }
        [[gate]]
        name = "g"
        metric = "value"
        tolerance = 1
        comparison = "lessThan"
        """
        let network = try StudySpec(text: text, file: "x.toml").network
        let inn = try network.decode("inn", over: BidirectionalINNConfig.naiveQuick)
        XCTAssertEqual(inn.blocks, 4)
        XCTAssertEqual(inn.clamp, .atan)
        XCTAssertEqual(inn.featureMMD, MMDLoss(kernel: .breitWigner, widths: [0.5]))
        XCTAssertEqual(inn.observableMMD, BidirectionalINNConfig.naiveQuick.observableMMD, "keys the section leaves keep the preset")
        XCTAssertEqual(try network.decode("training", over: TrainingConfig.quick).schedule, .exponential(gammaPerEpoch: 0.99))

        func fails(_ old: String, _ new: String, _ section: String, line: Int, key: String, _ fragment: String) {
            let broken = text.replacingOccurrences(of: old, with: new)
            XCTAssertNotEqual(broken, text)
            XCTAssertThrowsError(try {
                let n = try StudySpec(text: broken, file: "x.toml").network
                _ = section == "inn" ? try n.decode("inn", over: BidirectionalINNConfig.naiveQuick) as Any : try n.decode("training", over: TrainingConfig.quick)
            }()) {
                XCTAssertTrue("\($0)".hasPrefix("x.toml:\(line): \(key):"), "\($0)")
                XCTAssertTrue("\($0)".contains(fragment), "\($0)")
            }
        }
        fails("widths = [0.5]", "widths = []", "inn", line: 11, key: "network.inn.feature_mmd.widths", "out of range: MMDLoss")
        fails("clamp = \"atan\"", "clamp = \"sigmoid\"", "inn", line: 10, key: "network.inn.clamp", "expected one of \"atan\", \"tanh\"")
        fails("gamma_per_epoch = 0.99", "gamma_per_epoch = 0.99, typo = 1", "training", line: 13, key: "network.training.schedule.exponential", "got keys")
        fails("gamma_per_epoch = 0.99", "gamma_per_epoch = 1.5", "training", line: 13, key: "network.training.schedule.exponential.gamma_per_epoch", "out of range")
    }

    /// The schedule's study-file form and the keyed form earlier model folders wrote.
    func testScheduleForms() throws {
        let decoder = JSONDecoder()
        for (json, value) in [(#""one-cycle""#, LearningRateSchedule.oneCycle), (#"{"oneCycle":{}}"#, .oneCycle), (#""cosine""#, .cosine),
                              (#"{"exponential":{"gammaPerEpoch":0.999}}"#, .exponential(gammaPerEpoch: 0.999))] {
            XCTAssertEqual(try decoder.decode([LearningRateSchedule].self, from: Data("[\(json)]".utf8)), [value], json)
            let again = try JSONEncoder().encode([value])
            XCTAssertEqual(try decoder.decode([LearningRateSchedule].self, from: again), [value])
        }
        XCTAssertThrowsError(try decoder.decode([LearningRateSchedule].self, from: Data(#"["warm"]"#.utf8)))
    }
}
