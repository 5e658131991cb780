import Flows
import Foundation
import Physics
import Tensor

/// Sets of showered jets, each set made with one parameter point: the training and test data of
/// set-level inference (issue 18). Jets s M ..< (s + 1) M of a sample with `jetsPerSet` M form set s.
public struct JetSets {
    /// The inferred parameters (names of `ShowerParameters.fields`) and their values per set [S][P].
    public var names: [String]
    public var parameters: [[Double]]
    /// Raw `JetFeatures` per set and jet [S][M][F].
    public var features: [[[Double]]]

    public var count: Int { features.count }

    public init(names: [String], parameters: [[Double]], features: [[[Double]]]) {
        self.names = names; self.parameters = parameters; self.features = features
    }

    /// The sets of a sample generated with `jetsPerSet` M; `names` default to the prior's parameters
    /// in the column order of `ShowerParameters.fields`.
    public init(_ sample: ShowerSample, names: [String]? = nil) throws {
        let names = names ?? ShowerParameters.fields.map(\.name).filter { name in sample.prior.ranges.contains { $0.field.name == name } }
        let fields = try names.map(ShowerParameters.field(named:))
        let m = sample.jetsPerSet
        self.names = names
        parameters = stride(from: 0, to: sample.count, by: m).map { i in fields.map { $0.get(sample.parameters[i]) } }
        features = stride(from: 0, to: sample.count, by: m).map { i in
            (i..<(i + m)).map { JetFeatures.values(sample.constituents[$0], quark: sample.quark[$0]) }
        }
    }

    /// The first `m` jets of every set.
    public func prefix(_ m: Int) -> JetSets {
        JetSets(names: names, parameters: parameters, features: features.map { Array($0.prefix(m)) })
    }

    /// A `refold generate shower` folder: sets of meta.json's `jets_per_set` (or `jetsPerSet`; the
    /// jet count must be a multiple of it), the columns `names` of parameters.npy (default: the
    /// prior's parameters).
    public static func read(from folder: URL, names: [String]? = nil, jetsPerSet: Int? = nil) throws -> JetSets {
        func file(_ name: String) -> URL { folder.appendingPathComponent(name) }
        let metaURL = file("meta.json")
        guard let data = FileManager.default.contents(atPath: metaURL.path),
              let meta = try JSONSerialization.jsonObject(with: data) as? [String: Any], meta["generator"] as? String == "shower" else {
            throw RefoldError.file(metaURL.path, "missing or not a shower sample (refold generate shower writes it)")
        }
        let prior = meta["prior"] as? [String: Any] ?? [:]
        let names = names ?? ShowerParameters.fieldNames.filter { prior[$0] != nil }
        guard !names.isEmpty else { throw RefoldError.file(metaURL.path, "no prior: generate the training sets with --prior NAME=LOW:HIGH") }
        let m = jetsPerSet ?? (meta["jets_per_set"] as? Int ?? 1)
        let constituents = try NPYArray.read(file("constituents.npy")), counts = try NPYArray.read(file("counts.npy"))
        let quark = try NPYArray.read(file("quark.npy")), values = try NPYArray.read(file("parameters.npy"))
        let n = counts.values.count, k = constituents.shape.count == 3 ? constituents.shape[1] : 0
        guard constituents.shape == [n, k, 4], quark.values.count == n, values.shape == [n, ShowerParameters.fields.count] else {
            throw RefoldError.file(folder.path, "inconsistent shapes: constituents \(constituents.shape), counts [\(n)], quark [\(quark.values.count)], parameters \(values.shape)")
        }
        guard m >= 1, n % m == 0, n > 0 else { throw RefoldError.file(folder.path, "\(n) jets are not a positive multiple of \(m) jets per set") }
        let columns = try names.map { name -> Int in
            guard let j = ShowerParameters.fieldNames.firstIndex(of: name) else { throw RefoldError.value("parameter", expected: "one of \(ShowerParameters.fieldNames)", actual: name) }
            return j
        }
        var parameters: [[Double]] = [], features: [[[Double]]] = []
        for s in 0..<(n / m) {
            let jets = (s * m)..<((s + 1) * m)
            parameters.append(columns.map { values.values[s * m * ShowerParameters.fields.count + $0] })
            features.append(jets.map { i in
                let jet = (0..<Int(counts.values[i])).map { j -> FourMomentum in
                    let b = (i * k + j) * 4
                    return FourMomentum(e: constituents.values[b], px: constituents.values[b + 1], py: constituents.values[b + 2], pz: constituents.values[b + 3])
                }
                return JetFeatures.values(jet, quark: quark.values[i] != 0)
            })
        }
        return JetSets(names: names, parameters: parameters, features: features)
    }
}

/// Posterior mean, standard deviation, central 68 % and 95 % intervals and correlation matrix of
/// K samples [K][P] (quantiles by linear interpolation of the sorted samples).
public struct PosteriorSummary: Codable, Equatable {
    public var names: [String]
    public var mean: [Double], std: [Double]
    public var interval68: [[Double]], interval95: [[Double]]
    public var correlation: [[Double]]

    public init(names: [String], samples: [[Double]]) {
        let k = Double(samples.count), p = names.count
        self.names = names
        mean = (0..<p).map { j in samples.reduce(0) { $0 + $1[j] } / k }
        let m = mean
        let covariance = (0..<p).map { a in (0..<p).map { b in samples.reduce(0) { $0 + ($1[a] - m[a]) * ($1[b] - m[b]) } / max(k - 1, 1) } }
        std = (0..<p).map { covariance[$0][$0].squareRoot() }
        let s = std
        correlation = (0..<p).map { a in (0..<p).map { b in covariance[a][b] / (s[a] * s[b]) } }
        func quantile(_ sorted: [Double], _ q: Double) -> Double {
            let x = q * Double(sorted.count - 1), i = Int(x), f = x - Double(i)
            return i + 1 < sorted.count ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i]
        }
        let sorted = (0..<p).map { j in samples.map { $0[j] }.sorted() }
        interval68 = sorted.map { [quantile($0, 0.16), quantile($0, 0.84)] }
        interval95 = sorted.map { [quantile($0, 0.025), quantile($0, 0.975)] }
    }
}

/// A trained set-level posterior for shower parameters: the `JetSetINN`, the standardisations of
/// the jet features and of the parameters, the prior box it was trained on and the seed that
/// rebuilds its permutations. Folder: `model.json` and `checkpoint.safetensors` (with the
/// optimizer when written by training), each written atomically.
public final class QCDInferenceModel {
    public let network: JetSetINN
    public let names: [String]
    /// [P][low, high] of the training prior.
    public let prior: [[Double]]
    public let featureScale: Standardizer, parameterScale: Standardizer
    public let seed: UInt64

    public init(config: JetSetINNConfig, names: [String], prior: [[Double]], featureScale: Standardizer, parameterScale: Standardizer, seed: UInt64) throws {
        guard names.count == config.parameters, prior.count == names.count, parameterScale.dimension == names.count,
              featureScale.dimension == JetFeatures.count else {
            throw RefoldError.value("QCDInferenceModel", expected: "\(config.parameters) names, prior ranges and parameter scales, \(JetFeatures.count) feature scales",
                                    actual: "\(names.count), \(prior.count), \(parameterScale.dimension), \(featureScale.dimension)")
        }
        network = try JetSetINN(config: config, rng: RNGStream(seed: seed).child("qcd-inference"))
        self.names = names; self.prior = prior; self.featureScale = featureScale; self.parameterScale = parameterScale; self.seed = seed
    }

    public var config: JetSetINNConfig { network.config }

    /// The network's input rows for `sets` (standardised features, padded).
    public func encode(_ sets: JetSets) throws -> Tensor {
        let scaled = sets.features.map { set in
            set.map { jet in (0..<jet.count).map { Float((jet[$0] - featureScale.mean[$0]) / featureScale.std[$0]) } }
        }
        return try JetSetINN.encode(scaled, maximumJets: config.maximumJets)
    }

    func standardisedParameters(_ sets: JetSets) throws -> Tensor {
        guard sets.names == names else { throw RefoldError.value("inferred parameters", expected: "\(names)", actual: "\(sets.names)") }
        return try parameterScale.transform(Tensor(shape: [sets.count, names.count], storage: sets.parameters.flatMap { $0.map(Float.init) }))
    }

    /// Builds and trains a model on `training` (features and parameters standardised on it) or,
    /// with `resume`, continues the one in `folder`. `model.json` is written before the first epoch,
    /// the trainer's checkpoint after every epoch (atomically; a NaN stops with the last good one).
    public static func train(_ training: JetSets, validation: JetSets? = nil, config: JetSetINNConfig, prior: [[Double]], optimisation: TrainingConfig,
                             seed: UInt64, folder: URL? = nil, resume: Bool = false,
                             progress: (EpochReport) -> Void = { _ in }) throws -> (model: QCDInferenceModel, history: [EpochReport]) {
        guard training.count >= 2 else { throw RefoldError.value("training sets", expected: ">= 2", actual: training.count) }
        let model: QCDInferenceModel
        if resume {
            guard let folder else { throw RefoldError.value("resume", expected: "a model folder", actual: "none") }
            model = try read(from: folder)
        } else {
            let jets = training.features.flatMap { $0 }
            let featureScale = try Standardizer(fitting: Tensor(shape: [jets.count, JetFeatures.count], storage: jets.flatMap { $0.map(Float.init) }))
            let parameterScale = try Standardizer(fitting: Tensor(shape: [training.count, training.names.count], storage: training.parameters.flatMap { $0.map(Float.init) }))
            model = try QCDInferenceModel(config: config, names: training.names, prior: prior, featureScale: featureScale, parameterScale: parameterScale, seed: seed)
            if let folder { try model.writeDescription(to: folder) }
        }
        let checkpoint = folder?.appendingPathComponent(checkpointFile)
        let trainer = try FlowTrainer(model: model.network, config: optimisation, rng: RNGStream(seed: model.seed).child("qcd-inference-training"),
                                      checkpoint: checkpoint, metadata: ["kind": kind])
        if resume, let checkpoint { try trainer.resume(from: checkpoint) }
        let validationRows = try validation.map { (partonLevel: try model.standardisedParameters($0), detectorLevel: try model.encode($0)) }
        let history = try trainer.train(partonLevel: try model.standardisedParameters(training), detectorLevel: try model.encode(training),
                                        validation: validationRows, progress: progress)
        return (model, history)
    }

    /// K posterior samples per set in physical units [S][K][P].
    public func posterior(_ sets: JetSets, samples: Int, rng: RNGStream) throws -> [[[Double]]] {
        let draws = try parameterScale.inverse(try network.sample(detectorLevel: try encode(sets), count: samples, rng: rng))
        let p = names.count
        return (0..<sets.count).map { s in (0..<samples).map { k in (0..<p).map { Double(draws.storage[(s * samples + k) * p + $0]) } } }
    }

    // MARK: Model folder

    static let kind = "qcd-inference"
    public static let checkpointFile = "checkpoint.safetensors"
    struct Description: Codable {
        var kind: String, config: JetSetINNConfig, names: [String], prior: [[Double]], featureNames: [String]
        var featureScale: Standardizer, parameterScale: Standardizer, seed: UInt64
    }

    /// `model.json` and `checkpoint.safetensors` (weights only), each written atomically.
    public func write(to folder: URL) throws {
        try writeDescription(to: folder)
        try Checkpoint.save(module: network, metadata: ["kind": Self.kind], to: folder.appendingPathComponent(Self.checkpointFile))
        try ModelManifest.write(folder, seed: seed)
    }

    func writeDescription(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let description = Description(kind: Self.kind, config: config, names: names, prior: prior, featureNames: JetFeatures.names,
                                      featureScale: featureScale, parameterScale: parameterScale, seed: seed)
        try writeJSONAtomically(description, to: folder.appendingPathComponent("model.json"))
    }

    /// Reads a folder written by `write(to:)` or by `refold train qcd`; errors name the file.
    public static func read(from folder: URL) throws -> QCDInferenceModel {
        try ModelManifest.verify(folder)
        let url = folder.appendingPathComponent("model.json")
        let d = try readJSON(Description.self, from: url, needs: "a QCD inference model folder (refold train qcd) needs model.json",
                             what: "a QCD inference model description")
        guard d.kind == kind else { throw RefoldError.file(url.path, "kind: expected '\(kind)', got '\(d.kind)'") }
        guard d.featureNames == JetFeatures.names else {
            throw RefoldError.file(url.path, "featureNames: expected \(JetFeatures.names), got \(d.featureNames)")
        }
        let model = try QCDInferenceModel(config: d.config, names: d.names, prior: d.prior, featureScale: d.featureScale,
                                          parameterScale: d.parameterScale, seed: d.seed)
        _ = try Checkpoint.load(into: model.network, from: folder.appendingPathComponent(checkpointFile))
        return model
    }
}
