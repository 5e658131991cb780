import Foundation
import GAN
import Physics
import Tensor
import Validation

/// Everything needed to rebuild a trained GAN, `gan.json` in its model folder.
public struct GANModelSettings: Codable, Equatable {
    /// gan or fcgan.
    public var variant: NetworkVariant
    public var profile: ProfileName
    public var network: GANConfig
    public var training: GANTrainingConfig
    public var seed: UInt64
    /// The generator name of the training sample (meta.json).
    public var generator: String
    /// Event columns <-> standardised features, fitted on the training sample.
    public var partonMap: FeatureMap
    public var detectorMap: FeatureMap

    /// Table 4.1 sizes (`paper`) or the 2-core sizes (`quick`) of GANConfig / GANTrainingConfig.
    public static func presets(_ profile: ProfileName) -> (GANConfig, GANTrainingConfig) {
        profile == .paper ? (.paper, .paper) : (.quick, .quick)
    }
}

/// A GAN model folder (minimal, GAN-only; to be unified with the flows' model folder):
/// `gan.json` (GANModelSettings), `checkpoint.safetensors` (both networks, both Adam states and
/// the epoch, rewritten atomically after every epoch by GANTrainer) and `history.json` (the
/// epoch reports of the last run).
public enum GANModelFolder {
    public static let settingsFile = "gan.json"
    public static let checkpointFile = "checkpoint.safetensors"
    public static let historyFile = "history.json"

    /// A trained (or restored) GAN with its settings.
    public struct Trained {
        public let settings: GANModelSettings
        public let model: any AdversarialUnfolding
        /// Epochs finished (from the checkpoint).
        public let completedEpochs: Int
        public let history: [GANEpochReport]
    }

    /// Trains `variant` on a paired sample into `out`. With `resume`, reads `out/gan.json` and the
    /// checkpoint and continues to `epochs` (default: the stored number); otherwise starts fresh
    /// (an existing checkpoint is replaced). `network`/`training` override the profile's presets.
    /// A NaN or infinite loss or gradient throws a RefoldError and keeps the last good checkpoint.
    public static func train(variant: NetworkVariant, sample: EventSample, profile: ProfileName, epochs: Int? = nil,
                             seed: UInt64, resume: Bool = false, out: URL, network: GANConfig? = nil,
                             training: GANTrainingConfig? = nil,
                             progress: (GANEpochReport) -> Void = { _ in }) throws -> Trained {
        try variant.require(\.isUnfoldingGAN, "GAN variant", expected: "gan or fcgan")
        try sample.validate()
        guard sample.level == .paired, let parton = sample.parton, let detector = sample.detector else {
            throw RefoldError.value("GAN training sample", expected: "a paired parton/detector sample", actual: sample.level.rawValue)
        }
        try checkFinite(parton, "parton.npy"); try checkFinite(detector, "detector.npy")
        if let epochs, epochs < 1 { throw RefoldError.value("epochs", expected: ">= 1", actual: epochs) }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let checkpoint = out.appendingPathComponent(checkpointFile)

        var settings: GANModelSettings
        if resume {
            settings = try readSettings(out)
            guard settings.variant == variant else {
                throw RefoldError.value("\(out.path)/\(settingsFile) variant", expected: variant.rawValue, actual: settings.variant.rawValue)
            }
            guard settings.partonMap.columns == parton.columns, settings.detectorMap.columns == detector.columns else {
                throw RefoldError.value("resumed sample columns", expected: "\(settings.partonMap.columns) / \(settings.detectorMap.columns)",
                                        actual: "\(parton.columns) / \(detector.columns)")
            }
        } else {
            let (presetNetwork, presetTraining) = GANModelSettings.presets(profile)
            settings = GANModelSettings(variant: variant, profile: profile, network: network ?? presetNetwork,
                                        training: training ?? presetTraining, seed: seed, generator: sample.generator,
                                        partonMap: try FeatureMap.fit(parton), detectorMap: try FeatureMap.fit(detector))
        }
        if let epochs { settings.training.epochs = epochs }
        try writeSettings(settings, to: out)

        let model = try makeModel(settings)
        let xp = try settings.partonMap.tensor(parton), xd = try settings.detectorMap.tensor(detector)
        func run<M: AdversarialUnfolding>(_ model: M) throws -> (Int, [GANEpochReport]) {
            let trainer = try GANTrainer(model: model, config: settings.training, rng: RNGStream(seed: settings.seed).child("gan.train"),
                                         checkpoint: checkpoint, metadata: ["gan.variant": settings.variant.rawValue])
            if resume { try trainer.resume(from: checkpoint) }
            try trainer.train(partonLevel: xp, detectorLevel: xd, progress: progress)
            return (trainer.completedEpochs, trainer.history)
        }
        let (done, history): (Int, [GANEpochReport])
        switch model {
        case let m as FullyConditionalGAN: (done, history) = try run(m)
        case let m as NaiveGAN: (done, history) = try run(m)
        default: throw RefoldError("GANModelFolder: unknown model type \(type(of: model))")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(history), to: out.appendingPathComponent(historyFile))
        return Trained(settings: settings, model: model, completedEpochs: done, history: history)
    }

    /// Restores a trained GAN from a model folder.
    public static func load(_ folder: URL) throws -> Trained {
        try ModelManifest.verify(folder)
        let settings = try readSettings(folder)
        let model = try makeModel(settings)
        let url = folder.appendingPathComponent(checkpointFile)
        guard FileManager.default.fileExists(atPath: url.path) else { throw RefoldError.file(url.path, "missing: no trained GAN in this folder") }
        _ = try Checkpoint.load(into: model, from: url)
        let done = try SafeTensors.read(url).metadata[GANTrainer<NaiveGAN>.epochKey].flatMap(Int.init) ?? 0
        return Trained(settings: settings, model: model, completedEpochs: done, history: [])
    }

    /// The untrained network of `settings` (weights from RNGStream(seed).child("gan.model")), with
    /// the differentiable m_jj observable in its MMD term (thesis eq. 4.4 / 4.11) and, for a
    /// residual generator, the skip built from the two feature maps (`GANCollider.detectorSkip`).
    public static func makeModel(_ settings: GANModelSettings) throws -> any AdversarialUnfolding {
        let rng = RNGStream(seed: settings.seed).child("gan.model")
        let dp = settings.partonMap.columns.count, dd = settings.detectorMap.columns.count
        let observables = try GANCollider.massObservable(settings.partonMap).map { [$0] } ?? []
        let skip = settings.network.needsSkip
            ? try GANCollider.detectorSkip(parton: settings.partonMap, detector: settings.detectorMap) : nil
        switch settings.variant {
        case .gan:
            return try NaiveGAN(partonDimension: dp, detectorDimension: dd, config: settings.network, observables: observables,
                                skip: skip, rng: rng)
        case .fcgan:
            return try FullyConditionalGAN(partonDimension: dp, detectorDimension: dd, config: settings.network,
                                           observables: observables, skip: skip, rng: rng)
        default:
            throw RefoldError.value("GAN variant", expected: "gan or fcgan", actual: settings.variant.rawValue)
        }
    }

    public static func readSettings(_ folder: URL) throws -> GANModelSettings {
        let url = folder.appendingPathComponent(settingsFile)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw RefoldError.file(url.path, "missing: not a GAN model folder") }
        do { return try JSONDecoder().decode(GANModelSettings.self, from: data) } catch {
            throw RefoldError.file(url.path, "not GAN model settings: \(error)")
        }
    }

    public static func writeSettings(_ settings: GANModelSettings, to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(settings), to: folder.appendingPathComponent(settingsFile))
    }

    static func checkFinite(_ block: EventSample.Block, _ file: String) throws {
        if let i = block.values.firstIndex(where: { !$0.isFinite }) {
            let d = block.columns.count
            throw RefoldError.value("\(file) row \(i / d) column \(block.columns[i % d])", expected: "a finite value", actual: block.values[i])
        }
    }
}

/// Physics glue of the GAN studies: the differentiable m_jj from standardised parton features
/// and the way back from network samples to events.
public enum GANCollider {
    /// Rows of a batch that enter the m_jj MMD (batches are shuffled, so a random subset): the
    /// MMD's N^2 kernel sums cost 77 of 83 ms of a 512-event generator step at 4 x 128, and
    /// 16 x less at 128 rows.
    public static let mmdEvents = 128

    /// m_jj of the massless quarks q1, q2 in GeV from standardised features (`pairMass`, shared
    /// with the invertible networks); nil if the map lacks the quark columns.
    public static func massObservable(_ map: FeatureMap, events: Int = mmdEvents) throws -> Flows.Observable? {
        guard let q1 = ParticleColumns("q1", map: map), let q2 = ParticleColumns("q2", map: map) else { return nil }
        return Flows.Observable(name: "m_jj") { batch in
            pairMass(batch.value.rows > events ? sliceRows(batch, start: 0, count: events) : batch, q1, q2, map: map)
        }
    }

    /// The residual generator's skip: each parton feature starts from the detector feature of the
    /// same particle and quantity (pT_l- from pT_l-, pT_q1 from pT_j1, eta_q2 from eta_j2, ...),
    /// carried through both feature maps: f_p = (s_d f_d + m_d - m_p) / s_p, exact where both
    /// columns have the same transform (log pT or identity; a padded jet's log(pT + 1) against
    /// log pT is off by < 4 % at the 25 GeV threshold, and the network corrects it). A parton
    /// column without a detector partner starts from 0. Throws if no column has a partner.
    public static func detectorSkip(parton: FeatureMap, detector: FeatureMap) throws -> DetectorSkip {
        var sources = [Int?](), scales = [Float](), shifts = [Float]()
        for (j, name) in parton.columns.enumerated() {
            let partner = name.replacingOccurrences(of: "_q", with: "_j")
            guard let k = detector.columns.firstIndex(of: partner),
                  (parton.logOffsets[j] == nil) == (detector.logOffsets[k] == nil) else {
                sources.append(nil); scales.append(0); shifts.append(0); continue
            }
            sources.append(k)
            scales.append(Float(detector.stds[k] / parton.stds[j]))
            shifts.append(Float((detector.means[k] - parton.means[j]) / parton.stds[j]))
        }
        let skip = try DetectorSkip(sources: sources, scales: scales, shifts: shifts)
        guard skip.linkedOutputs > 0 else {
            throw RefoldError.value("residual GAN: detector partners of the parton columns \(parton.columns)",
                                    expected: "at least one (pT_q1 <- pT_j1, pT_l- <- pT_l-, ...)", actual: detector.columns)
        }
        return skip
    }

    /// K samples per detector-level event in physical units and parton column order:
    /// N * K rows (event-major), phi wrapped into (-pi, pi], and the two quarks labelled by pT
    /// (q1 the harder, as in the truth: the generator's q1, q2 outputs are swapped where it made
    /// pT_q2 > pT_q1).
    public static func unfold(_ trained: GANModelFolder.Trained, detector: EventSample.Block, samples: Int,
                              rng: RNGStream) throws -> EventSample.Block {
        let x = try trained.settings.detectorMap.tensor(detector)
        let drawn = try trained.model.sample(detectorLevel: x, count: samples, rng: rng)
        let columns = trained.settings.partonMap.columns
        let features = EventSample.Block(columns: columns, rows: detector.rows * samples, values: drawn.storage.map(Double.init))
        var events = try trained.settings.partonMap.events(features)
        let d = columns.count
        for (j, name) in columns.enumerated() where name.hasPrefix("phi_") {
            for i in 0..<events.rows { events.values[i * d + j] = FourMomentum.wrapPhi(events.values[i * d + j]) }
        }
        let q1 = ["pT_q1", "eta_q1", "phi_q1"].compactMap { columns.firstIndex(of: $0) }
        let q2 = ["pT_q2", "eta_q2", "phi_q2"].compactMap { columns.firstIndex(of: $0) }
        if q1.count == 3, q2.count == 3 {
            for i in 0..<events.rows where events.values[i * d + q2[0]] > events.values[i * d + q1[0]] {
                for (a, b) in zip(q1, q2) { events.values.swapAt(i * d + a, i * d + b) }
            }
        }
        return events
    }
}
