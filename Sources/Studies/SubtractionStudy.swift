import Foundation
import GAN
import Physics
import Tensor
import Unfolders
import ToyModels
import Validation

/// GAN event subtraction (arXiv:1912.08824; talk 002): the 1D toy P_B = 1/x + 0.1, P_S = 1/x on
/// [1, 100] and the Drell-Yan B = gamma + Z + interference, S = gamma in the window where B - S
/// is positive. For R replicas (independent B and S training samples, independent network
/// initialisations) the GAN's B - S histogram (from many generated events) and the binned
/// subtraction of the same training samples, d_i = (sigma_B n_B,i / N_B - sigma_S n_S,i / N_S) /
/// (sigma_{B-S} width), are compared with the exact B - S density: chi2/ndf against the binned
/// subtraction's statistical error (the precision the training data carry), the largest relative
/// deviation of the replica mean, and the bin-by-bin spread over the replicas of both methods
/// (the seed's "statistical fluctuations reduced": the ratio GAN / binned, whatever it is).
public enum SubtractionStudy {
    /// `[network.parameters] coordinates`: quantile Gaussianisation of B's columns or the box map.
    enum Coordinates: String, CaseIterable { case quantile, box }

    /// `[network.gan]` and `[network.training]` over the study's defaults: G and D 4 x 64, noise 8,
    /// 20 epochs at a constant 5e-4.
    static func configs(_ n: NetworkSpec) throws -> (GANConfig, GANTrainingConfig) {
        (try n.decode("gan", over: GANConfig(generatorLayers: 4, discriminatorLayers: 4, unitsPerLayer: 64, activation: .leakyRelu,
                                            noiseDimension: 8, lambdaD: 1e-3)),
         try n.decode("training", over: GANTrainingConfig(epochs: 20, batchSize: 512, generatorLearningRate: 5e-4,
                                                         discriminatorLearningRate: 5e-4, schedule: .constant)))
    }

    struct Settings {
        var events: Int, replicas: Int, dyReplicas: Int, generated: Int
        var network: GANConfig, training: GANTrainingConfig
        /// `[network.parameters] coordinates`: "quantile" (Gaussianised with B's CDF, default) or "box" (logit of the support).
        var gaussianise: Bool

        init(_ context: StudyContext) throws {
            let n = context.network, g = context.generator
            events = g.events
            replicas = Int(try g.number("replicas", default: 10))
            dyReplicas = Int(try g.number("drell_yan_replicas", default: 10))
            generated = Int(try g.number("generated_events", default: 1_000_000))
            guard replicas >= 2, dyReplicas >= 2, generated >= 1_000 else {
                throw RefoldError.value("[generator.parameters] replicas, drell_yan_replicas, generated_events",
                                        expected: ">= 2, >= 2, >= 1000", actual: "\(replicas), \(dyReplicas), \(generated)")
            }
            (network, training) = try SubtractionStudy.configs(n)
            gaussianise = try n.parameters.enumeration("coordinates", Coordinates.self) ?? .quantile == .quantile
        }

        var description: String {
            "\(replicas) toy and \(dyReplicas) Drell-Yan replicas of N_B = N_S = \(events) training events; G and D \(network.generatorLayers) x \(network.unitsPerLayer), "
                + "\(training.epochs) epochs, batch \(training.batchSize), lr \(training.generatorLearningRate) \(training.schedule), generator average \(training.generatorAverage.map { "\($0)" } ?? "off"), "
                + "lambda_D \(network.lambdaD), noise dimension \(network.noiseDimension ?? 0), coordinates \(gaussianise ? "Gaussianised with B's quantiles" : "logit of the support"); \(generated) GAN events per replica"
        }
    }

    /// One observable's replicas: exact, binned-subtraction and GAN densities per bin.
    struct Comparison {
        let name: String, edges: [Double], exact: [Double]
        var binned: [[Double]] = [], gan: [[Double]] = []
        /// Events generated per GAN replica: their multinomial variance per bin is subtracted
        /// from the GAN's replica variance (it is the noise of the histogram, not of the GAN).
        var generated = 0

        var bins: Int { exact.count }
        func mean(_ rows: [[Double]]) -> [Double] {
            (0..<bins).map { (i: Int) -> Double in
                var total = 0.0
                for row in rows { total += row[i] }
                return total / Double(rows.count)
            }
        }
        func spread(_ rows: [[Double]]) -> [Double] {
            let m = mean(rows)
            return (0..<bins).map { (i: Int) -> Double in
                var total = 0.0
                for row in rows { total += (row[i] - m[i]) * (row[i] - m[i]) }
                return (total / Double(rows.count - 1)).squareRoot()
            }
        }
        /// chi2/ndf of each row against the exact density, with the binned subtraction's spread as error.
        func chi2PerNdf(_ rows: [[Double]]) -> [Double] {
            let sigma = spread(binned)
            return rows.map { (row: [Double]) -> Double in
                var chi2 = 0.0
                for i in 0..<bins { chi2 += (row[i] - exact[i]) * (row[i] - exact[i]) / (sigma[i] * sigma[i]) }
                return chi2 / Double(bins)
            }
        }
        /// max over the bins holding at least 1 % of the exact probability of |<GAN> / exact - 1|,
        /// and its noise (the replica mean's standard error in that bin). The sparser tail bins of
        /// a peaked density are left to the chi2: there a replica's GAN spread is tens of per cent.
        var maximumDeviation: Measured {
            let m = mean(gan), s = spread(gan)
            let populated = (0..<bins).filter { exact[$0] * (edges[$0 + 1] - edges[$0]) >= 0.01 }
            let deviations = populated.map { abs(m[$0] / exact[$0] - 1) }
            let k = deviations.indices.max { deviations[$0] < deviations[$1] }!
            let i = populated[k]
            return Measured(deviations[k], noise: s[i] / exact[i] / Double(gan.count).squareRoot())
        }
        /// The GAN's replica spread per bin without the sampling noise of its histogram,
        /// sqrt(max(0, s^2 - p (1 - p) / (N_gen width^2))), p the bin's probability.
        var ganSpread: [Double] {
            let raw = spread(gan), m = mean(gan)
            return (0..<bins).map { i in
                let width = edges[i + 1] - edges[i], p = m[i] * width
                return max(0, raw[i] * raw[i] - p * (1 - p) / (Double(max(generated, 1)) * width * width)).squareRoot()
            }
        }
        /// RMS over bins of the GAN spread / RMS of the binned spread, with the noise of a standard
        /// deviation from R replicas (relative 1 / sqrt(2 (R - 1)) per bin, pooled over the bins).
        var spreadRatio: Measured {
            func rms(_ x: [Double]) -> Double { (x.map { $0 * $0 }.reduce(0, +) / Double(x.count)).squareRoot() }
            let ratio = rms(ganSpread) / rms(spread(binned))
            let relative = (1 / (Double(gan.count - 1) * Double(bins))).squareRoot()
            return Measured(ratio, noise: ratio * relative)
        }

        func histograms(_ rows: [[Double]]) throws -> Histogram1D {
            try Histogram1D(edges: edges, counts: zip(mean(rows), zip(edges, edges.dropFirst())).map { $0 * ($1.1 - $1.0) },
                            errors: zip(spread(rows), zip(edges, edges.dropFirst())).map { $0 * ($1.1 - $1.0) })
        }
    }

    /// Density per bin of `values`, normalised to all of them (an event outside the edges still
    /// counts in the total, as it does in the sample's cross section).
    static func density(_ values: [Double], edges: [Double]) throws -> [Double] {
        var histogram = try Histogram1D(edges: edges)
        try histogram.fill(values)
        let widths = histogram.widths
        return histogram.counts.indices.map { histogram.counts[$0] / (Double(values.count) * widths[$0]) }
    }

    /// The binned subtraction (sigma_B h_B - sigma_S h_S) / sigma_{B-S} of two density histograms.
    static func subtract(_ b: [Double], _ s: [Double], sigmaB: Double, sigmaS: Double) -> [Double] {
        zip(b, s).map { (sigmaB * $0 - sigmaS * $1) / (sigmaB - sigmaS) }
    }

    /// Trains one replica's GAN on physical events [N, D] and returns `generated` events.
    static func ganReplica(background: Tensor, subtract: Tensor, columns: [String], box: BoxMap, sigmaB: Double, sigmaS: Double,
                           settings s: Settings, rng: RNGStream) throws -> (events: Tensor, last: GANEpochReport?) {
        let coordinates = try SubtractionCoordinates(box: s.gaussianise ? nil : box, gaussianise: s.gaussianise, fitting: background)
        let model = try SubtractionGAN(columns: columns, config: s.network, coordinates: coordinates, crossSectionB: sigmaB,
                                       crossSectionS: sigmaS, rng: rng.child("model"))
        let trainer = try GANTrainer(model: model, config: s.training, rng: rng.child("train"))
        try trainer.train(background: background, subtract: subtract)
        return (try model.sample(count: s.generated, rng: rng.child("sample")), trainer.history.last)
    }

    static func record(_ c: Comparison, key: String, into result: inout StudyResult) {
        let chi2 = c.chi2PerNdf(c.gan), binned = c.chi2PerNdf(c.binned)
        result.measure("\(key)-chi2", Measured(repeated: chi2))
        result.measure("\(key)-max-deviation", c.maximumDeviation)
        result.measure("\(key)-spread-ratio", c.spreadRatio)
        let gs = c.ganSpread, bs = c.spread(c.binned)
        result.notes.append("\(c.name): GAN chi2/ndf \(format(Measured(repeated: chi2).value)) ± \(format(Measured(repeated: chi2).noise)) over \(chi2.count) replicas "
            + "(binned subtraction against itself: \(format(Measured(repeated: binned).value)), ~1 by construction); largest |<GAN>/exact - 1| over bins with >= 1 % of the events "
            + "\(format(c.maximumDeviation.value)); replica spread GAN / binned (RMS over \(c.bins) bins) \(format(c.spreadRatio.value)) ± \(format(c.spreadRatio.noise)); "
            + "per-bin spread GAN (its \(c.generated) events' sampling noise removed) \(format(gs.min()!))-\(format(gs.max()!)) vs binned \(format(bs.min()!))-\(format(bs.max()!))")
    }

    static func plot(_ c: Comparison, name: String, xLabel: String, context: StudyContext, into result: inout StudyResult) throws {
        let exact = try Histogram1D(edges: c.edges, counts: zip(c.exact, zip(c.edges, c.edges.dropFirst())).map { $0 * ($1.1 - $1.0) },
                                    errors: Array(repeating: 0, count: c.bins))
        for (label, rows, file) in [("binned subtraction", c.binned, "binned"), ("GAN", c.gan, "gan")] {
            let plot = try Plot.histogram(title: "\(c.name): \(label) B - S", xLabel: xLabel, yLabel: "normalised density",
                                          truth: exact, unfolded: try c.histograms(rows), ratioRange: 0.3,
                                          labels: ("exact B - S", "", "\(label): mean of \(rows.count) replicas, band: replica spread"),
                                          ratioLabel: "\(file == "gan" ? "GAN" : "binned") / exact")
            result.add(plot, name: "\(name)-\(file)")
        }
        try BINNStudy.writeCSV([("low", Array(c.edges.dropLast())), ("high", Array(c.edges.dropFirst())), ("exact", c.exact),
                                ("binned_mean", c.mean(c.binned)), ("binned_spread", c.spread(c.binned)),
                                ("gan_mean", c.mean(c.gan)), ("gan_spread", c.spread(c.gan))], to: try context.file("\(name).csv"))
        result.dataFiles.append("\(name).csv")
    }

    static func run(_ context: StudyContext) throws -> StudyResult {
        let s = try Settings(context)
        var result = StudyResult()
        result.notes.append(s.description)
        let start = Date()

        // 1D toy.
        let toy = try SubtractionToy(low: try context.generator.number("low", default: 1), high: try context.generator.number("high", default: 100),
                                     offset: try context.generator.number("offset", default: 0.1))
        let edges = (0...20).map { toy.low + (toy.high - toy.low) * Double($0) / 20 }
        var x = Comparison(name: "toy x", edges: edges, exact: (0..<20).map { toy.probability(.difference, edges[$0]...edges[$0 + 1]) / (edges[$0 + 1] - edges[$0]) })
        x.generated = s.generated
        let sigmaB = toy.crossSection(.background), sigmaS = toy.crossSection(.subtract)
        let box = try BoxMap(.logit, lower: [toy.low], upper: [toy.high])
        for r in 0..<s.replicas {
            let rng = context.rng.child("toy").child(index: r)
            let b = toy.sample(.background, events: s.events, rng: rng.child("b")), sub = toy.sample(.subtract, events: s.events, rng: rng.child("s"))
            x.binned.append(subtract(try density(b, edges: edges), try density(sub, edges: edges), sigmaB: sigmaB, sigmaS: sigmaS))
            let (events, last) = try ganReplica(background: Tensor(shape: [s.events, 1], storage: b.map(Float.init)),
                                                subtract: Tensor(shape: [s.events, 1], storage: sub.map(Float.init)), columns: ["x"], box: box,
                                                sigmaB: sigmaB, sigmaS: sigmaS, settings: s, rng: rng.child("gan"))
            x.gan.append(try density(events.storage.map(Double.init), edges: edges))
            context.report("toy replica \(r + 1)/\(s.replicas): <D> B/mixture \(format(last?.meanDiscriminatorReal ?? .nan))/\(format(last?.meanDiscriminatorFake ?? .nan)) (\(format(Date().timeIntervalSince(start))) s)")
        }
        record(x, key: "toy", into: &result)
        try plot(x, name: "toy-x", xLabel: "x", context: context, into: &result)
        result.notes.append("toy: sigma_B = \(format(sigmaB)), sigma_S = \(format(sigmaS)), B - S = \(format(toy.offset)) flat on [\(format(toy.low)), \(format(toy.high))] (\(format(Date().timeIntervalSince(start))) s)")

        // Drell-Yan, GAN in (m_ee, cos theta): y given m is the same for B, S and B - S.
        let lap = Date()
        var parameters = ElectroweakDrellYan.Parameters()
        parameters.minimumMass = try context.generator.number("minimum_mass", default: parameters.minimumMass)
        parameters.maximumMass = try context.generator.number("maximum_mass", default: parameters.maximumMass)
        let dyB = try ElectroweakDrellYan(parameters: parameters, component: .background)
        let dyS = try ElectroweakDrellYan(parameters: parameters, component: .subtract)
        let dyD = try ElectroweakDrellYan(parameters: parameters, component: .difference)
        let window = ElectroweakDrellYan.positiveWindow(parameters)
        result.notes.append("Drell-Yan: B - S >= 0 at every angle for m_ee in [\(format(window.lowerBound)), \(format(window.upperBound))] GeV; sample window [\(format(parameters.minimumMass)), \(format(parameters.maximumMass))] GeV; sigma_S / sigma_B = \(format(dyS.crossSection / dyB.crossSection))")
        let massEdges = (0...20).map { parameters.minimumMass + (parameters.maximumMass - parameters.minimumMass) * Double($0) / 20 }
        let cosEdges = (0...10).map { -1 + 0.2 * Double($0) }
        var mass = Comparison(name: "Drell-Yan m_ee", edges: massEdges, exact: (0..<20).map { i in
            Quadrature.integrate(massEdges[i], massEdges[i + 1], relative: 1e-10) { dyD.massDensity($0) } / (massEdges[i + 1] - massEdges[i])
        })
        var angle = Comparison(name: "Drell-Yan cos theta", edges: cosEdges, exact: (0..<10).map { i in
            Quadrature.integrate(parameters.minimumMass, parameters.maximumMass, relative: 1e-9) { m in
                Quadrature.integrate(cosEdges[i], cosEdges[i + 1], relative: 1e-10) { dyD.density(mass: m, cosTheta: $0) }
            } / 0.2
        })
        mass.generated = s.generated; angle.generated = s.generated
        let dyBox = try BoxMap(.logit, lower: [parameters.minimumMass, -1], upper: [parameters.maximumMass, 1])
        for r in 0..<s.dyReplicas {
            let rng = context.rng.child("drell-yan").child(index: r)
            func events(_ g: ElectroweakDrellYan, _ stream: RNGStream) -> Tensor {
                let rows = g.sample(events: s.events, rng: stream).events!
                return Tensor(shape: [s.events, 2], storage: (0..<s.events).flatMap { [Float(rows[$0, 0]), Float(rows[$0, 2])] })
            }
            let b = events(dyB, rng.child("b")), sub = events(dyS, rng.child("s"))
            func column(_ t: Tensor, _ j: Int) -> [Double] { (0..<t.rows).map { Double(t[$0, j]) } }
            mass.binned.append(subtract(try density(column(b, 0), edges: massEdges), try density(column(sub, 0), edges: massEdges),
                                        sigmaB: dyB.crossSection, sigmaS: dyS.crossSection))
            angle.binned.append(subtract(try density(column(b, 1), edges: cosEdges), try density(column(sub, 1), edges: cosEdges),
                                         sigmaB: dyB.crossSection, sigmaS: dyS.crossSection))
            let (generated, last) = try ganReplica(background: b, subtract: sub, columns: ["m_ee", "cos_theta"], box: dyBox, sigmaB: dyB.crossSection,
                                                   sigmaS: dyS.crossSection, settings: s, rng: rng.child("gan"))
            mass.gan.append(try density(column(generated, 0), edges: massEdges))
            angle.gan.append(try density(column(generated, 1), edges: cosEdges))
            context.report("Drell-Yan replica \(r + 1)/\(s.dyReplicas): <D> B/mixture \(format(last?.meanDiscriminatorReal ?? .nan))/\(format(last?.meanDiscriminatorFake ?? .nan)) (\(format(Date().timeIntervalSince(start))) s)")
        }
        record(mass, key: "dy-mass", into: &result)
        record(angle, key: "dy-cos", into: &result)
        try plot(mass, name: "dy-mass", xLabel: "m_{ee} [GeV]", context: context, into: &result)
        try plot(angle, name: "dy-cos", xLabel: "cos {/Symbol q}", context: context, into: &result)
        result.notes.append("Drell-Yan: \(format(Date().timeIntervalSince(lap))) s")
        return result
    }
}
