import Flows
import Foundation
import Inference
import Physics
import Tensor
import Unfolders
import Validation

/// The matrix element method with an invertible network (talks 001, 004; docs/mem.md), against
/// the exact likelihood only a testbed has:
///
/// 1. A `MEMProposal` (cINN over resonance-aligned coordinates) is trained on zw events from a grid of
///    (m_W, B) spanning the defaults and the scan ranges (`training_points`).
/// 2. Flow importance sampling against VEGAS, per event at the default parameters: pulls
///    (L_flow - L_VEGAS) / sqrt(sigma_flow^2 + sigma_VEGAS^2), and the integrand evaluations each
///    needs for 1 % (VEGAS: spent to reach it; flow: K (sigma_K / 0.01)^2 from K fixed draws).
/// 3. Calibration: pseudo-experiments at a W mass and an angular coefficient B that are not the
///    default ones, each measured by a scan of -2 log L (the other parameter at its true value):
///    pulls (estimate - truth) / error, the error from the curvature and from the finite draws
///    (`FlowLikelihood.monteCarloError`) in quadrature.
/// 4. The point of the MEM: the W mass error from the MEM on 1,000 events against a template fit
///    to the detector m_jj histogram of the same events.
public enum MEMStudy {
    /// The proposal's `[network.training]` over 30 epochs, batch 512, lr 1e-3 with cosine decay.
    static func training(_ n: NetworkSpec) throws -> TrainingConfig {
        try n.decode("training", over: TrainingConfig(epochs: 30, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine))
    }

    struct Settings {
        var trainingEvents: Int, training: TrainingConfig
        var comparisonEvents: Int, comparisonDraws: Int
        var experiments: Int, experimentEvents: Int, draws: Int, refreshDraws: Int, minimumESS: Double
        var trueWMass: Double, trueAngularB: Double, wMassHalfRange: Double, angularBHalfRange: Double, gridPoints: Int
        var templateEvents: Int, templateSimulation: Int, selectionTrials: Int, trainingPoints: Int
        /// The half range of the W mass grid of the 1,000-event comparison (finer than the
        /// pseudo-experiments', whose errors are about sqrt(10) larger).
        var templateHalfRange: Double
        /// Defensive importance sampling (`LatentMixture`): weight and latent scale of the wide component.
        var latent: LatentMixture

        init(_ context: StudyContext) throws {
            let g = context.generator, n = context.network
            trainingEvents = g.events
            training = try MEMStudy.training(n)
            func integer(_ name: String, _ fallback: Int) throws -> Int { Int(try g.number(name, default: Double(fallback))) }
            comparisonEvents = try integer("comparison_events", 60)
            comparisonDraws = try integer("comparison_draws", 10_000)
            experiments = try integer("experiments", 50)
            experimentEvents = try integer("experiment_events", 500)
            draws = try integer("draws", 128)
            refreshDraws = try integer("refresh_draws", 2048)
            minimumESS = try g.number("minimum_ess", default: 4)
            trueWMass = try g.number("true_w_mass", default: 80.9)
            trueAngularB = try g.number("true_angular_b", default: 0.5)
            wMassHalfRange = try g.number("w_mass_half_range", default: 1.5)
            angularBHalfRange = try g.number("angular_b_half_range", default: 0.6)
            gridPoints = try integer("grid_points", 13)
            templateEvents = try integer("template_events", 1_000)
            templateSimulation = try integer("template_simulation", 200_000)
            templateHalfRange = try g.number("template_half_range", default: 1.0)
            selectionTrials = try integer("selection_trials", 200_000)
            trainingPoints = try integer("training_points", 1)
            let defensiveWeight = try g.number("defensive_weight", default: 0)
            latent = defensiveWeight == 0 ? .standard
                : try LatentMixture(defensive: "\(defensiveWeight):\(try g.number("defensive_scale", default: 2))")
            guard comparisonEvents >= 10, comparisonDraws >= 100, experiments >= 5, experimentEvents >= 20, draws >= 8, refreshDraws > draws, minimumESS >= 1, gridPoints >= 5,
                  templateEvents >= 100, templateEvents <= experiments * experimentEvents, templateSimulation >= 10_000, (1...10).contains(trainingPoints),
                  templateHalfRange > 0 else {
                throw RefoldError.value("[generator.parameters] of the mem study",
                                        expected: "comparison_events >= 10, comparison_draws >= 100, experiments >= 5, experiment_events >= 20, draws >= 8, refresh_draws > draws, minimum_ess >= 1, grid_points >= 5, 100 <= template_events <= experiments x experiment_events, template_simulation >= 10000, training_points in 1...10, template_half_range > 0",
                                        actual: "\(comparisonEvents), \(comparisonDraws), \(experiments), \(experimentEvents), \(draws), \(refreshDraws), \(minimumESS), \(gridPoints), \(templateEvents), \(templateSimulation), \(trainingPoints), \(templateHalfRange)")
            }
        }
    }

    static func run(_ context: StudyContext) throws -> StudyResult {
        let s = try Settings(context)
        var result = StudyResult()
        let start = Date()
        let simulation = ZWSimulation(ColliderConfiguration(process: .zw))
        let transfer = try TransferDensity(detector: simulation.detector)

        // 1. The proposal.
        let points = trainingParameters(s)
        var training: [(hard: HardEvent, detector: DetectorEvent)] = [], generated: [(parameters: ZWParameters, events: Int)] = []
        for (i, p) in points.enumerated() {
            var configuration = ColliderConfiguration(process: .zw)
            configuration.zw = p
            let n = s.trainingEvents / points.count + (i < s.trainingEvents % points.count ? 1 : 0)
            let run = ZWSimulation(configuration).accepted(n, context.rng.child("training-sample").child(index: i)).events.map { (hard: $0.hard, detector: $0.detector) }
            training += run; generated.append((p, run.count))
        }
        let (proposal, history) = try MEMProposal.train(events: training, matching: simulation.detector, generated: generated, training: s.training,
                                                        seed: context.seed(for: "proposal")) { r in
            context.report("proposal " + progressLine(r, epochs: s.training.epochs))
        }
        proposal.latent = s.latent
        let trainingSeconds = history.reduce(0) { $0 + $1.seconds }
        result.notes.append("proposal: cINN \(MEMProposal.quickConfig.blocks) blocks x \(MEMProposal.quickConfig.unitsPerLayer) units over the 6 resonance-aligned variables (m_qq through the W Breit-Wigner CDF) given 14 detector numbers, "
                            + "\(s.trainingEvents) zw events \(points.count == 1 ? "at the default parameters" : "in equal parts at \(points.count) points m_W x B of \(format(points.map(\.wMass).min()!))-\(format(points.map(\.wMass).max()!)) GeV x \(format(points.map(\.angularB).min()!))-\(format(points.map(\.angularB).max()!))"), \(s.training.epochs) epochs in \(format(trainingSeconds)) s, final NLL \(format(history.last?.trainLoss ?? .nan))")

        // 2. Flow against VEGAS.
        let lap = Date()
        let comparison = try compare(s, simulation: simulation, transfer: transfer, proposal: proposal, context: context, into: &result)
        result.notes.append("flow vs VEGAS on \(s.comparisonEvents) events: \(format(Date().timeIntervalSince(lap))) s")

        // 3. Calibration at theta_true != default.
        let lap3 = Date()
        var base = ZWParameters()
        base.wMass = s.trueWMass; base.angularB = s.trueAngularB
        var truthConfiguration = ColliderConfiguration(process: .zw)
        truthConfiguration.zw = base
        let truthSimulation = ZWSimulation(truthConfiguration)
        let wGrid = (0..<s.gridPoints).map { s.trueWMass - s.wMassHalfRange + 2 * s.wMassHalfRange * Double($0) / Double(s.gridPoints - 1) }
        let bGrid = (0..<s.gridPoints).map { s.trueAngularB - s.angularBHalfRange + 2 * s.angularBHalfRange * Double($0) / Double(s.gridPoints - 1) }
        let truthDensity = try ZWDensity(parameters: base)
        let selection = SelectionFraction(reference: truthDensity, detector: simulation.detector, trials: s.selectionTrials, rng: context.rng.child("selection"))
        let wLogSelection = try wGrid.map { log(selection.fraction(try MEMParameter.wMass.density($0, base: base)).value) }
        var wPulls: [Double] = [], bPulls: [Double] = [], wErrors: [Double] = [], bErrors: [Double] = [], wMC: [Double] = [], bMC: [Double] = []
        var wFailures = 0, bFailures = 0, dropped = 0
        var firstScans: [ScanResult] = [], kept: [ImportanceSampledEvent] = [], templateData: [DetectorEvent] = []
        var ess: [Double] = [], outside = 0, draws = 0, refreshed = 0
        for e in 0..<s.experiments {
            let allEvents = truthSimulation.accepted(s.experimentEvents, context.rng.child("experiment").child(index: e)).events.map(\.detector)
            let likelihoods = try allEvents.map { try EventLikelihood(event: $0, density: truthDensity, transfer: transfer) }
            let (allSampled, redrawn) = try FlowLikelihood.sample(likelihoods, proposal: proposal, draws: s.draws,
                                                               rng: context.rng.child("experiment-draws").child(index: e),
                                                               refresh: (minimumESS: s.minimumESS, draws: s.refreshDraws))
            refreshed += redrawn
            // An event for which no draw of the proposal lands where the integrand is positive
            // has no flow estimate: it is dropped and counted (a cut on x_d that P_sel does not
            // know; at the rate measured, about 1 in 5,000 events, its bias is negligible).
            let usable = allSampled.indices.filter { allSampled[$0].logEstimate(truthDensity).isFinite }
            dropped += allSampled.count - usable.count
            let sampled = usable.map { allSampled[$0] }, events = usable.map { allEvents[$0] }
            func minusTwoLogL(_ parameter: MEMParameter) -> (Double) -> Double {
                { theta in
                    guard let d = try? parameter.density(theta, base: base) else { return .infinity }
                    return sampled.reduce(0) { $0 - 2 * $1.logEstimate(d) } + 2 * Double(sampled.count) * log(selection.fraction(d).value)
                }
            }
            // A scan whose minimum lies at the grid's edge measured nothing: counted, not a pull.
            func measure(_ parameter: MEMParameter, grid: [Double]) throws -> ScanResult? {
                var scan: ScanResult
                do { scan = try LikelihoodScan.scan(minusTwoLogL(parameter), grid: grid, parameter: parameter, events: events.count, method: "flow") }
                catch is ScanNotMeasured { return nil }
                scan.monteCarloError = try FlowLikelihood.monteCarloError(sampled, parameter: parameter, estimate: scan.estimate, error: scan.error, base: base)
                return scan
            }
            var w: ScanResult?
            do { w = try wMassScan(sampled, grid: wGrid, base: base, logSelection: wLogSelection) } catch is ScanNotMeasured { w = nil }
            let b = try measure(.angularB, grid: bGrid)
            if let w {
                wPulls.append((w.estimate - s.trueWMass) / w.totalError); wErrors.append(w.error); wMC.append(w.monteCarloError!)
            } else { wFailures += 1 }
            if let b {
                bPulls.append((b.estimate - s.trueAngularB) / b.totalError); bErrors.append(b.error); bMC.append(b.monteCarloError!)
            } else { bFailures += 1 }
            if firstScans.isEmpty, let w, let b { firstScans = [w, b] }
            if kept.count < s.templateEvents {
                let take = min(s.templateEvents - kept.count, sampled.count)
                kept += sampled.prefix(take); templateData += events.prefix(take)
            }
            ess += sampled.prefix(50).map { $0.estimate(truthDensity).effectiveSampleSize }
            outside += sampled.reduce(0) { $0 + $1.outside }; draws += sampled.reduce(0) { $0 + $1.draws }
            context.report("pseudo-experiment \(e + 1)/\(s.experiments): m_W \(w.map { format($0.estimate) } ?? "at the grid's edge"), B \(b.map { format($0.estimate) } ?? "at the grid's edge") (\(format(Date().timeIntervalSince(start))) s)")
        }
        let wMean = Measured(repeated: wPulls), bMean = Measured(repeated: bPulls)
        let wWidth = Measured(spread(wPulls), noise: spread(wPulls) / (2 * Double(wPulls.count - 1)).squareRoot())
        let bWidth = Measured(spread(bPulls), noise: spread(bPulls) / (2 * Double(bPulls.count - 1)).squareRoot())
        result.measure("mem-w-mass-pull-mean", wMean); result.measure("mem-w-mass-pull-width", wWidth)
        result.measure("mem-angular-b-pull-mean", bMean); result.measure("mem-angular-b-pull-width", bWidth)
        result.measure("mem-angular-b-scans-at-edge", Double(bFailures), noise: .nan)
        let meanESS = ess.reduce(0, +) / Double(max(ess.count, 1))
        result.notes.append("calibration: \(s.experiments) pseudo-experiments of \(s.experimentEvents) events at m_W = \(format(s.trueWMass)) GeV, B = \(format(s.trueAngularB)) "
                            + "\(s.draws) flow draws per event reused over the scans: "
                            + "m_W pulls \(format(wMean.value)) ± \(format(wMean.noise)), width \(format(wWidth.value)) ± \(format(wWidth.noise)), mean error \(format(mean(wErrors))) GeV (stat) and \(format(mean(wMC))) GeV (draws), pulls with both in quadrature, \(wFailures) scans with the minimum at the grid's edge (no pull); "
                            + "B pulls \(format(bMean.value)) ± \(format(bMean.noise)), width \(format(bWidth.value)) ± \(format(bWidth.noise)), mean error \(format(mean(bErrors))) (stat) and \(format(mean(bMC))) (draws), \(bFailures) at the grid's edge; "
                            + "mean ESS \(format(meanESS)) of \(s.draws), \(refreshed) of \(s.experiments * s.experimentEvents) events redrawn with \(s.refreshDraws) fresh draws (pilot ESS below \(format(s.minimumESS))), \(dropped) dropped (no draw with a positive integrand), draws outside the phase space \(format(100 * Double(outside) / Double(max(draws, 1)))) %; "
                            + "P_sel(truth) = \(format(selection.fraction(truthDensity).value)) from \(s.selectionTrials) simulated events (\(format(Date().timeIntervalSince(lap3))) s)")

        // 4. MEM against a template fit on the same events.
        let lap4 = Date()
        let tGrid = (0..<s.gridPoints).map { s.trueWMass - s.templateHalfRange + 2 * s.templateHalfRange * Double($0) / Double(s.gridPoints - 1) }
        let tLogSelection = try tGrid.map { log(selection.fraction(try MEMParameter.wMass.density($0, base: base)).value) }
        let memScan = try wMassScan(kept, grid: tGrid, base: base, logSelection: tLogSelection)
        let template = try templateFit(templateData, grid: tGrid, base: base, simulationEvents: s.templateSimulation, rng: context.rng.child("templates"))
        // Noise of the ratio: each error is known to about 1/sqrt(2 n) relative (the curvature of
        // a log-likelihood of n events), added in quadrature.
        let ratio = template.error / memScan.totalError
        result.measure("mem-vs-template-w-mass-error-ratio", ratio, noise: ratio * (1 / Double(kept.count)).squareRoot())
        result.notes.append("W mass from the same \(kept.count) events: MEM \(format(memScan.estimate)) ± \(format(memScan.error)) (stat) ± \(format(memScan.monteCarloError!)) (draws) GeV, "
                            + "template fit to m_jj (\(template.bins) bins, \(s.templateSimulation) simulated events per template) \(format(template.estimate)) ± \(format(template.error)) GeV: "
                            + "ratio \(format(ratio)) (\(format(Date().timeIntervalSince(lap4))) s)")

        try plots(s, comparison: comparison, firstScans: firstScans, memScan: memScan, template: template, wPulls: wPulls, bPulls: bPulls,
                  context: context, into: &result)
        result.notes.append("total \(format(Date().timeIntervalSince(start))) s")
        return result
    }

    /// The W mass from flow draws: every draw is mapped through each grid point's Breit-Wigner
    /// (`ImportanceSampledEvent.logWeights`), so an evaluation of -2 log L costs a full pass over
    /// the draws; the estimate and its curvature error come from the weighted parabola through the
    /// grid points within Delta(-2 log L) < 9 of the minimum (`LikelihoodScan.parabola`), not
    /// from Brent (which would need about 15 more passes), and the error from the draws from three
    /// more passes at the estimate. Throws if the minimum is at the grid's edge.
    /// `logSelection`: log P_sel at the grid points (the same for every pseudo-experiment).
    static func wMassScan(_ sampled: [ImportanceSampledEvent], grid: [Double], base: ZWParameters, logSelection: [Double]) throws -> ScanResult {
        let n = Double(sampled.count)
        let densities = try grid.map { try MEMParameter.wMass.density($0, base: base) }
        // The grid points on the cores (each sums its own events in order: the same numbers as
        // one thread); the scans are pure functions of the prepared draws.
        var values = [Double](repeating: .nan, count: grid.count)
        values.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: grid.count) { j in
                out[j] = sampled.reduce(0) { $0 - 2 * $1.logEstimate(densities[j]) } + 2 * n * logSelection[j]
            }
        }
        let fit = try LikelihoodScan.parabola(grid: grid, minusTwoLogL: values, pointErrors: grid.map { _ in 1 })
        var scan = ScanResult(parameter: MEMParameter.wMass.rawValue, grid: grid, minusTwoLogL: values, estimate: fit.estimate, error: fit.error,
                              events: sampled.count, method: "flow, parabola through the grid")
        scan.monteCarloError = try FlowLikelihood.monteCarloError(sampled, parameter: .wMass, estimate: scan.estimate, error: scan.error, base: base)
        return scan
    }

    /// The parameter points of the proposal's training sample: the defaults, or with
    /// training_points = n > 1 an n x n grid in (m_W, B) spanning the defaults and both scan
    /// ranges, so that the proposal covers the posterior of every hypothesis it is used for (a
    /// proposal trained at one point leans the scan towards it when the draws are few; docs/mem.md).
    static func trainingParameters(_ s: Settings) -> [ZWParameters] {
        let defaults = ZWParameters()
        guard s.trainingPoints > 1 else { return [defaults] }
        let w = (min(defaults.wMass, s.trueWMass - s.wMassHalfRange), max(defaults.wMass, s.trueWMass + s.wMassHalfRange))
        let b = (min(defaults.angularB, s.trueAngularB - s.angularBHalfRange), max(defaults.angularB, s.trueAngularB + s.angularBHalfRange))
        let steps = (0..<s.trainingPoints).map { Double($0) / Double(s.trainingPoints - 1) }
        return steps.flatMap { u in steps.map { v in
            var p = defaults
            p.wMass = w.0 + (w.1 - w.0) * u; p.angularB = b.0 + (b.1 - b.0) * v
            return p
        } }
    }

    static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(max(x.count, 1)) }
    static func spread(_ x: [Double]) -> Double {
        let m = mean(x)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(x.count - 1, 1))).squareRoot()
    }

    struct Comparison { var pulls: [Double] = [], logVegas: [Double] = [], flowEvaluations: [Double] = [], vegasEvaluations: [Double] = [] }

    static func compare(_ s: Settings, simulation: ZWSimulation, transfer: TransferDensity, proposal: MEMProposal, context: StudyContext,
                        into result: inout StudyResult) throws -> Comparison {
        let density = try ZWDensity()
        let events = simulation.accepted(s.comparisonEvents, context.rng.child("comparison-sample")).events.map(\.detector)
        let likelihoods = try events.map { try EventLikelihood(event: $0, density: density, transfer: transfer) }
        let sampled = try FlowLikelihood.sample(likelihoods, proposal: proposal, draws: s.comparisonDraws, rng: context.rng.child("comparison-flow"), chunk: 16)
        let schedule = Vegas.Schedule(warmUpCalls: 5_000, callsPerIteration: 4_000, maximumRuns: 12, relativeError: 0.01)
        var c = Comparison()
        // VEGAS per event on the cores: event i keeps its own stream, so the results do not depend
        // on the threads (GSL's VEGAS state and random generator are per call).
        let streams = likelihoods.indices.map { context.rng.child("comparison-vegas").child(index: $0) }
        var vegas = [Vegas.Result?](repeating: nil, count: likelihoods.count)
        vegas.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: likelihoods.count) { i in out[i] = likelihoods[i].integrate(schedule, streams[i]) }
        }
        for i in likelihoods.indices {
            let v = vegas[i]!
            let f = sampled[i].estimate(density)
            c.pulls.append((f.value - v.value) / (f.error * f.error + v.error * v.error).squareRoot())
            c.logVegas.append(log10(v.value))
            c.vegasEvaluations.append(Double(v.evaluations))
            c.flowEvaluations.append(Double(sampled[i].draws) * (f.error / f.value / 0.01) * (f.error / f.value / 0.01))
        }
        let m = Measured(repeated: c.pulls)
        let width = spread(c.pulls)
        result.measure("mem-flow-vegas-pull-mean", m)
        result.measure("mem-flow-vegas-pull-width", width, noise: width / (2 * Double(c.pulls.count - 1)).squareRoot())
        let medianFlow = median(c.flowEvaluations), medianVegas = median(c.vegasEvaluations)
        // Noise of a median ratio: the spread of the per-event ratios' logs over sqrt(n) (order of magnitude).
        let logs = zip(c.vegasEvaluations, c.flowEvaluations).map { log($0 / $1) }
        let ratio = medianVegas / medianFlow
        result.measure("mem-vegas-over-flow-evaluations", ratio, noise: ratio * spread(logs) / Double(logs.count).squareRoot())
        result.notes.append("flow vs VEGAS: pulls \(format(m.value)) ± \(format(m.noise)), width \(format(width)); evaluations for 1 %: median VEGAS \(format(medianVegas)), "
                            + "median flow \(format(medianFlow)) (from \(s.comparisonDraws) draws per event), ratio \(format(ratio)); worst |pull| \(format(c.pulls.map(abs).max() ?? .nan))")
        var csv = "log10_likelihood_vegas,pull,vegas_evaluations,flow_evaluations_for_1_percent\n"
        for i in c.pulls.indices { csv += "\(c.logVegas[i]),\(c.pulls[i]),\(c.vegasEvaluations[i]),\(c.flowEvaluations[i])\n" }
        try writeAtomically(csv, to: try context.file("flow-vs-vegas.csv"))
        result.dataFiles.append("flow-vs-vegas.csv")
        return c
    }

    static func median(_ x: [Double]) -> Double {
        let s = x.sorted()
        return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2]))
    }

    /// -2 log L of the data's m_jj histogram (multinomial in 40 bins of 60-100 GeV, under- and
    /// overflow as two more bins) against templates at each grid W mass, and the parabola through
    /// it. The templates are one simulation at `base` reweighted to each grid mass by
    /// p(x_p | m_W) / p(x_p | base) (the detector does not depend on m_W, so the reweighted
    /// histogram is an unbiased template; common random numbers keep the curve smooth). One
    /// simulation instead of one per grid point: 17 x 200,000 simulated events took most of the
    /// template fit's minute.
    static func templateFit(_ data: [DetectorEvent], grid: [Double], base: ZWParameters, simulationEvents: Int,
                            rng: RNGStream) throws -> (estimate: Double, error: Double, bins: Int, scan: [Double]) {
        let edges = (0...40).map { 60 + Double($0) }
        func bin(_ e: DetectorEvent) -> Int {
            let m = (e.jets[0] + e.jets[1]).mass
            return m < edges[0] ? 0 : (m >= edges[edges.count - 1] ? edges.count : Int(m - edges[0]) + 1)
        }
        var observed = [Double](repeating: 0, count: edges.count + 1)
        for e in data { observed[bin(e)] += 1 }
        var configuration = ColliderConfiguration(process: .zw)
        configuration.zw = base
        let reference = try ZWDensity(parameters: base)
        let simulated = ZWSimulation(configuration).accepted(simulationEvents, rng).events.compactMap { e -> (bin: Int, point: ZWDensity.PreparedPoint, logReference: Double)? in
            guard let point = reference.prepare(ZWPartonCoordinates(e.hard)) else { return nil }
            return (bin(e.detector), point, reference.logDensity(point))
        }
        let scan = try grid.map { mW -> Double in
            let density = try MEMParameter.wMass.density(mW, base: base)
            var template = [Double](repeating: 0, count: edges.count + 1)
            for s in simulated {
                let w = exp(density.logDensity(s.point) - s.logReference)
                if w.isFinite { template[s.bin] += w }
            }
            let total = template.reduce(0, +)
            // Empty template bins get half an event (a floor that only matters where the data have none).
            return -2 * zip(observed, template).reduce(0) { $0 + $1.0 * log(max($1.1, 0.5) / total) }
        }
        let fit = try LikelihoodScan.parabola(grid: grid, minusTwoLogL: scan, pointErrors: [Double](repeating: 1, count: grid.count), window: 25)
        return (fit.estimate, fit.error, edges.count + 1, scan)
    }

    static func plots(_ s: Settings, comparison: Comparison, firstScans: [ScanResult], memScan: ScanResult,
                      template: (estimate: Double, error: Double, bins: Int, scan: [Double]), wPulls: [Double], bPulls: [Double],
                      context: StudyContext, into result: inout StudyResult) throws {
        func series(_ label: String, grid: [Double], values: [Double], estimate: Double, error: Double) -> Plot.FitSeries {
            let low = values.min() ?? 0
            let curveX = (0..<100).map { grid[0] + (grid[grid.count - 1] - grid[0]) * Double($0) / 99 }
            return Plot.FitSeries(label: label, fitLabel: "parabola \(format(estimate)) ± \(format(error))", x: grid, y: values.map { $0 - low },
                                  sigma: grid.map { _ in 0 }, curveX: curveX, curveY: curveX.map { (($0 - estimate) / error) * (($0 - estimate) / error) })
        }
        let scans = try Plot.fit(title: "W mass from \(memScan.events) events: MEM against a template fit", xLabel: "m_W [GeV]", yLabel: "{/Symbol D}(-2 log L)",
                                 series: [series("MEM (flow)", grid: memScan.grid, values: memScan.minusTwoLogL, estimate: memScan.estimate, error: memScan.error),
                                          series("m_{jj} template fit", grid: memScan.grid, values: template.scan, estimate: template.estimate, error: template.error)])
        result.add(scans, name: "mem-w-mass-scan")
        if firstScans.count == 2 {
            let b = firstScans[1]
            let plot = try Plot.fit(title: "Angular coefficient B, one pseudo-experiment of \(b.events) events", xLabel: "B", yLabel: "{/Symbol D}(-2 log L)",
                                    series: [series("MEM (flow)", grid: b.grid, values: b.minusTwoLogL, estimate: b.estimate, error: b.error)])
            result.add(plot, name: "mem-angular-b-scan")
        }
        let pullEdges = (0...16).map { -4 + 0.5 * Double($0) }
        var wHistogram = try Histogram1D(edges: pullEdges), bHistogram = try Histogram1D(edges: pullEdges)
        try wHistogram.fill(wPulls.map { min(max($0, -3.999), 3.999) })
        try bHistogram.fill(bPulls.map { min(max($0, -3.999), 3.999) })
        let pulls = try Plot.massPeak(title: "MEM pulls over \(wPulls.count) pseudo-experiments (clipped to ±4)", xLabel: "(estimate - truth) / error",
                                      series: [("m_W", wHistogram), ("B", bHistogram)])
        result.add(pulls, name: "mem-pulls")
        let agreement = try Plot.fit(title: "Per-event likelihood: flow importance sampling against VEGAS", xLabel: "log_{10} p(x_d) (VEGAS)",
                                     yLabel: "pull (flow - VEGAS) / {/Symbol s}",
                                     series: [Plot.FitSeries(label: "events", fitLabel: "0", x: comparison.logVegas, y: comparison.pulls,
                                                             sigma: comparison.pulls.map { _ in 1 }, curveX: [comparison.logVegas.min() ?? 0, comparison.logVegas.max() ?? 1],
                                                             curveY: [0, 0])])
        result.add(agreement, name: "mem-flow-vs-vegas")
        let ranks = comparison.vegasEvaluations.indices.map { Double($0 + 1) }
        let evaluations = try Plot.fit(title: "Integrand evaluations for 1 % per event (sorted)", xLabel: "event (sorted)", yLabel: "evaluations",
                                       series: [Plot.FitSeries(label: "VEGAS", fitLabel: "median \(format(median(comparison.vegasEvaluations)))", x: ranks,
                                                               y: comparison.vegasEvaluations.sorted(), sigma: ranks.map { _ in 0 },
                                                               curveX: [1, Double(ranks.count)], curveY: [median(comparison.vegasEvaluations), median(comparison.vegasEvaluations)]),
                                                Plot.FitSeries(label: "flow", fitLabel: "median \(format(median(comparison.flowEvaluations)))", x: ranks,
                                                               y: comparison.flowEvaluations.sorted(), sigma: ranks.map { _ in 0 },
                                                               curveX: [1, Double(ranks.count)], curveY: [median(comparison.flowEvaluations), median(comparison.flowEvaluations)])],
                                       logY: true)
        result.add(evaluations, name: "mem-evaluations")
    }
}
