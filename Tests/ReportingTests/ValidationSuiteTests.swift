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
        [profile.quick.generator]
        events = 2000
        [[gate]]
        name = "mean"
        metric = "value"
        observable = "x"
        target = 0.5
        tolerance = \(tolerance)
        comparison = "within"
        [[gate]]
        name = "mean-paper"
        metric = "value"
        observable = "x"
        target = 0.5
        tolerance = 0.0001
        comparison = "within"
        profiles = ["paper"]
        profile_reason = "needs 10^8 events"
        """, file: "\(name).toml")
    }

    /// Runners measure and Reporting draws: without gnuplot the gates are still measured and
    /// evaluated, and the study is an error that says why its figures are missing.
    func testGatesAreMeasuredWithoutGnuplot() throws {
        var registry = StudyRegistry()
        registry.register(.wedge) { _, _ in
            var result = StudyResult()
            result.measure("mean", 0.5, noise: 0.01)
            result.add(try Plot.histogram(title: "x", xLabel: "x", truth: try Histogram1D([0.5], bins: 2, low: 0, high: 1),
                                          unfolded: try Histogram1D([0.5], bins: 2, low: 0, high: 1)), name: "x")
            return result
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        setenv("PATH", "/nonexistent", 1)
        defer { setenv("PATH", path, 1) }
        let summaries = try ValidationSuite(registry: registry, profile: .quick, seed: 7, out: temporaryFolder(), refoldVersion: "9.9",
                                            showProgress: false) { _ in }.run([try spec("wedge-ok", kind: .wedge, tolerance: 0.03)])
        let result = summaries[0].result
        XCTAssertEqual(result.gates.first?.value, 0.5)
        XCTAssertTrue(result.gates.first?.pass == true)
        guard case .error(let message) = result.status else { return XCTFail("expected an error, got \(result.status)") }
        XCTAssertTrue(message.contains("plots") && message.contains("gnuplot"), message)
    }

    func testRegisteredPendingAndFailingStudies() throws {
        _ = try gnuplotOrSkip()
        var registry = StudyRegistry()
        // Uniform events: the mean 0.5 with error 1/sqrt(12 N) = 0.0065 for N = 2000.
        registry.register(.wedge) { spec, context in
            let rng = context.rng.child("generator")
            let values = (0..<context.generator.events).map { _ in rng.uniform() }
            var result = StudyResult()
            let mean = values.reduce(0, +) / Double(values.count), noise = (1.0 / (12.0 * Double(values.count))).squareRoot()
            result.measure("mean", mean, noise: noise)
            result.measure("mean-paper", mean, noise: noise)
            let truth = try Histogram1D(values, bins: 10, low: 0, high: 1)
            let unfolded = try Histogram1D(values.map { min($0 * 1.01, 0.999) }, bins: 10, low: 0, high: 1)
            // The runner only describes the figure; the suite draws it.
            result.add(try Plot.histogram(title: "x", xLabel: "x", truth: truth, unfolded: unfolded), name: "x")
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
        XCTAssertEqual(ok.result.gates.count, 2)
        XCTAssertTrue(ok.result.gates[0].pass)
        XCTAssertEqual(ok.result.gates[0].noise, (1.0 / 24_000).squareRoot(), accuracy: 1e-12, "1/sqrt(12 N), N = 2000")
        // The paper gate is measured, fails its tolerance, and is shown as not gated: the study passes.
        XCTAssertEqual(ok.result.gates[1].verdict, .notGated)
        XCTAssertFalse(ok.result.gates[1].pass)
        XCTAssertEqual(ok.result.status, .passed)
        XCTAssertTrue(ok.result.gates[1].note?.contains("needs 10^8 events") == true, "\(ok.result.gates[1].note ?? "")")
        XCTAssertEqual(ok.result.gates[0].value, summaries[0].result.measurements["mean"]?.value)
        XCTAssertEqual(ok.result.plots.map(\.png), ["x.png"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("wedge-ok/x.png").path))
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
        XCTAssertTrue(index.contains("| wedge-ok | mean-paper | x |") && index.contains("not gated"), index)
        // Table and progress lines.
        XCTAssertTrue(lines.contains { $0.contains("[1/4] wedge-ok: running") })
        XCTAssertTrue(lines.contains { $0.contains("mean") && $0.contains("0.5 ± 0.03") && $0.contains("PASS") })

        // report.pdf: title, gate table, a section per study with its captioned figure (pdftotext reads it back).
        try ValidationSuite.writeReportPDF(summaries, to: out)
        let pdf = out.appendingPathComponent("report.pdf")
        XCTAssertEqual(try Data(contentsOf: pdf).prefix(4), Data("%PDF".utf8))
        guard let pdftotext = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("pdftotext (poppler-utils, make deps) is needed to read report.pdf back")
        }
        let text = try run(pdftotext, ["-layout", pdf.path, "-"])
        for expected in ["Refold validation report", "profile", "quick", "seed", "9.9", "Gates", "mean-paper", "not gated",
                         "wedge-ok", "wedge-tight", "kicker exploded", "Figure 1.", "Figure 2.", "ratios beyond"] {
            XCTAssertTrue(text.contains(expected), "report.pdf lacks \"\(expected)\":\n\(text)")
        }
        XCTAssertFalse(text.contains("Figure 3."), "two plots, two figures")
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
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
        for s in summaries { XCTAssertTrue(index.contains("[\(s.study)](#\(s.study)) pending"), s.study) }
    }

    /// The parallel run's orchestration: one process per study (here a stand-in script that copies
    /// the summary an in-process run wrote, or crashes for "kicker"), the longest study started
    /// first, a crash turned into an error study naming its status and log, index.md over all.
    func testStudiesInProcesses() throws {
        var registry = StudyRegistry()
        registry.register(.wedge) { _, _ in
            var result = StudyResult()
            result.measure("mean", 0.5, noise: 0.01)
            return result
        }
        let folder = temporaryFolder()
        var specs: [StudySpec] = []
        for (name, kind) in [("short", StudyKind.wedge), ("long", .wedge), ("kicker", .kicker)] {
            let file = folder.appendingPathComponent("\(name).toml")
            var spec = try spec(name, kind: kind, tolerance: 0.1)
            spec.file = file.path
            specs.append(spec)
        }
        let reference = folder.appendingPathComponent("reference")
        try ValidationSuite(registry: registry, profile: .quick, seed: 7, out: reference, refoldVersion: "9.9", showProgress: false) { _ in }
            .run(Array(specs.prefix(2)))
        let script = folder.appendingPathComponent("fake-refold")
        try """
        #!/bin/sh
        # validate <spec> --profile P --seed S --out OUT --summary-only
        name=$(basename "$2" .toml); out="$8"
        echo "$name" >> "\(folder.path)/started"
        [ "$name" = kicker ] && exit 3
        cp "\(reference.path)/$name/summary.json" "$out/$name/summary.json"
        """.write(to: script, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(script.path, 0o755), 0)
        let out = folder.appendingPathComponent("parallel")
        // "long" took longer last time: it starts first.
        for (name, seconds) in [("short", 1.0), ("long", 50.0)] {
            var old = try StudySummary.read(from: reference.appendingPathComponent("\(name)/summary.json"))
            old.wallTime = seconds
            try old.write(to: out.appendingPathComponent(name))
        }
        var lines: [String] = []
        let summaries = try ValidationSuite(registry: registry, profile: .quick, seed: 7, out: out, refoldVersion: "9.9", showProgress: true) { lines.append($0) }
            .runInProcesses(specs, jobs: 1, executable: script)
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("started"), encoding: .utf8), "long\nkicker\nshort\n", "longest first: long (50 s last time), kicker (a BINN, never run), short (1 s)")
        XCTAssertEqual(summaries.map(\.study), ["short", "long", "kicker"], "summaries in the specs' order")
        XCTAssertEqual(summaries[0].result.gates[0].value, 0.5)
        guard case .error(let message) = summaries[2].result.status else { return XCTFail("\(summaries[2].result.status)") }
        XCTAssertTrue(message.contains("exited with status 3") && message.contains("kicker/validate.log"), message)
        XCTAssertTrue(ValidationSuite.failed(summaries))
        let index = try String(contentsOf: out.appendingPathComponent("index.md"), encoding: .utf8)
        for name in ["short", "long", "kicker"] { XCTAssertTrue(index.contains("## \(name)"), name) }
        XCTAssertTrue(lines.contains { $0.contains("[2/3 done] kicker: ERROR") }, "\(lines)")
    }
}
