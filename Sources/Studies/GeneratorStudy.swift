import Flows
import Foundation
import GAN
import Physics
import Tensor
import Unfolders
import Validation

/// The controlled precision generator (talk 001, arXiv:2110.13632) on Z -> mu mu + 1, 2, 3 jets:
/// the INN generator (`ZJetsGenerator`, Delta R weighted maximum likelihood, weights Z_n / f) is
/// trained on a truth sample; per multiplicity a classifier learns truth against generated events
/// (the generated ones with their Delta R weights) and its D / (1 - D) reweights an independent
/// generated sample. Histograms of m_mumu, pT_j1, eta_j1 and Delta R_j1j2 of that sample, before
/// and after the discriminator weights, are compared with an independent truth test sample:
/// pooled chi2/ndf (generated scaled to the truth's event count; the errors of both), the largest
/// relative deviation over the bins holding >= 1 % of the truth events against the allowance
/// max(5 %, twice the test sample's statistical floor), and the pull of the Delta R_j1j2 bins just
/// above R_min with the 1/f weights alone.
public enum GeneratorStudy {
    /// `[network.generator]` (the flow per multiplicity; its dimension comes from the data),
    /// `[network.training]` and `[network.classifier]` over the study's defaults.
    static func configs(_ n: NetworkSpec) throws -> (DensityFlowConfig, TrainingConfig, ClassifierConfig) {
        (try n.decode("generator", over: DensityFlowConfig(dimension: 2, blocks: 8, layersPerBlock: 2, unitsPerLayer: 64), derived: ["dimension"]),
         try n.decode("training", over: TrainingConfig(epochs: 20, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine, gradientClip: 10)),
         try n.decode("classifier", over: ClassifierConfig()))
    }

    struct Settings {
        var events: Int, testEvents: Int, generatedFactor: Int
        var flow: DensityFlowConfig, training: TrainingConfig
        var classifier: ClassifierConfig, weightClip: Double
        var separationUpper: Double
        /// ttbar: training (and test) events and epochs of its INN.
        var ttbarEvents: Int, ttbarEpochs: Int

        init(_ context: StudyContext) throws {
            let n = context.network, g = context.generator
            events = g.events; testEvents = g.testEvents
            generatedFactor = Int(try g.number("generated_factor", default: 2))
            separationUpper = try g.number("separation_upper", default: 1.2)
            (flow, training, classifier) = try GeneratorStudy.configs(n)
            weightClip = try n.parameters.number("weight_clip") ?? 10
            ttbarEvents = Int(try g.number("ttbar_events", default: 30_000))
            ttbarEpochs = Int(try n.parameters.number("ttbar_epochs") ?? 20)
            guard ttbarEvents >= 100, ttbarEpochs >= 1 else {
                throw RefoldError.value("ttbar_events, ttbar_epochs", expected: ">= 100, >= 1", actual: "\(ttbarEvents), \(ttbarEpochs)")
            }
            guard generatedFactor >= 1, weightClip > 1 else {
                throw RefoldError.value("generated_factor, weight_clip", expected: ">= 1, > 1", actual: "\(generatedFactor), \(weightClip)")
            }
        }

        var description: String {
            "\(events) training and \(testEvents) test Z+jets events; one flow per multiplicity, \(flow.blocks) blocks x \(flow.layersPerBlock) layers x \(flow.unitsPerLayer) units, "
                + "\(training.epochs) epochs, batch \(training.batchSize), lr \(training.learningRate) \(training.schedule); classifier \(classifier.hiddenLayers) x \(classifier.units), "
                + "\(classifier.epochs) epochs; D/(1-D) clipped at \(format(weightClip)); \(generatedFactor)x the test events generated for the comparison"
        }
    }

    /// One histogrammed observable of a multiplicity.
    struct Observable {
        let name: String, label: String, edges: [Double]
        let value: (ZJetsEvent) -> Double?
    }

    static func observables(jets: Int) -> [Observable] {
        let uniform = { (low: Double, high: Double, bins: Int) in (0...bins).map { low + (high - low) * Double($0) / Double(bins) } }
        var list = [
            Observable(name: "m_mumu", label: "m_{/Symbol m/Symbol m} [GeV]", edges: uniform(76, 106, 30)) { $0.mMuMu },
            Observable(name: "pT_j1", label: "p_{T,j1} [GeV]", edges: uniform(20, 220, 20)) { $0.jets.first?.pT },
            Observable(name: "eta_j1", label: "{/Symbol h}_{j1}", edges: uniform(-4.5, 4.5, 18)) { $0.jets.first?.eta },
        ]
        if jets >= 2 {
            list.append(Observable(name: "dR_j1j2", label: "{/Symbol D}R_{j1 j2}", edges: uniform(0, 6, 30)) { $0.jetSeparations.first })
        }
        return list
    }

    /// Truth and generated histograms of one observable: chi2 of generated (scaled to the truth's
    /// event count) against truth, the largest relative deviation over bins with >= 1 % of the
    /// truth events and the test sample's floor there (largest 1 / sqrt(n_truth)).
    struct Comparison {
        let truth: Histogram1D, generated: Histogram1D
        var chi2: ChiSquare
        /// The largest |generated / truth - 1|, its statistical error (both samples' in that bin),
        /// and the test sample's floor.
        var maximumDeviation: Double, deviationNoise: Double, floor: Double

        init(truth values: [Double], truthEvents: Int, generated g: [Double], weights: [Double], totalWeight: Double, edges: [Double]) throws {
            var t = try Histogram1D(edges: edges), h = try Histogram1D(edges: edges)
            try t.fill(values); try h.fill(g, weights: weights)
            let scale = Double(truthEvents) / totalWeight
            let scaled = try Histogram1D(edges: edges, counts: h.counts.map { $0 * scale }, errors: h.errors.map { $0 * scale })
            truth = t; generated = scaled
            chi2 = try chiSquare(t, scaled, constraints: 1)
            let populated = (0..<t.binCount).filter { t.counts[$0] >= 0.01 * Double(truthEvents) }
            let deviations = populated.map { abs(scaled.counts[$0] / t.counts[$0] - 1) }
            if let k = deviations.indices.max(by: { deviations[$0] < deviations[$1] }) {
                let i = populated[k], ratio = scaled.counts[i] / t.counts[i]
                maximumDeviation = deviations[k]
                deviationNoise = ratio * (1 / t.counts[i] + (scaled.counts[i] > 0 ? scaled.sumOfSquares[i] / (scaled.counts[i] * scaled.counts[i]) : 0)).squareRoot()
            } else {
                maximumDeviation = .nan; deviationNoise = .nan
            }
            floor = populated.map { 1 / t.counts[$0].squareRoot() }.max() ?? .nan
        }

        /// The deviation and its noise in units of max(5 %, 2 x floor): below 1 meets the issue's target.
        var allowanceFraction: Measured { Measured(maximumDeviation / max(0.05, 2 * floor), noise: deviationNoise / max(0.05, 2 * floor)) }
    }

    /// Single-threaded BLAS, as the other network studies (skinny products; two studies at once).
    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let settings = try Settings(context)
        return try BLAS.withThreads(1) { try measure(settings, context: context) }
    }

    static func measure(_ s: Settings, context: StudyContext) throws -> StudyResult {
        let start = Date()
        var result = StudyResult()
        result.notes.append(s.description)
        let production = try ZJetsProduction()
        let truth = production.sample(events: s.events, rng: context.rng.child("truth"))
        let test = try ZJetsGenerator.events(of: production.sample(events: s.testEvents, rng: context.rng.child("test")), source: "test sample")
        let separation = try SeparationWeight(lower: production.parameters.minimumSeparation, upper: s.separationUpper)
        let trainStart = Date()
        var lastLoss: [Int: Double] = [:]
        let generator = try ZJetsGenerator.train(sample: truth, source: "training sample", flow: s.flow, training: s.training,
                                                 separation: separation, seed: context.seed(for: "generator"), progress: { jets, r in
            lastLoss[jets] = r.trainLoss
            context.report("\(jets)-jet flow epoch \(r.epoch + 1)/\(s.training.epochs): weighted NLL \(format(r.trainLoss))")
        })
        let trainSeconds = Date().timeIntervalSince(trainStart)
        let trainingEvents = try ZJetsGenerator.events(of: truth, source: "training sample")
        result.notes.append("training events 1/2/3 jets: \(generator.settings.trainingEvents.map(String.init).joined(separator: "/")); selection efficiency \(format(truth.selectionEfficiency)); "
            + "flows trained in \(format(trainSeconds)) s (final weighted NLL \((1...generator.maximumJets).map { format(lastLoss[$0] ?? .nan) }.joined(separator: "/"))); <f> per multiplicity \(generator.settings.meanSeparationWeight.map(format).joined(separator: "/"))")

        var pooledBefore = (chi2: 0.0, ndf: 0), pooledAfter = (chi2: 0.0, ndf: 0)
        var worstAllowance = Measured(0, noise: 0), worstName = "", edgePull = 0.0
        var sampled = 0, sampleSeconds = 0.0
        for jets in 1...generator.maximumJets {
            let k = jets - 1, map = generator.settings.coordinates[k]
            let rng = context.rng.child("jets").child(index: jets)
            // The classifier: truth training events against as many generated ones (Delta R weights).
            let lap = Date()
            let control = try generator.generate(jets: jets, count: trainingEvents[k].count, rng: rng.child("control"))
            let evaluation = try generator.generate(jets: jets, count: s.generatedFactor * test[k].count, rng: rng.child("evaluation"))
            sampleSeconds += Date().timeIntervalSince(lap); sampled += control.events.count + evaluation.events.count
            let classifier = try EventClassifier(inputs: map.dimension + 1 + jets * (jets - 1) / 2, config: s.classifier, rng: rng.child("classifier"))
            // A flow sample far in its tails can map to inputs beyond Float32's range: such events
            // are dropped from the classifier's training and weighted 0 in every histogram, counted.
            let controlInputs = try ZJetsGenerator.classifierInputs(control.events, map: map), evaluationInputs = try ZJetsGenerator.classifierInputs(evaluation.events, map: map)
            let finiteControl = ZJetsGenerator.finiteRows(controlInputs), finiteEvaluation = ZJetsGenerator.finiteRows(evaluationInputs)
            let usable = control.events.indices.filter { finiteControl[$0] }
            try classifier.train(truth: try ZJetsGenerator.classifierInputs(trainingEvents[k], map: map), generated: gatherRows(controlInputs, usable),
                                 generatedWeights: usable.map { control.weights[$0] }, rng: rng.child("classifier-train"))
            let (dWeights, clipped) = discriminatorWeights(logits: try classifier.logits(evaluationInputs), maximum: s.weightClip)
            let before = zip(evaluation.weights, finiteEvaluation).map { $1 ? $0 : 0 }
            let after = zip(before, dWeights).map { $0 > 0 ? $0 * $1 : 0 }
            let nonFinite = finiteControl.filter { !$0 }.count + finiteEvaluation.filter { !$0 }.count
            result.record("non-finite generated events, \(jets) jets", Double(nonFinite) / Double(control.events.count + evaluation.events.count))
            if nonFinite > 0 {
                result.notes.append("\(jets) jets: \(nonFinite) of \(control.events.count + evaluation.events.count) generated events have coordinates beyond Float32 (dropped from the classifier, weight 0 in the histograms)")
            }
            let kept = dWeights.enumerated().filter { before[$0.offset] > 0 }.map(\.element)
            let meanD = kept.reduce(0, +) / Double(max(kept.count, 1))
            let rmsD = (kept.reduce(0) { $0 + ($1 - meanD) * ($1 - meanD) } / Double(max(kept.count, 1))).squareRoot()
            result.notes.append("\(jets) jets: classifier loss \(format(classifier.history.first ?? .nan)) -> \(format(classifier.history.last ?? .nan)) (ln 4 = 1.386: indistinguishable); "
                + "D/(1-D) on \(evaluation.events.count) generated events: mean \(format(meanD)), rms \(format(rmsD)), max \(format(kept.max() ?? .nan)), clipped at \(format(s.weightClip)): \(format(100 * clipped)) %; "
                + "Delta R weights Z_n/f: max \(format(before.max() ?? .nan)), \(format(100 * Double(before.filter { $0 == 0 }.count) / Double(before.count))) % zero (a pair below R-)")
            for o in observables(jets: jets) {
                let truthValues = test[k].compactMap(o.value)
                let generatedValues = evaluation.events.map { o.value($0) ?? .nan }
                let b = try Comparison(truth: truthValues, truthEvents: test[k].count, generated: generatedValues, weights: before,
                                       totalWeight: before.reduce(0, +), edges: o.edges)
                let a = try Comparison(truth: truthValues, truthEvents: test[k].count, generated: generatedValues, weights: after,
                                       totalWeight: after.reduce(0, +), edges: o.edges)
                pooledBefore.chi2 += b.chi2.chi2; pooledBefore.ndf += b.chi2.ndf
                pooledAfter.chi2 += a.chi2.chi2; pooledAfter.ndf += a.chi2.ndf
                let name = "\(o.name)-\(jets)j"
                if a.allowanceFraction.value > worstAllowance.value { worstAllowance = a.allowanceFraction; worstName = name }
                result.notes.append("\(name): chi2/ndf \(format(b.chi2.perNdf)) -> \(format(a.chi2.perNdf)) (ndf \(a.chi2.ndf)); largest deviation over bins with >= 1 % of the events "
                    + "\(format(100 * b.maximumDeviation)) % -> \(format(100 * a.maximumDeviation)) % (test floor \(format(100 * a.floor)) %, allowance \(format(100 * max(0.05, 2 * a.floor))) %)")
                if o.name == "dR_j1j2" {
                    // The two 0.2-wide bins just above R_min = 0.4, with the 1/f weights alone.
                    let p = try pulls(b.generated, b.truth)
                    edgePull = max(edgePull, abs(p[2]), abs(p[3]))
                    result.notes.append("\(name): Delta R edge bins [0.4, 0.6), [0.6, 0.8): generated / truth \(format(b.generated.counts[2] / b.truth.counts[2])), \(format(b.generated.counts[3] / b.truth.counts[3])), pulls \(format(p[2])), \(format(p[3]))")
                }
                try BINNStudy.writeCSV([("low", Array(o.edges.dropLast())), ("high", Array(o.edges.dropFirst())), ("truth", a.truth.counts),
                                        ("inn", b.generated.counts), ("reweighted", a.generated.counts)], to: try context.file("\(name).csv"))
                result.dataFiles.append("\(name).csv")
                let plot = try Plot.histogram(title: "Z + \(jets) jet\(jets > 1 ? "s" : ""): \(o.label)", xLabel: o.label, truth: a.truth, detector: b.generated,
                                              unfolded: a.generated, ratioRange: 0.3,
                                              labels: ("truth (test sample)", "INN generator (Delta R weights)", "INN x D/(1-D)"),
                                              ratioLabel: "reweighted / truth")
                result.add(plot, name: name)
            }
        }
        try ttbar(s, context: context, into: &result)
        let before = ChiSquare(chi2: pooledBefore.chi2, ndf: pooledBefore.ndf), after = ChiSquare(chi2: pooledAfter.chi2, ndf: pooledAfter.ndf)
        result.measure("chi2-after", Measured(after.perNdf, noise: after.perNdfNoise))
        let ratio = after.chi2 / before.chi2
        result.measure("chi2-gain", Measured(ratio, noise: ratio * (after.perNdfNoise / after.perNdf + before.perNdfNoise / before.perNdf)))
        result.measure("max-deviation-after", worstAllowance)
        result.measure("dR-edge-pull", Measured(edgePull, noise: 1))
        result.notes.append("pooled over \(after.ndf) degrees of freedom: chi2/ndf \(format(before.perNdf)) before, \(format(after.perNdf)) after the discriminator weights; "
            + "worst deviation / allowance \(format(worstAllowance.value)) ± \(format(worstAllowance.noise)) (\(worstName)); generated \(sampled) events at \(format(Double(sampled) / max(sampleSeconds, 1e-9))) events/s; "
            + "total \(format(Date().timeIntervalSince(start))) s")
        return result
    }

    /// ttbar -> 6 partons: an unconditional INN (the Z+jets flow sizes, weights 1, plain maximum
    /// likelihood, no MMD) on `TTbarCoordinates`, its m_t (both tops) and m_W (both W's) against an
    /// independent truth sample: median and interquartile range, reported with plots (not gated: the
    /// MMD on the masses that should sharpen the peaks is not built yet).
    static func ttbar(_ s: Settings, context: StudyContext, into result: inout StudyResult) throws {
        let production = try TTbarProduction(), rng = context.rng.child("ttbar"), n = s.ttbarEvents, d = TTbarCoordinates.dimension
        func events(_ stream: RNGStream) -> [TTbarEvent] { (0..<n).map { _ in production.generate(stream) } }
        let truth = events(rng.child("truth")), test = events(rng.child("test"))
        let x = Tensor(shape: [n, d], storage: truth.flatMap { TTbarCoordinates.coordinates($0).map(Float.init) })
        let standardizer = try Standardizer(fitting: x)
        var config = s.flow, training = s.training
        config.dimension = d; training.epochs = s.ttbarEpochs
        let flow = try WeightedDensityFlow(config: config, rng: rng.child("flow"))
        let lap = Date()
        try FlowTrainer(model: flow, config: training, rng: rng.child("train"))
            .train(partonLevel: try standardizer.transform(x), detectorLevel: Tensor(shape: [n, 1], repeating: 1))
        let seconds = Date().timeIntervalSince(lap)
        let values = try standardizer.inverse(try flow.sample(events: n, rng: rng.child("sample"))).storage.map(Double.init)
        let phi = rng.child("phi")
        let generated = (0..<n).map { TTbarCoordinates.event(values[(d * $0)..<(d * ($0 + 1))], phi0: phi.uniform(-.pi, .pi)) }
        func quartiles(_ v: [Double]) -> (median: Double, iqr: Double) {
            let sorted = v.sorted()
            return (sorted[sorted.count / 2], sorted[3 * sorted.count / 4] - sorted[sorted.count / 4])
        }
        let p = production.parameters
        for (name, label, mass, edges, value) in [
            ("ttbar-m_t", "m_{bqq} [GeV]", p.topMass, (0...45).map { 150 + Double($0) }, { (e: TTbarEvent) in [e.top.mass, e.antitop.mass] }),
            ("ttbar-m_W", "m_{qq} [GeV]", p.wMass, (0...40).map { 60 + Double($0) }, { (e: TTbarEvent) in [e.wPlus.mass, e.wMinus.mass] }),
        ] {
            let t = test.flatMap(value), g = generated.flatMap(value)
            let (qt, qg) = (quartiles(t), quartiles(g))
            result.notes.append("\(name): truth median \(format(qt.median)) GeV, IQR \(format(qt.iqr)) GeV; INN (\(s.ttbarEpochs) epochs, \(format(seconds)) s, no MMD) "
                + "median \(format(qg.median)) GeV, IQR \(format(qg.iqr)) GeV (\(n) events each)")
            var ht = try Histogram1D(edges: edges), hg = try Histogram1D(edges: edges)
            try ht.fill(t); try hg.fill(g)
            let plot = try Plot.massPeak(title: "t tbar -> 6 partons: \(label)", xLabel: label, series: [("truth", ht), ("INN generator", hg)],
                                         peakMass: mass, normalise: true)
            result.add(plot, name: name)
        }
    }
}
