import Autograd
import Flows
import Foundation
import GAN
import Inference
import Physics
import Tensor

/// A trained model on disk, whatever its network: a folder (or, for the BINN, one safetensors
/// file) that `refold train ...` writes and every other command reads. One contract for all of
/// them: load, save, describe, sample. Every model passes one harness
/// (Tests/UnfoldersTests/ModelFolderTests.swift): save then load gives the same draws.
public protocol ModelFolder {
    /// What the model is conditioned on when sampling (detector events, jets, nothing).
    associatedtype Condition
    /// What sampling returns.
    associatedtype Draws
    /// A short name of the model kind, as `refold inspect` prints it.
    static var modelName: String { get }
    /// The file whose presence marks a folder as this model (nil: the model is one file).
    static var markerFile: String? { get }
    /// Whether `url` holds this model.
    static func isModel(at url: URL) -> Bool
    static func load(from url: URL) throws -> Self
    /// Writes the configuration and the weights (each atomically) to `url`, and for a folder its
    /// `ModelManifest` after them.
    func save(to url: URL) throws
    /// What the model holds: variant, sizes, columns, seed, training sample.
    func describe() -> [String]
    /// `count` draws given `condition` (per condition row where the condition has rows).
    func sample(_ condition: Condition, count: Int, rng: RNGStream) throws -> Draws
}

extension ModelFolder {
    public static func isModel(at url: URL) -> Bool {
        guard let markerFile else { return false }
        return FileManager.default.fileExists(atPath: url.appendingPathComponent(markerFile).path)
    }
}

/// The model kinds Refold trains, in the order `refold inspect` tries them.
public enum ModelFolders {
    public struct Kind: Sendable {
        public let name: String
        public let isModel: @Sendable (URL) -> Bool
        public let describe: @Sendable (URL) throws -> [String]
    }

    static func kind<M: ModelFolder>(_ type: M.Type) -> Kind {
        Kind(name: M.modelName, isModel: { M.isModel(at: $0) }, describe: { try M.load(from: $0).describe() })
    }

    public static let all: [Kind] = [
        kind(UnfoldingModel.self), kind(GANModelFolder.Trained.self), kind(SubtractionModel.self), kind(ZJetsGenerator.self), kind(TTbarGenerator.self),
        kind(BINNModel.self), kind(MEMProposal.self), kind(MEMFlowModel.self), kind(QCDInferenceModel.self),
    ]

    /// The kind of model at `url`, nil if none.
    public static func kind(at url: URL) -> Kind? { all.first { $0.isModel(url) } }

    /// The description of the model at `url`; an error naming every marker when it holds none.
    public static func describe(_ url: URL) throws -> [String] {
        guard let kind = kind(at: url) else {
            throw RefoldError.file(url.path, "not a model: expected one of "
                                   + all.map(\.name).joined(separator: ", "))
        }
        return ["model: \(kind.name)"] + (try kind.describe(url))
    }
}

func describeColumns(_ name: String, _ columns: [String]) -> String {
    "\(name) (\(columns.count)): \(columns.joined(separator: " "))"
}

// MARK: Unfolding networks (INN, eINN, cINN, cINN-ISR)

extension UnfoldingModel: ModelFolder {
    public typealias Condition = (detector: EventSample.Block, njets: [Int]?)
    public static var modelName: String { "unfolding flow (refold train inn|einn|cinn|cinn-isr)" }
    public static var markerFile: String? { configFile }

    public func save(to url: URL) throws {
        let copy = try UnfoldingModel(config: config, folder: url)
        try copy.writeConfig()
        try Checkpoint.save(module: flow, to: copy.checkpoint)
        try ModelManifest.write(url, seed: config.seed)
    }

    public func describe() -> [String] {
        var lines = ["variant \(config.network.variant.rawValue), \(flow.parameterCount) weights, seed \(config.seed)",
                     "trained on \(config.trainingEvents) events (\(config.validationEvents) validation) of \(config.source)",
                     describeColumns("parton columns", config.partonColumns),
                     describeColumns("detector columns", config.detectorColumns),
                     describeColumns("network coordinates", config.networkColumns)]
        if let copied = config.copiedColumns, !copied.isEmpty { lines.append(describeColumns("copied from the detector", copied)) }
        if let decision = config.copyDecision, !decision.checks.isEmpty {
            lines.append("copy rule (max |x_p - x_d| / max(1, |x_d|) over the training pairs <= \(decision.tolerance)): "
                         + decision.checks.map { "\($0.column) \(String(format: "%.3g", $0.maxDeviation)) \($0.copied ? "copied" : "sampled")" }.joined(separator: ", "))
        }
        if let reference = config.azimuthReference { lines.append("azimuth frame: \(reference)") }
        if !config.observables.isEmpty { lines.append("MMD observables: \(config.observables.joined(separator: " "))") }
        return lines
    }

    public func sample(_ condition: Condition, count: Int, rng: RNGStream) throws -> UnfoldedSamples {
        try unfold(detector: condition.detector, njets: condition.njets, samples: count, rng: rng)
    }
}

// MARK: Unfolding GANs

extension GANModelFolder.Trained: ModelFolder {
    public static var modelName: String { "unfolding GAN (refold train gan|fcgan)" }
    public static var markerFile: String? { GANModelFolder.settingsFile }
    public static func load(from url: URL) throws -> GANModelFolder.Trained { try GANModelFolder.load(url) }

    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try GANModelFolder.writeSettings(settings, to: url)
        try Checkpoint.save(module: model, metadata: [GANTrainer<NaiveGAN>.epochKey: String(completedEpochs)],
                            to: url.appendingPathComponent(GANModelFolder.checkpointFile))
        try ModelManifest.write(url, seed: settings.seed)
    }

    public func describe() -> [String] {
        ["variant \(settings.variant.rawValue), \(model.parameterCount) weights, seed \(settings.seed), \(completedEpochs) epochs",
         "trained on a \(settings.generator) sample (profile \(settings.profile.rawValue))",
         describeColumns("parton columns", settings.partonMap.columns),
         describeColumns("detector columns", settings.detectorMap.columns)]
    }

    public func sample(_ detector: EventSample.Block, count: Int, rng: RNGStream) throws -> EventSample.Block {
        try GANCollider.unfold(self, detector: detector, samples: count, rng: rng)
    }
}

// MARK: Subtraction GAN

/// A trained subtraction GAN with its settings (`subtraction.json`).
public struct SubtractionModel: ModelFolder {
    public let settings: SubtractionModelSettings
    public let model: SubtractionGAN

    public static var modelName: String { "subtraction GAN (refold train subtraction)" }
    public static var markerFile: String? { SubtractionModelSettings.file }

    public static func load(from url: URL) throws -> SubtractionModel {
        let (settings, model) = try SubtractionModelSettings.load(from: url)
        return SubtractionModel(settings: settings, model: model)
    }

    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try writeJSONAtomically(settings, to: url.appendingPathComponent(SubtractionModelSettings.file))
        try Checkpoint.save(module: model, to: url.appendingPathComponent(SubtractionModelSettings.checkpointFile))
        try ModelManifest.write(url, seed: settings.seed)
    }

    public func describe() -> [String] {
        [String(format: "%d weights, seed %llu, sigma_B %.4g, sigma_S %.4g (subtracted share %.3f)", model.parameterCount,
                settings.seed, settings.crossSectionB, settings.crossSectionS, model.subtractedShare),
         "background \(settings.background), subtracted \(settings.subtract)",
         describeColumns("columns", settings.columns)]
    }

    /// Events of B - S, physical columns.
    public func sample(_ condition: Void, count: Int, rng: RNGStream) throws -> Tensor {
        try model.sample(count: count, rng: rng)
    }
}

// MARK: Z + jets generator

extension ZJetsGenerator: ModelFolder {
    public static var modelName: String { "Z + jets INN generator (refold train generator)" }
    public static var markerFile: String? { ZJetsGeneratorSettings.file }

    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try writeJSONAtomically(settings, to: url.appendingPathComponent(ZJetsGeneratorSettings.file))
        for (k, flow) in flows.enumerated() {
            try Checkpoint.save(module: flow, to: url.appendingPathComponent(ZJetsGeneratorSettings.checkpoint(jets: k + 1)))
        }
        try ModelManifest.write(url, seed: settings.seed)
    }

    public func describe() -> [String] {
        let weights = flows.reduce(0) { $0 + $1.parameterCount }
        return ["\(flows.count) flows (1...\(maximumJets) jets), \(weights) weights, seed \(settings.seed)",
                "training events per multiplicity: " + settings.trainingEvents.map(String.init).joined(separator: ", "),
                "multiplicity fractions: " + settings.fractions.map { String(format: "%.4f", $0) }.joined(separator: ", "),
                describeColumns("columns", settings.columns)]
    }

    /// A weighted z-jets sample (`sample(events:rng:)`).
    public func sample(_ condition: Void, count: Int, rng: RNGStream) throws -> EventSample {
        try sample(events: count, rng: rng)
    }
}

// MARK: ttbar generator

extension TTbarGenerator: ModelFolder {
    public static var modelName: String { "ttbar generator, INN or GAN (refold train generator)" }
    public static var markerFile: String? { TTbarGeneratorSettings.file }

    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try writeJSONAtomically(settings, to: url.appendingPathComponent(TTbarGeneratorSettings.file))
        try Checkpoint.save(module: module, to: url.appendingPathComponent(TTbarGeneratorSettings.checkpoint))
    }

    public func describe() -> [String] {
        ["\(settings.network.rawValue), \(module.parameterCount) weights, MMD on m_t and m_W: lambda \(settings.mmdWeight), seed \(settings.seed)",
         "training events: \(settings.trainingEvents)", describeColumns("columns", settings.columns)]
    }

    /// An unweighted ttbar sample (`sample(events:rng:)`).
    public func sample(_ condition: Void, count: Int, rng: RNGStream) throws -> EventSample {
        try sample(events: count, rng: rng)
    }
}

// MARK: BINN density

extension BINNModel: ModelFolder {
    public static var modelName: String { "Bayesian INN density (refold train binn)" }
    public static var markerFile: String? { nil }

    /// A safetensors file whose metadata holds the BINN configuration.
    public static func isModel(at url: URL) -> Bool {
        guard url.pathExtension == "safetensors", let file = try? SafeTensors.read(url) else { return false }
        return file.metadata[configKey] != nil
    }

    public func save(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Checkpoint.save(module: network, metadata: metadata, to: url)
    }

    public func describe() -> [String] {
        ["\(network.config.blocks) blocks, \(network.parameterCount) weights (means and widths), seed \(seed)",
         describeColumns("columns", columns), box == nil ? "support: R^\(dimension)" : "support: a box mapped onto R^\(dimension)"]
    }

    /// Events from the posterior-mean network, one row per event.
    public func sample(_ condition: Void, count: Int, rng: RNGStream) throws -> [[Double]] {
        network.setMode(.mean)
        return try sampleEvents(count, rng: rng)
    }
}

// MARK: Matrix element method

extension MEMProposal: ModelFolder {
    public static var modelName: String { "MEM flow proposal (refold train mem)" }
    public static var markerFile: String? { "proposal.json" }
    public static func load(from url: URL) throws -> MEMProposal { try read(from: url) }
    public func save(to url: URL) throws { try write(to: url) }

    public func describe() -> [String] {
        ["cINN over the \(MEMResidual.dimension) resonance-aligned parton coordinates given \(MEMResidual.conditionDimension) detector features, "
            + "\(model.parameterCount) weights, seed \(seed)",
         describeColumns("residuals", MEMResidual.names)]
    }

    /// `count` residual draws per detector event with their proposal log densities.
    public func sample(_ events: [DetectorEvent], count: Int, rng: RNGStream) throws -> (residual: [Double], logDensity: [Double]) {
        try draw(events, count: count, rng: rng)
    }
}

extension MEMFlowModel: ModelFolder {
    public static var modelName: String { "MEMFlow transformer + spline flow (refold train memflow)" }
    public static var markerFile: String? { descriptionFile }
    public static func load(from url: URL) throws -> MEMFlowModel { try read(from: url) }
    public func save(to url: URL) throws { try write(to: url) }

    public func describe() -> [String] {
        ["\(network.parameterCount) weights, seed \(description.seed), up to \(description.trainingSlots) objects",
         "trained on \(description.trainingEvents) events of \(description.source)",
         describeColumns("targets", description.targetNames)]
    }

    public func sample(_ detector: EventSample.Block, count: Int, rng: RNGStream) throws -> MEMFlowSamples {
        try sample(detector: detector, count: count, rng: rng, source: "detector events")
    }
}

// MARK: QCD splitting inference

extension QCDInferenceModel: ModelFolder {
    public static var modelName: String { "QCD splitting-parameter cINN (refold train qcd)" }
    public static var markerFile: String? { "model.json" }
    public static func load(from url: URL) throws -> QCDInferenceModel { try read(from: url) }
    public func save(to url: URL) throws { try write(to: url) }

    public func describe() -> [String] {
        ["\(network.parameterCount) weights, seed \(seed)",
         describeColumns("parameters", names),
         "prior: " + zip(names, prior).map { "\($0) in [\($1.first ?? 0), \($1.last ?? 0)]" }.joined(separator: ", ")]
    }

    /// Posterior samples [set][sample][parameter] for each jet set.
    public func sample(_ sets: JetSets, count: Int, rng: RNGStream) throws -> [[[Double]]] {
        try posterior(sets, samples: count, rng: rng)
    }
}
