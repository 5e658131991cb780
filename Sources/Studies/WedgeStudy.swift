import Flows
import Foundation
import Tensor
import Unfolders
import ToyModels
import Validation

/// The uncertainty fit of a ramp's line-averaged sigma_pred(x).
struct RampUncertaintyFit {
    var names: [String]
    var initial: [Double]
    /// sigma_pred(x; parameters), given the slope a fitted to the learned density.
    var model: (_ slope: Double) -> (Double, [Double]) -> Double
    /// Where the non-trivial minimum of sigma_pred lies (thesis), and the window searched for it.
    var minimumTarget: Double
    var searchWindow: ClosedRange<Double>
    var equation: String
}

/// Wedge ramp p(x, y) = 2x on [0, 1]^2 (thesis sec. 6.3.1, eq. 6.17-6.23).
public enum WedgeStudy {
    /// Eq. 6.23: sigma^2 = (x - 1/2)^2 Δa^2 + (1 + a/2)^2 Δx_max^2 + (1 - a/2)^2 Δx_min^2.
    static let uncertaintyFit = RampUncertaintyFit(
        names: ["Δa", "Δx_max", "Δx_min"], initial: [0.1, 0.02, 0.02],
        model: { a in { x, p in
            ((x - 0.5) * (x - 0.5) * p[0] * p[0] + (1 + a / 2) * (1 + a / 2) * p[1] * p[1]
             + (1 - a / 2) * (1 - a / 2) * p[2] * p[2]).squareRoot()
        } },
        minimumTarget: 0.475, searchWindow: 0.15...0.85, equation: "6.23")

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        try RampStudy.run(toy: WedgeRamp(), fit: uncertaintyFit, context: context)
    }
}

/// The common wedge/kicker runner: train, grid band check, lines, uncertainty fit, plots.
enum RampStudy {
    static let margin = 0.1

    static func run(toy: any DensityToy, fit: RampUncertaintyFit, context: StudyContext) throws -> StudyResult {
        var result = StudyResult()
        let (model, s) = try BINNStudy.trainOnToy(toy, context: context, result: &result)

        // Grid: learned density vs analytic, interior cells (boundary strip of 0.1 excluded, as the thesis' plots).
        let n = 40
        let (points, bins) = try BINNStudy.grid(x: 0...1, y: 0...1, nx: n, ny: n)
        let estimate = try model.density(at: points, draws: s.draws, rng: context.rng.child("draws"))
        let truth = (0..<points.rows).map { toy.density(x: Double(points[$0, 0]), y: Double(points[$0, 1])) }
        let interior = (0..<points.rows).map { i in
            [points[i, 0], points[i, 1]].allSatisfy { Double($0) > margin && Double($0) < 1 - margin }
        }
        let band = try BINNStudy.bandCheck(model, at: points, estimate: estimate, truth: truth, mask: interior, draws: s.draws,
                                           rng: context.rng.child("noise"))
        result.measure("density-in-band", band.measured)
        result.notes.append("|p_BINN - p_true| <= 2 sigma_pred at \(format(100 * band.fraction)) % of \(band.points) interior grid points")

        // Normalisation diagnostics (issue #8): mass leaked across the box's hard edges, and the interior
        // offset mean(p_BINN / p_true) with the band fraction it would give if divided out.
        let box = [0.0...1.0, 0.0...1.0]
        let leakage = try model.fractionOutside(box, events: 20_000, draws: 10, rng: context.rng.child("leakage"))
        let meanLeakage = try model.fractionOutside(box, events: 20_000, draws: 0, rng: context.rng.child("leakage"))
        let meanNetwork = try model.density(at: points, draws: 0, rng: context.rng.child("draws"))
        let inner = interior.indices.filter { interior[$0] }
        func ratioStats(_ p: [Double]) -> (mean: Double, rms: Double) {
            let r = inner.map { p[$0] / truth[$0] }, m = r.reduce(0, +) / Double(r.count)
            return (m, (r.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(r.count)).squareRoot())
        }
        let offset = ratioStats(estimate.density), meanOffset = ratioStats(meanNetwork.density)
        var rescaled = estimate
        rescaled.density = estimate.density.map { $0 / offset.mean }
        let rescaledBand = BINNStudy.fractionInBand(learned: rescaled, truth: truth, mask: interior)
        let mass = estimate.density.reduce(0, +) / Double(n * n)
        result.notes.append("outside [0,1]^2: \(format(100 * leakage.mean)) ± \(format(100 * leakage.sigma)) % of BINN events (10 draws), \(format(100 * meanLeakage.mean)) % for the posterior-mean network; grid integral of p_BINN \(format(mass))")
        result.record("outside-box-fraction", leakage.mean, noise: leakage.sigma)
        result.record("interior-density-ratio", offset.mean, noise: .nan)
        result.notes.append("interior p_BINN / p_true = \(format(offset.mean)) (rms \(format(offset.rms))), posterior-mean network \(format(meanOffset.mean)) (rms \(format(meanOffset.rms))); in band with the offset divided out: \(format(100 * rescaledBand.fraction)) %")

        // Lines y = const, averaged (fig. 6.2/6.4), and the uncertainty fit.
        let xs = (0..<36).map { 0.05 + 0.9 * (Double($0) + 0.5) / 36 }, ys = [0.2, 0.35, 0.5, 0.65, 0.8]
        let lines = try BINNStudy.rampLines(model, xs: xs, ys: ys, draws: s.draws, rng: context.rng.child("draws"))
        // The minimum's location from `minimumSets` independent sets of M draws (the first the
        // plotted one), pooled, with its jackknife noise.
        let curves = try [lines.sigma] + (1..<BINNStudy.minimumSets).map { k in
            try BINNStudy.rampLines(model, xs: xs, ys: ys, draws: s.draws, rng: context.rng.child("redraws").child(index: k)).sigma
        }
        let minimum = BINNStudy.pooledExtremum(xs, curves: curves, in: fit.searchWindow)
        let single = curves.map { BINNStudy.refinedLocalMinimum(xs, $0, in: fit.searchWindow) }
        result.measure("sigma-minimum", minimum)
        result.notes.append(minimum.value.isNaN
            ? "sigma_pred averaged over \(curves.count) sets of M = \(s.draws) draws has no interior minimum in x = \(format(fit.searchWindow.lowerBound))-\(format(fit.searchWindow.upperBound)) (thesis: \(format(fit.minimumTarget)))"
            : "sigma_pred minimum at x = \(format(minimum.value)) ± \(format(minimum.noise)) from \(curves.count) sets of M = \(s.draws) draws pooled (jackknife noise); each set alone: \(single.map { format($0) }.joined(separator: ", ")); thesis: \(format(fit.minimumTarget))")
        let slopeFit = try NonlinearFit.fit(x: xs, y: lines.density, sigma: lines.sigma.map { max($0, 1e-6) }, initial: [1, 0]) { x, p in p[0] * x + p[1] }
        let slope = slopeFit.parameters[0]
        var names = fit.names
        var uncertainty: FitResult
        do {
            uncertainty = try NonlinearFit.fit(x: xs, y: lines.sigma, sigma: lines.sigmaError, initial: fit.initial, model: fit.model(slope))
        } catch {
            // Eq. 6.23 at a = 2 leaves Δx_min without weight; fall back to the thesis' two-parameter fit.
            names = Array(fit.names.prefix(2))
            uncertainty = try NonlinearFit.fit(x: xs, y: lines.sigma, sigma: lines.sigmaError, initial: Array(fit.initial.prefix(2))) { x, p in
                fit.model(slope)(x, p + [0])
            }
            result.notes.append("three-parameter fit failed (\(error)); two-parameter fit")
        }
        if context.spec.gates.contains(where: { $0.name == "uncertainty-fit-chi2" }) {
            let chi2 = ChiSquare(chi2: uncertainty.chi2, ndf: uncertainty.ndf)
            result.measure("uncertainty-fit-chi2", chi2.perNdf, noise: chi2.perNdfNoise)
        }
        let absolute = (parameters: uncertainty.parameters.map(abs), chi2PerNdf: uncertainty.chi2PerNdf, fit: uncertainty)
        let slopeNote = fit.names.contains("Δa") ? "density slope a = \(format(slope)) ± \(format(slopeFit.errors[0])); " : ""
        result.notes.append(slopeNote + "eq. \(fit.equation) fit: " + BINNStudy.describe(absolute.fit, names: names))
        for (name, (value, error)) in zip(names, zip(uncertainty.parameters, uncertainty.errors)) {
            result.record("uncertainty-fit \(name)", abs(value), noise: error)
        }
        
        try BINNStudy.writeCSV([("x", xs), ("density", lines.density), ("sigma_pred", lines.sigma), ("sigma_spread", lines.sigmaError),
                                ("truth", xs.map { toy.marginalX($0) })], to: try context.file("lines.csv"))
        try BINNStudy.writeCSV([("x", (0..<points.rows).map { Double(points[$0, 0]) }), ("y", (0..<points.rows).map { Double(points[$0, 1]) }),
                                ("density", estimate.density), ("sigma_pred", estimate.sigma), ("truth", truth),
                                ("density_mean_weights", meanNetwork.density)], to: try context.file("grid.csv"))
        result.dataFiles += ["lines.csv", "grid.csv"]

        let name = toy.name
        result.add(try Plot.heatMap(title: "\(name): BINN density", xLabel: "x", yLabel: "y", zLabel: "p(x, y)",
                                              bins: bins, values: BINNStudy.matrix(estimate.density, nx: n, ny: n)), name: "density")
        result.add(try Plot.heatMap(title: "\(name): sigma_pred", xLabel: "x", yLabel: "y", zLabel: "{/Symbol s}_{pred}",
                                              bins: bins, values: BINNStudy.matrix(estimate.sigma, nx: n, ny: n)), name: "sigma-pred")
        let pulls = zip(zip(estimate.density, truth), estimate.sigma).map { ($0.0 - $0.1) / max($1, 1e-12) }
        result.add(try Plot.heatMap(title: "\(name): (p_{BINN} - p_{true}) / {/Symbol s}_{pred}", xLabel: "x", yLabel: "y", zLabel: "pull",
                                              bins: bins, values: BINNStudy.matrix(pulls.map { max(-5, min(5, $0)) }, nx: n, ny: n)), name: "pull")
        let sigmaSeries = Plot.FitSeries(label: "BINN {/Symbol s}_{pred}, mean of 5 lines", x: xs, y: lines.sigma, sigma: lines.sigmaError,
                                         fit: uncertainty) { x, p in fit.model(slope)(x, p.count == 3 ? p : p + [0]) }
        result.add(try Plot.fit(title: "\(name): uncertainty fit, eq. \(fit.equation)", xLabel: "x", yLabel: "{/Symbol s}_{pred}",
                                          series: [sigmaSeries]), name: "sigma-fit")
        let densitySeries = Plot.FitSeries(label: "BINN p(x) ± {/Symbol s}_{pred}", fitLabel: "analytic", x: xs, y: lines.density,
                                           sigma: lines.sigma, curveX: xs, curveY: xs.map { toy.marginalX($0) })
        result.add(try Plot.fit(title: "\(name): density along y = const", xLabel: "x", yLabel: "p(x, y)",
                                          series: [densitySeries]), name: "density-line")
        return result
    }
}
