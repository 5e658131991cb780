import Flows
import Foundation
import Inference
import Physics
import Tensor
import Unfolders
import Validation

/// Inverting to QCD (arXiv:2012.09873, issue 18): a set-level cINN (`JetSetINN`: Deep Sets over
/// the jets of a measurement feeding a conditional INN) learns p(theta | M jets) of shower
/// parameters theta drawn from a uniform prior per set, then on held-out sets:
///   calibration: coverage of the central 68 % and 95 % intervals and the rank ECDF per parameter;
///   width against M: the mean posterior standard deviation at each set size and the exponent b of
///   a fit sigma ~ M^b (statistics alone give b = -1/2 once the prior no longer limits the width);
///   physical values: R sets at the QCD defaults, the mean pull (mean - truth) / std over them;
///   the posterior correlation between the parameters (reported).
///
/// `[generator.parameters]`: energy, quark_fraction, priors ("NAME=LOW:HIGH"), maximum_jets,
/// minimum_jets, set_sizes, gated_set_size, physical_sets. `[generator] events` counts training
/// sets, `test_events` held-out sets. `[network.parameters]`: embedding_layers, embedding_units,
/// summary_dimension.
public enum QCDInferenceStudy {
    /// `[network.qcd]` (phi, and the cINN in its `inn` sub-table; the sizes of the sets come from
    /// the generator) and `[network.training]` over the study's defaults.
    static func configs(_ n: NetworkSpec, parameters: Int, maximumJets: Int, minimumJets: Int) throws -> (JetSetINNConfig, TrainingConfig) {
        let preset = JetSetINNConfig(parameters: parameters, maximumJets: maximumJets, minimumJets: minimumJets,
                                     embeddingLayers: 3, embeddingUnits: 64, summaryDimension: 32,
                                     inn: ConditionalINNConfig(blocks: 6, layersPerBlock: 2, unitsPerLayer: 64, conditionLayers: 2,
                                                               conditionUnits: 64, conditionOutput: 16, mmdWeight: .off))
        return (try n.decode("qcd", over: preset, derived: ["parameters", "maximum_jets", "minimum_jets"]),
                try n.decode("training", over: TrainingConfig(epochs: 30, batchSize: 128, learningRate: 1e-3, weightDecay: 1e-5, schedule: .oneCycle)))
    }

    struct Settings {
        var energy: Double, quarkFraction: Double, prior: ShowerPrior
        var trainingSets: Int, testSets: Int, maximumJets: Int, minimumJets: Int
        var setSizes: [Int], gatedSize: Int, physicalSets: Int, samples: Int
        /// The smallest set size of the width exponent's fit (smaller sets are shown; there the prior still limits the width).
        var exponentFrom: Int
        var network: JetSetINNConfig, training: TrainingConfig

        init(_ context: StudyContext) throws {
            let g = context.generator, n = context.network
            energy = try g.number("energy", default: 100)
            quarkFraction = try g.number("quark_fraction", default: 0.5)
            guard case .strings(let priors)? = g.parameters["priors"] else {
                throw RefoldError.value("[generator.parameters] priors", expected: "a list of \"NAME=LOW:HIGH\"", actual: g.parameters["priors"].map { "\($0)" } ?? "none")
            }
            prior = try ShowerPrior(priors)
            trainingSets = g.events; testSets = g.testEvents
            maximumJets = Int(try g.number("maximum_jets", default: 100))
            minimumJets = Int(try g.number("minimum_jets", default: 10))
            setSizes = try ErrorsVsStatisticsStudy.numbers(g, "set_sizes", default: [10, 30, 100]).map { Int($0) }
            gatedSize = Int(try g.number("gated_set_size", default: 30))
            physicalSets = Int(try g.number("physical_sets", default: 20))
            exponentFrom = Int(try g.number("exponent_from", default: 30))
            samples = n.samplesPerEvent ?? 200
            let allowed = minimumJets...max(minimumJets, maximumJets), from = exponentFrom
            guard setSizes.count >= 2, setSizes.allSatisfy({ allowed.contains($0) }), setSizes.contains(gatedSize),
                  physicalSets >= 2, testSets >= 20, samples >= 20, setSizes.filter({ $0 >= from }).count >= 2 else {
                throw RefoldError.value("qcd-inference sizes", expected: ">= 2 set sizes in [minimum_jets, maximum_jets] including gated_set_size, physical_sets >= 2, test_events >= 20, samples_per_event >= 20",
                                        actual: "\(setSizes) in [\(minimumJets), \(maximumJets)], gated \(gatedSize), \(physicalSets), \(testSets), \(samples)")
            }
            (network, training) = try QCDInferenceStudy.configs(n, parameters: prior.ranges.count, maximumJets: maximumJets, minimumJets: minimumJets)
        }

        var description: String {
            "\(trainingSets) training and \(testSets) held-out sets of \(maximumJets) jets at \(format(energy)) GeV (quark fraction \(format(quarkFraction)), the jet's parton known), "
                + "prior \(prior.ranges.map { "\($0.field.name) in [\(format($0.low)), \($0.high)]" }.joined(separator: ", ")); phi \(network.embeddingLayers) x \(network.embeddingUnits) -> \(network.summaryDimension), "
                + "cINN \(network.inn.blocks) blocks x \(network.inn.layersPerBlock) x \(network.inn.unitsPerLayer), rho \(network.inn.conditionLayers) x \(network.inn.conditionUnits) -> \(network.inn.conditionOutput); "
                + "training subsets of \(minimumJets)-\(maximumJets) jets, \(training.epochs) epochs, batch \(training.batchSize) sets, lr \(training.learningRate) \(training.schedule); \(samples) posterior samples per set"
        }
    }

    /// Coverage of the central 68 % and 95 % intervals, rank calibration and mean width and
    /// correlation of the posteriors of `sets`.
    struct Calibration {
        var coverage68: [Double], coverage95: [Double], curves: [CalibrationCurve]
        var width: [Double], widths: [[Double]], correlations: [Double]
        var correlation: Double { correlations.reduce(0, +) / Double(correlations.count) }

        init(truth: [[Double]], posterior: [[[Double]]], names: [String]) throws {
            let summaries = posterior.map { PosteriorSummary(names: names, samples: $0) }
            let p = names.count, s = Double(truth.count)
            func covered(_ interval: KeyPath<PosteriorSummary, [[Double]]>) -> [Double] {
                (0..<p).map { j in Double(zip(truth, summaries).filter { $1[keyPath: interval][j][0] <= $0[j] && $0[j] <= $1[keyPath: interval][j][1] }.count) / s }
            }
            coverage68 = covered(\.interval68); coverage95 = covered(\.interval95)
            curves = try CalibrationCurve.perCoordinate(truth: truth, samples: posterior)
            widths = summaries.map(\.std)
            width = (0..<p).map { j in summaries.reduce(0) { $0 + $1.std[j] } / s }
            correlations = summaries.map { $0.correlation[0][1] }
        }
    }

    /// Least-squares slope of log y against log x.
    static func exponent(_ x: [Double], _ y: [Double]) -> Double {
        let lx = x.map { Foundation.log($0) }, ly = y.map { Foundation.log($0) }
        let mx = lx.reduce(0, +) / Double(lx.count), my = ly.reduce(0, +) / Double(ly.count)
        let sxy = zip(lx, ly).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }, sxx = lx.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        return sxy / sxx
    }

    static func run(_ context: StudyContext) throws -> StudyResult {
        let s = try Settings(context)
        var result = StudyResult()
        result.notes.append(s.description)
        let start = Date()
        let fixed = ShowerParameters()
        let initial = InitialParton.mixed(quarkFraction: s.quarkFraction)
        func sets(_ count: Int, prior: ShowerPrior, seed: UInt64) throws -> JetSets {
            let sample = try ShowerSample(jets: count * s.maximumJets, energy: s.energy, initial: initial, fixed: fixed, prior: prior,
                                          jetsPerSet: s.maximumJets, seed: seed)
            return try JetSets(sample, names: s.prior.ranges.map(\.field.name))
        }
        let training = try sets(s.trainingSets, prior: s.prior, seed: context.seed(for: "training-sets"))
        let test = try sets(s.testSets, prior: s.prior, seed: context.seed(for: "test-sets"))
        let physical = try sets(s.physicalSets, prior: ShowerPrior(), seed: context.seed(for: "physical-sets"))
        let generated = Date().timeIntervalSince(start)
        context.report("generated \((s.trainingSets + s.testSets + s.physicalSets) * s.maximumJets) jets in \(format(generated)) s")

        let lap = Date()
        let (model, history) = try QCDInferenceModel.train(training, config: s.network, prior: s.prior.ranges.map { [$0.low, $0.high] },
                                                           optimisation: s.training, seed: context.seed(for: "network")) { report in
            context.report(progressLine(report, epochs: s.training.epochs))
        }
        let trained = Date().timeIntervalSince(lap)
        result.notes.append("generation \(format(generated)) s (\((s.trainingSets + s.testSets + s.physicalSets) * s.maximumJets) jets), training \(format(trained)) s "
            + "(\(format(trained / Double(max(1, history.count)))) s per epoch, \(model.network.parameterCount) weights), final loss \(format(history.last?.trainLoss ?? .nan))")

        // Calibration and widths at every set size, the same held-out sets cut to their first M jets.
        let names = model.names
        var calibrations: [Int: Calibration] = [:]
        for (k, m) in s.setSizes.enumerated() {
            let posterior = try model.posterior(test.prefix(m), samples: s.samples, rng: context.rng.child("posterior").child(index: k))
            let c = try Calibration(truth: test.parameters, posterior: posterior, names: names)
            calibrations[m] = c
            result.notes.append("M = \(m): coverage 68 % \(names.indices.map { "\(names[$0]) \(format(c.coverage68[$0]))" }.joined(separator: ", ")); "
                + "95 % \(names.indices.map { "\(names[$0]) \(format(c.coverage95[$0]))" }.joined(separator: ", ")); rank ECDF max deviation \(c.curves.map { format($0.maxDeviation) }.joined(separator: ", ")); "
                + "mean posterior std \(names.indices.map { "\(names[$0]) \(format(c.width[$0]))" }.joined(separator: ", ")) (prior std \(s.prior.ranges.map { format(($0.high - $0.low) / 12.0.squareRoot()) }.joined(separator: ", "))); "
                + "mean correlation \(format(c.correlation))")
        }
        let gated = calibrations[s.gatedSize]!, sets = Double(s.testSets)
        func farthest(_ values: [Double], from target: Double) -> Double { values.max { abs($0 - target) < abs($1 - target) }! }
        result.measure("coverage-68", Measured(farthest(gated.coverage68, from: 0.68), noise: (0.68 * 0.32 / sets).squareRoot()))
        result.measure("coverage-95", Measured(farthest(gated.coverage95, from: 0.95), noise: (0.95 * 0.05 / sets).squareRoot()))
        result.measure("calibration-max-deviation", Measured(gated.curves.map(\.maxDeviation).max()!,
                                                             noise: CalibrationCurve.bootstrapNoise(ofLargestDeviation: gated.curves, rng: context.rng.child("bootstrap"))))

        // Width against M: the exponent per parameter, its noise from bootstrap resamples of the sets.
        let fitted = s.setSizes.filter { $0 >= s.exponentFrom }, sizes = fitted.map(Double.init)
        let exponents = names.indices.map { j in exponent(sizes, fitted.map { calibrations[$0]!.width[j] }) }
        let allSizes = names.indices.map { j in exponent(s.setSizes.map(Double.init), s.setSizes.map { calibrations[$0]!.width[j] }) }
        let bootstrap = context.rng.child("width-bootstrap")
        let replicas = (0..<200).map { _ -> [Double] in
            let drawn = (0..<s.testSets).map { _ in bootstrap.integer(below: s.testSets) }
            return names.indices.map { j in
                exponent(sizes, fitted.map { m in drawn.reduce(0) { $0 + calibrations[m]!.widths[$1][j] } / sets })
            }
        }
        let worst = names.indices.max { abs(exponents[$0] + 0.5) < abs(exponents[$1] + 0.5) }!
        result.measure("width-exponent", Measured(exponents[worst], spreadOf: replicas.map { $0[worst] }))
        result.notes.append("posterior width ~ M^b: b = \(names.indices.map { j in "\(names[j]) \(format(exponents[j])) ± \(format(Measured(0, spreadOf: replicas.map { $0[j] }).noise))" }.joined(separator: ", ")) over M = \(fitted); over all of M = \(s.setSizes): \(names.indices.map { "\(names[$0]) \(format(allSizes[$0]))" }.joined(separator: ", "))")
        let largest = calibrations[s.setSizes.max()!]!
        result.measure("correlation", Measured(repeated: largest.correlations))

        // The physical values.
        let truth = names.map { try! ShowerParameters.field(named: $0).get(fixed) }
        let atPhysical = try model.posterior(physical, samples: s.samples, rng: context.rng.child("physical"))
        let summaries = atPhysical.map { PosteriorSummary(names: names, samples: $0) }
        let pulls = names.indices.map { j in summaries.reduce(0) { $0 + ($1.mean[j] - truth[j]) / $1.std[j] } / Double(summaries.count) }
        let worstPull = names.indices.max { abs(pulls[$0]) < abs(pulls[$1]) }!
        result.measure("physical-pull", Measured(pulls[worstPull], noise: 1 / Double(summaries.count).squareRoot()))
        let inside95 = names.indices.map { j in summaries.filter { $0.interval95[j][0] <= truth[j] && truth[j] <= $0.interval95[j][1] }.count }
        let first = summaries[0]
        result.notes.append("physical values (\(names.indices.map { "\(names[$0]) = \(format(truth[$0]))" }.joined(separator: ", "))), \(s.physicalSets) sets of \(s.maximumJets) jets: "
            + "mean pull \(names.indices.map { "\(names[$0]) \(format(pulls[$0]))" }.joined(separator: ", ")) (noise \(format(1 / Double(summaries.count).squareRoot()))), truth inside the 95 % interval in \(inside95.map(String.init).joined(separator: ", ")) of \(s.physicalSets); "
            + "one measurement: \(names.indices.map { "\(names[$0]) = \(format(first.mean[$0])) ± \(format(first.std[$0]))" }.joined(separator: ", ")), correlation \(format(first.correlation[0][1]))")

        try plots(calibrations: calibrations, settings: s, names: names, exponents: exponents, physical: atPhysical[0], truth: truth, context: context, into: &result)
        result.notes.append("total \(format(Date().timeIntervalSince(start))) s")
        return result
    }

    static func plots(calibrations: [Int: Calibration], settings s: Settings, names: [String], exponents: [Double], physical: [[Double]], truth: [Double],
                      context: StudyContext, into result: inout StudyResult) throws {
        let gated = calibrations[s.gatedSize]!
        result.add(try Plot.calibration(title: "QCD inference: rank calibration, \(s.testSets) held-out sets of M = \(s.gatedSize) jets",
                                                  curves: names.indices.map { (names[$0], gated.curves[$0]) }), name: "calibration")
        let sizes = s.setSizes.map(Double.init)
        let series = names.indices.map { j -> Plot.FitSeries in
            let y = s.setSizes.map { calibrations[$0]!.width[j] }
            let sigma = s.setSizes.map { m in
                Measured(0, spreadOf: calibrations[m]!.widths.map { $0[j] }).noise / Double(s.testSets).squareRoot()
            }
            let fitted = zip(sizes, y).filter { $0.0 >= Double(s.exponentFrom) }
            let scale = Foundation.exp(fitted.reduce(0) { $0 + Foundation.log($1.1) - exponents[j] * Foundation.log($1.0) } / Double(fitted.count))
            let grid = (0..<100).map { sizes.min()! * Foundation.pow(sizes.max()! / sizes.min()!, Double($0) / 99) }
            return Plot.FitSeries(label: names[j], fitLabel: "\(names[j]): M^{\(format(exponents[j]))} (fit M >= \(s.exponentFrom))", x: sizes, y: y, sigma: sigma,
                                  curveX: grid, curveY: grid.map { scale * Foundation.pow($0, exponents[j]) })
        }
        result.add(try Plot.fit(title: "QCD inference: mean posterior width against jets per set", xLabel: "M (jets per set)",
                                          yLabel: "mean posterior std", series: series, logX: true, logY: true), name: "width-vs-jets")
        try BINNStudy.writeCSV([("jets", sizes)] + names.indices.map { j in ("std_\(names[j])", s.setSizes.map { calibrations[$0]!.width[j] }) }
                               + names.indices.flatMap { j in [("coverage68_\(names[j])", s.setSizes.map { calibrations[$0]!.coverage68[j] }),
                                                               ("coverage95_\(names[j])", s.setSizes.map { calibrations[$0]!.coverage95[j] })] },
                               to: try context.file("width-vs-jets.csv"))
        result.dataFiles.append("width-vs-jets.csv")
        result.add(try Plot.posterior(title: "QCD inference: posterior of one set of \(s.maximumJets) jets at the physical values",
                                                xLabel: names[0], yLabel: names[1], samples: physical.map { ($0[0], $0[1]) }, truth: (truth[0], truth[1])), name: "posterior-physical")
    }
}
