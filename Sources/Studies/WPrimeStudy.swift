import Flows
import Foundation
import Physics
import Tensor
import Unfolders
import Validation

/// Model dependence (thesis sec. 4.4): a cINN trained on Standard-Model ZW unfolds a test sample
/// with a W' admixture (m = 1300 GeV, Gamma = 15 GeV, `fraction` of the events). The unfolded and
/// true parton-level m_ZW in 900-1700 GeV are fitted (GSL) with a Gaussian peak on an exponential
/// background, f = A exp(-(m - mu)^2 / 2 sigma^2) + B exp(-(m - 900) / lambda).
///
/// Gates: `wprime-peak-mass` = the fitted mu of the unfolded spectrum; `wprime-peak-shift` =
/// |mu_unfolded - mu_truth|.
public enum WPrimeStudy {
    public static func run(_ spec: StudySpec, _ context: StudyContext) throws -> StudyResult {
        let g = context.generator, net = context.network
        let k = net.samplesPerEvent ?? 5
        let fraction = try g.number("fraction", default: 0.1)
        let mass = try g.number("mass", default: 1300), width = try g.number("width", default: 15)
        // --train/--test: the test folder holds the admixture (its W' at `mass`), the training folder the SM.
        let (training, test) = try ZWStudySupport.trainingAndTest(.zw, context) { events, rng in
            try ZWStudySupport.sample(.wPrime, events: events, rng: rng, wprimeFraction: fraction) {
                $0.zw.wPrimeMass = mass; $0.zw.wPrimeWidth = width
            }
        }
        var result = StudyResult()
        let (model, unfolded) = try ZWStudySupport.trainAndUnfold(.cinn, name: "cinn", label: "cINN (SM)", training: training, test: test,
                                                                  samples: k, unfoldStream: "unfold", context: context)
        ZWStudySupport.recordSupport(model, unfolded, into: &result)

        let edges = ZWStudySupport.uniformEdges(900, 1700, 40)
        let truth = try Histogram1D(Physics.Observable.mZW.values(test.parton!), bins: 40, low: 900, high: 1700)
        let block = unfolded.block
        let weights = [Double](repeating: 1 / Double(k), count: block.rows)
        let values = (0..<block.rows).map { Physics.Observable.mZW.value(block, row: $0) ?? .nan }
        var unfoldedHistogram = try Histogram1D(edges: edges)
        try unfoldedHistogram.fill(values, weights: weights)
        let detectorHistogram = try Histogram1D(Physics.Observable.mZW.values(test.detector!), bins: 40, low: 900, high: 1700)

        let truthFit = try fitPeak(truth, mass: mass, label: "parton-level truth")
        let unfoldedFit = try fitPeak(unfoldedHistogram, mass: mass, label: "cINN-unfolded")
        // Noise: the fitted positions' errors (the shift's in quadrature; truth and unfolded share events, an upper estimate).
        result.measure("wprime-peak-mass", unfoldedFit.parameters[1], noise: unfoldedFit.errors[1])
        result.measure("wprime-peak-shift", abs(unfoldedFit.parameters[1] - truthFit.parameters[1]),
                       noise: (unfoldedFit.errors[1] * unfoldedFit.errors[1] + truthFit.errors[1] * truthFit.errors[1]).squareRoot())
        result.record("truth-peak-mu", truthFit.parameters[1], noise: truthFit.errors[1])
        result.notes.append("m_ZW peak: truth mu = \(format(truthFit.parameters[1])) ± \(format(truthFit.errors[1])), sigma = \(format(abs(truthFit.parameters[2]))) GeV; "
                            + "unfolded (K = \(k)) mu = \(format(unfoldedFit.parameters[1])) ± \(format(unfoldedFit.errors[1])), sigma = \(format(abs(unfoldedFit.parameters[2]))) ± \(format(unfoldedFit.errors[2])) GeV "
                            + "(chi2/ndf \(format(truthFit.chi2PerNdf)), \(format(unfoldedFit.chi2PerNdf)))")
        let inWindow = { (h: Histogram1D) in zip(h.centers, h.counts).filter { abs($0.0 - mass) < 100 }.map(\.1).reduce(0, +) }
        result.notes.append("events with m_ZW in \(format(mass - 100))-\(format(mass + 100)) GeV: truth \(format(inWindow(truth))), unfolded \(format(inWindow(unfoldedHistogram))), detector level \(format(inWindow(detectorHistogram)))")

        let peak = try Plot.massPeak(title: "W' in a cINN trained on the SM: m_{ZW}", xLabel: "m_{ZW} [GeV]",
                                     series: [("parton-level truth", truth), ("cINN unfolded", unfoldedHistogram), ("detector level", detectorHistogram)],
                                     peakMass: mass)
        result.add(peak, name: "wprime-mzw")
        let series = [("truth", truth, truthFit), ("unfolded", unfoldedHistogram, unfoldedFit)].map { label, h, fit in
            let used = (0..<h.binCount).filter { h.counts[$0] > 0 }
            return Plot.FitSeries(label: label, x: used.map { h.centers[$0] }, y: used.map { h.counts[$0] },
                                  sigma: used.map { max(h.errors[$0], 1) }, fit: fit, model: peakModel)
        }
        result.add(try Plot.fit(title: "m_{ZW} peak fits", xLabel: "m_{ZW} [GeV]", yLabel: "events", series: series), name: "wprime-fit")
        return result
    }

    static func peakModel(_ m: Double, _ p: [Double]) -> Double {
        p[0] * Foundation.exp(-(m - p[1]) * (m - p[1]) / (2 * p[2] * p[2])) + p[3] * Foundation.exp(-(m - 900) / max(p[4], 1))
    }

    /// Weighted least squares on the bins (empty bins get error 1); a failed fit names the spectrum.
    static func fitPeak(_ h: Histogram1D, mass: Double, label: String) throws -> FitResult {
        let centers = h.centers, counts = h.counts
        let peakBin = (0..<h.binCount).filter { abs(centers[$0] - mass) < 60 }.max { counts[$0] < counts[$1] } ?? 0
        do {
            return try NonlinearFit.fit(x: centers, y: counts, sigma: h.errors.map { max($0, 1) },
                                        initial: [counts[peakBin], mass, 40, max(counts.first ?? 1, 1), 200], model: peakModel)
        } catch {
            throw RefoldError("fit of the \(label) m_ZW peak (Gaussian + exponential, \(h.binCount) bins, \(format(h.counts.reduce(0, +))) events): \(error)")
        }
    }
}
