import Autograd
import Flows
import Foundation
import Validation
import Parallel
import Physics
import Tensor

/// Training a model folder from a paired sample (`refold train` and the ZW studies).
public struct UnfoldingTrainingRequest {
    public var network: UnfoldingNetwork
    public var seed: UInt64
    /// Fraction of the sample held out for the validation loss (drawn by `seed`'s child "split").
    public var validationFraction: Double = 0.1
    /// Continue from `MODEL/checkpoint.safetensors` (config.json must match).
    public var resume = false
    /// How cINNs model the quark pair when the sample has both quarks.
    public var pairCoordinates = PairCoordinates.massRatio
    /// cINNs: pre-train the condition network as an autoencoder's encoder before the flow trains.
    public var encoderPretraining: EncoderPretraining?
    /// cINNs: the parton particles (l-, q1, ...) whose sampled angles are modelled as residuals
    /// to their detector objects (`AngleResiduals`); empty: none.
    public var angleResiduals: [String] = []
    /// cINNs: order the quark pair by jet matching (`JetMatchedPair`) instead of pT.
    public var pairOrder = PairOrder.pT

    public init(network: UnfoldingNetwork, seed: UInt64) {
        self.network = network
        self.seed = seed
    }

    /// MMD observables: m_jj for the cINNs, m_jj and m_ll for the INNs (table 5.1, 5.2).
    var observableNames: [String] {
        switch network.variant {
        case .inn, .einn: return ["m_jj", "m_ll"]
        default: return ["m_jj"]
        }
    }
}

extension UnfoldingTrainingRequest {
    /// Exactly what a study trains: the variant's preset for `profile` with the study's
    /// `[network.cinn]` or `[network.inn]` and `[network.training]`, and its `[network.parameters]`
    /// `pair_coordinates` (default mass-ratio), `pair_order` (default pT), `angle_residuals`
    /// (particles, default none) and
    /// `encoder_pretraining_epochs`.
    public init(study: NetworkSpec, variant: NetworkVariant, profile: ProfileName, seed: UInt64) throws {
        self.init(network: try UnfoldingNetwork.preset(variant, profile: profile, study: study), seed: seed)
        pairCoordinates = try study.parameters.enumeration("pair_coordinates", PairCoordinates.self) ?? .massRatio
        angleResiduals = try study.parameters.strings("angle_residuals") ?? []
        pairOrder = try study.parameters.enumeration("pair_order", PairOrder.self) ?? .pT
        if let epochs = try study.parameters.number("encoder_pretraining_epochs") {
            guard epochs >= 1, epochs == epochs.rounded() else {
                throw study.parameters.error("encoder_pretraining_epochs", "expected a whole number >= 1, got \(epochs)")
            }
            encoderPretraining = EncoderPretraining(epochs: Int(epochs))
        }
    }
}

extension UnfoldingNetwork {
    /// The variant's preset for `profile` with a study's `[network.cinn]` or `[network.inn]` and
    /// `[network.training]` applied (after its profile's overrides).
    public static func preset(_ variant: NetworkVariant, profile: ProfileName, study: NetworkSpec) throws -> UnfoldingNetwork {
        var network = try preset(variant, profile: profile)
        if let cinn = network.cinn { network.cinn = try study.decode("cinn", over: cinn) }
        if let inn = network.inn { network.inn = try study.decode("inn", over: inn) }
        network.training = try study.decode("training", over: network.training)
        return network
    }
}

/// The order of the quark pair the cINN models (docs/unfold.md).
public enum PairOrder: String, Codable, CaseIterable, Sendable {
    /// The higher pT first, as in the sample.
    case pT
    /// The quark matched to j1 first (`JetMatchedPair`).
    case jetMatched = "jet-matched"
}

/// The cINN's coordinates for the quark pair (docs/unfold.md).
public enum PairCoordinates: String, Codable, CaseIterable, Sendable {
    /// (pT, eta, phi) of each quark.
    case perParton = "per-parton"
    /// m_jj in place of pT_q1 (`PairMassCoordinate`).
    case pairMass = "pair-mass"
    /// m_jj in place of pT_q1 and ln(pT_q1 / pT_q2) in place of pT_q2, both Gaussianised
    /// (`PairMassCoordinate` with a `ratioMap`): the pT ordering is built in. The default.
    case massRatio = "mass-ratio"
    /// The pair's decay coordinates, its transverse momentum from the balance if the hard process
    /// balances (`ResonanceCoordinates`).
    case resonance
}

extension UnfoldingModel {
    /// The detector-level object whose azimuth defines the frame (see `AzimuthFrame`).
    public static let azimuthReferenceColumn = "phi_l-"

    /// Fits the feature maps on the training split, writes `out/config.json`, trains with
    /// FlowTrainer (checkpoint after every epoch) and returns the trained model. A NaN loss throws
    /// the trainer's error; the last good checkpoint stays.
    @discardableResult
    public static func train(sample: EventSample, request: UnfoldingTrainingRequest, out: URL,
                             progress: (EpochReport) -> Void = { _ in }) throws -> UnfoldingModel {
        guard sample.level == .paired, let parton = sample.parton, let detector = sample.detector else {
            throw RefoldError.value("training sample", expected: "a paired sample (parton.npy and detector.npy)", actual: "a \(sample.level.rawValue)-level sample")
        }
        let isr = request.network.variant == .cinnISR
        if isr, sample.njets == nil {
            throw RefoldError.value("training sample njets", expected: "njets.npy for cinn-isr (the jet count is a condition)", actual: "none")
        }
        let n = sample.count
        let validationCount = Int((Double(n) * request.validationFraction).rounded())
        guard n - validationCount >= 2 else { throw RefoldError.value("training events", expected: ">= 2 after the validation split", actual: n - validationCount) }
        let order = RNGStream(seed: request.seed).child("split").permutation(n)
        let validationRows = Array(order[0..<validationCount]), trainingRows = Array(order[validationCount...])
        let trainParton = parton.rows(trainingRows), trainDetector = detector.rows(trainingRows)

        let configURL = out.appendingPathComponent(configFile)
        // [reliability] 4: a fresh run never mixes its config with another run's weights, and
        // --resume needs something to resume.
        if !request.resume, FileManager.default.fileExists(atPath: configURL.path) {
            throw RefoldError.file(configURL.path, "exists: pass --resume to continue that training, or choose another --out")
        }
        if request.resume, !FileManager.default.fileExists(atPath: configURL.path) {
            throw RefoldError.file(configURL.path, "missing: --resume needs a model folder written by an earlier run")
        }
        // Under mpirun every rank checks the folder before any rank writes config.json into it.
        ProcessGroup.current.barrier()
        var config: UnfoldingModelConfig
        if request.resume {
            let stored = try load(configOnly: out)
            guard stored.network.variant == request.network.variant, stored.seed == request.seed,
                  stored.partonColumns == parton.columns, stored.detectorColumns == detector.columns,
                  stored.network.training.batchSize == request.network.training.batchSize else {
                throw RefoldError.value("--resume \(configURL.path)",
                                        expected: "variant \(request.network.variant.rawValue), seed \(request.seed), batch size \(request.network.training.batchSize), the sample's columns",
                                        actual: "variant \(stored.network.variant.rawValue), seed \(stored.seed), batch size \(stored.network.training.batchSize), columns \(stored.partonColumns) / \(stored.detectorColumns) (sample: \(parton.columns) / \(detector.columns))")
            }
            config = stored
            config.network.training.epochs = request.network.training.epochs
        } else {
            // Azimuths from the detector-level l- when the sample has one (rotation symmetry).
            let reference = detector.columns.contains(azimuthReferenceColumn) ? azimuthReferenceColumn : nil
            let frame = try reference.map { try AzimuthFrame(detector: trainDetector, column: $0) }
            let rotatedParton = frame?.rotate(trainParton, inverse: false) ?? trainParton
            let rotatedDetector = frame?.rotate(trainDetector, inverse: false) ?? trainDetector
            // cINNs copy what the training pairs show the detector measures exactly (`CopyDecision`);
            // the (e)INN's dimension bookkeeping (D_p + D_rp = D_d + D_rd) keeps every column.
            let decision = request.network.variant.isConditional ? CopyDecision.fit(rotatedParton, rotatedDetector) : nil
            let copied = decision?.copied ?? []
            // The pair's pTs follow from m_jj and ln(pT_q1 / pT_q2) (or m_jj and the subleading
            // pT): every map is fitted on the sample's own quarks, however soft (no jet threshold).
            var pairMass: PairMassCoordinate?, resonance: ResonanceCoordinates?
            let matched = request.pairOrder == .jetMatched && request.network.variant.isConditional ? JetMatchedPair() : nil
            let orderedParton = try matched?.forward(rotatedParton, detector: rotatedDetector) ?? rotatedParton
            if request.network.variant.isConditional {
                switch request.pairCoordinates {
                case .perParton: break
                case .pairMass:
                    pairMass = PairMassCoordinate.fit(orderedParton, leading: "q1", subleading: "q2", replacesLeading: true, column: "m_jj")
                case .massRatio:
                    pairMass = PairMassCoordinate.fit(orderedParton, leading: "q1", subleading: "q2", replacesLeading: true,
                                                      column: "m_jj", modelsRatio: true)
                case .resonance:
                    resonance = ResonanceCoordinates.fit(orderedParton, leading: "q1", subleading: "q2", mass: "m_jj")
                }
            }
            let pairCoordinates = try UnfoldingModelConfig.networkCoordinates(orderedParton, pairMass: pairMass, resonance: resonance)
            let modelled = try pairCoordinates.selecting(pairCoordinates.columns.filter { !copied.contains($0) })
            let residuals = !request.angleResiduals.isEmpty && request.network.variant.isConditional
                ? AngleResiduals.fit(modelled, detector: rotatedDetector, particles: request.angleResiduals,
                                     pairRatio: pairMass.flatMap { p in p.ratioMap.map { (p.ratioColumn, $0) } }) : nil
            // A listed particle must have a sampled angle with a detector partner (a typo is an error, not a no-op).
            for particle in request.angleResiduals where !(residuals?.residuals.contains {
                particle == AngleResiduals.ratioName ? $0.denominator != nil : $0.parton.hasSuffix("_\(particle)")
            } ?? false) {
                let angles = ["eta_\(particle)", "phi_\(particle)"]
                guard angles.allSatisfy(copied.contains) else {
                    throw RefoldError.value("angle residuals of \(particle)", expected: "a sampled eta or phi with a detector partner (columns \(modelled.columns))",
                                            actual: "none")
                }
            }
            let partonMap = try FeatureMap.fit(try residuals?.forward(modelled, detector: rotatedDetector) ?? modelled)
            let detectorMap = try FeatureMap.fit(rotatedDetector)
            config = UnfoldingModelConfig(
                network: request.network, seed: request.seed, partonColumns: parton.columns, detectorColumns: detector.columns,
                jetCountCondition: isr ? jetCounts : [], partonFeatures: partonMap, detectorFeatures: detectorMap,
                observables: supportedObservables(request.observableNames, map: partonMap),
                trainingEvents: trainingRows.count, validationEvents: validationCount, source: sample.generator,
                azimuthReference: reference, copiedColumns: copied, copyDecision: decision, pairMass: pairMass, resonance: resonance,
                support: request.network.variant.isConditional
                    ? TrainingSupport.fit(rotatedParton, columns: parton.columns.filter { !copied.contains($0) }, first: "q1", second: "q2") : nil,
                encoderPretraining: request.network.variant.isConditional ? request.encoderPretraining : nil, angleResiduals: residuals,
                jetMatchedPair: matched)
        }
        let model = try UnfoldingModel(config: config, folder: out)
        try model.writeConfig()
        let xp = try model.partonTensor(trainParton, detector: trainDetector)
        let xd = try model.detectorTensor(trainDetector, njets: sample.njets.map { n in trainingRows.map { n[$0] } })
        var validation: (partonLevel: Tensor, detectorLevel: Tensor)? = nil
        if validationCount > 0 {
            let validationDetector = detector.rows(validationRows)
            validation = (try model.partonTensor(parton.rows(validationRows), detector: validationDetector),
                          try model.detectorTensor(validationDetector, njets: sample.njets.map { n in validationRows.map { n[$0] } }))
        }
        if !request.resume, let settings = config.encoderPretraining, let cinn = model.flow as? ConditionalINN {
            try cinn.pretrainCondition(detectorLevel: xd, settings: settings, rng: RNGStream(seed: request.seed).child("pretrain"))
        }
        try runTrainer(model.flow, model: model, xp: xp, xd: xd, validation: validation, resume: request.resume, progress: progress)
        return model
    }

    private static func runTrainer<M: UnfoldingFlow>(_ flow: M, model: UnfoldingModel, xp: Tensor, xd: Tensor,
                                                     validation: (partonLevel: Tensor, detectorLevel: Tensor)?, resume: Bool,
                                                     progress: (EpochReport) -> Void) throws {
        let trainer = try FlowTrainer(model: flow, config: model.config.network.training,
                                      rng: RNGStream(seed: model.config.seed).child("train"), checkpoint: model.checkpoint,
                                      metadata: ["refold.variant": model.config.network.variant.rawValue])
        try trainer.resumeIfCheckpointed(resume)
        try trainer.train(partonLevel: xp, detectorLevel: xd, validation: validation, progress: progress)
    }

    static func load(configOnly folder: URL) throws -> UnfoldingModelConfig {
        let url = folder.appendingPathComponent(configFile)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw RefoldError.file(url.path, "cannot read") }
        do { return try JSONDecoder().decode(UnfoldingModelConfig.self, from: data) } catch {
            throw RefoldError.file(url.path, "not a model config: \(error)")
        }
    }
}

/// Which parton coordinates the cINN copies from the detector level: a parton column with a
/// detector column of the same name (in the azimuth frame) is copied when the training pairs show
/// the detector measures it exactly, max over the events of |x_p - x_d| / max(1, |x_d|) (the
/// difference of azimuths wrapped into [-pi, pi]) at most
/// `tolerance` (1e-6: float32 round-off of one level is 6e-8, the finest detector resolution
/// 1e-4). Every other coordinate is sampled. Recorded in config.json (`copyDecision`, with the
/// measured deviation of every candidate) so `refold unfold` copies the same columns. Refold's own
/// detector measures the lepton directions exactly; a chain with photon radiation off the leptons
/// does not, and its lepton angles are then sampled like the rest.
public struct CopyDecision: Codable, Equatable, Sendable {
    public struct Check: Codable, Equatable, Sendable {
        public var column: String
        /// max over the training pairs of |x_p - x_d| / max(1, |x_d|).
        public var maxDeviation: Double
        public var copied: Bool
    }

    public static let defaultTolerance = 1e-6

    public var tolerance: Double
    /// Every parton column with a detector column of the same name, in parton column order.
    public var checks: [Check]

    /// The copied columns, in parton column order.
    public var copied: [String] { checks.filter(\.copied).map(\.column) }

    /// The decision on paired blocks (rows are events; azimuths already in one frame).
    public static func fit(_ parton: EventSample.Block, _ detector: EventSample.Block, tolerance: Double = defaultTolerance) -> CopyDecision {
        let checks = parton.columns.enumerated().compactMap { j, name -> Check? in
            guard let k = detector.index(of: name) else { return nil }
            // Azimuths differ modulo 2 pi: pi and -pi are the same direction.
            let periodic = name.hasPrefix("phi_")
            var worst = 0.0
            for i in 0..<parton.rows {
                let a = parton[i, j], b = detector[i, k]
                worst = max(worst, abs(periodic ? FourMomentum.wrapPhi(a - b) : a - b) / max(1, abs(b)))
            }
            return Check(column: name, maxDeviation: worst, copied: parton.rows > 0 && worst <= tolerance)
        }
        return CopyDecision(tolerance: tolerance, checks: checks)
    }
}
