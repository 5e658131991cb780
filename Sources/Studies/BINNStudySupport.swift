import Flows
import Config
import Foundation
import Tensor
import Unfolders
import ToyModels
import Validation

/// `[network.parameters] boundaries` of the BINN studies.
enum Boundaries: String, CaseIterable { case hard, logit, probit }

/// Shared steps of the BINN studies (thesis ch. 6): settings from the spec, training, grids and lines.
enum BINNStudy {
    /// The toy studies' training (table 6.1 with a cosine schedule): 300 epochs, batch 512, lr 1e-3.
    static let training = TrainingConfig(epochs: 300, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine, gradientClip: 10)

    /// `[network.binn]` over the table 6.1 sizes (dimension and N come from the data) and
    /// `[network.training]` over `training`.
    static func configs(_ n: NetworkSpec) throws -> (BINNConfig, TrainingConfig) {
        (try n.decode("binn", over: BINNConfig.paper(dimension: 0, trainingEvents: 0), derived: ["dimension", "training_events"]),
         try n.decode("training", over: training))
    }

    struct Settings {
        var events: Int
        /// `[network.binn]` over the table 6.1 sizes (dimension and N come from the data).
        var binn: BINNConfig
        /// `[network.training]` over `BINNStudy.training`.
        var training: TrainingConfig
        /// Weight draws M for p and sigma_pred (`[network] samples_per_event`).
        var draws: Int
        /// `[network.parameters] boundaries` (a profile sets its own in `[profile.<name>.network.parameters]`): "hard"
        /// (default; the thesis' coordinates), "logit" or "probit" (a `BoxMap` of the toy's support
        /// before the standardiser); checked by `boundaryMap()`.
        var parameters: SpecParameters

        init(_ context: StudyContext) throws {
            let n = context.network
            events = context.generator.events
            (binn, training) = try BINNStudy.configs(n)
            draws = n.samplesPerEvent ?? 30
            parameters = n.parameters
        }

        /// nil: hard boundaries (no map).
        func boundaryMap() throws -> BoxMap.Kind? {
            switch try parameters.enumeration("boundaries", Boundaries.self) {
            case nil, .hard?: return nil
            case .logit?: return .logit
            case .probit?: return .probit
            }
        }

        var description: String {
            "\(events) training events, \(binn.blocks) blocks x \(binn.hiddenLayers) hidden layers x \(binn.units) units, \(training.epochs) epochs, batch \(training.batchSize), lr \(training.learningRate), prior \(binn.priorWidth), M = \(draws) weight draws"
        }
    }

    /// Trains a BINN on `events` [N, D] (BLAS on one thread: skinny shapes, shared CPU), on u(x) of `box` if given.
    static func train(_ events: Tensor, columns: [String], settings s: Settings, seed: UInt64,
                      context: StudyContext?, box: BoxMap? = nil) throws -> BINNModel {
        try BLAS.withThreads(1) {
            var config = s.binn
            config.dimension = events.columns
            config.trainingEvents = events.rows
            let standardizer = try Standardizer(fitting: try box?.forward(events).u ?? events)
            let model = try BINNModel(config: config, standardizer: standardizer, columns: columns, seed: seed, box: box)
            try BINNTraining.train(model, events: events, config: s.training) { r in
                context?.report("epoch \(r.epoch + 1)/\(s.training.epochs): loss \(format(r.trainLoss)), \(Int(r.eventsPerSecond)) events/s, \(Int(r.secondsRemaining)) s left")
            }
            return model
        }
    }

    /// Events of a density toy as a Float32 [N, 2] tensor.
    static func toyEvents(_ toy: any DensityToy, count: Int, rng: RNGStream) -> Tensor {
        Tensor(shape: [count, 2], storage: toy.sample(n: count, rng: rng).map(Float.init))
    }

    /// The first step of every toy study: sample the toy (child stream "generator"), train the
    /// BINN on it, and note the settings and the training time in `result`.
    static func trainOnToy(_ toy: any DensityToy, context: StudyContext, result: inout StudyResult) throws -> (BINNModel, Settings) {
        let s = try Settings(context)
        result.notes.append(s.description)
        var box: BoxMap?
        if let kind = try s.boundaryMap() {
            box = try BoxMap(kind, lower: [toy.xSupport.lowerBound, toy.ySupport.lowerBound], upper: [toy.xSupport.upperBound, toy.ySupport.upperBound])
            result.notes.append("boundaries: the flow learns u = \(kind)((x - lower) / (upper - lower)) per coordinate; p(x) carries |du/dx|")
            result.record("boundary-map", 1)
        }
        let events = toyEvents(toy, count: s.events, rng: context.rng.child("generator"))
        let start = Date()
        let model = try train(events, columns: ["x", "y"], settings: s, seed: context.seed(for: "binn"), context: context, box: box)
        result.notes.append("training \(format(Date().timeIntervalSince(start))) s; \(model.network.bayesianWeightCount) Bayesian weights")
        let kl = Double(withNoGrad { model.network.klDivergence() }.scalar)
        result.notes.append(posteriorSummary(model.network, kl: kl))
        result.record("kl-per-event", kl / Double(model.network.config.trainingEvents))
        return (model, s)
    }

    /// The loss' KL term per event (eq. 6.16: KL / N, N the training-set size), quantiles of the
    /// weights' log sigma^2, and how many the posterior leaves at the prior (sigma > prior / 2) or pins
    /// (sigma < prior / 100).
    static func posteriorSummary(_ network: BayesianINN, kl: Double) -> String {
        let n = network.config.trainingEvents, prior = Double(network.config.priorWidth)
        let logs = network.bayesianLayers.flatMap { $0.logVariance.value.storage.map(Double.init) }.sorted()
        let wide = logs.filter { $0 > 2 * Foundation.log(0.5 * prior) }.count, narrow = logs.filter { $0 < 2 * Foundation.log(0.01 * prior) }.count
        let q = [0.05, 0.25, 0.5, 0.75, 0.95].map { format(logs[Int($0 * Double(logs.count))]) }.joined(separator: "/")
        return "log sigma^2 quantiles 5/25/50/75/95 %: \(q); KL = \(format(kl)), KL / N = \(format(kl / Double(n))) per event "
            + "(N = \(n)); weight sigma > prior / 2: \(wide), < prior / 100: \(narrow) of \(logs.count)"
    }

    /// A regular grid of cell centres on a box: points [nx ny, 2] (x-major) and its Histogram2D.
    static func grid(x: ClosedRange<Double>, y: ClosedRange<Double>, nx: Int, ny: Int) throws -> (points: Tensor, bins: Histogram2D) {
        let bins = try Histogram2D(xBins: nx, xRange: x, yBins: ny, yRange: y)
        var storage = [Float]()
        for cx in bins.x.centers { for cy in bins.y.centers { storage += [Float(cx), Float(cy)] } }
        return (Tensor(shape: [nx * ny, 2], storage: storage), bins)
    }

    /// values[i * ny + j] -> [[i][j]].
    static func matrix(_ values: [Double], nx: Int, ny: Int) -> [[Double]] {
        (0..<nx).map { i in Array(values[(i * ny)..<((i + 1) * ny)]) }
    }

    /// The band check: the fraction of `mask`ed points with |p_learned - p_true| <= k sigma_pred.
    static func fractionInBand(learned: DensityEstimate, truth: [Double], mask: [Bool], k: Double = 2) -> (fraction: Double, points: Int) {
        var inside = 0, total = 0
        for i in truth.indices where mask[i] {
            total += 1
            if abs(learned.density[i] - truth[i]) <= k * learned.sigma[i] { inside += 1 }
        }
        return (Double(inside) / Double(max(total, 1)), total)
    }

    /// The band check of `estimate` (M draws at `points`) and of `noiseRepeats` more independent
    /// sets of M draws (children of `rng`): `fraction` is the plotted estimate's, `measured` the
    /// mean over all sets with its standard error (one set of M = 30 moves the kicker's by 0.02).
    static func bandCheck(_ model: BINNModel, at points: Tensor, estimate: DensityEstimate, truth: [Double], mask: [Bool],
                          draws: Int, rng: RNGStream) throws -> (fraction: Double, points: Int, measured: Measured) {
        let band = fractionInBand(learned: estimate, truth: truth, mask: mask)
        let repeats = try (1...noiseRepeats).map { k in
            fractionInBand(learned: try model.density(at: points, draws: draws, rng: rng.child(index: k)), truth: truth, mask: mask).fraction
        }
        return (band.fraction, band.points, Measured(repeated: [band.fraction] + repeats))
    }

    /// The position of the lowest interior local minimum of `values` over `x` within `range`: a
    /// point no higher than both neighbours, both inside the window, so a window edge on a
    /// rising or falling flank is never taken for a minimum (the kicker's sigma_pred rises from 0
    /// at x = 0 into its window 0.4-0.9, and the lowest point there was once the window's first,
    /// 0.4125, while the dip sat at 0.6375). NaN if the window holds no such point.
    static func localMinimum(_ x: [Double], _ values: [Double], in range: ClosedRange<Double>) -> Double {
        let window = x.indices.filter { range.contains(x[$0]) }
        guard window.count >= 3 else { return .nan }
        let interior = window.dropFirst().dropLast().filter { values[$0] <= values[$0 - 1] && values[$0] <= values[$0 + 1] }
        guard let best = interior.min(by: { values[$0] < values[$1] }) else { return .nan }
        return x[best]
    }

    /// Independent repetitions of a draw-dependent measurement for its noise estimate.
    static let noiseRepeats = 4
    /// Independent sets of M draws pooled for the sigma_pred extremum gates.
    static let minimumSets = 8

    /// The location of sigma_pred's interior extremum (minimum for `sign` +1, maximum for -1) in
    /// `window`, from `curves` of independent sets of M draws: the parabola-refined extremum of
    /// their mean curve (sigma_pred from all the draws), with the delete-one-set jackknife standard
    /// error, sqrt((n - 1)/n sum_i (x_i - x_mean)^2), as its noise. One set of M = 30 draws alone
    /// moves the wedge's minimum by about 0.04 and sometimes leaves no interior extremum.
    static func pooledExtremum(_ x: [Double], curves: [[Double]], in window: ClosedRange<Double>, sign: Double = 1) -> Measured {
        func mean(_ sets: [[Double]]) -> [Double] {
            x.indices.map { i in sign * sets.reduce(0) { $0 + $1[i] } / Double(sets.count) }
        }
        let value = refinedLocalMinimum(x, mean(curves), in: window)
        guard curves.count >= 2 else { return Measured(value, noise: .nan) }
        let leaveOneOut = curves.indices.map { k in
            refinedLocalMinimum(x, mean(curves.enumerated().filter { $0.offset != k }.map(\.element)), in: window)
        }
        let n = Double(curves.count), average = leaveOneOut.reduce(0, +) / n
        let jackknife = ((n - 1) / n * leaveOneOut.reduce(0) { $0 + ($1 - average) * ($1 - average) }).squareRoot()
        return Measured(value, noise: jackknife)
    }

    /// `localMinimum` refined by the vertex of the parabola through the lowest grid point and its
    /// two neighbours (equally spaced x), so the location is not quantised to the grid step.
    static func refinedLocalMinimum(_ x: [Double], _ values: [Double], in range: ClosedRange<Double>) -> Double {
        let coarse = localMinimum(x, values, in: range)
        guard let i = x.firstIndex(of: coarse), i > 0, i + 1 < x.count else { return coarse }
        let (a, b, c) = (values[i - 1], values[i], values[i + 1])
        let curvature = a - 2 * b + c
        guard curvature > 0 else { return coarse }
        let step = (x[i + 1] - x[i - 1]) / 2
        return x[i] + step * (a - c) / (2 * curvature)
    }

    /// Density and sigma_pred along lines y = const of a ramp, averaged over the lines (fig. 6.2, 6.4):
    /// x at `points` cell centres on [low, high], one line per y in `ys`. The spread of sigma over
    /// the lines is returned as its error (floored at 1 % of sigma so every fit point has a weight).
    static func rampLines(_ model: BINNModel, xs: [Double], ys: [Double], draws: Int, rng: RNGStream) throws
        -> (density: [Double], sigma: [Double], sigmaError: [Double]) {
        var storage = [Float]()
        for y in ys { for x in xs { storage += [Float(x), Float(y)] } }
        let estimate = try model.density(at: Tensor(shape: [xs.count * ys.count, 2], storage: storage), draws: draws, rng: rng)
        let n = Double(ys.count)
        var density = [Double](), sigma = [Double](), error = [Double]()
        for i in xs.indices {
            let p = ys.indices.map { estimate.density[$0 * xs.count + i] }
            let s = ys.indices.map { estimate.sigma[$0 * xs.count + i] }
            let sm = s.reduce(0, +) / n
            let spread = (s.reduce(0) { $0 + ($1 - sm) * ($1 - sm) } / max(n - 1, 1)).squareRoot()
            density.append(p.reduce(0, +) / n); sigma.append(sm); error.append(max(spread, 0.01 * sm, 1e-9))
        }
        return (density, sigma, error)
    }

    /// A CSV table of equal-length columns.
    static func writeCSV(_ columns: [(String, [Double])], to url: URL) throws {
        let n = columns.first?.1.count ?? 0
        var text = columns.map(\.0).joined(separator: ",") + "\n"
        for i in 0..<n { text += columns.map { "\($0.1[i])" }.joined(separator: ",") + "\n" }
        try writeAtomically(text, to: url)
    }

    /// "name = |value| ± error" for a fit's parameters (the uncertainty fits enter squared, so the sign is free).
    static func describe(_ fit: FitResult, names: [String]) -> String {
        zip(names, zip(fit.parameters, fit.errors)).map { "\($0) = \(format(abs($1.0))) ± \(format($1.1))" }.joined(separator: ", ")
            + ", chi2/ndf = \(format(fit.chi2PerNdf))"
    }
}
