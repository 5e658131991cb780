import Autograd
import Flows
import Foundation
import Physics
import Tensor

/// A learned transfer density W_learned(x_d | x_p) ("two invertible networks", talk 004): two
/// conditional INNs with the roles of the unfolding cINN swapped (detector given parton), trained
/// by maximum likelihood on the pairs of a paired sample, in place of the closed-form response
/// densities of `TransferDensity`:
///
///     W_learned = 1[support] q_l(r_l | c_l) / (pT'(l-) pT'(l+)) [J(j1 | q1) J(j2 | q2) + J(j2 | q1) J(j1 | q2)],
///     J(j | q) = q_j(r_j | c_q) / (pT'(j) m'(j)),
///
/// - jets: r_j = (log pT'/pT_q, eta' - eta_q, phi' - phi_q wrapped, log m'/pT') given
///   c_q = (log pT_q, |eta_q|), one flow for every jet (|d r_j / d(pT', eta', phi', m')| =
///   1 / (pT' m')); the detector smears the jets of the two quarks independently, so the jet-parton
///   assignment sum is written out as in the analytic W, and in the MEM's labelled space (quark a
///   behind jet 1) a single term J(j1 | a) J(j2 | b) remains;
/// - leptons: r_l = (log pT'(l-)/pT(l-), log pT'(l+)/pT(l+)) given (log pT, |eta| of both, 1 for
///   electrons), one 2-dimensional flow (a coupling flow needs two dimensions);
/// - support, kept exact: the selection indicators (quarks not merged, jet cuts and ordering,
///   matching) and the lepton directions as measured. The detector keeps the lepton angles
///   exactly, so their transfer is a delta function, which no flow can learn (a density whose
///   width goes to zero); it is structure, not resolution, and stays the analytic one
///   (`TransferDensity.logLeptonDensity`'s support: directions within 1e-7, pT above the
///   reconstruction threshold).
///
/// What the flows cannot see from selected pairs: the lepton efficiencies (a factor per |eta|
/// region of the measured leptons, constant in every scan, so it leaves theta^ alone) and the
/// probability that a jet passes pT' > pT_min (the jet flow is normalised over recorded jets,
/// J / P(recorded | q), which matters only for quarks near the threshold): both are part of the
/// bias on theta that `refold mem --transfer learned` measures against the analytic W (docs/mem.md).
public final class LearnedTransfer {
    public let jet: ConditionalINN, lepton: ConditionalINN
    public let description: Description
    /// The exact support (see the type's documentation).
    public let support: TransferDensity

    public static let jetDimension = 4, jetConditionDimension = 2, leptonDimension = 2, leptonConditionDimension = 5
    public static let jetNames = ["log_pT_jet/pT_quark", "eta_jet-eta_quark", "phi_jet-phi_quark", "log_m_jet/pT_jet"]
    public static let leptonNames = ["log_pT_l-/pT", "log_pT_l+/pT"]

    /// Architecture, seed and standardisations (`transfer.json`).
    public struct Description: Codable {
        public var kind: String, config: ConditionalINNConfig, seed: UInt64
        public var jetScale: Standardizer, jetConditionScale: Standardizer, leptonScale: Standardizer, leptonConditionScale: Standardizer
        public var jetNames: [String], leptonNames: [String], trainingPairs: Int
    }

    public init(description: Description, detector: FastDetector = FastDetector()) throws {
        self.description = description
        support = try TransferDensity(detector: detector)
        let rng = RNGStream(seed: description.seed)
        jet = ConditionalINN(partonDimension: Self.jetDimension, detectorDimension: Self.jetConditionDimension, config: description.config,
                             rng: rng.child("transfer-jet"))
        lepton = ConditionalINN(partonDimension: Self.leptonDimension, detectorDimension: Self.leptonConditionDimension, config: description.config,
                                rng: rng.child("transfer-lepton"))
    }

    /// The quick architecture: 6 blocks of 2 x 32, condition network 2 x 32 -> 8, no MMD.
    public static let quickConfig = ConditionalINNConfig(blocks: 6, layersPerBlock: 2, unitsPerLayer: 32, conditionLayers: 2,
                                                         conditionUnits: 32, conditionOutput: 8, mmdWeight: WeightSchedule(initial: 0))

    // MARK: Coordinates

    /// r_j of a recorded jet given its parton (see the type's documentation); nil for a jet without mass.
    public static func jetResidual(_ j: FourMomentum, given q: FourMomentum) -> [Double]? {
        let m = j.mass
        guard j.pT > 0, q.pT > 0, m > 0 else { return nil }
        return [log(j.pT / q.pT), j.eta - q.eta, FourMomentum.wrapPhi(j.phi - q.phi), log(m / j.pT)]
    }
    public static func jetCondition(_ q: FourMomentum) -> [Double] { [log(q.pT), abs(q.eta)] }
    /// log |d r_j / d(pT', eta', phi', m')|.
    static func jetLogJacobian(_ j: FourMomentum) -> Double { -log(j.pT) - log(j.mass) }

    public static func leptonResidual(_ d: DetectorEvent, given h: HardEvent) -> [Double] {
        [log(d.leptonMinus.pT / h.leptonMinus.pT), log(d.leptonPlus.pT / h.leptonPlus.pT)]
    }
    public static func leptonCondition(_ h: HardEvent) -> [Double] {
        [log(h.leptonMinus.pT), abs(h.leptonMinus.eta), log(h.leptonPlus.pT), abs(h.leptonPlus.eta), h.flavour == .electron ? 1 : 0]
    }

    /// The training rows of events with exactly two jets matched to the quarks: two jet pairs and
    /// one lepton pair per event.
    public static func trainingRows(_ events: [(hard: HardEvent, detector: DetectorEvent)], matching: FastDetector)
        -> (jet: [Double], jetCondition: [Double], lepton: [Double], leptonCondition: [Double], events: Int) {
        var rows: (jet: [Double], jetCondition: [Double], lepton: [Double], leptonCondition: [Double], events: Int) = ([], [], [], [], 0)
        for e in events {
            let d = e.detector, h = e.hard
            guard d.jets.count == 2, let (jetOfQuark1, jetOfQuark2) = matching.match(quarks: (h.quark1, h.quark2), jets: d.jets),
                  let r1 = jetResidual(d.jets[jetOfQuark1], given: h.quark1), let r2 = jetResidual(d.jets[jetOfQuark2], given: h.quark2) else { continue }
            rows.jet += r1 + r2; rows.jetCondition += jetCondition(h.quark1) + jetCondition(h.quark2)
            rows.lepton += leptonResidual(d, given: h); rows.leptonCondition += leptonCondition(h)
            rows.events += 1
        }
        return rows
    }

    // MARK: Densities

    /// log q(r | c) of a flow for rows r, c (row-major Double), the standardisation's Jacobian included.
    static func logDensity(_ flow: ConditionalINN, scale: Standardizer, conditionScale: Standardizer, rows r: [Double], conditions c: [Double]) -> [Double] {
        let d = scale.dimension, n = r.count / d
        guard n > 0 else { return [] }
        var x = [Float](repeating: 0, count: n * d), y = [Float](repeating: 0, count: n * conditionScale.dimension)
        for i in 0..<(n * d) { x[i] = Float((r[i] - scale.mean[i % d]) / scale.std[i % d]) }
        let cd = conditionScale.dimension
        for i in 0..<(n * cd) { y[i] = Float((c[i] - conditionScale.mean[i % cd]) / conditionScale.std[i % cd]) }
        let logScale = scale.std.reduce(0) { $0 + log($1) }
        let values = withNoGrad {
            flow.logLikelihood(partonLevel: Variable(Tensor(shape: [n, d], storage: x)), detectorLevel: Variable(Tensor(shape: [n, cd], storage: y))).value.storage
        }
        return values.map { Double($0) - logScale }
    }

    /// log J(j | q) for pairs (jets[i], partons[i]), batched; -infinity for a massless jet.
    public func logJetDensities(_ jets: [FourMomentum], given partons: [FourMomentum]) -> [Double] {
        var rows: [Double] = [], conditions: [Double] = [], index: [Int] = []
        for i in jets.indices {
            guard let r = Self.jetResidual(jets[i], given: partons[i]) else { continue }
            rows += r; conditions += Self.jetCondition(partons[i]); index.append(i)
        }
        let q = Self.logDensity(jet, scale: description.jetScale, conditionScale: description.jetConditionScale, rows: rows, conditions: conditions)
        var result = [Double](repeating: -.infinity, count: jets.count)
        for (k, i) in index.enumerated() { result[i] = q[k] + Self.jetLogJacobian(jets[i]) }
        return result
    }

    /// log of the learned lepton response of `detected` for each hard event (no efficiency, see
    /// the type's documentation); -infinity off the exact support.
    public func logLeptonDensities(_ detected: DetectorEvent, given hards: [HardEvent]) -> [Double] {
        var rows: [Double] = [], conditions: [Double] = [], index: [Int] = []
        for (i, h) in hards.enumerated() {
            guard support.logLeptonDensity(detected.leptonMinus, given: h.leptonMinus, h.flavour) > -.infinity,
                  support.logLeptonDensity(detected.leptonPlus, given: h.leptonPlus, h.flavour) > -.infinity else { continue }
            rows += Self.leptonResidual(detected, given: h); conditions += Self.leptonCondition(h); index.append(i)
        }
        let q = Self.logDensity(lepton, scale: description.leptonScale, conditionScale: description.leptonConditionScale, rows: rows, conditions: conditions)
        var result = [Double](repeating: -.infinity, count: hards.count)
        for (k, i) in index.enumerated() { result[i] = q[k] - log(detected.leptonMinus.pT) - log(detected.leptonPlus.pT) }
        return result
    }

    /// log W_learned(x_d | x_p) for one detector event and several hard events, with the sum over
    /// the two jet-parton assignments (the counterpart of `TransferDensity.logDensity`, without
    /// the lepton efficiencies).
    public func logDensities(_ detected: DetectorEvent, given hards: [HardEvent]) -> [Double] {
        let kept = hards.indices.filter { support.selects(detected, given: hards[$0]) }
        guard !kept.isEmpty else { return [Double](repeating: -.infinity, count: hards.count) }
        let j1 = detected.jets[0], j2 = detected.jets[1]
        var jets: [FourMomentum] = [], partons: [FourMomentum] = []
        for i in kept { jets += [j1, j2, j2, j1]; partons += [hards[i].quark1, hards[i].quark2, hards[i].quark1, hards[i].quark2] }
        let logJ = logJetDensities(jets, given: partons)
        let logL = logLeptonDensities(detected, given: kept.map { hards[$0] })
        var result = [Double](repeating: -.infinity, count: hards.count)
        for (k, i) in kept.enumerated() {
            let straight = logJ[4 * k] + logJ[4 * k + 1], crossed = logJ[4 * k + 2] + logJ[4 * k + 3], top = max(straight, crossed)
            result[i] = top > -.infinity ? logL[k] + top + log(exp(straight - top) + exp(crossed - top)) : -.infinity
        }
        return result
    }

    /// The MEM's single-assignment transfer of lab points (quark a behind jet 1, `EventLikelihood.logTransfer`), batched.
    public func logTransfers(_ detected: DetectorEvent, points: [EventLikelihood.Point]) -> [Double] {
        let kept = points.indices.filter { support.selects(detected, given: points[$0].hard) }
        guard !kept.isEmpty else { return [Double](repeating: -.infinity, count: points.count) }
        var jets: [FourMomentum] = [], partons: [FourMomentum] = []
        for i in kept { jets += [detected.jets[0], detected.jets[1]]; partons += [points[i].freeQuark, points[i].otherQuark] }
        let logJ = logJetDensities(jets, given: partons)
        let logL = logLeptonDensities(detected, given: kept.map { points[$0].hard })
        var result = [Double](repeating: -.infinity, count: points.count)
        for (k, i) in kept.enumerated() { result[i] = logL[k] + logJ[2 * k] + logJ[2 * k + 1] }
        return result
    }

    // MARK: Training and the model folder

    /// Trains both flows on `events` by maximum likelihood (the jet flow first, then the lepton
    /// flow), each with its own `FlowTrainer` (NaN guard, progress) and, with a `folder`, its own
    /// checkpoint after every epoch; `transfer.json` is written before the first epoch, and
    /// `resume` continues both flows from the folder.
    public static func train(events: [(hard: HardEvent, detector: DetectorEvent)], matching: FastDetector, config: ConditionalINNConfig = quickConfig,
                             training: TrainingConfig, seed: UInt64, folder: URL? = nil, resume: Bool = false,
                             progress: (String, EpochReport) -> Void = { _, _ in }) throws -> (transfer: LearnedTransfer, history: [EpochReport]) {
        let rows = trainingRows(events, matching: matching)
        guard 2 * rows.events >= training.batchSize else {
            throw RefoldError.value("learned transfer training events with two matched jets", expected: ">= \((training.batchSize + 1) / 2) (one batch of jets)", actual: rows.events)
        }
        let jetData = Tensor(shape: [2 * rows.events, jetDimension], storage: rows.jet.map(Float.init))
        let jetConditions = Tensor(shape: [2 * rows.events, jetConditionDimension], storage: rows.jetCondition.map(Float.init))
        let leptonData = Tensor(shape: [rows.events, leptonDimension], storage: rows.lepton.map(Float.init))
        let leptonConditions = Tensor(shape: [rows.events, leptonConditionDimension], storage: rows.leptonCondition.map(Float.init))
        let transfer: LearnedTransfer
        if resume {
            guard let folder else { throw RefoldError.value("learned transfer resume", expected: "a model folder", actual: "none") }
            transfer = try read(from: folder, detector: matching)
        } else {
            let description = Description(kind: kind, config: config, seed: seed, jetScale: try Standardizer(fitting: jetData),
                                          jetConditionScale: try Standardizer(fitting: jetConditions), leptonScale: try Standardizer(fitting: leptonData),
                                          leptonConditionScale: try Standardizer(fitting: leptonConditions), jetNames: jetNames, leptonNames: leptonNames,
                                          trainingPairs: rows.events)
            transfer = try LearnedTransfer(description: description, detector: matching)
            if let folder { try transfer.writeDescription(to: folder) }
        }
        let d = transfer.description
        var history: [EpochReport] = []
        for (name, flow, data, conditions, scale, conditionScale) in [
            ("jet", transfer.jet, jetData, jetConditions, d.jetScale, d.jetConditionScale),
            ("lepton", transfer.lepton, leptonData, leptonConditions, d.leptonScale, d.leptonConditionScale),
        ] {
            let checkpoint = folder?.appendingPathComponent(checkpointFile(name))
            let trainer = try FlowTrainer(model: flow, config: training, rng: RNGStream(seed: d.seed).child("transfer-training").child(name),
                                          checkpoint: checkpoint, metadata: ["kind": kind, "flow": name])
            if resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) { try trainer.resume(from: checkpoint) }
            history += try trainer.train(partonLevel: try scale.transform(data), detectorLevel: try conditionScale.transform(conditions)) { progress(name, $0) }
        }
        return (transfer, history)
    }

    public func write(to folder: URL) throws {
        try writeDescription(to: folder)
        for (name, flow) in [("jet", jet), ("lepton", lepton)] {
            try Checkpoint.save(module: flow, metadata: ["kind": Self.kind, "flow": name], to: folder.appendingPathComponent(Self.checkpointFile(name)))
        }
    }

    func writeDescription(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeJSONAtomically(description, to: folder.appendingPathComponent(Self.descriptionFile))
    }

    /// Reads a folder written by `refold train transfer`; errors name the file.
    public static func read(from folder: URL, detector: FastDetector = FastDetector()) throws -> LearnedTransfer {
        let url = folder.appendingPathComponent(descriptionFile)
        let d = try readJSON(Description.self, from: url, needs: "a learned transfer folder (refold train transfer) needs \(descriptionFile)",
                             what: "a learned transfer description")
        guard d.kind == kind else { throw RefoldError.file(url.path, "kind: expected '\(kind)', got '\(d.kind)'") }
        guard d.jetNames == jetNames, d.leptonNames == leptonNames else {
            throw RefoldError.file(url.path, "coordinates: expected \(jetNames) and \(leptonNames), got \(d.jetNames) and \(d.leptonNames)")
        }
        guard d.jetScale.dimension == jetDimension, d.jetConditionScale.dimension == jetConditionDimension,
              d.leptonScale.dimension == leptonDimension, d.leptonConditionScale.dimension == leptonConditionDimension else {
            throw RefoldError.file(url.path, "standardisations: expected \(jetDimension), \(jetConditionDimension), \(leptonDimension) and \(leptonConditionDimension) columns, got "
                                   + "\(d.jetScale.dimension), \(d.jetConditionScale.dimension), \(d.leptonScale.dimension) and \(d.leptonConditionScale.dimension)")
        }
        let transfer = try LearnedTransfer(description: d, detector: detector)
        _ = try Checkpoint.load(into: transfer.jet, from: folder.appendingPathComponent(checkpointFile("jet")))
        _ = try Checkpoint.load(into: transfer.lepton, from: folder.appendingPathComponent(checkpointFile("lepton")))
        return transfer
    }

    static let kind = "mem-learned-transfer"
    public static let descriptionFile = "transfer.json"
    public static func checkpointFile(_ flow: String) -> String { "\(flow).safetensors" }
}
