import Foundation

/// The coordinates the subtraction GAN works in, fixed before training from the B sample:
/// - `box`: with a known support [lower, upper] per column, the logit `BoxMap` (generated events
///   never leave the support, and a sharp edge such as the toy's x = 1 becomes a smooth tail);
/// - `quantiles`: per column g(x) = Phi^-1(F_B(x)), F_B the B sample's CDF (a narrow peak such as
///   the Z becomes a smooth coordinate; generated events stay inside B's range);
/// - neither: the raw columns.
/// Then every column is standardised with the mean and std of the mapped B sample.
public struct SubtractionCoordinates: Codable, Equatable {
    public var box: BoxMap?
    public var quantiles: [QuantileGaussianisation]?
    public var standardizer: Standardizer

    /// Throws unless the box has one range per column of `background`, at most one map is
    /// chosen, and every value is finite and inside the box.
    public init(box: BoxMap?, gaussianise: Bool = false, fitting background: Tensor) throws {
        guard !(gaussianise && box != nil) else {
            throw RefoldError.value("subtraction GAN coordinates", expected: "a box or quantile Gaussianisation, not both", actual: "both")
        }
        guard background.rank == 2, background.rows >= 2 else {
            throw RefoldError.shape("B events", expected: [2, box?.dimension ?? 1], actual: background.shape)
        }
        self.box = box
        quantiles = gaussianise ? (0..<background.columns).map { j in QuantileGaussianisation(fitting: (0..<background.rows).map { Double(background[$0, j]) }) } : nil
        standardizer = try Standardizer(fitting: try Self.mapped(background, columns: background.columns, box: box, quantiles: quantiles,
                                                                 name: "B events"))
    }

    /// Physical -> mapped, before standardisation. Throws naming the sample, the row, the
    /// column and the value when one is not finite or lies outside the box.
    static func mapped(_ x: Tensor, columns: Int, box: BoxMap?, quantiles: [QuantileGaussianisation]?, name: String) throws -> Tensor {
        guard x.rank == 2, x.columns == columns, box.map({ $0.dimension == columns }) ?? true else {
            throw RefoldError.shape(name, expected: [x.shape.first ?? 0, columns], actual: x.shape)
        }
        var out = x
        for i in 0..<x.rows {
            for j in 0..<x.columns {
                let v = Double(x[i, j])
                guard v.isFinite else { throw RefoldError.value("\(name) row \(i) column \(j)", expected: "a finite value", actual: v) }
                if let box, !(v >= box.lower[j] && v <= box.upper[j]) {
                    throw RefoldError.value("\(name) row \(i) column \(j)", expected: "a value in [\(box.lower[j]), \(box.upper[j])]", actual: v)
                }
                if let quantiles { out[i, j] = Float(quantiles[j].gaussianised(v)) }
            }
        }
        return try box?.forward(x).u ?? out
    }

    /// Physical events -> network coordinates.
    public func forward(_ x: Tensor, name: String) throws -> Tensor {
        try standardizer.transform(try Self.mapped(x, columns: standardizer.dimension, box: box, quantiles: quantiles, name: name))
    }

    /// Network coordinates -> physical events (inside the box, or B's range, by construction).
    public func inverse(_ z: Tensor) throws -> Tensor {
        var u = try standardizer.inverse(z)
        if let quantiles {
            for i in 0..<u.rows { for j in 0..<u.columns { u[i, j] = Float(quantiles[j].value(gaussianised: Double(u[i, j]))) } }
        }
        return try box?.inverse(u) ?? u
    }
}

/// GAN event subtraction (arXiv:1912.08824; talk 002 "How to GAN event subtraction"): a generator
/// G(r) learns unweighted events of P_{B-S} = (sigma_B P_B - sigma_S P_S) / (sigma_B - sigma_S)
/// from a sample of B and a sample of S with their cross sections.
///
/// The paper's condition is that the events labelled B - S together with those labelled S, in
/// the proportion of their cross sections, follow P_B. Here the S-labelled events are the S
/// training sample itself (the paper generates them too, hence its steep differentiable label;
/// with one class generated no label is needed), so the discriminator compares
///
///     real: x ~ P_B        fake: the mixture w_S P_S + (1 - w_S) P_G,  w_S = sigma_S / sigma_B,
///
/// with the regularised Jensen-Shannon loss (thesis eq. 4.3, `regularizedDiscriminatorLoss`),
/// the fake side weighted: L_D = <-log D>_B + w_S <-log(1 - D)>_S + (1 - w_S) <-log(1 - D)>_G +
/// lambda_D (penalty with the same weights). Its optimum D = P_B / (P_B + w_S P_S + (1 - w_S) P_G)
/// is 1/2 everywhere exactly when P_G = P_{B-S}. The generator loss is L_G = <-log D(G(r))>
/// (eq. 4.4). Where sigma_B P_B < sigma_S P_S the difference is negative and cannot be generated:
/// the samples must be chosen where it is positive (the toy and the Drell-Yan window are).
/// Parameters "generator.layer*", "discriminator.layer*"; GANTrainer trains it with B as the first
/// sample (one epoch = one pass over B) and S as the second, drawn independently.
public final class SubtractionGAN: AdversarialModel {
    public let columns: [String]
    public let config: GANConfig
    public let coordinates: SubtractionCoordinates
    public let crossSectionB: Double, crossSectionS: Double
    public let noiseDimension: Int
    public let generator: MLP
    public let discriminator: MLP

    /// w_S = sigma_S / sigma_B, the share of S in B.
    public var subtractedShare: Double { crossSectionS / crossSectionB }
    /// sigma_{B-S} = sigma_B - sigma_S.
    public var crossSectionDifference: Double { crossSectionB - crossSectionS }

    /// `rng` draws the generator (child "generator") and the discriminator (child "discriminator").
    public init(columns: [String], config: GANConfig, coordinates: SubtractionCoordinates, crossSectionB: Double,
                crossSectionS: Double, rng: RNGStream) throws {
        try config.validate()
        guard !columns.isEmpty, coordinates.standardizer.dimension == columns.count else {
            throw RefoldError.value("subtraction GAN columns", expected: "one or more, one per coordinate (\(coordinates.standardizer.dimension))", actual: columns.count)
        }
        guard crossSectionB.isFinite, crossSectionS.isFinite, crossSectionS > 0, crossSectionB > crossSectionS else {
            throw RefoldError.value("subtraction cross sections", expected: "sigma_B > sigma_S > 0 (B - S must have a positive rate)",
                                    actual: "sigma_B = \(crossSectionB), sigma_S = \(crossSectionS)")
        }
        self.columns = columns; self.config = config; self.coordinates = coordinates
        self.crossSectionB = crossSectionB; self.crossSectionS = crossSectionS
        noiseDimension = config.noiseDimension ?? columns.count
        guard noiseDimension >= 1 else { throw RefoldError.value("subtraction GAN noise dimension", expected: ">= 1", actual: noiseDimension) }
        let d = columns.count, units = config.unitsPerLayer
        generator = MLP(sizes: [noiseDimension] + Array(repeating: units, count: config.generatorLayers - 1) + [d],
                        activation: config.activation.activation, rng: rng.child("generator"))
        discriminator = MLP(sizes: [d] + Array(repeating: units, count: config.discriminatorLayers - 1) + [1],
                            activation: config.activation.activation, rng: rng.child("discriminator"))
    }

    public var parameters: [(name: String, variable: Variable)] { generatorParameters + discriminatorParameters }
    public var generatorParameters: [(name: String, variable: Variable)] { prefixed("generator", generator) }
    public var discriminatorParameters: [(name: String, variable: Variable)] { prefixed("discriminator", discriminator) }
    public var needsPairedEvents: Bool { false }
    public var reportsMMD: Bool { false }

    public func checkTrainingEvents(partonLevel background: Tensor, detectorLevel subtract: Tensor) throws {
        for (name, x) in [("B events", background), ("S events", subtract)] {
            guard x.rank == 2, x.columns == columns.count, x.rows >= 1 else {
                throw RefoldError.shape(name, expected: [x.shape.first ?? 0, columns.count], actual: x.shape)
            }
        }
    }

    /// G(r) for `count` noise vectors, in network coordinates.
    public func generate(count: Int, rng: RNGStream) -> Variable {
        generator(Variable(Tensor.normal([count, noiseDimension], rng: rng)))
    }

    /// The weighted loss above on a B batch (`partonLevel`) and an S batch (`detectorLevel`),
    /// both in network coordinates; as many events are generated as the B batch holds.
    public func discriminatorLoss(partonLevel background: Variable, detectorLevel subtract: Variable, rng: RNGStream) -> DiscriminatorLoss {
        let n = background.value.rows, m = subtract.value.rows
        let fake = withNoGrad { generate(count: n, rng: rng) }.value
        let share = Float(subtractedShare)
        let weights = Tensor(shape: [m + n, 1], storage: Array(repeating: share / Float(m), count: m) + Array(repeating: (1 - share) / Float(n), count: n))
        return regularizedDiscriminatorLoss(real: background.value, fake: concat([subtract.value, fake], axis: 0), lambda: config.lambdaD,
                                            fakeWeights: weights) { discriminator($0) }
    }

    /// L_G = <-log D(G(r))> on as many generated events as the B batch holds.
    public func generatorLoss(partonLevel background: Variable, detectorLevel subtract: Variable, rng: RNGStream) -> GeneratorLoss {
        let adversarial = generatorAdversarialLoss(fakeLogits: discriminator(generate(count: background.value.rows, rng: rng)))
        return GeneratorLoss(total: adversarial, adversarial: adversarial.scalar, mmd: nil)
    }

    /// `count` unweighted B - S events in physical coordinates, drawn in chunks of 16,384.
    public func sample(count: Int, rng: RNGStream) throws -> Tensor {
        guard count >= 1 else { throw RefoldError.value("subtraction GAN events", expected: ">= 1", actual: count) }
        var storage = [Float]()
        storage.reserveCapacity(count * columns.count)
        var done = 0, chunk = 0
        while done < count {
            let k = min(16_384, count - done)
            let z = withNoGrad { generate(count: k, rng: rng.child(index: chunk)) }.value
            storage += try coordinates.inverse(z).storage
            done += k; chunk += 1
        }
        return Tensor(shape: [count, columns.count], storage: storage)
    }
}

extension GANTrainer where Model == SubtractionGAN {
    /// Trains on B and S events given in physical coordinates (mapped with the model's coordinates).
    @discardableResult
    public func train(background: Tensor, subtract: Tensor, progress: (GANEpochReport) -> Void = { _ in }) throws -> [GANEpochReport] {
        let b = try model.coordinates.forward(background, name: "B events"), s = try model.coordinates.forward(subtract, name: "S events")
        return try train(partonLevel: b, detectorLevel: s, progress: progress)
    }
}

/// Everything needed to rebuild a trained subtraction GAN: `subtraction.json` in its model folder,
/// beside `checkpoint.safetensors` (GANTrainer's, rewritten atomically every epoch) and `history.json`.
public struct SubtractionModelSettings: Codable, Equatable {
    public var columns: [String]
    public var network: GANConfig
    public var training: GANTrainingConfig
    public var coordinates: SubtractionCoordinates
    public var crossSectionB: Double
    public var crossSectionS: Double
    public var seed: UInt64
    /// The generator names of the B and S samples.
    public var background: String
    public var subtract: String

    public init(columns: [String], network: GANConfig, training: GANTrainingConfig, coordinates: SubtractionCoordinates,
                crossSectionB: Double, crossSectionS: Double, seed: UInt64, background: String, subtract: String) {
        self.columns = columns; self.network = network; self.training = training; self.coordinates = coordinates
        self.crossSectionB = crossSectionB; self.crossSectionS = crossSectionS; self.seed = seed
        self.background = background; self.subtract = subtract
    }

    public static let file = "subtraction.json"
    public static let checkpointFile = "checkpoint.safetensors"
    public static let historyFile = "history.json"

    /// The model with freshly initialised weights (streams from RNGStream(seed).child("subtraction.model")).
    public func model() throws -> SubtractionGAN {
        try SubtractionGAN(columns: columns, config: network, coordinates: coordinates, crossSectionB: crossSectionB,
                           crossSectionS: crossSectionS, rng: RNGStream(seed: seed).child("subtraction.model"))
    }

    /// Trains a fresh model into `folder` (settings first, then the checkpoint after every epoch,
    /// then the history). `background` and `subtract` are physical events.
    /// With `resume`, the folder's settings must equal these except for the number of epochs, and
    /// training continues from its checkpoint (bit for bit, as GANTrainer resumes).
    public func train(background: Tensor, subtract: Tensor, into folder: URL, resume: Bool = false,
                      progress: (GANEpochReport) -> Void = { _ in }) throws -> SubtractionGAN {
        let model = try model()
        let checkpoint = folder.appendingPathComponent(Self.checkpointFile)
        if resume {
            var stored = try Self.load(from: folder).settings
            stored.training.epochs = training.epochs
            guard stored == self else {
                throw RefoldError.file(folder.appendingPathComponent(Self.file).path,
                                       "--resume: the stored settings differ from this run's (samples, box, sizes or seed); only --epochs may change")
            }
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(self), to: folder.appendingPathComponent(Self.file))
        let trainer = try GANTrainer(model: model, config: training, rng: RNGStream(seed: seed).child("subtraction.train"),
                                     checkpoint: checkpoint, metadata: ["model": "subtraction-gan"])
        if resume { try trainer.resume(from: checkpoint) }
        // The checkpoint's generator tensors are the moving average when training uses one.
        try trainer.train(background: background, subtract: subtract, progress: progress)
        try writeAtomically(try encoder.encode(trainer.history), to: folder.appendingPathComponent(Self.historyFile))
        return model
    }

    /// The trained model of a folder written by `train`.
    public static func load(from folder: URL) throws -> (settings: SubtractionModelSettings, model: SubtractionGAN) {
        try ModelManifest.verify(folder)
        let url = folder.appendingPathComponent(file)
        let settings: SubtractionModelSettings
        do { settings = try JSONDecoder().decode(SubtractionModelSettings.self, from: Data(contentsOf: url)) } catch {
            throw RefoldError.file(url.path, "cannot read subtraction model settings: \(error)")
        }
        let model = try settings.model()
        _ = try Checkpoint.load(into: model, from: folder.appendingPathComponent(checkpointFile))
        return (settings, model)
    }
}
