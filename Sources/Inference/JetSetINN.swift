import Autograd
import Flows
import Foundation
import Physics
import Tensor

/// The per-jet inputs of set-level inference: the `JetShapes` observables and a few cheap
/// constituent summaries of one showered jet (energies and angles to the jet axis, E = sum E_i):
///
///     quark (1 if the jet started from a quark), n, log(1 + m / GeV), width, p_T^D, z_g,
///     E_1 / E (leading constituent), n(E_i > 0.05 E), sum E_i theta_i^2 / E
public enum JetFeatures {
    public static let names = ["quark", "multiplicity", "log1p_mass", "width", "pT_D", "z_g", "leading_fraction", "hard_multiplicity", "angular_moment_2"]
    public static var count: Int { names.count }

    public static func values(_ constituents: [FourMomentum], quark: Bool) -> [Double] {
        let shapes = JetShapes(constituents)
        let jet = constituents.reduce(FourMomentum.zero, +)
        var energy = 0.0, leading = 0.0, moment = 0.0
        for c in constituents {
            energy += c.e; leading = max(leading, c.e)
            let theta = angle(c, jet)
            moment += c.e * theta * theta
        }
        let hard = constituents.reduce(0) { $0 + ($1.e > 0.05 * energy ? 1 : 0) }
        return [quark ? 1 : 0, shapes.multiplicity, log1p(shapes.mass), shapes.width, shapes.pTD, shapes.zg,
                energy > 0 ? leading / energy : 0, Double(hard), energy > 0 ? moment / energy : 0]
    }

    /// The angle between two three-momenta (atan2 of |cross| and dot).
    static func angle(_ a: FourMomentum, _ b: FourMomentum) -> Double {
        let cx = a.py * b.pz - a.pz * b.py, cy = a.pz * b.px - a.px * b.pz, cz = a.px * b.py - a.py * b.px
        return atan2((cx * cx + cy * cy + cz * cz).squareRoot(), a.px * b.px + a.py * b.py + a.pz * b.pz)
    }
}

/// Sizes of the set-level cINN. The summary is Deep Sets (Zaheer et al., arXiv:1703.06114):
/// s = rho( mean_j phi(x_j), c(M) ), phi an MLP over each jet's standardised features, c(M) the
/// set size coded in [-1, 1] over log M in [minimumJets, maximumJets] (as in BayesFlow, Radev et
/// al., arXiv:2003.06281: the posterior width depends on M, which a mean does not carry); rho is
/// the cINN's condition network (`inn.condition*`).
public struct JetSetINNConfig: Codable, Equatable {
    /// P, the parameters inferred.
    public var parameters: Int
    /// The largest set a model reads (the columns of its input) and the smallest it trains on.
    public var maximumJets: Int
    public var minimumJets: Int
    /// phi: linear layers (ReLU between), hidden width, output width (the pooled summary's size).
    public var embeddingLayers: Int
    public var embeddingUnits: Int
    public var summaryDimension: Int
    public var inn: ConditionalINNConfig

    public init(parameters: Int, maximumJets: Int, minimumJets: Int, embeddingLayers: Int = 3, embeddingUnits: Int = 64,
                summaryDimension: Int = 32, inn: ConditionalINNConfig) {
        self.parameters = parameters; self.maximumJets = maximumJets; self.minimumJets = minimumJets
        self.embeddingLayers = embeddingLayers; self.embeddingUnits = embeddingUnits; self.summaryDimension = summaryDimension
        self.inn = inn
    }

    public func validate() throws {
        guard parameters >= 2, minimumJets >= 1, maximumJets >= minimumJets, embeddingLayers >= 1, embeddingUnits >= 1, summaryDimension >= 1 else {
            throw RefoldError.value("JetSetINNConfig", expected: "parameters >= 2, 1 <= minimumJets <= maximumJets, positive embedding sizes",
                                    actual: "\(parameters), \(minimumJets)...\(maximumJets), \(embeddingLayers) x \(embeddingUnits) -> \(summaryDimension)")
        }
    }
}

/// A cINN over P standardised parameters conditioned on a set of jets: z = g(theta; rho(mean_j
/// phi(x_j), c(M))), trained by maximum likelihood on (theta, set) pairs with theta from the
/// prior, so that sampling z ~ N(0, 1) gives the posterior p(theta | set) (Bieringer et al.,
/// arXiv:2012.09873).
///
/// Input rows ("detector level" of `UnfoldingFlow`): a set as M_max blocks of F + 1 numbers, the
/// F standardised `JetFeatures` of a jet and a mask (1: a jet, 0: padding), jets first. The
/// summary is invariant under permutations of the jets of a set (up to float round-off of the
/// mean). In `loss` every batch draws one set size m log-uniformly in [minimumJets, smallest set
/// of the batch] and each set a random m of its jets (`rng`), so one network learns every M;
/// `sample` and `condition` use all jets of each set. Parameters "summary.layer*",
/// "inn.condition.layer*", "inn.flow.block*".
public final class JetSetINN: UnfoldingFlow {
    public let config: JetSetINNConfig
    public let embedding: MLP
    public let inn: ConditionalINN

    /// `rng` draws phi (child "summary") and the cINN (child "inn"); the same seed rebuilds the
    /// same permutations.
    public init(config: JetSetINNConfig, rng: RNGStream) throws {
        try config.validate()
        self.config = config
        let sizes = [JetFeatures.count] + [Int](repeating: config.embeddingUnits, count: config.embeddingLayers - 1) + [config.summaryDimension]
        embedding = MLP(sizes: sizes, activation: .relu, rng: rng.child("summary"))
        inn = ConditionalINN(partonDimension: config.parameters, detectorDimension: config.summaryDimension + 1, config: config.inn,
                             rng: rng.child("inn"))
    }

    public var partonDimension: Int { config.parameters }
    public var detectorDimension: Int { config.maximumJets * (JetFeatures.count + 1) }
    public var parameters: [(name: String, variable: Variable)] { prefixed("summary", embedding) + prefixed("inn", inn) }

    /// Sets encoded as rows [S, M_max (F + 1)] from standardised features `sets[s][j]` (F each).
    public static func encode(_ sets: [[[Float]]], maximumJets: Int) throws -> Tensor {
        let f = JetFeatures.count, width = maximumJets * (f + 1)
        var storage = [Float](repeating: 0, count: sets.count * width)
        for (s, set) in sets.enumerated() {
            guard (1...maximumJets).contains(set.count) else {
                throw RefoldError.value("jets in set \(s)", expected: "1...\(maximumJets) (the model's largest set)", actual: set.count)
            }
            for (j, jet) in set.enumerated() {
                guard jet.count == f else { throw RefoldError.value("features of jet \(j) in set \(s)", expected: "\(f) (\(JetFeatures.names))", actual: jet.count) }
                let base = s * width + j * (f + 1)
                for k in 0..<f { storage[base + k] = jet[k] }
                storage[base + f] = 1
            }
        }
        return Tensor(shape: [sets.count, width], storage: storage)
    }

    /// The jets of each row (the masks, which come first).
    public func jetCounts(_ sets: Tensor) -> [Int] {
        let f = JetFeatures.count, width = detectorDimension
        return (0..<sets.rows).map { s in
            var n = 0
            while n < config.maximumJets, sets.storage[s * width + n * (f + 1) + f] > 0.5 { n += 1 }
            return n
        }
    }

    /// c(M) in [-1, 1] over log M in [minimumJets, maximumJets].
    public func sizeCode(_ m: Int) -> Float {
        let low = Foundation.log(Double(config.minimumJets)), high = Foundation.log(Double(config.maximumJets))
        return high > low ? Float((2 * Foundation.log(Double(m)) - low - high) / (high - low)) : 0
    }

    /// The condition [B, E + 1] of sets that all use m jets, `chosen[b]` the jets of row b.
    func condition(_ sets: Tensor, rows: [Int], chosen: [[Int]], jets m: Int) -> Variable {
        let f = JetFeatures.count, width = detectorDimension, b = rows.count
        var jets = [Float](repeating: 0, count: m * b * f)
        sets.storage.withUnsafeBufferPointer { x in
            for (i, row) in rows.enumerated() {
                for (j, jet) in chosen[i].prefix(m).enumerated() {
                    let source = row * width + jet * (f + 1), target = (j * b + i) * f
                    for k in 0..<f { jets[target + k] = x[source + k] }
                }
            }
        }
        // Jet-major rows (j B + i): the mean over jets is a mean over axis 0 of [m, B E].
        let h = embedding(Variable(Tensor(shape: [m * b, f], storage: jets)))
        let pooled = reshape(mean(reshape(h, [m, b * config.summaryDimension]), axis: 0), [b, config.summaryDimension])
        let size = Variable(Tensor(shape: [b, 1], storage: [Float](repeating: sizeCode(m), count: b)))
        return concat([pooled, size], axis: 1)
    }

    /// The condition rho's input [S, E + 1] of every set with all its jets, without a graph.
    public func condition(_ sets: Tensor) throws -> Tensor {
        try checkBatch(partonLevel: nil, detectorLevel: sets)
        let counts = jetCounts(sets)
        if let empty = counts.firstIndex(of: 0) { throw RefoldError.value("jets in set \(empty)", expected: ">= 1", actual: 0) }
        let e = config.summaryDimension + 1
        var storage = [Float](repeating: 0, count: sets.rows * e)
        withNoGrad {
            for m in Set(counts).sorted() {
                let rows = counts.indices.filter { counts[$0] == m }
                for start in stride(from: 0, to: rows.count, by: 256) {
                    let part = Array(rows[start..<min(rows.count, start + 256)])
                    let c = condition(sets, rows: part, chosen: part.map { _ in Array(0..<m) }, jets: m).value
                    for (i, row) in part.enumerated() {
                        for k in 0..<e { storage[row * e + k] = c.storage[i * e + k] }
                    }
                }
            }
        }
        return Tensor(shape: [sets.rows, e], storage: storage)
    }

    /// Mean -log p(theta | subset) over the batch (see the type's comment for the subsets).
    public func loss(partonLevel: Variable, detectorLevel: Variable, epoch: Int, rng: RNGStream) -> FlowLoss {
        let sets = detectorLevel.value
        let counts = jetCounts(sets)
        let available = max(1, counts.min() ?? 1)
        let low = min(config.minimumJets, available)
        let m = min(available, Int(Foundation.exp(rng.uniform(Foundation.log(Double(low)), Foundation.log(Double(available) + 1)))))
        let chosen = counts.map { n in n > m ? Array(rng.permutation(n).prefix(m)) : Array(0..<n) }
        let c = condition(sets, rows: Array(0..<sets.rows), chosen: chosen, jets: max(1, m))
        return inn.loss(partonLevel: partonLevel, detectorLevel: c, epoch: epoch, rng: rng)
    }

    /// K posterior samples per set [S, K, P] (standardised parameters), all jets of each set.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        try inn.sample(detectorLevel: try condition(detectorLevel), count: count, rng: rng)
    }
}

extension JetSetINNConfig {
    /// The sizes of Toys/qcd-inference.toml's quick profile: phi 3 x 64 -> 32, rho 2 x 64 -> 16,
    /// 6 blocks x 2 x 64; sets of 10-100 jets.
    public static func quick(parameters: Int, maximumJets: Int = 100, minimumJets: Int = 10) -> JetSetINNConfig {
        JetSetINNConfig(parameters: parameters, maximumJets: maximumJets, minimumJets: minimumJets, embeddingLayers: 3, embeddingUnits: 64,
                        summaryDimension: 32, inn: ConditionalINNConfig(blocks: 6, layersPerBlock: 2, unitsPerLayer: 64, conditionLayers: 2,
                                                                        conditionUnits: 64, conditionOutput: 16, mmdWeight: .off))
    }

    /// The paper profile: phi 3 x 128 -> 64, rho 3 x 128 -> 32, 12 blocks x 2 x 128.
    public static func paper(parameters: Int, maximumJets: Int = 300, minimumJets: Int = 10) -> JetSetINNConfig {
        JetSetINNConfig(parameters: parameters, maximumJets: maximumJets, minimumJets: minimumJets, embeddingLayers: 3, embeddingUnits: 128,
                        summaryDimension: 64, inn: ConditionalINNConfig(blocks: 12, layersPerBlock: 2, unitsPerLayer: 128, conditionLayers: 3,
                                                                        conditionUnits: 128, conditionOutput: 32, mmdWeight: .off))
    }
}

extension JetSetINNConfig: CheckedConfiguration {}
