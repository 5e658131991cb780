import Autograd
import Flows
import Foundation
import Tensor

/// A trained BINN with the standardisation of its training data: densities and events in
/// physical coordinates. Stored as one safetensors checkpoint (FlowTrainer's) whose metadata holds
/// the config, the standardiser, the columns, the seed the permutations were drawn from and the
/// optional `BoxMap` (then the network sees standardised u(x) and the standardiser is fitted on u).
public final class BINNModel {
    public let network: BayesianINN
    public let standardizer: Standardizer
    public let columns: [String]
    public let seed: UInt64
    /// The map of a bounded support onto R^D applied before the standardiser (nil: none).
    public let box: BoxMap?

    public static let configKey = "binn.config", standardizerKey = "binn.standardizer"
    public static let columnsKey = "binn.columns", seedKey = "binn.seed", boxKey = "binn.box"

    /// A fresh network: weights and permutations from `RNGStream(seed:).child("binn.init")`.
    public init(config: BINNConfig, standardizer: Standardizer, columns: [String], seed: UInt64, box: BoxMap? = nil) throws {
        guard standardizer.dimension == config.dimension, columns.count == config.dimension, (box?.dimension ?? config.dimension) == config.dimension else {
            throw RefoldError.value("BINNModel", expected: "\(config.dimension) standardiser columns and names",
                                    actual: "\(standardizer.dimension) and \(columns.count)")
        }
        self.standardizer = standardizer
        self.columns = columns
        self.seed = seed
        self.box = box
        network = BayesianINN(config: config, rng: RNGStream(seed: seed).child("binn.init"))
    }

    /// The checkpoint metadata that `load` needs.
    public var metadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<T: Encodable>(_ v: T) -> String { String(decoding: try! encoder.encode(v), as: UTF8.self) }
        var meta = [Self.configKey: json(network.config), Self.standardizerKey: json(standardizer),
                    Self.columnsKey: json(columns), Self.seedKey: String(seed)]
        if let box { meta[Self.boxKey] = json(box) }
        return meta
    }

    /// Rebuilds the network from the metadata and loads the weights.
    public static func load(from url: URL) throws -> BINNModel {
        let file = try SafeTensors.read(url)
        let meta = file.metadata
        let decoder = JSONDecoder()
        guard let c = meta[configKey], let s = meta[standardizerKey], let n = meta[columnsKey],
              let seed = meta[seedKey].flatMap(UInt64.init) else {
            throw RefoldError.file(url.path, "missing BINN metadata (\(configKey), \(standardizerKey), \(columnsKey), \(seedKey)): not a `refold train binn` model")
        }
        let model = try BINNModel(config: try decoder.decode(BINNConfig.self, from: Data(c.utf8)),
                                  standardizer: try decoder.decode(Standardizer.self, from: Data(s.utf8)),
                                  columns: try decoder.decode([String].self, from: Data(n.utf8)), seed: seed,
                                  box: try meta[boxKey].map { try decoder.decode(BoxMap.self, from: Data($0.utf8)) })
        _ = try Checkpoint.load(into: model.network, from: url)
        return model
    }

    public var dimension: Int { network.config.dimension }

    /// The network's coordinates of physical events: standardised u(x) (or x without a box).
    public func networkCoordinates(_ events: Tensor) throws -> Tensor {
        try standardizer.transform(try box?.forward(events).u ?? events)
    }

    /// log p(x | theta) for the current weights at `points` [P, D] (physical coordinates).
    func logDensity(_ points: Tensor) throws -> [Double] {
        let standardised = try networkCoordinates(points)
        let boxJacobian = try box?.forward(points).logJacobian ?? [Double](repeating: 0, count: points.rows)
        let logStd = standardizer.std.reduce(0) { $0 + Foundation.log($1) }
        var out = [Double]()
        out.reserveCapacity(points.rows)
        let chunk = 8192
        withNoGrad {
            var start = 0
            while start < points.rows {
                let rows = start..<min(points.rows, start + chunk)
                let nll = network.negativeLogLikelihood(Variable(gatherRows(standardised, rows)))
                out.append(contentsOf: zip(nll.value.storage, boxJacobian[rows]).map { -Double($0) - logStd + $1 })
                start = rows.upperBound
            }
        }
        return out
    }

    /// p(x) and sigma_pred(x) at `points` [P, D] from `draws` weight draws (draw m from
    /// `rng.child(index: m)`; eq. 6.32 with the population standard deviation). draws = 0: the
    /// posterior-mean network, sigma 0.
    public func density(at points: Tensor, draws: Int, rng: RNGStream) throws -> DensityEstimate {
        guard points.rank == 2, points.columns == dimension else {
            throw RefoldError.shape("density points", expected: [points.rows, dimension], actual: points.shape)
        }
        guard draws >= 0 else { throw RefoldError.value("draws", expected: ">= 0", actual: draws) }
        if draws == 0 {
            network.setMode(.mean)
            return DensityEstimate(density: try logDensity(points).map(Foundation.exp), sigma: [Double](repeating: 0, count: points.rows), draws: 0)
        }
        var sum = [Double](repeating: 0, count: points.rows), sumSquares = sum
        for m in 0..<draws {
            network.resample(rng: rng.child(index: m))
            for (i, l) in try logDensity(points).enumerated() {
                let p = Foundation.exp(l)
                sum[i] += p; sumSquares[i] += p * p
            }
        }
        let n = Double(draws)
        let mean = sum.map { $0 / n }
        let sigma = zip(sumSquares, mean).map { max($0 / n - $1 * $1, 0).squareRoot() }
        return DensityEstimate(density: mean, sigma: sigma, draws: draws)
    }

    /// `events` events x = G^-1(z; theta) in physical coordinates for the current weights.
    public func sampleEvents(_ events: Int, rng: RNGStream) throws -> [[Double]] {
        let z = try network.sample(detectorLevel: Tensor(shape: [1, 0]), count: events, rng: rng)
        let u = try standardizer.inverse(z.reshaped([events, dimension]))
        let x = try box?.inverse(u) ?? u
        return (0..<events).map { i in (0..<dimension).map { Double(x.storage[i * dimension + $0]) } }
    }

    /// The fraction of sampled events outside `box` (one closed range per column): mean and standard
    /// deviation over `draws` weight draws (theta_m from `rng.child("weights").child(index: m)`, `events`
    /// events each); draws = 0: the posterior-mean network. A flow on R^D leaks mass across hard
    /// boundaries, which lowers the density inside the box.
    public func fractionOutside(_ box: [ClosedRange<Double>], events: Int, draws: Int, rng: RNGStream) throws -> (mean: Double, sigma: Double) {
        guard box.count == dimension, events >= 1, draws >= 0 else {
            throw RefoldError.value("fractionOutside", expected: "\(dimension) ranges, events >= 1, draws >= 0",
                                    actual: "\(box.count) ranges, \(events) events, \(draws) draws")
        }
        func outside(_ rows: [[Double]]) -> Double {
            Double(rows.filter { row in !zip(row, box).allSatisfy { $1.contains($0) } }.count) / Double(rows.count)
        }
        if draws == 0 {
            network.setMode(.mean)
            return (outside(try sampleEvents(events, rng: rng.child("latent"))), 0)
        }
        let fractions = try (0..<draws).map { m -> Double in
            network.resample(rng: rng.child("weights").child(index: m))
            return outside(try sampleEvents(events, rng: rng.child("latent").child(index: m)))
        }
        let mean = fractions.reduce(0, +) / Double(draws)
        return (mean, (fractions.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws)).squareRoot())
    }

    /// Section 6.3.5: for each of `draws` weight draws (theta_m from `rng.child("weights").child(index: m)`),
    /// `events` sampled events histogrammed per observable; the mean and standard deviation of the M histograms.
    public func marginals(_ observables: [MarginalObservable], events: Int, draws: Int, rng: RNGStream) throws -> [MarginalBand] {
        guard events >= 1, draws >= 2 else { throw RefoldError.value("events, draws", expected: ">= 1, >= 2", actual: "\(events), \(draws)") }
        var histograms = observables.map { _ in [[Double]]() }
        for m in 0..<draws {
            network.resample(rng: rng.child("weights").child(index: m))
            let rows = try sampleEvents(events, rng: rng.child("latent").child(index: m))
            for (k, o) in observables.enumerated() { histograms[k].append(o.histogram(rows)) }
        }
        return observables.enumerated().map { k, o in
            let hs = histograms[k], n = Double(draws)
            let mean = (0..<o.bins).map { b in hs.reduce(0) { $0 + $1[b] } / n }
            let sigma = (0..<o.bins).map { b in (hs.reduce(0) { $0 + ($1[b] - mean[b]) * ($1[b] - mean[b]) } / n).squareRoot() }
            return MarginalBand(name: o.name, edges: o.edges, mean: mean, sigma: sigma, draws: draws)
        }
    }
}

/// Trains a BINNModel on events [N, D] (physical coordinates) with FlowTrainer: shuffling, Adam,
/// checkpoints (with the BINN metadata, so `BINNModel.load` reads them), NaN guard and resume.
/// The trainer's stream is `RNGStream(seed: model.seed).child("binn.train")`.
public enum BINNTraining {
    @discardableResult
    public static func train(_ model: BINNModel, events: Tensor, config: TrainingConfig, checkpoint: URL? = nil,
                             resume: Bool = false, until: Int? = nil,
                             progress: (EpochReport) -> Void = { _ in }) throws -> FlowTrainer<BayesianINN> {
        guard events.rank == 2, events.columns == model.dimension else {
            throw RefoldError.shape("BINN training events", expected: [events.rows, model.dimension], actual: events.shape)
        }
        let trainer = try FlowTrainer(model: model.network, config: config, rng: RNGStream(seed: model.seed).child("binn.train"),
                                      checkpoint: checkpoint, metadata: model.metadata)
        try trainer.resumeIfCheckpointed(resume)
        let x = try model.networkCoordinates(events)
        try trainer.train(partonLevel: x, detectorLevel: Tensor(shape: [events.rows, 0]), until: until, progress: progress)
        return trainer
    }
}
