import Flows
import Foundation
import Physics
import Tensor
import Unfolders
import Validation

/// Pieces the ZW studies share: samples, networks from the spec, spectra with their
/// statistical floor, calibration curves.
enum ZWStudySupport {
    /// A collider sample of `events` accepted events.
    static func sample(_ process: ColliderProcess, events: Int, rng: RNGStream, wprimeFraction: Double = 0.1,
                       configure: (inout ColliderConfiguration) -> Void = { _ in }) throws -> EventSample {
        var configuration = ColliderConfiguration(process: process)
        configuration.wPrimeFraction = wprimeFraction
        configure(&configuration)
        return try generateColliderSample(configuration, events: events, rng: rng)
    }

    /// The study's training and test samples of `process`: the context's `--train`/`--test`
    /// folders when it has them (columns checked by `checkColumns`, at most the profile's events
    /// each), else generated from the child streams "train-sample" and "test-sample" (the test
    /// sample by `generateTest` when given, e.g. the W' admixture).
    static func trainingAndTest(_ process: ColliderProcess, _ context: StudyContext,
                                generateTest: ((_ events: Int, _ rng: RNGStream) throws -> EventSample)? = nil) throws -> (training: EventSample, test: EventSample) {
        if let folders = context.takeSampleFolders() {
            for (sample, record) in zip([folders.training, folders.test], folders.records) {
                try checkColumns(sample, process: process, folder: record.path)
            }
            guard folders.training.detector!.columns == folders.test.detector!.columns else {
                throw RefoldError.file(folders.records[1].path, "detector columns: expected the --train folder's \(folders.training.detector!.columns.count) \(folders.training.detector!.columns), got \(folders.test.detector!.columns.count) \(folders.test.detector!.columns)")
            }
            context.report("read \(folders.training.count) + \(folders.test.count) events from the --train/--test folders")
            return (folders.training, folders.test)
        }
        let g = context.generator
        context.report("generating \(g.events) + \(g.testEvents) \(process.rawValue) events")
        let training = try sample(process, events: g.events, rng: context.rng.child("train-sample"))
        let testStream = context.rng.child("test-sample")
        return (training, try generateTest?(g.testEvents, testStream) ?? sample(process, events: g.testEvents, rng: testStream))
    }

    /// Throws unless `sample` (read from `folder`) has the columns the study of `process` trains
    /// on: parton (pT, eta, phi) of l-, l+, q1, q2; detector (pT, eta, phi, m) of l-, l+ and two
    /// jets (zw, wprime) or at least two zero-padded jet slots and njets.npy (zw-isr).
    static func checkColumns(_ sample: EventSample, process: ColliderProcess, folder: String) throws {
        func refuse(_ level: String, _ expected: [String], _ actual: [String], _ more: String = "") throws -> Never {
            throw RefoldError.file(folder, "\(level) columns for a \(process.rawValue) study: expected \(expected.count)\(more) \(expected), got \(actual.count) \(actual)")
        }
        let parton = sample.parton!.columns, detector = sample.detector!.columns
        guard parton == ColliderColumns.parton else { try refuse("parton", ColliderColumns.parton, parton) }
        switch process {
        case .zwISR:
            let slots = (detector.count - 8) / 4
            guard slots >= 2, detector == ColliderColumns.detector(jets: slots) else {
                try refuse("detector", ColliderColumns.detector(jets: DetectorCard.atlas.maximumJets), detector, " (or 8 + 4 per jet slot, at least 2 slots)")
            }
            guard sample.njets != nil else { throw RefoldError.file(folder, "missing njets.npy: a zw-isr study conditions on the jet count") }
        default:
            let expected = ColliderColumns.detector(jets: 2)
            guard detector == expected else { try refuse("detector", expected, detector) }
        }
    }

    /// Trains the spec's `variant` on `training` into `model-<name>/` (seed from the child stream
    /// `name`) and unfolds `test` with `samples` per event (noise from the child `unfoldStream`).
    static func trainAndUnfold(_ variant: NetworkVariant, name: String, label: String, training: EventSample, test: EventSample,
                               samples: Int, unfoldStream: String, context: StudyContext) throws -> (UnfoldingModel, UnfoldedSamples) {
        let request = try UnfoldingTrainingRequest(study: context.network, variant: variant, profile: context.profile, seed: context.seed(for: name))
        let model = try train(request, sample: training, folder: try context.file("model-\(name)"), context: context, label: label)
        context.report("\(label): unfolding \(test.count) events x \(samples) samples")
        let unfolded = try model.unfold(detector: test.detector!, njets: test.njets, samples: samples, rng: context.rng.child(unfoldStream))
        return (model, unfolded)
    }

    /// How many unfolded samples fell outside the training support and were redrawn: recorded as
    /// "<prefix><variant> redrawn fraction" (first draws outside, of all samples) and "... outside
    /// after redraws" (still outside after the last round), with a note.
    static func recordSupport(_ model: UnfoldingModel, _ unfolded: UnfoldedSamples, prefix: String = "", into result: inout StudyResult) {
        guard let support = model.config.support else { return }
        let total = unfolded.events * unfolded.samplesPerEvent, variant = model.config.network.variant.rawValue
        let fraction = Double(unfolded.redrawnSamples) / Double(max(total, 1))
        result.record("\(prefix)\(variant) redrawn fraction", fraction)
        result.record("\(prefix)\(variant) outside after redraws", Double(unfolded.outsideSupport) / Double(max(total, 1)))
        let pair = support.pair.map { " or Delta R(\($0.first), \($0.second)) < \(format($0.minimum))" } ?? ""
        result.notes.append(prefix + "\(variant): \(unfolded.redrawnSamples) of \(total) samples (\(format(100 * fraction)) %) "
            + "fell outside the training support (a coordinate beyond its training range\(pair)) and were redrawn; "
            + "\(unfolded.outsideSupport) still outside after \(UnfoldingModel.supportRounds) rounds")
    }

    /// Trains `request` on `sample` into `folder`, reporting each epoch through the context.
    static func train(_ request: UnfoldingTrainingRequest, sample: EventSample, folder: URL, context: StudyContext, label: String) throws -> UnfoldingModel {
        // A study owns its report folder: a rerun replaces the model of the previous run (a
        // fresh training refuses an existing model folder).
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
        // Skinny shapes on a shared CPU: 1 thread is 5-8x faster (docs/unfold.md).
        return try BLAS.withThreads(1) {
            try UnfoldingModel.train(sample: sample, request: request, out: folder) { report in
                context.report("\(label) " + progressLine(report, epochs: request.network.training.epochs))
            }
        }
    }

    // MARK: Observables

    /// The parton-level spectra of the study: (name, axis label, edges, value of one row).
    struct Spectrum {
        var name: String, label: String, edges: [Double]
        var value: (EventSample.Block, Int) -> Double?
    }

    static func column(_ name: String) -> (EventSample.Block, Int) -> Double? {
        { block, row in block.index(of: name).map { block[row, $0] } }
    }

    /// |phi_a - phi_b| folded into [0, pi].
    static func deltaPhi(_ a: String, _ b: String) -> (EventSample.Block, Int) -> Double? {
        { block, row in
            guard let i = block.index(of: "phi_\(a)"), let j = block.index(of: "phi_\(b)") else { return nil }
            return abs(FourMomentum.wrapPhi(block[row, i] - block[row, j]))
        }
    }

    static func uniformEdges(_ low: Double, _ high: Double, _ bins: Int) -> [Double] {
        (0...bins).map { low + (high - low) * Double($0) / Double(bins) }
    }

    /// pT_q1, pT_q2, m_jj (the W peak) and Delta phi_jj.
    static let zwSpectra: [Spectrum] = [
        Spectrum(name: "pT_q1", label: "p_{T,q1} [GeV]", edges: uniformEdges(0, 300, 20), value: column("pT_q1")),
        Spectrum(name: "pT_q2", label: "p_{T,q2} [GeV]", edges: uniformEdges(0, 150, 15), value: column("pT_q2")),
        Spectrum(name: "m_jj", label: "m_{jj} [GeV]", edges: uniformEdges(70, 90, 10),
                 value: { Physics.Observable.mJJ.value($0, row: $1) }),
        Spectrum(name: "dphi_jj", label: "{/Symbol D}{/Symbol f}_{jj}", edges: uniformEdges(0, Double.pi, 16), value: deltaPhi("q1", "q2")),
    ]

    /// Truth against unfolded (K samples per event) in one spectrum.
    struct SpectrumComparison {
        var spectrum: Spectrum
        var truth: Histogram1D
        var unfolded: Histogram1D
        /// max |unfolded / truth - 1| over bins holding >= 1 % of the events.
        var maxDeviation: Double
        /// Its 95 % quantile for a perfect posterior of this size (see `compare`).
        var floor: Double
        /// The measurement noise of `maxDeviation`: the standard deviation of max_b |d_b + e_b| over
        /// Gaussian toys, d_b the measured deviations and e_b their per-bin scatter (see `compare`).
        var noise: Double
        var bins: Int
    }

    /// Fills truth and unfolded histograms. The floor: for a calibrated posterior, given the
    /// detector-level events, U_b - T_b has variance sum_i p_ib (1 - p_ib) (1 + 1/K), with p_ib the
    /// posterior probability of bin b for event i (estimated from its K samples); the 95 % quantile
    /// of max_b |U_b - T_b| / T_b is drawn from 2000 Gaussian toys.
    static func compare(_ s: Spectrum, truth: EventSample.Block, unfolded: UnfoldedSamples, rows: [Int]? = nil,
                        rng: RNGStream) throws -> SpectrumComparison {
        let k = unfolded.samplesPerEvent
        let events = rows ?? Array(0..<truth.rows)
        var t = try Histogram1D(edges: s.edges)
        let bins = t.binCount
        var u = [Double](repeating: 0, count: bins), variance = [Double](repeating: 0, count: bins)
        let block = unfolded.block
        var perEvent = [Double](repeating: 0, count: bins)
        for i in events {
            if let v = s.value(truth, i) { t.fill(v) }
            for b in 0..<bins { perEvent[b] = 0 }
            for j in 0..<k {
                guard let v = s.value(block, i * k + j) else { continue }
                let b = t.bin(of: v)
                if b >= 0, b < bins { perEvent[b] += 1 / Double(k) }
            }
            for b in 0..<bins where perEvent[b] > 0 {
                u[b] += perEvent[b]
                variance[b] += perEvent[b] * (1 - perEvent[b]) * (1 + 1 / Double(k))
            }
        }
        let threshold = 0.01 * Double(events.count)
        let considered = (0..<bins).filter { t.counts[$0] >= threshold && t.counts[$0] > 0 }
        let deviation = considered.map { abs(u[$0] / t.counts[$0] - 1) }.max() ?? .nan
        var toys: [Double] = []
        for _ in 0..<2000 {
            toys.append(considered.map { abs(rng.normal(mean: 0, std: 1)) * variance[$0].squareRoot() / t.counts[$0] }.max() ?? 0)
        }
        toys.sort()
        // Repeating the measurement with new test events and samples moves each bin's deviation by
        // its scatter: the spread of the maximum over such toys around the measured deviations.
        let shifted = (0..<500).map { _ in
            considered.map { abs(u[$0] / t.counts[$0] - 1 + rng.normal(mean: 0, std: 1) * variance[$0].squareRoot() / t.counts[$0]) }.max() ?? .nan
        }
        let unfoldedHistogram = try Histogram1D(edges: s.edges, counts: u, errors: variance.map { $0.squareRoot() })
        return SpectrumComparison(spectrum: s, truth: t, unfolded: unfoldedHistogram, maxDeviation: deviation,
                                  floor: toys[Int(0.95 * Double(toys.count - 1))], noise: Measured(deviation, spreadOf: shifted).noise,
                                  bins: considered.count)
    }

    /// The histogram plot with a ratio panel (detector level drawn when given).
    static func plot(_ c: SpectrumComparison, title: String, detector: Histogram1D? = nil, label: String = "unfolded",
                     name: String) throws -> Figure {
        let plot = try Plot.histogram(title: title, xLabel: c.spectrum.label, truth: c.truth, detector: detector,
                                      unfolded: c.unfolded, normalise: true, ratioRange: 0.3,
                                      labels: ("parton-level truth", "detector level", label))
        return Figure(name: name, plot: plot)
    }

    /// Detector-level counterpart of a parton spectrum (jets for quarks), or nil.
    static func detectorHistogram(_ s: Spectrum, detector: EventSample.Block) throws -> Histogram1D? {
        let mapped: (EventSample.Block, Int) -> Double?
        switch s.name {
        case "pT_q1": mapped = column("pT_j1")
        case "pT_q2": mapped = column("pT_j2")
        case "m_jj": mapped = { Physics.Observable.mJJ.value($0, row: $1) }
        case "dphi_jj": mapped = deltaPhi("j1", "j2")
        default: return nil
        }
        var h = try Histogram1D(edges: s.edges)
        for i in 0..<detector.rows { if let v = mapped(detector, i) { h.fill(v) } }
        return h
    }

    // MARK: Calibration

    /// One calibration curve per parton coordinate from the first `events` events.
    /// One curve per parton column in `columns` (default: all), on the first `events` events.
    static func calibration(truth: EventSample.Block, unfolded: UnfoldedSamples, events: Int,
                            columns: [String]? = nil) throws -> [CalibrationCurve] {
        let n = min(events, truth.rows, unfolded.events), k = unfolded.samplesPerEvent
        let indices = (columns ?? truth.columns).compactMap { truth.index(of: $0) }
        return try indices.map { j in
            try CalibrationCurve(truth: (0..<n).map { truth[$0, j] },
                                 samples: (0..<n).map { i in (0..<k).map { unfolded[event: i, sample: $0, column: j] } })
        }
    }

    /// Calibrates `columns` on the first `events` events: the largest deviation is measured for
    /// every gate in `gates` (noise by bootstrap over the events) and a note lists each
    /// coordinate's deviation with the statistical floor.
    static func measureCalibration(_ label: String, truth: EventSample.Block, unfolded: UnfoldedSamples, events: Int, columns: [String],
                                   gates: [String], context: StudyContext, into result: inout StudyResult) throws {
        let curves = try calibration(truth: truth, unfolded: unfolded, events: events, columns: columns)
        let worst = curves.map(\.maxDeviation).max() ?? .nan
        let noise = CalibrationCurve.bootstrapNoise(ofLargestDeviation: curves, rng: context.rng.child("calibration-bootstrap"))
        for gate in gates { result.measure(gate, worst, noise: noise) }
        result.notes.append("\(label) calibration on \(events) events x \(unfolded.samplesPerEvent) samples, max deviation per coordinate: "
                            + zip(columns, curves).map { "\($0) \(format($1.maxDeviation))" }.joined(separator: ", ")
                            + "; floor ~1.95/sqrt(N) = \(format(1.95 / Double(events).squareRoot())) (99.9 % over \(columns.count) coordinates)")
    }

    /// Calibration plots, one per particle (3 coordinates each).
    static func calibrationPlots(_ curves: [CalibrationCurve], columns: [String], title: String, prefix: String) throws -> [Figure] {
        var records: [Figure] = []
        func particleOf(_ column: String) -> String { column.split(separator: "_").dropFirst().joined(separator: "_") }
        var particles: [String] = []
        for column in columns where !particles.contains(particleOf(column)) { particles.append(particleOf(column)) }
        for particle in particles {
            let group = columns.indices.filter { particleOf(columns[$0]) == particle }
            let fileName = particle.replacingOccurrences(of: "+", with: "plus").replacingOccurrences(of: "-", with: "minus")
            let plot = try Plot.calibration(title: "\(title): \(particle)", curves: group.map { (axisLabel(columns[$0]), curves[$0]) })
            records.append(Figure(name: "\(prefix)-\(fileName)", plot: plot))
        }
        return records
    }

    /// A column name as gnuplot enhanced text: pT_q1 -> p_{T,q1}, eta_l- -> {/Symbol h}_{l-}.
    static func axisLabel(_ column: String) -> String {
        guard let split = column.firstIndex(of: "_") else { return column }
        let variable = column[..<split], particle = column[column.index(after: split)...]
        switch variable {
        case "pT": return "p_{T,\(particle)}"
        case "eta": return "{/Symbol h}_{\(particle)}"
        case "phi": return "{/Symbol f}_{\(particle)}"
        default: return "\(variable)_{\(particle)}"
        }
    }
}
