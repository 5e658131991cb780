import Autograd
import Flows
import Foundation
import Physics
import Tensor

/// Parton-level samples of a MEMFlow model: [N, K, 12] in `ColliderColumns.parton` (pT, eta,
/// phi of l-, l+, q1, q2), with what the sampler checked.
public struct MEMFlowSamples {
    public var events: Int
    public var samplesPerEvent: Int
    public var values: [Double]
    /// The largest |sum pT vector| / sum pT over all samples (rebuilt from the written pT, eta, phi).
    public var maximumImbalance: Double
    /// Samples with a non-finite value or a non-positive pT (0 by construction; counted, never redrawn).
    public var unphysical: Int
    /// Flow-space elements that passed through a spline's linear tails, over all transforms.
    public var tails: SplineTailCount

    public static var columns: [String] { ColliderColumns.parton }

    /// Sample k of event i, coordinate j.
    public subscript(event i: Int, sample k: Int, column j: Int) -> Double {
        values[(i * samplesPerEvent + k) * Self.columns.count + j]
    }
}

/// A trained MEMFlow model folder (docs/memflow.md): `memflow.json` (architecture, seed,
/// standardisations, training slots) and `checkpoint.safetensors` (the likelihood stage, with
/// its optimizer), beside `pretraining.safetensors` (the regression stage). Every file is
/// written atomically; a run resumed from the folder continues either stage bit for bit.
public final class MEMFlowModel {
    public struct Description: Codable, Equatable {
        public var kind: String
        public var config: MEMFlowConfig
        /// The architecture seed: rebuilds the same initial network and training streams.
        public var seed: UInt64
        public var tokenScale: Standardizer
        public var targetScale: Standardizer
        public var trainingSlots: Int
        public var sqrtSHadronic: Double
        public var targetNames: [String]
        public var trainingEvents: Int
        public var source: String
    }

    public let description: Description
    public let network: MEMFlowNetwork
    public let coordinates: RamboPartonCoordinates

    public static let kind = "memflow"
    public static let descriptionFile = "memflow.json"
    public static let checkpointFile = "checkpoint.safetensors"
    public static let pretrainingFile = "pretraining.safetensors"

    public init(description: Description) throws {
        self.description = description
        coordinates = try RamboPartonCoordinates(sqrtSHadronic: description.sqrtSHadronic)
        network = MEMFlowNetwork(config: description.config, trainingSlots: description.trainingSlots,
                                 rng: RNGStream(seed: description.seed).child("memflow"))
    }

    /// The coordinates y [N, 10] of the parton block (collider columns), azimuths from `referencePhi`.
    public static func targets(_ parton: EventSample.Block, referencePhi: [Double], coordinates: RamboPartonCoordinates, source: String) throws -> [Double] {
        guard parton.columns == ColliderColumns.parton else {
            throw RefoldError.file(source, "parton columns: expected \(ColliderColumns.parton), got \(parton.columns)")
        }
        var y: [Double] = []
        y.reserveCapacity(parton.rows * RamboPartonCoordinates.dimension)
        for i in 0..<parton.rows {
            let p = (0..<4).map { FourMomentum(pT: parton[i, 3 * $0], eta: parton[i, 3 * $0 + 1], phi: parton[i, 3 * $0 + 2]) }
            y += coordinates.coordinates(of: p, referencePhi: referencePhi[i])
        }
        return y
    }

    /// Trains on a paired collider sample: `config.pretraining` epochs of regression, then
    /// `config.training` epochs of likelihood. A fresh run writes `memflow.json` first; `resume`
    /// reads it (the architecture and standardisations come from the folder, the epochs from
    /// `config`) and continues the stage its checkpoints show unfinished. `progress` gets every
    /// epoch's report with its stage.
    public static func train(sample: EventSample, config: MEMFlowConfig, seed: UInt64, folder: URL, resume: Bool, source: String,
                             progress: (MEMFlowNetwork.Stage, EpochReport) -> Void = { _, _ in }) throws -> MEMFlowModel {
        guard let parton = sample.parton, let detector = sample.detector else {
            throw RefoldError.file(source, "expected a paired sample (parton.npy and detector.npy), got a \(sample.level.rawValue)-level one")
        }
        let raw = try MEMFlowTokens.raw(detector, source: source)
        let model: MEMFlowModel
        let y: [Double]
        if resume {
            model = try read(from: folder, loadWeights: false)
            guard model.description.trainingSlots == raw.slots else {
                throw RefoldError.file(source, "token slots: the model in \(folder.path) was trained with \(model.description.trainingSlots), the sample has \(raw.slots)")
            }
            y = try targets(parton, referencePhi: raw.referencePhi, coordinates: model.coordinates, source: source)
        } else {
            let coordinates = try RamboPartonCoordinates()
            y = try targets(parton, referencePhi: raw.referencePhi, coordinates: coordinates, source: source)
            let description = Description(kind: kind, config: config, seed: seed, tokenScale: try MEMFlowTokens.fitScale(raw.tokens),
                                          targetScale: try Standardizer(fitting: Tensor(shape: [parton.rows, RamboPartonCoordinates.dimension], storage: y.map(Float.init))),
                                          trainingSlots: raw.slots, sqrtSHadronic: coordinates.sqrtSHadronic, targetNames: RamboPartonCoordinates.names,
                                          trainingEvents: parton.rows, source: source)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try writeJSONAtomically(description, to: folder.appendingPathComponent(descriptionFile))
            model = try MEMFlowModel(description: description)
        }
        let d = model.description
        guard parton.rows >= config.training.batchSize else {
            throw RefoldError.value("MEMFlow training events", expected: ">= \(config.training.batchSize) (one batch)", actual: parton.rows)
        }
        let standardised = try d.targetScale.transform(Tensor(shape: [parton.rows, RamboPartonCoordinates.dimension], storage: y.map(Float.init)))
        let tokens = MEMFlowTokens.tensor(raw.tokens, events: detector.rows, slots: raw.slots, scale: d.tokenScale)
        let rng = RNGStream(seed: d.seed).child("memflow-training")
        let stages: [(MEMFlowNetwork.Stage, TrainingConfig, String)] = [(.regression, config.pretraining, pretrainingFile),
                                                                         (.likelihood, config.training, checkpointFile)]
        for (stage, training, file) in stages {
            let checkpoint = folder.appendingPathComponent(file)
            model.network.stage = stage
            let trainer = try FlowTrainer(model: model.network, config: training, rng: rng.child(stage.rawValue), checkpoint: checkpoint,
                                          metadata: ["kind": kind, "stage": stage.rawValue])
            try trainer.resumeIfCheckpointed(resume)
            try trainer.train(partonLevel: standardised, detectorLevel: tokens) { progress(stage, $0) }
        }
        return model
    }

    /// Reads a folder written by `train`; errors name the file.
    public static func read(from folder: URL) throws -> MEMFlowModel { try read(from: folder, loadWeights: true) }

    static func read(from folder: URL, loadWeights: Bool) throws -> MEMFlowModel {
        if loadWeights { try ModelManifest.verify(folder) }
        let url = folder.appendingPathComponent(descriptionFile)
        let description = try readJSON(Description.self, from: url, needs: "a MEMFlow model folder (refold train memflow) needs \(descriptionFile)",
                                       what: "a MEMFlow model description")
        guard description.kind == kind else { throw RefoldError.file(url.path, "kind: expected '\(kind)', got '\(description.kind)'") }
        guard description.targetScale.dimension == RamboPartonCoordinates.dimension, description.tokenScale.dimension == MEMFlowTokens.continuous,
              description.trainingSlots >= 3 else {
            throw RefoldError.file(url.path, "expected standardisations of \(RamboPartonCoordinates.dimension) and \(MEMFlowTokens.continuous) columns and >= 3 token slots, got \(description.targetScale.dimension), \(description.tokenScale.dimension) and \(description.trainingSlots)")
        }
        let model = try MEMFlowModel(description: description)
        if loadWeights { _ = try Checkpoint.load(into: model.network, from: folder.appendingPathComponent(checkpointFile)) }
        return model
    }

    /// Writes `memflow.json` and the weights (without an optimizer) to `folder`, atomically.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeJSONAtomically(description, to: folder.appendingPathComponent(Self.descriptionFile))
        try Checkpoint.save(module: network, metadata: ["kind": Self.kind], to: folder.appendingPathComponent(Self.checkpointFile))
        try ModelManifest.write(folder, seed: description.seed)
    }

    /// `count` parton-level samples per event of a detector block in the collider columns (any
    /// number of jet slots), noise from `rng`.
    public func sample(detector: EventSample.Block, count: Int, rng: RNGStream, source: String) throws -> MEMFlowSamples {
        let raw = try MEMFlowTokens.raw(detector, source: source)
        let tokens = MEMFlowTokens.tensor(raw.tokens, events: detector.rows, slots: raw.slots, scale: description.tokenScale)
        let standardised = try network.sample(detectorLevel: tokens, count: count, rng: rng)
        let d = RamboPartonCoordinates.dimension, columns = ColliderColumns.parton.count, scale = description.targetScale
        var values = [Double](repeating: 0, count: detector.rows * count * columns)
        var worst = 0.0, unphysical = 0
        var y = [Double](repeating: 0, count: d)
        var rebuilt: [FourMomentum] = []
        standardised.storage.withUnsafeBufferPointer { s in
            for row in 0..<(detector.rows * count) {
                for j in 0..<d { y[j] = Double(s[row * d + j]) * scale.std[j] + scale.mean[j] }
                let p = coordinates.partons(from: y, referencePhi: raw.referencePhi[row / count])
                rebuilt.removeAll(keepingCapacity: true)
                for (a, momentum) in p.enumerated() {
                    let o = row * columns + 3 * a
                    values[o] = momentum.pT; values[o + 1] = momentum.eta; values[o + 2] = momentum.phi
                    rebuilt.append(FourMomentum(pT: values[o], eta: values[o + 1], phi: values[o + 2]))
                }
                if values[(row * columns)..<((row + 1) * columns)].contains(where: { !$0.isFinite }) || p.contains(where: { !($0.pT > 0) }) {
                    unphysical += 1
                } else {
                    worst = max(worst, RamboPartonCoordinates.relativeImbalance(rebuilt))
                }
            }
        }
        return MEMFlowSamples(events: detector.rows, samplesPerEvent: count, values: values, maximumImbalance: worst,
                              unphysical: unphysical, tails: network.lastSampleTails)
    }
}
