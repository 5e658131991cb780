import XCTest
import Tensor
import TestSupport
import Validation
@testable import Reporting

func gnuplotOrSkip() throws -> Gnuplot {
    do { return try Gnuplot() } catch {
        if "\(error)".contains("not found on PATH") { throw XCTSkip("gnuplot is not installed") }
        throw error
    }
}

final class GnuplotTests: XCTestCase {
    func testHistogramPlotWritesPNGPDFAndData() throws {
        let gnuplot = try gnuplotOrSkip()
        let folder = temporaryFolder()
        var truth = try Histogram1D(bins: 4, low: 0, high: 4), unfolded = truth, detector = truth
        try truth.fill([0.5, 1.5, 1.5, 2.5, 2.5, 2.5, 3.5, 3.5])
        try unfolded.fill([0.5, 1.5, 2.5, 2.5, 2.5, 3.5, 3.5, 3.5])
        try detector.fill([0.7, 1.2, 1.9, 2.2, 2.8, 3.1, 3.3, 3.9])
        let plot = try Plot.histogram(title: "p_{T,j1}", xLabel: "x [GeV]", truth: truth, detector: detector,
                                      unfolded: unfolded, normalise: false)
        let record = try gnuplot.render(plot, name: "pt_j1", in: folder)
        XCTAssertEqual(record.png, "pt_j1.png")
        let png = try Data(contentsOf: folder.appendingPathComponent("pt_j1.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG magic bytes")
        XCTAssertGreaterThan(png.count, 1000)
        let pdf = try Data(contentsOf: folder.appendingPathComponent("pt_j1.pdf"))
        XCTAssertEqual(String(decoding: pdf.prefix(5), as: UTF8.self), "%PDF-")
        // The data file holds the numbers: bin 3 (2..3) has truth 3, detector 2, unfolded 3, ratio 1.
        let rows = try String(contentsOf: folder.appendingPathComponent("pt_j1.dat"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: " ").map { Double($0)! } }
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(Array(rows[2][0..<10]), [2, 3, 2.5, 3, 3.squareRoot(), 2, 2.squareRoot(), 3, 3.squareRoot(), 1])
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("pt_j1.gp").path))
    }

    /// Every template renders from the factories' data.
    func testEveryTemplateRenders() throws {
        let gnuplot = try gnuplotOrSkip()
        let folder = temporaryFolder()
        let rng = RNGStream(seed: 21)
        let n = 200
        let truth = (0..<n).map { _ in rng.normal() }
        let curve = try CalibrationCurve(truth: truth, samples: (0..<n).map { _ in (0..<20).map { _ in rng.normal() } })
        var h2 = try Histogram2D(xBins: 10, xRange: -3...3, yBins: 10, yRange: -3...3)
        for _ in 0..<1000 { h2.fill(rng.normal(), rng.normal()) }
        let x = (1...10).map(Double.init), y = x.map { 1 / $0.squareRoot() }, sigma = x.map { _ in 0.02 }
        let fit = try NonlinearFit.fit(x: x, y: y, sigma: sigma, initial: [1, 0.4]) { x, p in p[0] * pow(x, -p[1]) }
        var peak = try Histogram1D(bins: 30, low: 1000, high: 1600)
        for _ in 0..<500 { peak.fill(rng.normal(mean: 1300, std: 15)) }
        let plots: [(String, Plot)] = [
            ("calibration", try Plot.calibration(title: "calibration", curves: [("p_{T,j1}", curve)])),
            ("heatmap", try Plot.heatMap(title: "density", xLabel: "x", yLabel: "y", zLabel: "p(x,y)", bins: h2)),
            ("fit", try Plot.fit(title: "sigma_pred", xLabel: "N", yLabel: "{/Symbol s}", series: [
                Plot.FitSeries(label: "BINN", x: x, y: y, sigma: sigma, fit: fit) { x, p in p[0] * pow(x, -p[1]) }], logX: true)),
            ("posterior", try Plot.posterior(title: "event 1", xLabel: "a", yLabel: "b",
                                             samples: (0..<60).map { _ in (rng.normal(), rng.normal()) }, truth: (0.1, -0.2))),
            ("mass_peak", try Plot.massPeak(title: "m_{ZW}", xLabel: "m [GeV]", series: [("unfolded", peak)], peakMass: 1300)),
        ]
        for (name, plot) in plots {
            let record = try gnuplot.render(plot, name: name, in: folder)
            let size = (try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(record.png).path)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 1000, name)
        }
    }

    func testGnuplotErrorCarriesItsStderr() throws {
        let gnuplot = try gnuplotOrSkip()
        let plot = Plot(template: .histogram, title: "broken", data: ["data": "1 2 3\n"], variables: [("xlabel_text", "undefined_variable_xyz")])
        XCTAssertThrowsError(try gnuplot.render(plot, name: "broken", in: temporaryFolder())) { error in
            XCTAssertTrue("\(error)".contains("gnuplot exited with status"), "\(error)")
            XCTAssertTrue("\(error)".contains("undefined"), "\(error)")
        }
    }
}
