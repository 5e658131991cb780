import XCTest
import Tensor
import TestSupport
import Validation
@testable import Reporting

/// The whole `refold validate` machinery with a runner registered in the test (not the product):
/// a histogram plot and a gate, pending and failing studies, summary.json, index.md, report.pdf.
final class ValidationSuiteTests: XCTestCase {
    func spec(_ name: String, kind: StudyKind, tolerance: Double) throws -> StudySpec {
        try StudySpec(text: """
        [study]
        name = "\(name)"
        kind = "\(kind.rawValue)"
        description = "test study"
        [generator]
        name = "wedge"
        events = 1000
        [network]
        variant = "binn"
        [profile.quick]
        events = 2000
        [[gate]]
        name = "mean"
        metric = "value"
        observable = "x"
        target = 0.5
        tolerance = \(tolerance)
        comparison = "within"
        """, file: "\(name).toml")
    }

    func testRegisteredPendingAndFailingStudies() throws {
        let gnuplot = try gnuplotOrSkip()
        let registry = StudyRegistry()
        // Uniform events: the mean 0.5 with error 1/sqrt(12 N) = 0.0065 for N = 2000.
        registry.register(.wedge) { spec, context in
            let rng = context.rng.child("generator")
            let values = (0..<context.generator.events).map { _ in rng.uniform() }
            var result = StudyResult()
            result.measure("mean", values.reduce(0, +) / Double(values.count))
            let truth = try Histogram1D(values, bins: 10, low: 0, high: 1)
            let unfolded = try Histogram1D(values.map { min($0 * 1.01, 0.999) }, bins: 10, low: 0, high: 1)
            result.plots.append(try gnuplot.render(try Plot.histogram(title: "x", xLabel: "x", truth: truth, unfolded: unfolded),
                                                   name: "x", in: context.folder))
            return result
        }
        registry.register(.kicker) { _, _ in throw RefoldError("kicker exploded") }
        let out = temporaryFolder()
        var lines: [String] = []
        let suite = ValidationSuite(registry: registry, profile: .quick, seed: 7, out: out, refoldVersion: "9.9",
                                    showProgress: true) { lines.append($0) }
        let summaries = try suite.run([
            try spec("wedge-ok", kind: .wedge, tolerance: 0.03),      // 4.6 sigma of the mean
            try spec("wedge-tight", kind: .wedge, tolerance: 1e-9),   // fails
            try spec("ring", kind: .ring, tolerance: 0.1),            // no runner: pending
            try spec("kicker", kind: .kicker, tolerance: 0.1),        // runner throws: error
        ])
        XCTAssertEqual(summaries.map(\.result.status.label), ["passed", "FAILED", "pending", "ERROR"])
        XCTAssertTrue(ValidationSuite.failed(summaries))
        XCTAssertFalse(ValidationSuite.failed([summaries[0], summaries[2]]), "pending does not fail a run")
        XCTAssertEqual(summaries[2].result.status, .pending(reason: NetworkVariant.binn.pendingReason))

        // summary.json round-trips with provenance and the plot.
        let ok = try StudySummary.read(from: out.appendingPathComponent("wedge-ok/summary.json"))
        XCTAssertEqual(ok.provenance.seed, 7)
        XCTAssertEqual(ok.provenance.profile, .quick)
        XCTAssertEqual(ok.provenance.refoldVersion, "9.9")
        XCTAssertGreaterThan(ok.provenance.cores, 0)
        XCTAssertFalse(ok.provenance.gitRevision.isEmpty)
        XCTAssertTrue(ok.provenance.date.hasSuffix("Z"))
        XCTAssertEqual(ok.result.gates.count, 1)
        XCTAssertTrue(ok.result.gates[0].pass)
        XCTAssertEqual(ok.result.gates[0].value, summaries[0].result.measurements["mean"])
        XCTAssertEqual(ok.result.plots.map(\.png), ["x.png"])
        let tight = try StudySummary.read(from: out.appendingPathComponent("wedge-tight/summary.json"))
        XCTAssertFalse(tight.result.gates[0].pass)
        let pending = try StudySummary.read(from: out.appendingPathComponent("ring/summary.json"))
        XCTAssertTrue(pending.result.gates[0].value.isNaN, "an unmeasured gate is null in JSON, NaN in Swift")
        // Same seed, same numbers.
        let again = try ValidationSuite(registry: registry, profile: .quick, seed: 7, out: temporaryFolder(),
                                        refoldVersion: "9.9", showProgress: false) { _ in }.run([try spec("wedge-ok", kind: .wedge, tolerance: 0.03)])
        XCTAssertEqual(again[0].result.measurements, summaries[0].result.measurements)

        // index.md lists every study, every gate and links the plot.
        let index = try String(contentsOf: out.appendingPathComponent("index.md"), encoding: .utf8)
        for name in ["wedge-ok", "wedge-tight", "ring", "kicker"] { XCTAssertTrue(index.contains("## \(name)"), name) }
        XCTAssertTrue(index.contains("](wedge-ok/x.png)"))
        XCTAssertTrue(index.contains("needs the BINN"))
        XCTAssertTrue(index.contains("kicker exploded"))
        XCTAssertTrue(index.contains("**FAIL**"))
        // Table and progress lines.
        XCTAssertTrue(lines.contains { $0.contains("[1/4] wedge-ok: running") })
        XCTAssertTrue(lines.contains { $0.contains("mean") && $0.contains("0.5 ± 0.03") && $0.contains("PASS") })

        // report.pdf: one page per plot (wedge-ok, wedge-tight and wedge-ok again: three).
        try ValidationSuite.writeReportPDF(summaries + [summaries[0]], to: out, gnuplot: gnuplot)
        let pdf = try String(decoding: Data(contentsOf: out.appendingPathComponent("report.pdf")), as: UTF8.self)
        let pages = try NSRegularExpression(pattern: "/Type\\s*/Page[^s]").numberOfMatches(in: pdf, range: NSRange(pdf.startIndex..., in: pdf))
        XCTAssertEqual(pages, 3, "pages in report.pdf")
    }

    /// `refold validate Toys` with no runner: all pending, exit status 0, index.md lists them.
    func testShippedSpecsAreAllPendingWithoutRunners() throws {
        let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Toys")
        let out = temporaryFolder()
        let summaries = try ValidationSuite(registry: StudyRegistry(), profile: .quick, seed: 2026, out: out,
                                            refoldVersion: "test", showProgress: false) { _ in }.run(try StudySpec.load(toys))
        XCTAssertEqual(summaries.count, StudyKind.allCases.count)
        XCTAssertFalse(ValidationSuite.failed(summaries))
        let index = try String(contentsOf: out.appendingPathComponent("index.md"), encoding: .utf8)
        let studyRows = index.split(separator: "\n").filter { $0.hasPrefix("| [") && $0.contains("| pending |") }
        XCTAssertEqual(studyRows.count, summaries.count)
    }
}
