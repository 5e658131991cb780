import Foundation
import Tensor

/// A gnuplot template in `Plots/` (one per plot kind).
public enum PlotTemplate: String, CaseIterable, Sendable {
    case histogram, calibration, heatmap, fit, posterior, massPeak = "mass-peak"
}

/// A plot: its template, the data files it reads and the variables it sets. Build one with the
/// factories below; a study runner adds it to its result (`StudyResult.add(_:name:)`) and
/// Reporting renders it (`Gnuplot.render(_:name:in:)`): runners measure, Reporting draws.
public struct Plot: Sendable {
    public var template: PlotTemplate
    public var title: String
    /// Data files by gnuplot variable name (`data`, `curve_data`): their text contents.
    public var data: [String: String]
    /// gnuplot variable assignments (values already in gnuplot syntax).
    public var variables: [(name: String, value: String)]
    /// What the figure shows, for the report's caption (the factories write one per kind).
    public var caption: String

    public init(template: PlotTemplate, title: String, data: [String: String], caption: String = "", variables: [(String, String)]) {
        self.template = template
        self.title = title
        self.data = data
        self.variables = variables.map { (name: $0.0, value: $0.1) }
        self.caption = caption
    }
}

/// A gnuplot string literal (double quotes, escaped).
public func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// A gnuplot number (NaN for non-finite, read back as an undefined point).
func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "NaN" }

func stringArray(_ name: String, _ values: [String]) -> (String, String) {
    ("array \(name)[\(values.count)]", "[" + values.map(quoted).joined(separator: ", ") + "]")
}

extension Plot {
    /// Truth, detector level (optional) and unfolded histograms with statistical bands and a
    /// ratio panel unfolded/truth. All three must share the bin edges. `normalise` divides each
    /// by its total and bin width (densities).
    public static func histogram(title: String, xLabel: String, yLabel: String? = nil,
                                 truth: Histogram1D, detector: Histogram1D? = nil, unfolded: Histogram1D,
                                 normalise: Bool = true, logY: Bool = false, ratioRange: Double = 0.5,
                                 labels: (truth: String, detector: String, unfolded: String) = ("truth", "detector level", "unfolded"),
                                 ratioLabel: String = "unfolded / truth") throws -> Plot {
        for (name, h) in [("detector", detector), ("unfolded", unfolded)] {
            if let h, h.edges != truth.edges {
                throw RefoldError.value("Plot.histogram \(name) edges", expected: "the truth's \(truth.binCount) bins", actual: "\(h.binCount) bins")
            }
        }
        func values(_ h: Histogram1D?) -> ([Double], [Double]) {
            guard let h else { return (Array(repeating: .nan, count: truth.binCount), Array(repeating: .nan, count: truth.binCount)) }
            return normalise ? (h.density, h.densityErrors) : (h.counts, h.errors)
        }
        let (t, te) = values(truth), (d, de) = values(detector), (u, ue) = values(unfolded)
        var text = "# low high centre truth truth_err detector detector_err unfolded unfolded_err ratio ratio_err truth_rel_err\n"
        for i in 0..<truth.binCount {
            let ratio = t[i] > 0 ? u[i] / t[i] : .nan
            let ratioError = t[i] > 0 ? ue[i] / t[i] : .nan
            let relative = t[i] > 0 ? te[i] / t[i] : .nan
            let row = [truth.edges[i], truth.edges[i + 1], truth.centers[i], t[i], te[i], d[i], de[i], u[i], ue[i], ratio, ratioError, relative]
            text += row.map(number).joined(separator: " ") + "\n"
        }
        let what = normalise ? "normalised to unit area per bin width" : "events per bin"
        let caption = "\(labels.truth) (black)\(detector == nil ? "" : ", \(labels.detector) (blue, dashed)") and \(labels.unfolded) (red, with its "
            + "statistical band), \(what). Lower panel: \(ratioLabel) with the truth's statistical band (grey); ratios beyond "
            + "1 ± \(format(ratioRange)) are drawn as arrows at the panel's edge."
        return Plot(template: .histogram, title: title, data: ["data": text], caption: caption, variables: [
            ("xlabel_text", quoted(xLabel)),
            ("ylabel_text", quoted(yLabel ?? (normalise ? "normalised density" : "events"))),
            ("log_y", logY ? "1" : "0"),
            ("ratio_range", number(ratioRange)),
            ("truth_title", quoted(labels.truth)),
            ("detector_title", quoted(detector == nil ? "" : labels.detector)),
            ("unfolded_title", quoted(labels.unfolded)),
            ("ratio_label_text", quoted(ratioLabel)),
        ])
    }

    /// Calibration curves with the diagonal, one per labelled curve.
    public static func calibration(title: String, curves: [(label: String, curve: CalibrationCurve)]) throws -> Plot {
        guard !curves.isEmpty else { throw RefoldError.value("Plot.calibration curves", expected: "at least 1", actual: 0) }
        let text = curves.map { entry in
            "# \(entry.label): expected observed (max deviation \(format(entry.curve.maxDeviation)))\n"
                + entry.curve.points.map { "\(number($0.expected)) \(number($0.observed))" }.joined(separator: "\n")
        }.joined(separator: "\n\n\n") + "\n"
        let caption = "The fraction of events whose truth lies below the posterior's quantile q, against q; a calibrated "
            + "posterior follows the diagonal. The legend gives each curve's largest deviation (Kolmogorov distance)."
        return Plot(template: .calibration, title: title, data: ["data": text], caption: caption, variables: [
            ("n_series", "\(curves.count)"),
            stringArray("series_titles", curves.map { "\($0.label) (max dev. \(format($0.curve.maxDeviation)))" }),
        ])
    }

    /// A 2D map (density or sigma_pred): `values[i][j]` at x bin i, y bin j of `histogram`'s bins.
    public static func heatMap(title: String, xLabel: String, yLabel: String, zLabel: String,
                               bins: Histogram2D, values: [[Double]]? = nil, logZ: Bool = false) throws -> Plot {
        let grid = values ?? bins.density
        guard grid.count == bins.x.binCount, grid.allSatisfy({ $0.count == bins.y.binCount }) else {
            throw RefoldError.value("Plot.heatMap values", expected: "\(bins.x.binCount) x \(bins.y.binCount)",
                                    actual: "\(grid.count) x \(grid.first?.count ?? 0)")
        }
        let xc = bins.x.centers, yc = bins.y.centers
        let text = "# x y value\n" + (0..<xc.count).map { i in
            (0..<yc.count).map { j in "\(number(xc[i])) \(number(yc[j])) \(number(grid[i][j]))" }.joined(separator: "\n")
        }.joined(separator: "\n\n") + "\n"
        let caption = "\(zLabel) at the centres of a \(bins.x.binCount) x \(bins.y.binCount) grid in (\(xLabel), \(yLabel))."
        return Plot(template: .heatmap, title: title, data: ["data": text], caption: caption, variables: [
            ("xlabel_text", quoted(xLabel)), ("ylabel_text", quoted(yLabel)), ("zlabel_text", quoted(zLabel)),
            ("log_z", logZ ? "1" : "0"),
        ])
    }

    /// One series of a `fit` plot: points with errors and the fitted curve sampled on `curveX`.
    public struct FitSeries: Sendable {
        public var label: String, fitLabel: String
        public var x: [Double], y: [Double], sigma: [Double]
        public var curveX: [Double], curveY: [Double]
        public init(label: String, fitLabel: String, x: [Double], y: [Double], sigma: [Double], curveX: [Double], curveY: [Double]) {
            self.label = label; self.fitLabel = fitLabel; self.x = x; self.y = y; self.sigma = sigma
            self.curveX = curveX; self.curveY = curveY
        }

        /// Samples `model(x, fit.parameters)` at 200 points across the data.
        public init(label: String, x: [Double], y: [Double], sigma: [Double], fit: FitResult,
                    model: (Double, [Double]) -> Double) {
            let low = x.min() ?? 0, high = x.max() ?? 1
            let grid = (0..<200).map { low + (high - low) * Double($0) / 199 }
            self.init(label: label, fitLabel: "fit, {/Symbol c}^2/ndf = \(format(fit.chi2PerNdf))", x: x, y: y, sigma: sigma,
                      curveX: grid, curveY: grid.map { model($0, fit.parameters) })
        }
    }

    /// Lines with fit curves (uncertainty fits, eq. 6.23/6.27/6.31).
    public static func fit(title: String, xLabel: String, yLabel: String, series: [FitSeries],
                           logX: Bool = false, logY: Bool = false) throws -> Plot {
        guard !series.isEmpty else { throw RefoldError.value("Plot.fit series", expected: "at least 1", actual: 0) }
        for s in series where s.x.count != s.y.count || s.x.count != s.sigma.count || s.curveX.count != s.curveY.count {
            throw RefoldError.value("Plot.fit series \(s.label)", expected: "equal x, y, sigma counts", actual: "\(s.x.count), \(s.y.count), \(s.sigma.count)")
        }
        let points = series.map { s in
            "# \(s.label): x y sigma\n" + (0..<s.x.count).map { "\(number(s.x[$0])) \(number(s.y[$0])) \(number(s.sigma[$0]))" }.joined(separator: "\n")
        }.joined(separator: "\n\n\n") + "\n"
        let curves = series.map { s in
            "# \(s.fitLabel): x f(x)\n" + (0..<s.curveX.count).map { "\(number(s.curveX[$0])) \(number(s.curveY[$0]))" }.joined(separator: "\n")
        }.joined(separator: "\n\n\n") + "\n"
        let caption = series.map { "\($0.label) (points with errors) and \($0.fitLabel) (line)" }.joined(separator: "; ") + "."
        return Plot(template: .fit, title: title, data: ["data": points, "curve_data": curves], caption: caption, variables: [
            ("xlabel_text", quoted(xLabel)), ("ylabel_text", quoted(yLabel)),
            ("log_x", logX ? "1" : "0"), ("log_y", logY ? "1" : "0"), ("n_series", "\(series.count)"),
            stringArray("series_titles", series.map(\.label)), stringArray("fit_titles", series.map(\.fitLabel)),
        ])
    }

    /// Per-event posterior samples in two coordinates with the truth marked.
    public static func posterior(title: String, xLabel: String, yLabel: String,
                                 samples: [(x: Double, y: Double)], truth: (x: Double, y: Double)) throws -> Plot {
        guard !samples.isEmpty else { throw RefoldError.value("Plot.posterior samples", expected: "at least 1", actual: 0) }
        let text = "# x y\n" + samples.map { "\(number($0.x)) \(number($0.y))" }.joined(separator: "\n") + "\n"
        let caption = "\(samples.count) posterior samples for one detector-level event in (\(xLabel), \(yLabel)); the cross marks its truth."
        return Plot(template: .posterior, title: title, data: ["data": text], caption: caption, variables: [
            ("xlabel_text", quoted(xLabel)), ("ylabel_text", quoted(yLabel)),
            ("truth_x", number(truth.x)), ("truth_y", number(truth.y)),
        ])
    }

    /// Mass spectra (sharing bin edges) with the nominal mass marked.
    public static func massPeak(title: String, xLabel: String, series: [(label: String, histogram: Histogram1D)],
                                peakMass: Double? = nil, normalise: Bool = false, logY: Bool = false) throws -> Plot {
        guard let first = series.first else { throw RefoldError.value("Plot.massPeak series", expected: "at least 1", actual: 0) }
        for s in series where s.histogram.edges != first.histogram.edges {
            throw RefoldError.value("Plot.massPeak \(s.label) edges", expected: "the edges of \(first.label)", actual: "\(s.histogram.binCount) other bins")
        }
        let text = series.map { s in
            let (v, e) = normalise ? (s.histogram.density, s.histogram.densityErrors) : (s.histogram.counts, s.histogram.errors)
            return "# \(s.label): centre value error\n" + (0..<v.count).map { "\(number(s.histogram.centers[$0])) \(number(v[$0])) \(number(e[$0]))" }.joined(separator: "\n")
        }.joined(separator: "\n\n\n") + "\n"
        let caption = series.map(\.label).joined(separator: ", ") + (normalise ? ", normalised" : ", events per bin")
            + (peakMass.map { "; the nominal mass \(format($0)) GeV is marked." } ?? ".")
        return Plot(template: .massPeak, title: title, data: ["data": text], caption: caption, variables: [
            ("xlabel_text", quoted(xLabel)), ("ylabel_text", quoted(normalise ? "normalised density" : "events")),
            ("log_y", logY ? "1" : "0"), ("n_series", "\(series.count)"),
            stringArray("series_titles", series.map(\.label)), ("peak_mass", number(peakMass ?? .nan)),
        ])
    }
}
