import Autograd
import Flows
import Foundation
import Physics
import Tensor

/// The coordinates in which a conditional flow proposes the MEM's lab variables v (see
/// `EventLikelihood`): residuals of the partons behind a detector event relative to what it
/// measured,
///
///     r = (log pT(l-)/pT'(l-), log pT(l+)/pT'(l+), log pT(a)/pT(j1), eta(a) - eta(j1), phi(a) - phi(j1), eta(b) - eta(j2))
///
/// (primed: measured; a = the quark behind jet 1, b the one behind jet 2), with
/// |dv/dr| = pT(l-) pT(l+) pT(a). The posterior in r is narrow and close to Gaussian, so a small
/// flow learns it quickly. r4 is an angle difference: draws outside (-pi, pi] are outside the
/// phase space (zero integrand), which keeps the estimate unbiased (see `MEMProposal`).
public enum MEMResidual {
    public static let dimension = 6
    public static let names = ["log_pT_l-_ratio", "log_pT_l+_ratio", "log_pT_a_over_j1", "eta_a-eta_j1", "phi_a-phi_j1", "eta_b-eta_j2"]

    /// r of the hard event behind a selected detector event, with a = the quark matched to jet 1;
    /// nil unless the event has exactly two jets matched to the quarks.
    public static func residual(hard: HardEvent, detector d: DetectorEvent, matching: FastDetector) -> [Double]? {
        guard let (jetOfQuark1, _) = matching.match(quarks: (hard.quark1, hard.quark2), jets: d.jets) else { return nil }
        let (a, b) = jetOfQuark1 == 0 ? (hard.quark1, hard.quark2) : (hard.quark2, hard.quark1)
        let j1 = d.jets[0], j2 = d.jets[1]
        return [log(hard.leptonMinus.pT / d.leptonMinus.pT), log(hard.leptonPlus.pT / d.leptonPlus.pT), log(a.pT / j1.pT),
                a.eta - j1.eta, FourMomentum.wrapPhi(a.phi - j1.phi), b.eta - j2.eta]
    }

    /// v of r (pointer to 6 numbers) for detector event d, and log|dv/dr|; nil if r4 is outside
    /// (-pi, pi].
    @inline(__always)
    public static func labVariables(_ r: UnsafePointer<Double>, detector d: DetectorEvent) -> (v: EventLikelihood.LabVariables, logJacobian: Double)? {
        guard r[4] > -.pi, r[4] <= .pi else { return nil }
        let j1 = d.jets[0], j2 = d.jets[1]
        let pMinus = d.leptonMinus.pT * exp(r[0]), pPlus = d.leptonPlus.pT * exp(r[1]), pA = j1.pT * exp(r[2])
        let v = EventLikelihood.LabVariables(leptonMinusPT: pMinus, leptonPlusPT: pPlus, freeQuarkPT: pA, freeQuarkEta: j1.eta + r[3],
                                             freeQuarkPhi: FourMomentum.wrapPhi(j1.phi + r[4]), otherQuarkEta: j2.eta + r[5])
        return (v, log(pMinus) + log(pPlus) + log(pA))
    }

    /// The condition: 14 numbers of the detector event, invariant under rotations about the beam
    /// (azimuths relative to l-): log pT, eta of l-, l+; Delta phi(l+, l-); log pT, eta, Delta phi
    /// to l-, log(1 + m) of both jets; 1 for electrons, 0 for muons.
    public static let conditionDimension = 14
    public static func condition(_ d: DetectorEvent) -> [Double] {
        let phi0 = d.leptonMinus.phi
        var c = [log(d.leptonMinus.pT), d.leptonMinus.eta, log(d.leptonPlus.pT), d.leptonPlus.eta, FourMomentum.wrapPhi(d.leptonPlus.phi - phi0)]
        for j in d.jets.prefix(2) { c += [log(j.pT), j.eta, FourMomentum.wrapPhi(j.phi - phi0), log(1 + max(0, j.mass))] }
        c.append(d.flavour == .electron ? 1 : 0)
        return c
    }
}

/// The MEM's flow proposal: a conditional INN q(r | x_d) over `MEMResidual` coordinates, trained
/// by maximum likelihood on paired zw events (the unfolding cINN of thesis ch. 5 in the MEM's
/// integration variables), with the standardisations of r and of the condition.
///
/// Support: the flow's density is positive on all of R^6, so every point where the integrand is
/// positive can be drawn; draws that land outside the phase space (r4 outside (-pi, pi], a
/// non-positive pT, or a point the selection rejects) are kept with weight 0 and counted, never
/// redrawn (redrawing would change the proposal density without its normalisation and bias the
/// estimate).
public final class MEMProposal {
    public let model: ConditionalINN
    public let residualScale: Standardizer, conditionScale: Standardizer
    public let config: ConditionalINNConfig
    public let seed: UInt64
    /// The latent distribution of the draws (`LatentMixture`; the standard normal by default).
    public var latent = LatentMixture.standard

    /// The architecture seed `seed` rebuilds the same permutations (a checkpoint does not store them).
    public init(config: ConditionalINNConfig, residualScale: Standardizer, conditionScale: Standardizer, seed: UInt64) {
        self.config = config; self.residualScale = residualScale; self.conditionScale = conditionScale; self.seed = seed
        model = ConditionalINN(partonDimension: MEMResidual.dimension, detectorDimension: MEMResidual.conditionDimension, config: config,
                               rng: RNGStream(seed: seed).child("mem-proposal"))
    }

    /// The quick architecture: 6 blocks of 2 x 64, condition network 2 x 64 -> 16, no MMD.
    public static let quickConfig = ConditionalINNConfig(blocks: 6, layersPerBlock: 2, unitsPerLayer: 64, conditionLayers: 2,
                                                         conditionUnits: 64, conditionOutput: 16, mmdWeight: WeightSchedule(initial: 0))

    /// The training pairs (r, condition) of events with exactly two matched jets, as Double rows.
    public static func trainingRows(_ events: [(hard: HardEvent, detector: DetectorEvent)], matching: FastDetector) -> (residual: [Double], condition: [Double], rows: Int) {
        var residual: [Double] = [], condition: [Double] = [], rows = 0
        for e in events {
            guard let r = MEMResidual.residual(hard: e.hard, detector: e.detector, matching: matching) else { continue }
            residual += r; condition += MEMResidual.condition(e.detector); rows += 1
        }
        return (residual, condition, rows)
    }

    /// Trains a proposal on `events` by maximum likelihood. With a `folder`, `proposal.json` is
    /// written before the first epoch and the trainer's checkpoint (with the optimizer) after
    /// every epoch, both atomically; `resume` continues from them (the standardisations and the
    /// architecture come from the folder).
    public static func train(events: [(hard: HardEvent, detector: DetectorEvent)], matching: FastDetector,
                             config: ConditionalINNConfig = quickConfig, training: TrainingConfig, seed: UInt64,
                             folder: URL? = nil, resume: Bool = false,
                             progress: (EpochReport) -> Void = { _ in }) throws -> (proposal: MEMProposal, history: [EpochReport]) {
        let data = trainingRows(events, matching: matching)
        guard data.rows >= training.batchSize else {
            throw RefoldError.value("MEM proposal training events with two matched jets", expected: ">= \(training.batchSize) (one batch)", actual: data.rows)
        }
        let residual = Tensor(shape: [data.rows, MEMResidual.dimension], storage: data.residual.map(Float.init))
        let condition = Tensor(shape: [data.rows, MEMResidual.conditionDimension], storage: data.condition.map(Float.init))
        let proposal: MEMProposal
        if resume {
            guard let folder else { throw RefoldError.value("MEM proposal resume", expected: "a model folder", actual: "none") }
            proposal = try read(from: folder)
        } else {
            proposal = MEMProposal(config: config, residualScale: try Standardizer(fitting: residual),
                                   conditionScale: try Standardizer(fitting: condition), seed: seed)
            if let folder { try proposal.writeDescription(to: folder) }
        }
        let checkpoint = folder?.appendingPathComponent(checkpointFile)
        let trainer = try FlowTrainer(model: proposal.model, config: training, rng: RNGStream(seed: proposal.seed).child("mem-proposal-training"),
                                      checkpoint: checkpoint, metadata: ["kind": kind])
        if resume, let checkpoint { try trainer.resume(from: checkpoint) }
        let history = try trainer.train(partonLevel: try proposal.residualScale.transform(residual),
                                        detectorLevel: try proposal.conditionScale.transform(condition), progress: progress)
        return (proposal, history)
    }

    /// K draws of r per event and log q(r | x_d) (in r, the standardisation's Jacobian included):
    /// r event-major [N K 6] in Double, log q [N K].
    public func draw(_ events: [DetectorEvent], count: Int, rng: RNGStream) throws -> (residual: [Double], logDensity: [Double]) {
        guard !events.isEmpty else { return ([], []) }
        let conditions = Tensor(shape: [events.count, MEMResidual.conditionDimension],
                                storage: events.flatMap(MEMResidual.condition).map(Float.init))
        let (samples, logQ) = try model.sampleWithLogDensity(detectorLevel: try conditionScale.transform(conditions), count: count, rng: rng,
                                                             latent: latent)
        let d = MEMResidual.dimension
        let logScale = residualScale.std.reduce(0) { $0 + log($1) }
        var residual = [Double](repeating: 0, count: samples.storage.count)
        samples.storage.withUnsafeBufferPointer { s in
            for i in 0..<(s.count / d) {
                for j in 0..<d { residual[i * d + j] = Double(s[i * d + j]) * residualScale.std[j] + residualScale.mean[j] }
            }
        }
        return (residual, logQ.map { $0 - logScale })
    }

    // MARK: Model folder

    /// `proposal.json` (architecture, seed, standardisations) and `checkpoint.safetensors`, each
    /// written atomically.
    public func write(to folder: URL) throws {
        try writeDescription(to: folder)
        try Checkpoint.save(module: model, metadata: ["kind": Self.kind], to: folder.appendingPathComponent(Self.checkpointFile))
    }

    func writeDescription(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let description = Description(kind: Self.kind, config: config, residualScale: residualScale, conditionScale: conditionScale,
                                      seed: seed, residualNames: MEMResidual.names)
        try writeJSONAtomically(description, to: folder.appendingPathComponent("proposal.json"))
    }

    /// Reads a folder written by `write(to:)` (or by `refold train mem`, whose checkpoint also
    /// holds the optimizer); errors name the file.
    public static func read(from folder: URL) throws -> MEMProposal {
        let url = folder.appendingPathComponent("proposal.json")
        let description = try readJSON(Description.self, from: url, needs: "a MEM proposal folder (refold train mem) needs proposal.json",
                                       what: "a MEM proposal description")
        guard description.kind == kind else { throw RefoldError.file(url.path, "kind: expected '\(kind)', got '\(description.kind)'") }
        guard description.residualScale.dimension == MEMResidual.dimension, description.conditionScale.dimension == MEMResidual.conditionDimension else {
            throw RefoldError.file(url.path, "standardisations: expected \(MEMResidual.dimension) and \(MEMResidual.conditionDimension) columns, got \(description.residualScale.dimension) and \(description.conditionScale.dimension)")
        }
        let proposal = MEMProposal(config: description.config, residualScale: description.residualScale,
                                   conditionScale: description.conditionScale, seed: description.seed)
        _ = try Checkpoint.load(into: proposal.model, from: folder.appendingPathComponent(checkpointFile))
        return proposal
    }

    static let kind = "mem-proposal"
    public static let checkpointFile = "checkpoint.safetensors"
    struct Description: Codable {
        var kind: String, config: ConditionalINNConfig, residualScale: Standardizer, conditionScale: Standardizer, seed: UInt64, residualNames: [String]
    }
}
