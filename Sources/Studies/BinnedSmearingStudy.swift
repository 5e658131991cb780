import CGSL
import Foundation
import Tensor
import Unfolders
import ToyModels
import Unfolding
import Validation

/// Classical unfolding of a Gaussian-smeared 1D spectrum (thesis ch. 5.1): the response matrix
/// is filled from a simulated sample, then an independent pseudo-data sample is unfolded by
/// matrix inversion, iterative Bayesian unfolding (D'Agostini) and Tikhonov-regularised SVD and
/// compared with its own truth.
///
/// Truth: x in [0, bins) (bin units) from 0.7 Exp(x; 6) + 0.3 Gauss(x; 0.6 bins, 1.5), both
/// drawn exactly; detector: x + Gauss(0, smearing). Events smeared out of range are misses.
/// Gates: chi2/ndf of unfolded vs truth with the method's full covariance (inversion, IBU), and
/// the largest pull of the SVD result.
public enum BinnedSmearingStudy {
    struct Settings {
        var bins: Int, smearing: Double, iterations: Int, tau: Double, toys: Int
        var simulated: Int, pseudoData: Int
    }

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let g = context.generator
        let settings = Settings(bins: Int(try g.number("bins", default: 20)),
                                smearing: try g.number("smearing", default: 0.5),
                                iterations: Int(try g.number("iterations", default: 4)),
                                tau: try g.number("tau", default: 0.01),
                                toys: Int(try g.number("toys", default: 300)),
                                simulated: g.events, pseudoData: g.testEvents)
        guard settings.bins >= 3 else { throw RefoldError.value("generator.parameters.bins", expected: ">= 3", actual: settings.bins) }
        guard settings.smearing > 0 else { throw RefoldError.value("generator.parameters.smearing", expected: "> 0", actual: settings.smearing) }
        guard settings.pseudoData > 0 else { throw RefoldError.value("generator.test_events", expected: "> 0", actual: settings.pseudoData) }

        context.report("filling the response from \(settings.simulated) simulated events")
        let simulated = fill(settings, events: settings.simulated, rng: context.rng.child("simulated"))
        let response = simulated.migrations.response
        let prior = simulated.truth.counts

        context.report("unfolding \(settings.pseudoData) pseudo-data events")
        let nominal = try unfold(settings, response: response, prior: prior, simulatedTotal: simulated.measured.total,
                                 rng: context.rng)
        let (data, inversion, ibu, svd) = (nominal.data, nominal.inversion, nominal.ibu, nominal.svd)
        // Measured noise: the same response unfolds `repeats` independent pseudo-data sets.
        let repeats = try (0..<Int(try g.number("noise_repeats", default: 10))).map { k in
            try unfold(settings, response: response, prior: prior, simulatedTotal: simulated.measured.total,
                       rng: context.rng.child("noise").child(index: k))
        }

        var result = StudyResult()
        let truth = data.truth.counts
        // The gates measure the methods, not one pseudo-data set: the mean over the nominal and the
        // repeated sets, its standard error the noise (one set's chi2/ndf scatters by sqrt(2/20) = 0.32).
        for (gate, metric) in [("inversion-chi2", \Unfolded.inversionChi2), ("ibu-chi2", \Unfolded.ibuChi2), ("svd-max-pull", \Unfolded.svdMaxPull)] {
            let values = ([nominal] + repeats).map { $0[keyPath: metric] }
            result.measure(gate, Measured(repeated: values))
            result.notes.append("\(gate): \(format(nominal[keyPath: metric])) on the plotted pseudo-data, \(format(Measured(0, spreadOf: values).noise)) spread over \(values.count) independent sets")
        }
        if let condition = inversion.conditionNumber {
            result.notes.append("condition number of the response: \(format(condition))")
        }
        result.notes.append("simulated \(settings.simulated) events, pseudo-data \(settings.pseudoData), \(settings.bins) bins, smearing \(format(settings.smearing)) bins, IBU \(settings.iterations) iterations, SVD tau \(format(settings.tau))")

        try writeTable(settings, truth: truth, measured: data.measured.counts,
                       results: [inversion, ibu, svd], to: try context.file("unfolded.csv"))
        result.dataFiles.append("unfolded.csv")
        try plot(settings, data: data, results: [("inversion", inversion), ("IBU", ibu), ("SVD", svd)],
                 response: response, context: context, into: &result)
        return result
    }

    /// One pseudo-data set unfolded three ways, and the gates' metrics against its truth.
    struct Unfolded {
        var data: Filled, inversion: UnfoldingResult, ibu: UnfoldingResult, svd: UnfoldingResult
        var inversionChi2: Double, ibuChi2: Double, svdMaxPull: Double
    }

    /// Draws pseudo-data (child stream "pseudo-data" of `rng`) and unfolds it: chi2/ndf with the
    /// unfolded covariance (ndf = bins), the largest |SVD pull|.
    static func unfold(_ s: Settings, response: ResponseMatrix, prior: [Double], simulatedTotal: Double,
                       rng: RNGStream) throws -> Unfolded {
        let data = fill(s, events: s.pseudoData, rng: rng.child("pseudo-data"))
        let inversion = try MatrixInversion.unfold(response: response, data: data.measured.counts)
        let ibu = try IterativeBayes.unfold(response: response, data: data.measured.counts, prior: prior,
                                            iterations: s.iterations, toys: s.toys, rng: rng.child("ibu-toys"))
        let scale = data.measured.total / max(simulatedTotal, 1)
        let svd = try TikhonovSVD.unfold(response: response, data: data.measured.counts, tau: s.tau,
                                         reference: prior.map { $0 * scale })
        let truth = data.truth.counts
        let pulls = zip(zip(svd.values, truth), svd.errors).map { pair, error in abs(pair.0 - pair.1) / max(error, 1e-12) }
        return Unfolded(data: data, inversion: inversion, ibu: ibu, svd: svd,
                        inversionChi2: try covarianceChi2(inversion.values, truth, covariance: inversion.covariance) / Double(s.bins),
                        ibuChi2: try covarianceChi2(ibu.values, truth, covariance: ibu.covariance) / Double(s.bins),
                        svdMaxPull: pulls.max() ?? .nan)
    }

    /// Histograms of one sample: truth, detector level and the migrations between them.
    struct Filled {
        var truth: Histogram1D, measured: Histogram1D, migrations: MigrationCounts
    }

    static func fill(_ s: Settings, events: Int, rng: RNGStream) -> Filled {
        let high = Double(s.bins)
        var truth = try! Histogram1D(bins: s.bins, low: 0, high: high)
        var measured = truth
        var migrations = MigrationCounts(truthBins: s.bins, measuredBins: s.bins)
        let bump = (mean: 0.6 * high, width: 1.5), slope = 6.0
        // Exact inverse CDF of the exponential truncated to [0, high).
        let tail = 1 - Foundation.exp(-high / slope)
        for _ in 0..<events {
            var x: Double
            if rng.uniform() < 0.7 {
                x = -slope * Foundation.log(1 - tail * rng.uniform())
            } else {
                repeat { x = rng.normal(mean: bump.mean, std: bump.width) } while x < 0 || x >= high
            }
            let y = x + rng.normal(std: s.smearing)
            let j = Int(x), i = (0..<high).contains(y) ? Int(y) : nil
            truth.fill(x)
            if let i { measured.fill(y); migrations.fill(truth: j, measured: i) } else { migrations.fill(truth: j, measured: nil) }
        }
        return Filled(truth: truth, measured: measured, migrations: migrations)
    }

    /// chi2 = r^T C^-1 r with r = unfolded - truth, by Cholesky (GSL).
    static func covarianceChi2(_ unfolded: [Double], _ truth: [Double], covariance: [Double]) throws -> Double {
        let n = unfolded.count
        let c = gsl_matrix_alloc(n, n)!, r = gsl_vector_alloc(n)!, x = gsl_vector_alloc(n)!
        defer { gsl_matrix_free(c); gsl_vector_free(r); gsl_vector_free(x) }
        for i in 0..<n {
            gsl_vector_set(r, i, unfolded[i] - truth[i])
            for j in 0..<n { gsl_matrix_set(c, i, j, covariance[i * n + j]) }
        }
        let previous = gsl_set_error_handler_off()
        defer { gsl_set_error_handler(previous) }
        guard gsl_linalg_cholesky_decomp1(c) == GSL_SUCCESS, gsl_linalg_cholesky_solve(c, r, x) == GSL_SUCCESS else {
            throw RefoldError("unfolded covariance is not positive definite (\(n) bins)")
        }
        var chi2 = 0.0
        gsl_blas_ddot(r, x, &chi2)
        return chi2
    }

    static func writeTable(_ s: Settings, truth: [Double], measured: [Double], results: [UnfoldingResult], to url: URL) throws {
        var text = "bin,truth,measured," + results.map { "\($0.method.rawValue),\($0.method.rawValue)_error" }.joined(separator: ",") + "\n"
        for i in 0..<s.bins {
            text += "\(i),\(truth[i]),\(measured[i])," + results.map { "\($0.values[i]),\($0.errors[i])" }.joined(separator: ",") + "\n"
        }
        try writeAtomically(text, to: url)
    }

    static func plot(_ s: Settings, data: Filled, results: [(String, UnfoldingResult)], response: ResponseMatrix,
                     context: StudyContext, into result: inout StudyResult) throws {
        for (label, unfolded) in results {
            let histogram = try Histogram1D(edges: data.truth.edges, counts: unfolded.values, errors: unfolded.errors)
            let plot = try Plot.histogram(title: "Binned smearing: \(label) unfolding", xLabel: "x [bin units]",
                                          truth: data.truth, detector: data.measured, unfolded: histogram,
                                          normalise: false, ratioRange: 0.2,
                                          labels: ("truth", "detector level", "\(label) unfolded"))
            result.add(plot, name: "unfolded-\(unfolded.method.rawValue)")
        }
        let map = try Histogram2D(xBins: s.bins, xRange: 0...Double(s.bins), yBins: s.bins, yRange: 0...Double(s.bins))
        let values = (0..<s.bins).map { j in (0..<s.bins).map { i in response[measured: i, truth: j] } }
        let heat = try Plot.heatMap(title: "Response P(measured | truth)", xLabel: "truth bin", yLabel: "measured bin",
                                    zLabel: "probability", bins: map, values: values)
        result.add(heat, name: "response")
    }
}
