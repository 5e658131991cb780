import Autograd
import Flows
import Foundation
import Physics
import Tensor
import Validation

/// The network and optimisation settings of one model (one of `cinn` / `inn` is set).
public struct UnfoldingNetwork: Codable, Equatable {
    /// inn, einn, cinn or cinn-isr.
    public var variant: NetworkVariant
    public var cinn: ConditionalINNConfig?
    public var inn: BidirectionalINNConfig?
    public var training: TrainingConfig

    /// The presets of docs/flows.md for `variant` and `profile`.
    /// `quick`: minutes on 2 cores; `paper`: thesis tables 5.1, 5.2.
    /// Throws for a variant that is not an unfolding flow.
    public static func preset(_ variant: NetworkVariant, profile: ProfileName) throws -> UnfoldingNetwork {
        let training = profile == .quick ? TrainingConfig.quick : TrainingConfig.paper
        switch variant {
        case .cinn:
            return UnfoldingNetwork(variant: variant, cinn: profile == .quick ? .quick : .paper, inn: nil, training: training)
        case .cinnISR:
            var quick = ConditionalINNConfig.quick
            quick.conditionLayers = 3
            quick.mmdWeight = WeightSchedule(initial: 0.04, factor: 1.6, everyEpochs: 100)
            return UnfoldingNetwork(variant: variant, cinn: profile == .quick ? quick : .paperISR, inn: nil, training: training)
        case .inn:
            return UnfoldingNetwork(variant: variant, cinn: nil, inn: profile == .quick ? .naiveQuick : .naivePaper, training: training)
        case .einn:
            return UnfoldingNetwork(variant: variant, cinn: nil, inn: profile == .quick ? .noiseExtendedQuick : .noiseExtendedPaper,
                                    training: training)
        default:
            throw RefoldError.value("unfolding flow variant", expected: "inn, einn, cinn or cinn-isr", actual: variant.rawValue)
        }
    }
}

/// `MODEL/config.json`: everything needed to rebuild the network and map events to features.
public struct UnfoldingModelConfig: Codable, Equatable {
    public var network: UnfoldingNetwork
    /// Drives the initialisation and permutations (child "model"), the split and the training.
    public var seed: UInt64
    public var partonColumns: [String]
    public var detectorColumns: [String]
    /// cinn-isr: jet counts 2, 3, 4+ as a one-hot vector appended to the detector features.
    public var jetCountCondition: [Int]
    public var partonFeatures: FeatureMap
    public var detectorFeatures: FeatureMap
    /// Names of the MMD observables (m_jj, m_ll) the loss uses.
    public var observables: [String]
    public var trainingEvents: Int
    public var validationEvents: Int
    public var source: String
    /// The detector-level column every azimuth is measured from (`phi_l-`): the events are
    /// rotated about the beam axis so that object sits at phi = 0, which removes a symmetry the
    /// network would otherwise have to learn. nil: absolute phi (configs written before it).
    public var azimuthReference: String?
    /// Parton columns the detector measures exactly (`CopyDecision`: in the azimuth frame, within
    /// 1e-6 of the detector column of the same name in every training event; the lepton
    /// directions of Refold's own detector). Their posterior is a delta, which a density cannot
    /// learn, so they are copied from the detector level instead of modelled. nil or empty: the
    /// network models every parton column.
    public var copiedColumns: [String]?
    /// The decision behind `copiedColumns`: the tolerance and each candidate's measured deviation
    /// on the training pairs (nil: configs written before it, the INNs).
    public var copyDecision: CopyDecision?
    /// The network models the quark pair's mass in place of pT_q1 (`PairMassCoordinate`).
    /// nil: every modelled column as it is (configs written before it, the INNs).
    public var pairMass: PairMassCoordinate?
    /// Or the pair in its decay coordinates (`ResonanceCoordinates`); at most one of the two is set.
    public var resonance: ResonanceCoordinates?
    /// The training sample's parton phase space; unfolding redraws samples outside it.
    /// nil: no constraint (configs written before it, the INNs).
    public var support: TrainingSupport?
    /// The condition network's autoencoder pre-training, if any (`ConditionalINN.pretrainCondition`).
    public var encoderPretraining: EncoderPretraining?
    /// Modelled angles as residuals to the detector objects that measure them (`AngleResiduals`),
    /// applied after the pair coordinates. nil: absolute angles (configs written before it).
    public var angleResiduals: AngleResiduals?
    /// The quark pair ordered by jet matching instead of pT before the pair coordinates
    /// (`JetMatchedPair`). nil: pT order.
    public var jetMatchedPair: JetMatchedPair?

    /// Parton block (in the azimuth frame) -> the block holding `networkColumns`.
    func networkCoordinates(_ parton: EventSample.Block) throws -> EventSample.Block {
        try Self.networkCoordinates(parton, pairMass: pairMass, resonance: resonance)
    }

    static func networkCoordinates(_ parton: EventSample.Block, pairMass: PairMassCoordinate?,
                                   resonance: ResonanceCoordinates?) throws -> EventSample.Block {
        if let resonance { return try resonance.forward(parton) }
        if let pairMass { return try pairMass.forward(parton) }
        return parton
    }

    /// The inverse of `networkCoordinates` (the copied columns in `block` too).
    func partonCoordinates(_ block: EventSample.Block) throws -> EventSample.Block {
        if let resonance { return try resonance.inverse(block) }
        if let pairMass { return try pairMass.inverse(block) }
        return block
    }

    /// The parton columns the network models (sampled, not copied), in order.
    public var modelledColumns: [String] {
        let copied = Set(copiedColumns ?? [])
        return partonColumns.filter { !copied.contains($0) }
    }

    /// The network's coordinates: `modelledColumns`, with the pair mass if used.
    public var networkColumns: [String] { partonFeatures.columns }
}

extension EventSample.Block {
    /// The named columns, in the order given (each must exist).
    func selecting(_ names: [String]) throws -> EventSample.Block {
        let indices = try names.map { name -> Int in
            guard let j = index(of: name) else { throw RefoldError.value("column \(name)", expected: "one of \(columns)", actual: "missing") }
            return j
        }
        var values = [Double](); values.reserveCapacity(rows * names.count)
        for i in 0..<rows { for j in indices { values.append(self.values[i * columns.count + j]) } }
        return EventSample.Block(columns: names, rows: rows, values: values)
    }
}

/// Rotation about the beam axis into the frame of one detector-level object and back.
/// phi columns become wrap(phi - phi_ref) in (-pi, pi]; zero-padded objects (pT = 0) stay 0.
struct AzimuthFrame {
    /// phi_ref per detector-level event.
    let reference: [Double]

    init(zeros events: Int) { reference = [Double](repeating: 0, count: events) }

    init(detector: EventSample.Block, column: String) throws {
        guard let j = detector.index(of: column) else {
            throw RefoldError.value("azimuth reference", expected: "a detector column \(column)", actual: detector.columns)
        }
        reference = (0..<detector.rows).map { detector[$0, j] }
    }

    /// Into the frame (`inverse` false) or back to the lab (`inverse` true). `block` has
    /// `repeats` consecutive rows per detector-level event (K samples per event when unfolding).
    func rotate(_ block: EventSample.Block, inverse: Bool, repeats: Int = 1) -> EventSample.Block {
        var values = block.values
        let d = block.columns.count
        let sign = inverse ? 1.0 : -1.0
        let phis = block.columns.enumerated().filter { $0.element.hasPrefix("phi_") }.map { entry in
            (phi: entry.offset, pT: block.columns.firstIndex(of: "pT_" + entry.element.dropFirst(4)))
        }
        for row in 0..<block.rows {
            let ref = reference[row / repeats]
            for (phi, pT) in phis {
                if let pT, values[row * d + pT] == 0 { continue }
                values[row * d + phi] = FourMomentum.wrapPhi(values[row * d + phi] + sign * ref)
            }
        }
        return EventSample.Block(columns: block.columns, rows: block.rows, values: values)
    }
}

/// A model folder: `config.json` (variant, network, feature maps, seed, columns) and
/// `checkpoint.safetensors` (written atomically after every epoch by FlowTrainer).
public final class UnfoldingModel {
    public let config: UnfoldingModelConfig
    public let flow: any UnfoldingFlow
    public let folder: URL

    public static let configFile = "config.json"
    public static let checkpointFile = "checkpoint.safetensors"
    public static let jetCounts = [2, 3, 4]

    public var checkpoint: URL { folder.appendingPathComponent(Self.checkpointFile) }

    /// Builds the network of `config` (weights as initialised from `config.seed`).
    public init(config: UnfoldingModelConfig, folder: URL) throws {
        self.config = config
        self.folder = folder
        let rng = RNGStream(seed: config.seed).child("model")
        let dp = config.networkColumns.count, dd = config.detectorColumns.count + config.jetCountCondition.count
        let parton = Self.observables(config.observables, map: config.partonFeatures)
        switch config.network.variant {
        case .cinn, .cinnISR:
            guard let c = config.network.cinn else { throw RefoldError.value("config.network.cinn", expected: "a cINN config", actual: "none") }
            flow = ConditionalINN(partonDimension: dp, detectorDimension: dd, config: c, observables: parton, rng: rng)
        case .inn, .einn:
            guard let c = config.network.inn else { throw RefoldError.value("config.network.inn", expected: "an INN config", actual: "none") }
            let detector = Self.observables(config.observables, map: config.detectorFeatures)
            flow = try BidirectionalINN(partonDimension: dp, detectorDimension: dd, config: c,
                                        partonObservables: parton, detectorObservables: detector, rng: rng)
        default:
            throw RefoldError.file(folder.appendingPathComponent(Self.configFile).path,
                                   "network.variant: expected inn, einn, cinn or cinn-isr, got \(config.network.variant.rawValue)")
        }
    }

    /// Reads `config.json` and the checkpoint of `folder`.
    public static func load(from folder: URL) throws -> UnfoldingModel {
        try ModelManifest.verify(folder)
        let url = folder.appendingPathComponent(configFile)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RefoldError.file(url.path, "missing: a model folder needs config.json (written by refold train)")
        }
        let config: UnfoldingModelConfig
        do { config = try JSONDecoder().decode(UnfoldingModelConfig.self, from: data) } catch {
            throw RefoldError.file(url.path, "not a model config: \(error)")
        }
        let model = try UnfoldingModel(config: config, folder: folder)
        guard FileManager.default.fileExists(atPath: model.checkpoint.path) else {
            throw RefoldError.file(model.checkpoint.path, "missing: the model has no finished epoch yet")
        }
        try Checkpoint.load(into: model.flow, from: model.checkpoint)
        return model
    }

    public func writeConfig() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(config), to: folder.appendingPathComponent(Self.configFile))
    }

    // MARK: Features

    /// The azimuth frame of these detector-level events, if the model uses one.
    func frame(_ detector: EventSample.Block) throws -> AzimuthFrame? {
        try config.azimuthReference.map { try AzimuthFrame(detector: detector, column: $0) }
    }

    /// Detector columns -> network condition: standardised features, plus the one-hot jet count.
    public func detectorTensor(_ detector: EventSample.Block, njets: [Int]?) throws -> Tensor {
        guard detector.columns == config.detectorColumns else {
            throw RefoldError.value("detector columns", expected: "\(config.detectorColumns)", actual: detector.columns)
        }
        let rotated = try frame(detector)?.rotate(detector, inverse: false) ?? detector
        let features = try config.detectorFeatures.tensor(rotated)
        guard !config.jetCountCondition.isEmpty else { return features }
        guard let njets, njets.count == detector.rows else {
            throw RefoldError.value("njets", expected: "\(detector.rows) jet counts (njets.npy) for \(config.network.variant.rawValue)",
                                    actual: njets.map { "\($0.count)" } ?? "none")
        }
        let counts = config.jetCountCondition
        var oneHot = Tensor(shape: [detector.rows, counts.count])
        for (i, n) in njets.enumerated() {
            let slot = counts.lastIndex(where: { $0 <= n }) ?? 0
            oneHot[i, slot] = 1
        }
        return concat([features, oneHot])
    }

    /// Parton columns -> network features, in the azimuth frame of the paired detector events.
    public func partonTensor(_ parton: EventSample.Block, detector: EventSample.Block) throws -> Tensor {
        guard parton.columns == config.partonColumns else {
            throw RefoldError.value("parton columns", expected: "\(config.partonColumns)", actual: parton.columns)
        }
        let eventFrame = try frame(detector)
        let rotated = eventFrame?.rotate(parton, inverse: false) ?? parton
        let measured = eventFrame?.rotate(detector, inverse: false) ?? detector
        var coordinates = try config.networkCoordinates(try config.jetMatchedPair?.forward(rotated, detector: measured) ?? rotated)
        if let residuals = config.angleResiduals { coordinates = try residuals.forward(coordinates, detector: measured) }
        return try config.partonFeatures.tensor(try coordinates.selecting(config.networkColumns))
    }

    /// K parton-level samples per detector-level event in physical units and the parton column
    /// order: values [N, K, D_p] row-major.
    /// With a `support` a sample outside the training phase space (`TrainingSupport`) is
    /// redrawn (stream `rng.child("support").child(index: round)`, at most `supportRounds`
    /// rounds); `redrawnSamples` counts them, `outsideSupport` those left after the last round.
    public func unfold(detector: EventSample.Block, njets: [Int]?, samples: Int, rng: RNGStream) throws -> UnfoldedSamples {
        var lab = try draw(detector: detector, njets: njets, samples: samples, rng: rng)
        var outside = try config.support?.violations(lab) ?? []
        let redrawnSamples = outside.count, d = lab.columns.count
        var round = 0
        while !outside.isEmpty, round < Self.supportRounds {
            let events = outside.map { $0 / samples }
            let subset = detector.rows(events)
            let redrawn = try draw(detector: subset, njets: njets.map { counts in events.map { counts[$0] } }, samples: 1,
                                   rng: rng.child("support").child(index: round))
            let still = Set(try config.support!.violations(redrawn))
            var left: [Int] = []
            for (k, row) in outside.enumerated() {
                if still.contains(k) { left.append(row); continue }
                lab.values.replaceSubrange((row * d)..<((row + 1) * d), with: redrawn.values[(k * d)..<((k + 1) * d)])
            }
            outside = left
            round += 1
        }
        return UnfoldedSamples(columns: config.partonColumns, events: detector.rows, samplesPerEvent: samples, values: lab.values,
                               redrawnSamples: redrawnSamples, outsideSupport: outside.count)
    }

    /// Redraw rounds for samples outside the training support.
    public static let supportRounds = 100

    /// The largest |network coordinate| a draw may have. The network's coordinates are the
    /// parton features standardised on the training sample (`FeatureMap`: mean 0, standard
    /// deviation 1 over the training events), and a flow trained on them maps its unit-Gaussian
    /// latent onto that distribution. By Chebyshev's inequality any distribution of unit variance
    /// puts at most 1/k^2 of its mass beyond k standard deviations: at k = 10^4 at most 10^-8 (and
    /// a flow's near-Gaussian tails put practically nothing there). A draw beyond it comes from weights that do
    /// not describe the training data (a corrupted checkpoint: finite weights of 1e30 make a plain
    /// INN draw 1e28, which float arithmetic would carry into finite but meaningless samples).
    /// Checked for every variant, before anything is mapped back to physical units.
    public static let maximumFeatureDeviation: Float = 1e4

    /// K samples per event through the network, back in the parton columns and the lab frame:
    /// rows event-major (N K rows).
    private func draw(detector: EventSample.Block, njets: [Int]?, samples: Int, rng: RNGStream) throws -> EventSample.Block {
        let condition = try detectorTensor(detector, njets: njets)
        let drawn = try flow.sample(detectorLevel: condition, count: samples, rng: rng)
        let rows = detector.rows * samples
        // No sample is mapped back from inf, NaN or a value no model of the training data draws.
        if let i = drawn.storage.firstIndex(where: { !(abs($0) <= Self.maximumFeatureDeviation) }) {
            let width = config.networkColumns.count
            throw RefoldError.file(checkpoint.path, "the network drew \(drawn.storage[i]) for \(config.networkColumns[i % width]) of event "
                                   + "\(i / width / samples) (sample \(i / width % samples)), expected a finite value within "
                                   + "±\(Int(Self.maximumFeatureDeviation)) standard deviations of the training data: the weights are corrupted or diverged")
        }
        let block = EventSample.Block(columns: config.networkColumns, rows: rows, values: drawn.storage.map(Double.init))
        // The angles back from their residuals to the (rotated) detector objects, the copied
        // columns beside the network's, then the pair's pT back from its mass, then the parton
        // column order.
        let eventFrame = try frame(detector) ?? AzimuthFrame(zeros: detector.rows)
        let measured = eventFrame.rotate(detector, inverse: false)
        var sampled = try config.partonFeatures.events(block)
        if let residuals = config.angleResiduals { sampled = try residuals.inverse(sampled, detector: measured, repeats: samples) }
        let copied = config.copiedColumns ?? []
        let copiedIndex = try copied.map { name -> Int in
            guard let j = measured.index(of: name) else { throw RefoldError.value("copied column \(name)", expected: "a detector column", actual: "missing") }
            return j
        }
        let dn = sampled.columns.count, dc = copied.count
        var merged = [Double](); merged.reserveCapacity(rows * (dn + dc))
        for row in 0..<rows {
            merged.append(contentsOf: sampled.values[(row * dn)..<((row + 1) * dn)])
            for j in copiedIndex { merged.append(measured[row / samples, j]) }
        }
        let combined = EventSample.Block(columns: sampled.columns + copied, rows: rows, values: merged)
        var physical = try config.partonCoordinates(combined)
        if let matched = config.jetMatchedPair { physical = try matched.inverse(physical) }
        let full = try physical.selecting(config.partonColumns)
        // Back to the lab frame; without a frame the rotation by 0 still wraps phi into (-pi, pi].
        return eventFrame.rotate(full, inverse: true, repeats: samples)
    }

    // MARK: Differentiable observables

    /// m_jj (q1, q2 or j1, j2) and m_ll from network-space vectors, for the MMD losses.
    static func observables(_ names: [String], map: FeatureMap) -> [Flows.Observable] {
        names.compactMap { name -> Flows.Observable? in
            if let j = map.columns.firstIndex(of: name) {
                return Flows.Observable(name: name) { x in physicalColumn(x, j, map: map) }
            }
            let pair: (String, String)
            switch name {
            case "m_ll": pair = ("l-", "l+")
            case "m_jj": pair = map.columns.contains("pT_q1") ? ("q1", "q2") : ("j1", "j2")
            default: return nil
            }
            guard let a = ParticleColumns(pair.0, map: map), let b = ParticleColumns(pair.1, map: map) else { return nil }
            return Flows.Observable(name: name) { x in pairMass(x, a, b, map: map) }
        }
    }

    /// The observables of `names` that `map`'s columns support.
    public static func supportedObservables(_ names: [String], map: FeatureMap) -> [String] {
        observables(names, map: map).map(\.name)
    }
}

/// Column indices of one particle (pT, eta, phi, optional m) in a feature map.
struct ParticleColumns {
    let pT: Int, eta: Int, phi: Int, m: Int?
    init?(_ name: String, map: FeatureMap) {
        guard let pT = map.columns.firstIndex(of: "pT_\(name)"), let eta = map.columns.firstIndex(of: "eta_\(name)"),
              let phi = map.columns.firstIndex(of: "phi_\(name)") else { return nil }
        self.pT = pT; self.eta = eta; self.phi = phi
        m = map.columns.firstIndex(of: "m_\(name)")
    }
}

/// One column of network-space features back in physical units (differentiable): x std + mean,
/// then exp(.) - offset for log-pT columns (the log clamped to [-5, 10] against overflow).
func physicalColumn(_ x: Variable, _ j: Int, map: FeatureMap) -> Variable {
    let raw = sliceColumns(x, start: j, count: 1) * Float(map.stds[j]) + Float(map.means[j])
    guard let offset = map.logOffsets[j] else { return raw }
    return exp(clamp(raw, min: -5, max: 10)) - Float(offset)
}

/// The invariant mass of two objects [N, 1] (GeV):
/// m^2 = m_a^2 + m_b^2 + 2 (E_T,a E_T,b cosh(Delta eta) - pT_a pT_b cos(Delta phi)), E_T = sqrt(pT^2 + m^2);
/// for massless partons m^2 = 2 pT_a pT_b (cosh(Delta eta) - cos(Delta phi)). Delta eta is clamped
/// to +-8 and m = sqrt(max(m^2, 0) + 0.01 GeV^2) keeps the gradient finite.
func pairMass(_ x: Variable, _ a: ParticleColumns, _ b: ParticleColumns, map: FeatureMap) -> Variable {
    let ptA = physicalColumn(x, a.pT, map: map), ptB = physicalColumn(x, b.pT, map: map)
    let dEta = clamp(physicalColumn(x, a.eta, map: map) - physicalColumn(x, b.eta, map: map), min: -8, max: 8)
    let dPhi = physicalColumn(x, a.phi, map: map) - physicalColumn(x, b.phi, map: map)
    let m2: Variable
    if let ma = a.m, let mb = b.m {
        let ma2 = square(physicalColumn(x, ma, map: map)), mb2 = square(physicalColumn(x, mb, map: map))
        let etA = sqrt(square(ptA) + ma2 + 1e-6), etB = sqrt(square(ptB) + mb2 + 1e-6)
        m2 = ma2 + mb2 + (etA * etB * cosh(dEta) - ptA * ptB * cos(dPhi)) * 2
    } else {
        m2 = ptA * ptB * (cosh(dEta) - cos(dPhi)) * 2
    }
    return sqrt(relu(m2) + 0.01)
}

/// Unfolded events: `values` [events, samplesPerEvent, columns] row-major, physical units.
public struct UnfoldedSamples {
    public var columns: [String]
    public var events: Int
    public var samplesPerEvent: Int
    public var values: [Double]
    /// Samples first drawn outside the training support and redrawn (`TrainingSupport`).
    public var redrawnSamples = 0
    /// Of those, samples still outside after the last redraw round.
    public var outsideSupport = 0

    public init(columns: [String], events: Int, samplesPerEvent: Int, values: [Double], redrawnSamples: Int = 0, outsideSupport: Int = 0) {
        self.columns = columns; self.events = events; self.samplesPerEvent = samplesPerEvent; self.values = values
        self.redrawnSamples = redrawnSamples; self.outsideSupport = outsideSupport
    }

    /// All samples as one block of events x samples rows (for histograms).
    public var block: EventSample.Block { EventSample.Block(columns: columns, rows: events * samplesPerEvent, values: values) }

    /// Sample k of event i, coordinate j.
    public subscript(event i: Int, sample k: Int, column j: Int) -> Double {
        values[(i * samplesPerEvent + k) * columns.count + j]
    }

    /// The first `events` events only.
    public func prefix(_ n: Int) -> UnfoldedSamples {
        let m = min(n, events)
        return UnfoldedSamples(columns: columns, events: m, samplesPerEvent: samplesPerEvent,
                               values: Array(values[0..<(m * samplesPerEvent * columns.count)]))
    }

    /// Writes `samples.npy` (N, K, D_p), float32.
    public func writeNPY(to url: URL) throws {
        try NPYArray(shape: [events, samplesPerEvent, columns.count], values: values, dtype: .float32).write(to: url)
    }
}
