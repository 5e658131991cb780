import Autograd
import Flows
import Foundation
import GAN
import Physics
import Tensor

/// The network of a generator model: an INN (`WeightedDensityFlow`), a GAN (`EventGAN`) or a
/// Bayesian INN (`BayesianINN`). Written by name in model folders and on the command line.
public enum GeneratorNetwork: String, Codable, CaseIterable, Sendable {
    case inn, gan, binn
}

/// What a trained ttbar generator needs besides its weights (`ttbar-generator.json`).
public struct TTbarGeneratorSettings: Codable, Equatable {
    public var network: GeneratorNetwork
    /// The standardisation of `TTbarCoordinates` fitted on the training sample.
    public var standardizer: Standardizer
    /// INN: the flow and its training; GAN: the networks and theirs.
    public var flow: DensityFlowConfig?
    public var training: TrainingConfig?
    public var gan: GANConfig?
    public var ganTraining: GANTrainingConfig?
    /// lambda of the MMD on m_t and m_W (0: none) and its kernel and widths (GeV).
    public var mmdWeight: Float
    public var mmd: MMDLoss
    public var columns: [String]
    public var seed: UInt64
    public var trainingEvents: Int

    public static let file = "ttbar-generator.json"
    public static let checkpoint = "checkpoint.safetensors"
}

/// The ttbar -> 6 partons generator of talk 002 ("How to GAN LHC events"): a GAN (`EventGAN`) or
/// an INN (`WeightedDensityFlow`, plain maximum likelihood) on the 17 `TTbarCoordinates`, either
/// with the MMD on the resonance masses m_t = m(b q q') and m_W = m(q q') added to its loss. The
/// masses are computed differentiably from the standardised coordinates (`masses`), so the MMD's
/// gradient reaches the network. Both tops (and both W's) enter one MMD each, stacked as rows.
public final class TTbarGenerator {
    public let settings: TTbarGeneratorSettings
    public let flow: WeightedDensityFlow?
    public let gan: EventGAN?

    /// Rows of a batch in the mass MMDs (two masses per event enter each): the kernel sums cost N^2.
    public static let mmdEvents = 128
    /// The MMD of the masses: Breit-Wigner kernels (heavy tails, for peaks; thesis eq. 5.16) with
    /// widths from below the top width (1.42 GeV) to the window (about 30 GeV), so the narrow
    /// peaks and the bulk far from them both pull.
    public static let massMMD = MMDLoss(kernel: .breitWigner, widths: [1, 3, 10, 30])

    init(settings: TTbarGeneratorSettings) throws {
        self.settings = settings
        let rng = RNGStream(seed: settings.seed).child("ttbar-generator.model")
        let observables = settings.mmdWeight > 0 ? Self.massObservables(settings.standardizer) : []
        switch settings.network {
        case .inn:
            guard let config = settings.flow else { throw RefoldError.value("ttbar INN generator settings", expected: "a flow config", actual: "none") }
            let flow = try WeightedDensityFlow(config: config, rng: rng.child("flow"))
            flow.mmdWeight = settings.mmdWeight
            flow.mmdEvents = Self.mmdEvents
            if !observables.isEmpty { flow.observableMMD = ObservableMMD(observables: observables, loss: settings.mmd) }
            self.flow = flow; gan = nil
        case .gan:
            guard var config = settings.gan else { throw RefoldError.value("ttbar GAN generator settings", expected: "a GAN config", actual: "none") }
            config.lambdaG = settings.mmdWeight; config.mmd = settings.mmd
            gan = try EventGAN(dimension: TTbarCoordinates.dimension, config: config, observables: observables, rng: rng.child("gan"))
            flow = nil
        case .binn:
            throw RefoldError.value("ttbar generator network", expected: "inn or gan (the BINN generator is the Z+jets one)", actual: "binn")
        }
    }

    /// m_t and m_W [2N, 1] (GeV; the top's and the antitop's rows stacked) of standardised
    /// `TTbarCoordinates` [N, 17], differentiable: log pT -> pT (the log clamped to [-5, 10]
    /// against overflow), the azimuths pi tanh(u) relative to the b, and for massless partons
    /// m^2 = sum over pairs 2 pT_a pT_b (cosh Delta eta - cos Delta phi); m = sqrt(max(m^2, 0) + 0.01 GeV^2)
    /// keeps the gradient finite.
    public static func masses(_ x: Variable, standardizer: Standardizer) -> (top: Variable, w: Variable) {
        func column(_ j: Int) -> Variable { sliceColumns(x, start: j, count: 1) * Float(standardizer.std[j]) + Float(standardizer.mean[j]) }
        // Parton k: log pT at 0 (b) or 3k - 1, eta next, then the relative azimuth's atanh (k > 0).
        let partons = (0..<6).map { k -> (pT: Variable, eta: Variable, phi: Variable?) in
            let base = k == 0 ? 0 : 3 * k - 1
            return (exp(clamp(column(base), min: -5, max: 10)), column(base + 1), k == 0 ? nil : tanh(column(base + 2)) * Float.pi)
        }
        func pair(_ a: Int, _ b: Int) -> Variable {
            let p = partons[a], q = partons[b]
            let dEta = clamp(p.eta - q.eta, min: -8, max: 8)
            let dPhi = p.phi.map { pa in q.phi.map { pa - $0 } ?? pa } ?? q.phi!
            return p.pT * q.pT * (cosh(dEta) - cos(dPhi)) * 2
        }
        func mass(_ m2: Variable) -> Variable { sqrt(relu(m2) + 0.01) }
        let w1 = pair(1, 2), w2 = pair(4, 5)
        let top = concat([mass(pair(0, 1) + pair(0, 2) + w1), mass(pair(3, 4) + pair(3, 5) + w2)], axis: 0)
        return (top, concat([mass(w1), mass(w2)], axis: 0))
    }

    /// The two MMD observables m_t and m_W on the first `mmdEvents` rows of a batch (batches are shuffled).
    public static func massObservables(_ standardizer: Standardizer, events: Int = mmdEvents) -> [Flows.Observable] {
        func rows(_ x: Variable) -> Variable { x.value.rows > events ? sliceRows(x, start: 0, count: events) : x }
        return [Flows.Observable(name: "m_t") { masses(rows($0), standardizer: standardizer).top },
                Flows.Observable(name: "m_W") { masses(rows($0), standardizer: standardizer).w }]
    }

    /// The events of a ttbar sample (columns `TTbarProduction.columns`).
    public static func events(of sample: EventSample, source: String) throws -> [TTbarEvent] {
        guard let block = sample.events, block.columns == TTbarProduction.columns else {
            throw RefoldError.file(source, "columns: expected \(TTbarProduction.columns) (refold generate ttbar), got \(sample.events?.columns ?? [])")
        }
        return (0..<block.rows).map { i in
            let p = (0..<6).map { k in FourMomentum(pT: block[i, 3 * k], eta: block[i, 3 * k + 1], phi: block[i, 3 * k + 2]) }
            return TTbarEvent(b: p[0], q1: p[1], q2: p[2], bbar: p[3], q3: p[4], q4: p[5])
        }
    }

    /// The coordinates [N, 17] of `events` (not standardised).
    public static func coordinates(_ events: [TTbarEvent]) -> Tensor {
        Tensor(shape: [events.count, TTbarCoordinates.dimension], storage: events.flatMap { TTbarCoordinates.coordinates($0).map(Float.init) })
    }

    /// Trains a fresh generator on `events`; with `folder`, `ttbar-generator.json` and the
    /// checkpoint (after every epoch) go there and `resume` continues from the checkpoint.
    /// `network` .inn takes `flow` and `training`, .gan takes `gan` and `ganTraining`.
    public static func train(events: [TTbarEvent], network: GeneratorNetwork, flow: DensityFlowConfig, training: TrainingConfig,
                             gan: GANConfig, ganTraining: GANTrainingConfig, mmdWeight: Float, seed: UInt64,
                             folder: URL? = nil, resume: Bool = false, progress: (String) -> Void = { _ in }) throws -> TTbarGenerator {
        guard events.count >= 2 else { throw RefoldError.value("ttbar training events", expected: ">= 2", actual: events.count) }
        guard mmdWeight >= 0, mmdWeight.isFinite else { throw RefoldError.value("MMD weight lambda", expected: ">= 0", actual: mmdWeight) }
        let x = coordinates(events)
        let standardizer = try Standardizer(fitting: x)
        var flowConfig = flow
        flowConfig.dimension = TTbarCoordinates.dimension
        let settings = TTbarGeneratorSettings(network: network, standardizer: standardizer,
                                              flow: network == .inn ? flowConfig : nil, training: network == .inn ? training : nil,
                                              gan: network == .gan ? gan : nil, ganTraining: network == .gan ? ganTraining : nil,
                                              mmdWeight: mmdWeight, mmd: massMMD, columns: TTbarProduction.columns, seed: seed,
                                              trainingEvents: events.count)
        let generator = try TTbarGenerator(settings: settings)
        let checkpoint = folder?.appendingPathComponent(TTbarGeneratorSettings.checkpoint)
        if let folder {
            if resume {
                var stored = try readJSON(TTbarGeneratorSettings.self, from: folder.appendingPathComponent(TTbarGeneratorSettings.file),
                                          needs: "a ttbar generator to resume", what: "ttbar generator settings")
                stored.training?.epochs = training.epochs; stored.ganTraining?.epochs = ganTraining.epochs
                guard stored == settings else {
                    throw RefoldError.file(folder.appendingPathComponent(TTbarGeneratorSettings.file).path,
                                           "--resume: the stored settings differ from this run's (sample, network, sizes, MMD or seed); only --epochs may change")
                }
            }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try writeJSONAtomically(settings, to: folder.appendingPathComponent(TTbarGeneratorSettings.file))
        }
        let rng = RNGStream(seed: seed).child("ttbar-generator.train")
        let input = try standardizer.transform(x)
        if let model = generator.flow {
            let trainer = try FlowTrainer(model: model, config: training, rng: rng, checkpoint: checkpoint)
            try trainer.resumeIfCheckpointed(resume)
            try trainer.train(partonLevel: input, detectorLevel: Tensor(shape: [events.count, 1], repeating: 1)) { r in
                progress("epoch \(r.epoch + 1)/\(training.epochs): loss \(String(format: "%.4f", r.trainLoss))")
            }
        } else if let model = generator.gan {
            let trainer = try GANTrainer(model: model, config: ganTraining, rng: rng, checkpoint: checkpoint, metadata: ["model": "ttbar-gan"])
            if resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) { try trainer.resume(from: checkpoint) }
            try trainer.train(partonLevel: input, detectorLevel: input) { r in progress(r.progressLine) }
        }
        return generator
    }

    /// Reads `ttbar-generator.json` and the checkpoint of a model folder.
    public static func load(from folder: URL) throws -> TTbarGenerator {
        let settings = try readJSON(TTbarGeneratorSettings.self, from: folder.appendingPathComponent(TTbarGeneratorSettings.file),
                                    needs: "a ttbar generator model (refold train generator on a ttbar sample)", what: "ttbar generator settings")
        let generator = try TTbarGenerator(settings: settings)
        let url = folder.appendingPathComponent(TTbarGeneratorSettings.checkpoint)
        if let flow = generator.flow { _ = try Checkpoint.load(into: flow, from: url) }
        if let gan = generator.gan { _ = try Checkpoint.load(into: gan, from: url) }
        return generator
    }

    /// `count` generated events, the global azimuth (the b's) drawn flat from `rng.child("phi")`,
    /// the network's points from `rng.child("latent")`.
    public func generate(count: Int, rng: RNGStream) throws -> [TTbarEvent] {
        let z = try flow?.sample(events: count, rng: rng.child("latent")) ?? gan!.sample(events: count, rng: rng.child("latent"))
        let values = try settings.standardizer.inverse(z).storage.map(Double.init), d = TTbarCoordinates.dimension
        let phi = rng.child("phi")
        return (0..<count).map { TTbarCoordinates.event(values[(d * $0)..<(d * ($0 + 1))], phi0: phi.uniform(-.pi, .pi)) }
    }

    /// A ttbar sample (`refold generate ttbar`'s columns) of `count` generated events, unweighted.
    public func sample(events count: Int, rng: RNGStream) throws -> EventSample {
        let events = try generate(count: count, rng: rng)
        return EventSample(generator: "\(settings.network.rawValue)-generator(ttbar\(settings.mmdWeight > 0 ? ", mmd" : ""))", seed: rng.seed,
                           events: .init(columns: settings.columns, rows: count, values: events.flatMap { $0.partons.flatMap { [$0.pT, $0.eta, $0.phi] } }))
    }

    /// Generated events per second of an untrained generator of the quick sizes (the arithmetic of a
    /// trained one): `events` events built from the network's points, for `refold bench`.
    public static func generationSpeed(network: GeneratorNetwork, events: Int = 100_000, seed: UInt64 = 1) throws -> Double {
        let d = TTbarCoordinates.dimension
        let settings = TTbarGeneratorSettings(
            network: network, standardizer: try Standardizer(mean: [Double](repeating: 0, count: d), std: [Double](repeating: 1, count: d)),
            flow: DensityFlowConfig(dimension: d, blocks: 10, layersPerBlock: 2, unitsPerLayer: 64), training: nil,
            gan: .quick, ganTraining: nil, mmdWeight: 0, mmd: massMMD, columns: TTbarProduction.columns, seed: seed, trainingEvents: 0)
        let generator = try TTbarGenerator(settings: settings)
        let start = Date()
        _ = try generator.generate(count: events, rng: RNGStream(seed: seed).child("bench"))
        return Double(events) / max(Date().timeIntervalSince(start), 1e-9)
    }

    /// The model's parameters (for save and describe).
    var module: any Module { flow.map { $0 as any Module } ?? gan! }
}

/// Median and interquartile range of a resonance peak: robust against the generators' far tails
/// (a plain INN puts a third of its m_t outside the window), where a fitted width would chase them.
public struct PeakShape: Equatable, Codable {
    public var median: Double, iqr: Double
    /// Their statistical errors for N values: sigma(median) = 1 / (2 f(median) sqrt N) is
    /// 0.79 IQR / sqrt N for a Breit-Wigner and 0.93 IQR / sqrt N for a Gaussian, bounded by
    /// IQR / sqrt N; sigma(IQR) = sqrt((3/16 + 3/16 - 2/16) / N) / f(quartile) is pi IQR / (2 sqrt N)
    /// for a Breit-Wigner (the quartiles correlated), the larger of the two shapes.
    public var medianError: Double, iqrError: Double

    /// Throws unless `values` holds at least 4 finite values.
    public init(_ values: [Double]) throws {
        let sorted = values.filter(\.isFinite).sorted()
        guard sorted.count >= 4 else { throw RefoldError.value("peak values", expected: ">= 4 finite", actual: sorted.count) }
        let n = Double(sorted.count)
        median = sorted[sorted.count / 2]
        iqr = sorted[3 * sorted.count / 4] - sorted[sorted.count / 4]
        medianError = iqr / n.squareRoot()
        iqrError = Double.pi / 2 * iqr / n.squareRoot()
    }
}
