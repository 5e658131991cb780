import Flows
import Foundation
import Physics
import Tensor
import Unfolders
import Validation

/// Drell-Yan pp -> Z -> e+ e- (thesis sec. 6.4, fig. 6.9/6.10): a BINN learns the four-dimensional
/// phase space (pT_e, eta_e-, eta_e+, phi_e-); marginal distributions of E_e+, pT_e, p_x,e+,
/// p_z,e+ and m_ee from M weight draws (sec. 6.3.5) with their predictive bands against the
/// training data. The Z peak is fitted with a Breit-Wigner (position and width).
public enum DrellYanStudy {
    /// The observables of fig. 6.9, from one event row.
    static func observables(_ data: [[Double]]) -> [MarginalObservable] {
        func positron(_ x: [Double]) -> FourMomentum { DrellYanProduction.momenta(x).positron }
        return [
            MarginalObservable(name: "E_e [GeV]", bins: 40, low: 20, high: 300) { positron($0).e },
            MarginalObservable(name: "pT_e [GeV]", bins: 40, low: 0, high: 60) { $0[0] },
            MarginalObservable(name: "p_x,e [GeV]", bins: 40, low: -60, high: 60) { positron($0).px },
            MarginalObservable(name: "p_z,e [GeV]", bins: 40, low: -300, high: 300) { positron($0).pz },
            MarginalObservable(name: "m_ee [GeV]", bins: 60, low: 60, high: 120) { x in
                (2 * x[0] * x[0] * (Foundation.cosh(x[1] - x[2]) + 1)).squareRoot()
            },
        ]
    }

    /// Breit-Wigner A / ((m^2 - M^2)^2 + M^2 Γ^2) fitted to a density histogram (80-100 GeV).
    static func peakFit(_ centers: [Double], _ values: [Double], _ errors: [Double]) throws -> FitResult {
        let window = centers.indices.filter { centers[$0] >= 80 && centers[$0] <= 100 && errors[$0] > 0 }
        let peak = window.map { values[$0] }.max() ?? 1
        return try NonlinearFit.fit(x: window.map { centers[$0] }, y: window.map { values[$0] }, sigma: window.map { errors[$0] },
                                    initial: [91, 2.5, peak]) { m, p in
            let m2 = p[0] * p[0], g = abs(p[1])
            return p[2] * m2 * g * g / ((m * m - m2) * (m * m - m2) + m2 * g * g)
        }
    }

    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let s = try BINNStudy.Settings(context)
        var result = StudyResult()
        result.notes.append(s.description)
        let sample = DrellYanProduction().sample(events: s.events, rng: context.rng.child("generator"))
        guard let block = sample.events else { throw RefoldError("Drell-Yan generator returned no single-level events") }
        let events = block.tensor()
        let start = Date()
        let model = try BINNStudy.train(events, columns: block.columns, settings: s, seed: context.seed(for: "binn"), context: context)
        result.notes.append("training \(format(Date().timeIntervalSince(start))) s; \(model.network.bayesianWeightCount) Bayesian weights")

        let rows = (0..<block.rows).map { i in (0..<4).map { block[i, $0] } }
        let observables = observables(rows)
        let sampled = s.events
        let bands = try model.marginals(observables, events: sampled, draws: s.draws, rng: context.rng.child("marginals"))
        var worst = 1.0, worstBins = 1
        for (o, band) in zip(observables, bands) {
            let data = o.histogram(rows)
            let width = (o.high - o.low) / Double(o.bins)
            // Training-data statistical error per bin (Gaussian limit), as the red band of fig. 6.9.
            let stat = data.map { ($0 * width * Double(rows.count)).squareRoot() / (width * Double(rows.count)) }
            let populated = data.indices.filter { $0 < data.count && data[$0] * width * Double(rows.count) >= 50 }
            let covered = populated.filter { abs(band.mean[$0] - data[$0]) <= 2 * (band.sigma[$0] * band.sigma[$0] + stat[$0] * stat[$0]).squareRoot() }
            let fraction = Double(covered.count) / Double(max(populated.count, 1))
            let key = o.name.components(separatedBy: " ").first!
            if !key.hasPrefix("m_ee"), fraction <= worst { worst = fraction; worstBins = max(populated.count, 1) }
            result.notes.append("\(o.name): BINN within 2 (sigma_pred ⊕ sigma_stat) of the training data in \(covered.count)/\(populated.count) bins (>= 50 events)")
            try BINNStudy.writeCSV([("center", band.centers), ("binn", band.mean), ("sigma_pred", band.sigma), ("data", data), ("data_error", stat)],
                                   to: try context.file("marginal-\(key).csv"))
            result.dataFiles.append("marginal-\(key).csv")
            let series = Plot.FitSeries(label: "BINN ± {/Symbol s}_{pred} (M = \(s.draws))", fitLabel: "training data",
                                        x: band.centers, y: band.mean, sigma: band.sigma, curveX: band.centers, curveY: data)
            result.add(try Plot.fit(title: "Drell-Yan: \(o.name)", xLabel: o.name, yLabel: "normalised density", series: [series]),
                       name: "marginal-\(key.replacingOccurrences(of: ",", with: ""))")
            if key.hasPrefix("m_ee") {
                let binn = try peakFit(band.centers, band.mean, band.sigma.map { max($0, 1e-6) })
                let truth = try peakFit(band.centers, data, stat.map { max($0, 1e-6) })
                // Noise: the same fit with the errors of the BINN marginal's measurement, the mean of M
                // draws (sigma_pred / sqrt(M)) of `sampled` events each (Poisson).
                let measurementErrors = zip(band.mean, band.sigma).map { mean, sigma in
                    max((sigma * sigma / Double(s.draws) + mean / (width * Double(sampled * s.draws))).squareRoot(), 1e-9)
                }
                let noiseFit = try peakFit(band.centers, band.mean, measurementErrors)
                result.measure("z-mass", binn.parameters[0], noise: noiseFit.errors[0])
                result.notes.append("Breit-Wigner fit: BINN M = \(format(binn.parameters[0])) ± \(format(binn.errors[0])), Γ = \(format(abs(binn.parameters[1]))); training data M = \(format(truth.parameters[0])), Γ = \(format(abs(truth.parameters[1]))) GeV")
            }
        }
        // Noise: binomial over the worst marginal's bins, at least one bin's worth (f = 1 has no spread to see).
        result.measure("marginals-in-band", worst, noise: (max(worst * (1 - worst), 1 / Double(worstBins)) / Double(worstBins)).squareRoot())
        return result
    }
}
