import Config
import Foundation
import GAN
import Physics
import Tensor
import Unfolders
import Validation

/// GAN vs FCGAN under cuts (thesis sec. 4.2-4.4, figs. 4.3, 4.4, 4.6-4.8): both are trained on the
/// full ZW sample and unfold the test sample after each detector-level Cut I-IV (eq. 4.7, 4.8,
/// 4.12, 4.13); chi2/ndf of the unfolded vs true parton-level pT_q1, pT_q2 and m_jj. Then the
/// FCGAN's calibration (truth's rank among K samples, sec. 5.3) and the W' test (trained on the
/// standard model, unfolding a test sample with a fraction of W' -> ZW, sec. 4.4): Gaussian + flat
/// fits of the unfolded and true m_ZW peaks.
///
/// chi2: one generated sample per event (K = 1), so the unfolded histogram holds N independent
/// entries with Poisson errors like the truth; chi2 = sum (u - t)^2 / (u + t) over filled bins.
/// Truth and unfolded come from the same events: their positive correlation makes this chi2
/// smaller than for independent samples (a perfect unfolding scores below 1).
/// Gates (measured when the spec declares them): "<gan|fcgan>-cut-<I..IV>-<pT_q1|pT_q2|m_jj>-chi2"
/// (chi2/ndf) and "wprime-peak-shift" (unfolded minus true fitted position, GeV). Every chi2,
/// with the detector-level analogue (pT_j1, pT_j2, m_jj) as the no-unfolding baseline, goes to
/// chi2.csv and the notes.
public enum ZWGANStudy {
    struct Settings {
        var network: GANConfig, training: GANTrainingConfig
        var compare: [NetworkVariant], primary: NetworkVariant
        var cuts: [JetCut], samplesPerEvent: Int, calibrationEvents: Int, wPrimeFraction: Double, bins: Int
    }

    static let observables = ["pT_q1", "pT_q2", "m_jj"]

    /// `[network.gan]` and `[network.training]` over the profile's presets (table 4.1 for paper).
    static func configs(_ n: NetworkSpec, profile: ProfileName) throws -> (GANConfig, GANTrainingConfig) {
        let (network, training) = GANModelSettings.presets(profile)
        return (try n.decode("gan", over: network), try n.decode("training", over: training))
    }

    static func settings(_ spec: StudySpec, _ context: StudyContext) throws -> Settings {
        let net = context.network, g = context.generator
        let primary = net.variant
        try primary.require(\.isUnfoldingGAN, "\(spec.file): network.variant", expected: "gan or fcgan")
        var compare = [primary]
        for v in try net.parameters.enumerations("compare", NetworkVariant.self) ?? [] {
            guard v.isUnfoldingGAN else { throw net.parameters.error("compare", "expected gan or fcgan, got \(v.rawValue)") }
            if !compare.contains(v) { compare.append(v) }
        }
        let cuts = try g.parameters.enumerations("cuts", JetCut.self) ?? JetCut.allCases
        let (network, training) = try configs(net, profile: context.profile)
        let fraction = try g.number("wprime_fraction", default: 0.1)
        guard (0...1).contains(fraction) else { throw RefoldError.value("generator.parameters.wprime_fraction", expected: "in [0, 1]", actual: fraction) }
        return Settings(network: network, training: training, compare: compare, primary: primary, cuts: cuts,
                        samplesPerEvent: net.samplesPerEvent ?? 60, calibrationEvents: min(net.calibrationEvents ?? 1500, g.testEvents),
                        wPrimeFraction: fraction, bins: Int(try g.number("bins", default: 20)))
    }

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let s = try settings(spec, context)
        // Batches of 512 through 128-unit layers run fastest on one BLAS thread (docs/engine.md).
        return try BLAS.withThreads(1) { try run(spec, context, settings: s) }
    }

    static func run(_ spec: StudySpec, _ context: StudyContext, settings s: Settings) throws -> StudyResult {
        let g = context.generator
        var result = StudyResult()
        var clock = Date()
        func lap() -> Double { let t = Date().timeIntervalSince(clock); clock = Date(); return t }

        context.report("generating \(g.events) training and \(g.testEvents) test events")
        let zw = ColliderConfiguration(process: .zw)
        let train = try generateColliderSample(zw, events: g.events, rng: context.rng.child("train"))
        let test = try generateColliderSample(zw, events: g.testEvents, rng: context.rng.child("test"))
        var wConfig = ColliderConfiguration(process: .wPrime)
        wConfig.wPrimeFraction = s.wPrimeFraction
        let wTest = try generateColliderSample(wConfig, events: g.testEvents, rng: context.rng.child("wprime-test"))
        result.notes.append("samples: \(g.events) training, \(g.testEvents) test, \(g.testEvents) W' test events (\(format(lap())) s)")

        var trained: [NetworkVariant: GANModelFolder.Trained] = [:]
        for variant in s.compare {
            var network = s.network
            if variant == .gan { network.discriminatorResponse = nil }  // the FCGAN's option: the naive D sees x_p alone
            let model = try GANModelFolder.train(
                variant: variant, sample: train, profile: context.profile, seed: context.seed(for: variant.rawValue), out: try context.file("model-\(variant.rawValue)"),
                network: network, training: s.training) { context.report("\(variant.rawValue) \($0.progressLine)") }
            trained[variant] = model
            let last = model.history.last
            result.notes.append("\(variant.rawValue): \(model.completedEpochs) epochs, \(s.network.generatorLayers) x \(s.network.unitsPerLayer), batch \(s.training.batchSize), lr G/D \(s.training.generatorLearningRate)/\(s.training.discriminatorLearningRate) \(s.training.schedule), betas \(s.training.beta1)/\(s.training.beta2), n_D \(s.training.discriminatorSteps), noise \(model.model.noiseDimension), generator average \(s.training.generatorAverage.map { "\($0)" } ?? "off"), lambda_D \(s.network.lambdaD); last epoch <D> real/fake \(format(last?.meanDiscriminatorReal ?? .nan))/\(format(last?.meanDiscriminatorFake ?? .nan)), MMD(m_jj) \(format(last?.mmd ?? .nan)) (\(format(lap())) s)")
        }

        // 1. Cuts: one sample per event.
        var unfolded: [NetworkVariant: EventSample.Block] = [:]
        for variant in s.compare {
            unfolded[variant] = try GANCollider.unfold(trained[variant]!, detector: test.detector!, samples: 1,
                                                       rng: context.rng.child("unfold-\(variant.rawValue)"))
        }
        let declared = Set(spec.gates.map(\.name))
        var table = "cut,events,observable,detector_chi2,detector_ndf," + s.compare.map { "\($0.rawValue)_chi2,\($0.rawValue)_ndf" }.joined(separator: ",") + "\n"
        result.notes.append("chi2/ndf, one unfolded sample per event vs the same events' truth (" + s.compare.map(\.rawValue).joined(separator: " | ") + "):")
        for cut in s.cuts {
            let mask = try cut.mask(test.detector!)
            let rows = mask.indices.filter { mask[$0] }
            guard rows.count >= 50 else { result.notes.append("cut \(cut.rawValue): only \(rows.count) test events, skipped"); continue }
            var line = "cut \(cut.rawValue) (\(rows.count) events):"
            for name in observables {
                let truth = values(name, test.parton!, rows)
                let detector = values(detectorName(name), test.detector!, rows)
                let edges = try binEdges(truth, bins: s.bins)
                let truthHistogram = try filled(edges, truth)
                let baseline = try chiSquare(try filled(edges, detector), truthHistogram)
                var row = "\(cut.rawValue),\(rows.count),\(name),\(baseline.chi2),\(baseline.ndf)"
                var cells: [String] = []
                var chi2s: [NetworkVariant: ChiSquare] = [:]
                for variant in s.compare {
                    let u = try filled(edges, values(name, unfolded[variant]!, rows))
                    let chi2 = try chiSquare(u, truthHistogram)
                    chi2s[variant] = chi2
                    let gate = "\(variant.rawValue)-cut-\(cut.rawValue)-\(name)-chi2"
                    if declared.contains(gate) { result.measure(gate, chi2.perNdf, noise: chi2.perNdfNoise) }
                    row += ",\(chi2.chi2),\(chi2.ndf)"
                    cells.append(format(chi2.perNdf))
                    let plot = try Plot.histogram(title: "\(variant.rawValue.uppercased()) after cut \(cut.rawValue): \(name)", xLabel: axisLabel(name),
                                                  truth: truthHistogram, detector: try filled(edges, detector), unfolded: u,
                                                  normalise: false, ratioRange: 0.5,
                                                  labels: ("parton truth", "detector level", "\(variant.rawValue.uppercased()), chi2/ndf \(format(chi2.perNdf))"))
                    result.add(plot, name: "cut-\(cut.rawValue)-\(name)-\(variant.rawValue)")
                }
                // The naive GAN sculpted far beyond the FCGAN: chi2/ndf FCGAN / GAN, its noise from both.
                let ratioGate = "fcgan-over-gan-cut-\(cut.rawValue)-\(name)-chi2"
                if declared.contains(ratioGate), let f = chi2s[.fcgan], let n = chi2s[.gan] {
                    let ratio = f.perNdf / n.perNdf
                    let relative = ((f.perNdfNoise / f.perNdf) * (f.perNdfNoise / f.perNdf) + (n.perNdfNoise / n.perNdf) * (n.perNdfNoise / n.perNdf)).squareRoot()
                    result.measure(ratioGate, ratio, noise: ratio * relative)
                }
                table += row + "\n"
                line += " \(name) " + cells.joined(separator: " | ") + " (detector \(format(baseline.perNdf)))"
            }
            result.notes.append(line)
        }
        try writeAtomically(table, to: try context.file("chi2.csv"))
        result.dataFiles.append("chi2.csv")
        result.notes.append("cuts: \(format(lap())) s")

        // 2. Calibration of the primary (conditional) network.
        if s.primary == .fcgan {
            try calibration(s, trained[.fcgan]!, test: test, context: context, into: &result)
            result.notes.append("calibration: \(format(lap())) s")
        }

        // 3. W' test.
        try wPrimeTest(s, trained[s.primary]!, sample: wTest, context: context, into: &result)
        result.notes.append("W' test: \(format(lap())) s")
        return result
    }

    // MARK: Calibration

    static func calibration(_ s: Settings, _ model: GANModelFolder.Trained, test: EventSample,
                            context: StudyContext, into result: inout StudyResult) throws {
        let n = s.calibrationEvents, k = s.samplesPerEvent
        let rows = Array(0..<n)
        let detector = test.detector!.rows(rows), truth = test.parton!.rows(rows)
        let drawn = try GANCollider.unfold(model, detector: detector, samples: k, rng: context.rng.child("calibration"))
        let d = truth.columns.count
        let curves = try CalibrationCurve.perCoordinate(
            truth: (0..<n).map { i in (0..<d).map { truth[i, $0] } },
            samples: (0..<n).map { i in (0..<k).map { s in (0..<d).map { drawn[i * k + s, $0] } } })
        let named = zip(truth.columns, curves).map { (label: $0, curve: $1) }
        let shown = named.filter { ["pT_q1", "pT_q2", "eta_q1", "phi_q1", "pT_l-"].contains($0.label) }
        result.add(try Plot.calibration(title: "FCGAN calibration (\(n) events, \(k) samples each)", curves: shown), name: "calibration-fcgan")
        let worst = named.max { $0.curve.maxDeviation < $1.curve.maxDeviation }!
        // Below the truth's rank 0 or above K: the share of truths outside the sampled range.
        let pT1 = named.first { $0.label == "pT_q1" }!.curve
        let outside = pT1.quantiles.filter { $0 < 1.0 / Double(k + 1) || $0 > Double(k) / Double(k + 1) }.count
        result.record("fcgan-calibration events", Double(n))
        result.record("fcgan-calibration samples", Double(k))
        result.record("fcgan-calibration max deviation", worst.curve.maxDeviation, noise: .nan)
        result.notes.append("FCGAN calibration, \(n) events x \(k) samples: max deviation pT_q1 \(format(pT1.maxDeviation)), worst coordinate \(worst.label) \(format(worst.curve.maxDeviation)); statistical floor 1.36/sqrt(N) = \(format(1.36 / Double(n).squareRoot())); truth outside the sampled range for pT_q1 in \(format(100 * Double(outside) / Double(n))) % of events (calibrated: \(format(200 / Double(k + 1))) %)")
        var text = "coordinate,max_deviation\n"
        for entry in named { text += "\(entry.label),\(entry.curve.maxDeviation)\n" }
        try writeAtomically(text, to: try context.file("calibration.csv"))
        result.dataFiles.append("calibration.csv")
    }

    // MARK: W'

    /// Gaussian + flat: p = (amplitude, mean, sigma, background) per 10 GeV bin.
    static func peak(_ x: Double, _ p: [Double]) -> Double {
        let z = (x - p[1]) / p[2]
        return p[0] * Foundation.exp(-0.5 * z * z) + p[3]
    }

    static func wPrimeTest(_ s: Settings, _ model: GANModelFolder.Trained, sample: EventSample,
                           context: StudyContext, into result: inout StudyResult) throws {
        let unfolded = try GANCollider.unfold(model, detector: sample.detector!, samples: 1, rng: context.rng.child("wprime-unfold"))
        let mass = Physics.Observable.mZW
        let edges = (0...60).map { 1000 + 10 * Double($0) }
        let truth = try filled(edges, mass.values(sample.parton!)), gen = try filled(edges, mass.values(unfolded))
        let detector = try filled(edges, mass.values(sample.detector!))
        var fits: [String: FitResult] = [:]
        var series: [Plot.FitSeries] = []
        for (label, h) in [("truth", truth), ("detector", detector), ("unfolded", gen)] {
            let y = h.counts, sigma = y.map { Swift.max($0, 1).squareRoot() }
            // Start from the background-subtracted moments of the window.
            let background = Swift.max(0, (y.prefix(5).reduce(0, +) + y.suffix(5).reduce(0, +)) / 10)
            let signal = y.map { Swift.max($0 - background, 0) }, total = Swift.max(signal.reduce(0, +), 1)
            let mean = zip(h.centers, signal).reduce(0) { $0 + $1.0 * $1.1 } / total
            let rms = (zip(h.centers, signal).reduce(0) { $0 + ($1.0 - mean) * ($1.0 - mean) * $1.1 } / total).squareRoot()
            let width = Swift.min(Swift.max(rms, 8), 150)
            let initial = [total * 10 / (width * (2 * Double.pi).squareRoot()), mean, width, background]
            do {
                let fit = try NonlinearFit.fit(x: h.centers, y: y, sigma: sigma, initial: initial, maxIterations: 2000, model: peak)
                fits[label] = fit
                series.append(Plot.FitSeries(label: label, x: h.centers, y: y, sigma: sigma, fit: fit, model: peak))
            } catch {
                result.record("wprime \(label) fit failed", 1)
                result.notes.append("W' \(label) m_ZW fit failed: \(error) (start: mean \(format(mean)), sigma \(format(width)))")
            }
        }
        guard let t = fits["truth"], let u = fits["unfolded"] else { return }
        let d = fits["detector"]
        // Noise: both fitted positions' errors in quadrature (truth and unfolded share the events, so an upper estimate).
        result.measure("wprime-peak-shift", u.parameters[1] - t.parameters[1], noise: (u.errors[1] * u.errors[1] + t.errors[1] * t.errors[1]).squareRoot())
        result.add(try Plot.fit(title: "W' (\(format(100 * s.wPrimeFraction)) %) unfolded by the SM-trained \(s.primary.rawValue.uppercased())",
                                                            xLabel: "m_{ZW} [GeV]", yLabel: "events / 10 GeV", series: series), name: "wprime-mzw")
        func describe(_ f: FitResult?) -> String {
            guard let f else { return "no fit" }
            return "mean \(format(f.parameters[1])) ± \(format(f.errors[1])) GeV, sigma \(format(abs(f.parameters[2]))) ± \(format(f.errors[2])) GeV, peak \(format(f.parameters[0])) ± \(format(f.errors[0])) over flat \(format(f.parameters[3])) per bin"
        }
        result.record("wprime truth peak mu", t.parameters[1], noise: t.errors[1])
        result.record("wprime unfolded peak mu", u.parameters[1], noise: u.errors[1])
        result.notes.append("W' m_ZW peak (Gaussian + flat, 10 GeV bins): truth \(describe(t)); detector \(describe(d)); \(s.primary.rawValue) unfolded \(describe(u)); width ratio unfolded/truth \(format(abs(u.parameters[2] / t.parameters[2])))")
    }

    // MARK: Helpers

    static func detectorName(_ name: String) -> String {
        name == "pT_q1" ? "pT_j1" : name == "pT_q2" ? "pT_j2" : name
    }

    static func axisLabel(_ name: String) -> String {
        switch name {
        case "pT_q1": return "p_{T,q1} [GeV]"
        case "pT_q2": return "p_{T,q2} [GeV]"
        default: return "m_{jj} [GeV]"
        }
    }

    /// An observable on selected rows: a column, or m_jj from the four-momenta.
    static func values(_ name: String, _ block: EventSample.Block, _ rows: [Int]) -> [Double] {
        if name == "m_jj" { return rows.compactMap { Physics.Observable.mJJ.value(block, row: $0) } }
        let j = block.index(of: name)!
        return rows.map { block[$0, j] }
    }

    /// `bins` uniform bins between the truth's 0.5 % and 99.5 % quantiles.
    static func binEdges(_ truth: [Double], bins: Int) throws -> [Double] {
        let sorted = truth.sorted()
        let low = sorted[Int(0.005 * Double(sorted.count - 1))], high = sorted[Int(0.995 * Double(sorted.count - 1))]
        guard high > low else { throw RefoldError.value("histogram range", expected: "a spread of values", actual: "\(low)...\(high)") }
        return (0...bins).map { low + (high - low) * Double($0) / Double(bins) }
    }

    static func filled(_ edges: [Double], _ values: [Double]) throws -> Histogram1D {
        var h = try Histogram1D(edges: edges)
        try h.fill(values)
        return h
    }
}
