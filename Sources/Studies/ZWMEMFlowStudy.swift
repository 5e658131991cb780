import Flows
import Foundation
import Inference
import Physics
import Tensor
import Unfolders
import Validation

/// The CMS MEMFlow system on zw-isr (issue [memflow], docs/memflow.md): a transformer over the
/// leptons and any number of jets, a spline flow over logit-RAMBO parton coordinates. Measures:
///
/// - `calibration` (and `calibration-quick`): the largest calibration-curve deviation over the parton coordinates with a
///   non-degenerate posterior (pT of l-, l+; pT, eta, phi of q1, q2; the detector measures the
///   lepton directions exactly) on `calibration_events` test events;
/// - `m-qq-median-<n>j`: the median unfolded m_qq for 2, 3 and 4+ detector jets (the W peak);
/// - `momentum-imbalance`: the largest |sum pT vector| / sum pT over all samples (exact balance
///   by construction, so round-off only);
/// - `unphysical-samples`: samples with a non-finite value or a non-positive pT (none by construction).
///
/// Reported beside them: events with 5+ jets (kept by a detector with `maximum_jets` slots, the
/// cINN stops at 4), the bias of the samples against the truth in bins of true pT and eta per
/// parton, per-event sample clouds (m_qq, pT_q1), spline-tail fractions, the training time and the
/// sampling rate.
public enum ZWMEMFlowStudy {
    /// `[network.memflow]` (its `training` and `pretraining` sub-tables included) over the profile's preset.
    static func config(_ n: NetworkSpec, profile: ProfileName) throws -> MEMFlowConfig {
        try n.decode("memflow", over: profile == .paper ? MEMFlowConfig.paper : MEMFlowConfig.quick)
    }

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let net = context.network, g = context.generator
        let k = net.samplesPerEvent ?? 20
        let maximumJets = Int(try g.number("maximum_jets", default: 6))
        context.report("generating \(g.events) + \(g.testEvents) zw-isr events (up to \(maximumJets) jets)")
        let configure: (inout ColliderConfiguration) -> Void = { $0.card.maximumJets = maximumJets }
        let training = try ZWStudySupport.sample(.zwISR, events: g.events, rng: context.rng.child("train-sample"), configure: configure)
        let test = try ZWStudySupport.sample(.zwISR, events: g.testEvents, rng: context.rng.child("test-sample"), configure: configure)
        let truth = test.parton!, njets = test.njets!
        var result = StudyResult()

        let config = try self.config(net, profile: context.profile)
        let folder = try context.file("model-memflow")
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
        let trainStart = Date()
        var epochSeconds: [Double] = []
        let model = try BLAS.withThreads(1) {
            try MEMFlowModel.train(sample: training, config: config, seed: context.seed(for: "memflow"), folder: folder,
                                   resume: false, source: "zw-isr (generated)") { stage, report in
                if stage == .likelihood { epochSeconds.append(report.seconds) }
                let total = stage == .regression ? config.pretraining.epochs : config.training.epochs
                context.report("MEMFlow \(stage.rawValue) " + progressLine(report, epochs: total))
            }
        }
        let trainSeconds = Date().timeIntervalSince(trainStart)
        context.report("MEMFlow: unfolding \(test.count) events x \(k) samples")
        let sampleStart = Date()
        let drawn = try BLAS.withThreads(1) {
            try model.sample(detector: test.detector!, count: k, rng: context.rng.child("unfold"), source: "zw-isr test sample")
        }
        let sampleSeconds = Date().timeIntervalSince(sampleStart)
        let unfolded = UnfoldedSamples(columns: MEMFlowSamples.columns, events: drawn.events, samplesPerEvent: k, values: drawn.values)
        result.notes.append("MEMFlow (\(model.network.parameterCount) weights; encoder trained jointly with the flow after \(config.pretraining.epochs) "
                            + "epochs of Huber regression): \(training.count) training events, \(config.training.epochs) likelihood epochs, "
                            + "\(format(trainSeconds)) s training (likelihood epoch \(format(epochSeconds.reduce(0, +) / Double(max(1, epochSeconds.count)))) s), "
                            + "sampling \(format(Double(test.count * k) / max(sampleSeconds, 1e-9))) samples/s")

        // Physics of every sample: exact by construction.
        result.measure("momentum-imbalance", drawn.maximumImbalance, noise: 0)
        result.measure("unphysical-samples", Double(drawn.unphysical), noise: 0)
        result.notes.append("largest |sum pT| / sum pT over \(test.count * k) samples \(format(drawn.maximumImbalance)); \(drawn.unphysical) unphysical; "
                            + "spline tails: \(format(100 * drawn.tails.fraction)) % of the flow-space elements")

        // Calibration of every parton coordinate with a non-degenerate posterior. The fast
        // detector measures the lepton directions exactly, so their posterior is a delta at the
        // measured value (no calibration curve); MEMFlow samples them anyway, and their spread
        // around the truth is reported.
        let calibrationEvents = min(net.calibrationEvents ?? test.count, test.count)
        let calibrated = truth.columns.filter { !$0.hasSuffix("_l-") && !$0.hasSuffix("_l+") || $0.hasPrefix("pT_") }
        try ZWStudySupport.measureCalibration("MEMFlow", truth: truth, unfolded: unfolded, events: calibrationEvents, columns: calibrated,
                                              gates: ["calibration-quick", "calibration"], context: context, into: &result)
        var spreads: [String] = []
        for name in ["eta_l-", "phi_l-", "eta_l+", "phi_l+"] {
            let j = truth.index(of: name)!
            let deviations = (0..<test.count).flatMap { i in
                (0..<k).map { abs(FourMomentum.wrapPhi(unfolded[event: i, sample: $0, column: j] - truth[i, j])) }
            }
            spreads.append("\(name) \(format(ZWISRStudy.median(deviations)))")
        }
        result.notes.append("lepton directions (measured exactly, a delta posterior): median |sample - truth| " + spreads.joined(separator: ", "))
        let plotted = try ZWStudySupport.calibration(truth: truth, unfolded: unfolded, events: min(1500, calibrationEvents), columns: calibrated)
        result.figures += try ZWStudySupport.calibrationPlots(plotted, columns: calibrated, title: "MEMFlow calibration, \(min(1500, calibrationEvents)) events x \(k)",
                                                            prefix: "memflow-calibration")

        // The W peak per jet multiplicity.
        let groups: [(name: String, label: String, rows: [Int], gated: Bool)] = [
            ("2j", "2 jets", (0..<test.count).filter { njets[$0] == 2 }, true),
            ("3j", "3 jets", (0..<test.count).filter { njets[$0] == 3 }, true),
            ("4j", "4+ jets", (0..<test.count).filter { njets[$0] >= 4 }, true),
            ("5j", "5+ jets", (0..<test.count).filter { njets[$0] >= 5 }, false),
        ]
        for group in groups {
            guard group.rows.count >= 10 else { result.notes.append("\(group.label): \(group.rows.count) test events, not measured"); continue }
            let unfoldedMasses = group.rows.flatMap { i in (0..<k).compactMap { ZWISRStudy.massJJ(unfolded, event: i, sample: $0) } }
            let truthMasses = group.rows.compactMap { Physics.Observable.mJJ.value(truth, row: $0) }
            let median = ZWISRStudy.median(unfoldedMasses), truthMedian = ZWISRStudy.median(truthMasses)
            if group.gated {
                result.measure("m-qq-median-\(group.name)", median, noise: ZWISRStudy.medianNoise(unfoldedMasses, events: group.rows.count))
            }
            result.notes.append("\(group.label) (\(group.rows.count) events): median m_qq unfolded \(format(median)) GeV, truth \(format(truthMedian)) GeV, m_W \(format(ZWParameters().wMass)) GeV")
            var truthHistogram = try Histogram1D(edges: ZWStudySupport.uniformEdges(60, 100, 40))
            var unfoldedHistogram = try Histogram1D(edges: truthHistogram.edges)
            for m in truthMasses { truthHistogram.fill(m) }
            for m in unfoldedMasses { unfoldedHistogram.fill(m, weight: 1 / Double(k)) }
            result.add(try Plot.massPeak(title: "MEMFlow, \(group.label): m_{qq}", xLabel: "m_{qq} [GeV]",
                                                                     series: [("truth", truthHistogram), ("MEMFlow unfolded", unfoldedHistogram)],
                                                                     peakMass: ZWParameters().wMass, normalise: true), name: "memflow-mqq-\(group.name)")
        }

        // The CMS bias plots: mean over samples against the truth, in bins of true pT and eta, per
        // parton. In bins of the truth even an exact posterior shows a bias (its mean is pulled
        // toward the prior: up at low pT, down at high pT), so they read as comparisons, not zero tests.
        result.notes.append("bias: in bins of the truth even an exact posterior's mean is pulled toward the prior (positive at low, negative at high pT)")
        for bias in [BiasPlot(variable: "pT", offset: 0, edges: [0, 20, 40, 60, 90, 130, 200, 400], relative: true),
                     BiasPlot(variable: "eta", offset: 1, edges: ZWStudySupport.uniformEdges(-4, 4, 8), relative: false)] {
            let series = bias.series(truth: truth, unfolded: unfolded, notes: &result.notes)
            guard !series.isEmpty else { continue }
            result.add(try Plot.fit(title: "MEMFlow bias in bins of the true \(bias.label)", xLabel: "true \(bias.label)",
                                                                yLabel: bias.relative ? "mean sample / truth - 1" : "mean sample - truth", series: series), name: "memflow-bias-\(bias.variable.lowercased())")
        }

        if net.parameters["compare_cinn"]?.bool == true {
            try compareWithCINN(training: training, test: test, calibrated: calibrated, calibrationEvents: calibrationEvents, groups: groups,
                                memflow: unfolded, memflowSeconds: (trainSeconds, sampleSeconds),
                                memflowEpochs: config.training.epochs, memflowWeights: model.network.parameterCount, context: context, into: &result)
        }

        // Per-event sample clouds: the first test event with 2, 3 and 4+ jets, 2000 samples each.
        let cloudDraws = 2_000
        for (n, label) in [(2, "2 jets"), (3, "3 jets"), (4, "4+ jets")] {
            guard let i = (0..<test.count).first(where: { n == 4 ? njets[$0] >= 4 : njets[$0] == n }) else { continue }
            let cloud = try BLAS.withThreads(1) {
                try model.sample(detector: test.detector!.rows(i..<(i + 1)), count: cloudDraws, rng: context.rng.child("cloud-\(n)"), source: "zw-isr test sample")
            }
            let samples = UnfoldedSamples(columns: MEMFlowSamples.columns, events: 1, samplesPerEvent: cloudDraws, values: cloud.values)
            let points = (0..<cloudDraws).compactMap { j in ZWISRStudy.massJJ(samples, event: 0, sample: j).map { ($0, samples[event: 0, sample: j, column: 6]) } }
            guard let trueMass = Physics.Observable.mJJ.value(truth, row: i), !points.isEmpty else { continue }
            result.add(try Plot.posterior(title: "MEMFlow, test event \(i) (\(label)): \(cloudDraws) samples", xLabel: "m_{qq} [GeV]",
                                                                      yLabel: "p_{T,q1} [GeV]", samples: points.map { (x: $0.0, y: $0.1) },
                                                                      truth: (x: trueMass, y: truth[i, 6])), name: "memflow-cloud-\(n)j")
        }
        return result
    }
}

extension ZWMEMFlowStudy {
    /// The sample with only its first four jet slots (the cINN-ISR's detector vector) and jet
    /// counts capped at 4.
    static func fourJetSlots(_ sample: EventSample) -> EventSample {
        let detector = sample.detector!, keep = ColliderColumns.detector(jets: 4)
        let indices = keep.map { detector.index(of: $0)! }
        let values = (0..<detector.rows).flatMap { i in indices.map { detector[i, $0] } }
        return EventSample(generator: sample.generator, seed: sample.seed, parton: sample.parton!,
                           detector: EventSample.Block(columns: keep, rows: detector.rows, values: values),
                           njets: sample.njets?.map { min($0, 4) }, parameters: sample.parameters)
    }

    /// `[network.parameters] compare_cinn = true`: the cINN-ISR (the spec's sizes, `compare_cinn_epochs`
    /// epochs or the spec's, four jet slots, the quark pair in decay coordinates as in zw-isr.toml)
    /// trained on the same events and unfolding the same test events; a table of calibration, W
    /// peak, balance, training time and sampling time beside MEMFlow's.
    static func compareWithCINN(training: EventSample, test: EventSample, calibrated: [String], calibrationEvents: Int,
                                groups: [(name: String, label: String, rows: [Int], gated: Bool)], memflow: UnfoldedSamples,
                                memflowSeconds: (train: Double, sample: Double), memflowEpochs: Int, memflowWeights: Int, context: StudyContext, into result: inout StudyResult) throws {
        let k = memflow.samplesPerEvent, truth = test.parton!
        var network = try UnfoldingNetwork.preset(.cinnISR, profile: context.profile, study: context.network)
        if let epochs = context.network.parameters["compare_cinn_epochs"]?.number { network.training.epochs = Int(epochs) }
        let start = Date()
        var request = UnfoldingTrainingRequest(network: network, seed: context.seed(for: "cinn-isr"))
        request.pairCoordinates = .resonance
        let model = try ZWStudySupport.train(request, sample: fourJetSlots(training), folder: try context.file("model-cinn-isr"),
                                             context: context, label: "cINN-ISR")
        let cinnTrainSeconds = Date().timeIntervalSince(start)
        let cinnTest = fourJetSlots(test)
        let sampleStart = Date()
        let cinn = try BLAS.withThreads(1) {
            try model.unfold(detector: cinnTest.detector!, njets: cinnTest.njets, samples: k, rng: context.rng.child("unfold-cinn"))
        }
        let cinnSampleSeconds = Date().timeIntervalSince(sampleStart)
        ZWStudySupport.recordSupport(model, cinn, into: &result)
        func worst(_ u: UnfoldedSamples) throws -> Double {
            try ZWStudySupport.calibration(truth: truth, unfolded: u, events: calibrationEvents, columns: calibrated).map(\.maxDeviation).max() ?? .nan
        }
        func peak(_ u: UnfoldedSamples, _ rows: [Int]) -> Double {
            ZWISRStudy.median(rows.flatMap { i in (0..<k).compactMap { ZWISRStudy.massJJ(u, event: i, sample: $0) } })
        }
        var table = ["| | MEMFlow | cINN-ISR |", "|---|---|---|",
                     "| calibration (max over \(calibrated.count) coordinates) | \(format(try worst(memflow))) | \(format(try worst(cinn))) |"]
        for group in groups where group.rows.count >= 10 {
            table.append("| median m_qq, \(group.label) (GeV) | \(format(peak(memflow, group.rows))) | \(format(peak(cinn, group.rows)))\(group.name == "5j" ? " (as 4 jets)" : "") |")
        }
        let imbalance = { (u: UnfoldedSamples) in
            ZWISRStudy.median((0..<u.block.rows).map { ZWISRStudy.relativeImbalance(u.block, row: $0) })
        }
        table.append("| median \\|sum pT\\| / sum pT | \(format(imbalance(memflow))) | \(format(imbalance(cinn))) |")
        table.append("| training epochs | \(memflowEpochs) | \(network.training.epochs) |")
        table.append("| training, sampling (s) | \(format(memflowSeconds.train)), \(format(memflowSeconds.sample)) | \(format(cinnTrainSeconds)), \(format(cinnSampleSeconds)) |")
        table.append("| weights | \(memflowWeights) | \(model.flow.parameterCount) |")
        result.notes.append("MEMFlow against the cINN-ISR on the same \(training.count) training and \(test.count) test events:\n" + table.joined(separator: "\n"))
    }
}

/// Mean of the samples against the truth in bins of one true coordinate, per parton (the CMS
/// bias plot): relative (mean / truth - 1) or absolute (mean - truth), with the standard error
/// over the events of each bin (bins with fewer than 20 events are left out).
struct BiasPlot {
    var variable: String
    /// The coordinate's column within each parton's (pT, eta, phi).
    var offset: Int
    var edges: [Double]
    var relative: Bool

    var label: String { variable == "pT" ? "p_T [GeV]" : "{/Symbol h}" }

    func series(truth: EventSample.Block, unfolded: UnfoldedSamples, notes: inout [String]) -> [Plot.FitSeries] {
        var series: [Plot.FitSeries] = []
        let k = unfolded.samplesPerEvent
        for (a, parton) in ["l-", "l+", "q1", "q2"].enumerated() {
            let column = 3 * a + offset
            var x: [Double] = [], y: [Double] = [], sigma: [Double] = []
            for b in 0..<(edges.count - 1) {
                let rows = (0..<truth.rows).filter { (edges[b]..<edges[b + 1]).contains(truth[$0, column]) }
                guard rows.count >= 20 else { continue }
                let deviations = rows.map { i in
                    let mean = (0..<k).reduce(0.0) { $0 + unfolded[event: i, sample: $1, column: column] } / Double(k)
                    return relative ? mean / truth[i, column] - 1 : mean - truth[i, column]
                }
                let mean = deviations.reduce(0, +) / Double(rows.count)
                let spread = (deviations.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rows.count - 1)).squareRoot()
                x.append(0.5 * (edges[b] + edges[b + 1])); y.append(mean); sigma.append(spread / Double(rows.count).squareRoot())
            }
            guard !x.isEmpty else { continue }
            notes.append("bias of \(variable)_\(parton) (\(relative ? "mean sample / truth - 1" : "mean sample - truth")) in bins of the true \(variable): "
                         + zip(x, y).map { "\(format($0)) \(format($1))" }.joined(separator: ", "))
            series.append(Plot.FitSeries(label: "\(variable == "pT" ? "p_{T" : "{/Symbol h}_{")\(variable == "pT" ? "," : "")\(parton)}",
                                         fitLabel: series.isEmpty ? "no bias" : "", x: x, y: y, sigma: sigma,
                                         curveX: [edges.first!, edges.last!], curveY: [0, 0]))
        }
        return series
    }
}
