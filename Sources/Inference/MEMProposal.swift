import Autograd
import CGSL
import Flows
import Foundation
import Physics
import Tensor

/// The coordinates in which a conditional flow proposes the MEM's lab variables v (see
/// `EventLikelihood`), resonance-aligned: the quark pair's mass m_qq is a proposal variable mapped
/// through the W Breit-Wigner CDF of the hypothesis being evaluated,
///
///     y = (log pT(l-)/pT'(l-), log pT(l+)/pT'(l+), z, y_W - y_jj, xi_1, xi_2),
///     z = Phi^-1(F_BW(m_qq; m_W, Gamma_W)),
///
/// (primed: measured; Phi the standard normal CDF; y_W the rapidity of the quark pair, y_jj that
/// of the measured dijet; xi the stereographic coordinates, from the pole, of quark a's direction in
/// the pair's rest frame (pure boost from the lab), the pole being jet 1's direction in the dijet's
/// rest frame; a = the quark behind jet 1, b the one behind jet 2). The pair's transverse momentum
/// is -(l- + l+)_T, so y and the lepton directions fix the event.
///
/// Why: the W Breit-Wigner (2.1 GeV) is much narrower than an event's resolution in m_qq (about
/// 5 GeV), so in the lab residuals the posterior lies on a thin shell and each draw's
/// p(x_p | m_W) is a sharp Breit-Wigner in m_W. In z the Breit-Wigner is flat (z is standard
/// normal under the Breit-Wigner), and every hypothesis theta maps the *same* draw y to its own
/// m_qq = F_BW^-1(Phi(z); theta): the proposal density in v depends on theta, each scan point's
/// estimate is an ordinary importance-sampling estimate (unbiased), the Breit-Wigner factor of
/// p cancels against dm/dz, and the weights vary with m_W only as fast as the transfer density
/// does.
///
/// |dv/dy| = pT(l-) pT(l+) (m / 2 pT(a)) (phi(z) / BW(m)) 4 / (1 + |xi|^2)^2: lepton logs; the
/// pair's phase space d^3a/2E_a d^3b/2E_b at fixed pair pT, pT(a) dpT(a) deta(a) dphi(a) deta(b)
/// = (m / 2) dm dy dOmega*; the Breit-Wigner CDF and Phi; the stereographic area element. Draws with
/// |z| > 8 (u within 1e-15 of the window's edges, where the map is not invertible in floating
/// point) count as outside, a bias below 1e-15.
public enum MEMResidual {
    public static let dimension = 6
    public static let names = ["log_pT_l-_ratio", "log_pT_l+_ratio", "z_m_qq_breit_wigner", "y_qq-y_jj", "xi1_decay", "xi2_decay"]
    /// |z| beyond which a draw counts as outside (see the type's documentation).
    public static let zReach = 8.0

    /// What the residuals of a detector event are measured from: the measured lepton pTs and
    /// azimuths, the dijet rapidity and the decay frame (e1, e2, pole) of jet 1 in the dijet's
    /// rest frame (e1 along beam x pole: invariant under rotations about the beam).
    public struct Frame {
        public let event: DetectorEvent
        let minusAxis: (Double, Double), plusAxis: (Double, Double), dijetRapidity: Double
        let e1: (Double, Double, Double), e2: (Double, Double, Double), pole: (Double, Double, Double)

        public init(_ d: DetectorEvent) {
            event = d
            minusAxis = (cos(d.leptonMinus.phi), sin(d.leptonMinus.phi)); plusAxis = (cos(d.leptonPlus.phi), sin(d.leptonPlus.phi))
            let dijet = d.jets[0] + d.jets[1]
            dijetRapidity = dijet.rapidity
            let j = d.jets[0].inRestFrame(of: dijet)
            let p = j.p > 0 ? (j.px / j.p, j.py / j.p, j.pz / j.p) : (0, 0, 1)
            pole = p
            let t = (p.0 * p.0 + p.1 * p.1).squareRoot()
            e1 = t > 1e-12 ? (-p.1 / t, p.0 / t, 0) : (1, 0, 0)
            e2 = (p.1 * e1.2 - p.2 * e1.1, p.2 * e1.0 - p.0 * e1.2, p.0 * e1.1 - p.1 * e1.0)
        }
    }

    /// y of the hard event behind a selected detector event, with a = the quark matched to jet 1
    /// and z from the Breit-Wigner of `lineShape` (the W mass and width the event was generated
    /// with); nil unless the event has exactly two jets matched to the quarks.
    public static func residual(hard: HardEvent, detector d: DetectorEvent, matching: FastDetector, lineShape: ZWDensity) -> [Double]? {
        guard d.jets.count == 2, let (jetOfQuark1, _) = matching.match(quarks: (hard.quark1, hard.quark2), jets: d.jets) else { return nil }
        let (a, b) = jetOfQuark1 == 0 ? (hard.quark1, hard.quark2) : (hard.quark2, hard.quark1)
        let frame = Frame(d)
        let w = a + b
        let u = lineShape.wMassCDF(w.mass)
        guard u > 0, u < 1 else { return nil }
        let z = gsl_cdf_ugaussian_Pinv(u)
        let rest = a.inRestFrame(of: w)
        let n = (rest.px / rest.p, rest.py / rest.p, rest.pz / rest.p)
        let x = n.0 * frame.e1.0 + n.1 * frame.e1.1 + n.2 * frame.e1.2, y = n.0 * frame.e2.0 + n.1 * frame.e2.1 + n.2 * frame.e2.2
        let c = n.0 * frame.pole.0 + n.1 * frame.pole.1 + n.2 * frame.pole.2
        guard c > -1 + 1e-12, abs(z) < zReach else { return nil }
        return [log(hard.leptonMinus.pT / d.leptonMinus.pT), log(hard.leptonPlus.pT / d.leptonPlus.pT), z,
                w.rapidity - frame.dijetRapidity, x / (1 + c), y / (1 + c)]
    }

    /// v of y (pointer to 6 numbers) for the event of `frame`, m_qq from the Breit-Wigner of
    /// `lineShape`, and log|dv/dy|; nil where y maps outside the phase space (|z| >= zReach, a
    /// quark along the beam).
    @inline(__always)
    public static func labVariables(_ r: UnsafePointer<Double>, frame: Frame, lineShape: ZWDensity) -> (v: EventLikelihood.LabVariables, logJacobian: Double)? {
        let z = r[2]
        guard abs(z) < zReach else { return nil }
        let d = frame.event
        let pMinus = d.leptonMinus.pT * exp(r[0]), pPlus = d.leptonPlus.pT * exp(r[1])
        let u = z < 0 ? gsl_cdf_ugaussian_P(z) : 1 - gsl_cdf_ugaussian_Q(z)
        let m = lineShape.wMassQuantile(u), bw = lineShape.wMassDensity(m)
        guard m > 0, bw > 0 else { return nil }
        let wx = -(pMinus * frame.minusAxis.0 + pPlus * frame.plusAxis.0), wy = -(pMinus * frame.minusAxis.1 + pPlus * frame.plusAxis.1)
        let rapidity = frame.dijetRapidity + r[3]
        let mT = (m * m + wx * wx + wy * wy).squareRoot()
        let w = FourMomentum(e: mT * cosh(rapidity), px: wx, py: wy, pz: mT * sinh(rapidity))
        let s = r[4] * r[4] + r[5] * r[5]
        let nx = 2 * r[4] / (1 + s), ny = 2 * r[5] / (1 + s), nz = (1 - s) / (1 + s)
        let half = 0.5 * m
        let rest = FourMomentum(e: half, px: half * (nx * frame.e1.0 + ny * frame.e2.0 + nz * frame.pole.0),
                                py: half * (nx * frame.e1.1 + ny * frame.e2.1 + nz * frame.pole.1),
                                pz: half * (nx * frame.e1.2 + ny * frame.e2.2 + nz * frame.pole.2))
        let a = rest.boosted(by: w.boostVector)
        let b = FourMomentum(e: w.e - a.e, px: w.px - a.px, py: w.py - a.py, pz: w.pz - a.pz)
        let pTa = a.pT
        guard pTa > 0, b.pT > 0 else { return nil }
        let etaA = a.eta, etaB = b.eta
        guard etaA.isFinite, etaB.isFinite else { return nil }
        let v = EventLikelihood.LabVariables(leptonMinusPT: pMinus, leptonPlusPT: pPlus, freeQuarkPT: pTa, freeQuarkEta: etaA,
                                             freeQuarkPhi: a.phi, otherQuarkEta: etaB)
        let logJacobian = log(pMinus) + log(pPlus) + log(half / pTa) + (-0.5 * z * z - 0.5 * log(2 * Double.pi) - log(bw))
            + log(4 / ((1 + s) * (1 + s)))
        return (v, logJacobian)
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

/// The MEM's flow proposal: a conditional INN q(y | x_d) over `MEMResidual` coordinates, trained
/// by maximum likelihood on paired zw events (the unfolding cINN of thesis ch. 5 in the MEM's
/// integration variables), with the standardisations of r and of the condition.
///
/// Support: the flow's density is positive on all of R^6, so every point where the integrand is
/// positive can be drawn; draws that land outside the phase space (|z| >= 8, a quark along the beam, a
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

    /// The training pairs (y, condition) of events with exactly two matched jets, as Double rows.
    /// `generated`: consecutive runs of events and the parameters they were generated with (their
    /// W mass and width set z); nil: all at the default parameters.
    public static func trainingRows(_ events: [(hard: HardEvent, detector: DetectorEvent)], matching: FastDetector,
                                    generated: [(parameters: ZWParameters, events: Int)]? = nil) throws -> (residual: [Double], condition: [Double], rows: Int) {
        let runs = generated ?? [(ZWParameters(), events.count)]
        guard runs.reduce(0, { $0 + $1.events }) == events.count else {
            throw RefoldError.value("events in the runs of generation parameters", expected: "\(events.count)", actual: runs.reduce(0) { $0 + $1.events })
        }
        var residual: [Double] = [], condition: [Double] = [], rows = 0, start = 0
        for run in runs {
            let lineShape = try ZWDensity(parameters: run.parameters)
            for e in events[start..<(start + run.events)] {
                guard let r = MEMResidual.residual(hard: e.hard, detector: e.detector, matching: matching, lineShape: lineShape) else { continue }
                residual += r; condition += MEMResidual.condition(e.detector); rows += 1
            }
            start += run.events
        }
        return (residual, condition, rows)
    }

    /// Trains a proposal on `events` by maximum likelihood. With a `folder`, `proposal.json` is
    /// written before the first epoch and the trainer's checkpoint (with the optimizer) after
    /// every epoch, both atomically; `resume` continues from them (the standardisations and the
    /// architecture come from the folder).
    public static func train(events: [(hard: HardEvent, detector: DetectorEvent)], matching: FastDetector,
                             generated: [(parameters: ZWParameters, events: Int)]? = nil, config: ConditionalINNConfig = quickConfig, training: TrainingConfig, seed: UInt64,
                             folder: URL? = nil, resume: Bool = false,
                             progress: (EpochReport) -> Void = { _ in }) throws -> (proposal: MEMProposal, history: [EpochReport]) {
        let data = try trainingRows(events, matching: matching, generated: generated)
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

    /// K draws of y per event and log q(y | x_d) (in y, the standardisation's Jacobian included):
    /// y event-major [N K 6] in Double, log q [N K].
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
        try ModelManifest.write(folder, seed: seed)
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
        try ModelManifest.verify(folder)
        let url = folder.appendingPathComponent("proposal.json")
        let description = try readJSON(Description.self, from: url, needs: "a MEM proposal folder (refold train mem) needs proposal.json",
                                       what: "a MEM proposal description")
        guard description.kind == kind else { throw RefoldError.file(url.path, "kind: expected '\(kind)', got '\(description.kind)'") }
        guard description.residualNames == MEMResidual.names else {
            throw RefoldError.file(url.path, "residual coordinates \(description.residualNames): trained before the resonance-aligned coordinates \(MEMResidual.names); train it again (refold train mem)")
        }
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
