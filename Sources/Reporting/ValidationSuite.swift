import Foundation
import Tensor
import Validation

/// `refold validate`: runs studies through a registry, prints a gate table per study, writes
/// `<out>/<study>/summary.json`, `<out>/index.md` and `<out>/report.pdf`.
public struct ValidationSuite {
    public var registry: StudyRegistry
    public var profile: ProfileName
    public var seed: UInt64
    public var out: URL
    public var refoldVersion: String
    /// Progress lines ("[2/10] ring: running"); off under CI or when stdout is not a terminal.
    public var showProgress: Bool
    /// Where tables and progress go (stdout by default).
    public var print: (String) -> Void

    public init(registry: StudyRegistry = .shared, profile: ProfileName, seed: UInt64, out: URL,
                refoldVersion: String, showProgress: Bool? = nil, print: @escaping (String) -> Void = { Swift.print($0) }) {
        self.registry = registry; self.profile = profile; self.seed = seed; self.out = out
        self.refoldVersion = refoldVersion
        self.showProgress = showProgress ?? (ProcessInfo.processInfo.environment["CI"] == nil && isatty(1) != 0)
        self.print = print
    }

    /// Runs `specs` in order; returns the summaries (also written to disk).
    @discardableResult
    public func run(_ specs: [StudySpec]) throws -> [StudySummary] {
        var summaries: [StudySummary] = []
        for (index, spec) in specs.enumerated() {
            let tag = "[\(index + 1)/\(specs.count)] \(spec.name)"
            if showProgress { print("\(tag): running (\(profile.rawValue) profile, seed \(seed))") }
            let folder = out.appendingPathComponent(spec.name)
            let context = StudyContext(spec: spec, profile: profile, seed: seed, folder: folder) { [showProgress, print] message in
                if showProgress { print("\(tag): \(message)") }
            }
            let (result, wallTime) = registry.run(context)
            let summary = StudySummary(spec: spec, result: result, wallTime: wallTime,
                                       provenance: Provenance(seed: seed, profile: profile, refoldVersion: refoldVersion))
            try summary.write(to: folder)
            if showProgress { print("\(tag): \(result.status.label) in \(String(format: "%.1f", wallTime)) s") }
            print(Self.table(summary))
            summaries.append(summary)
        }
        try Self.writeIndex(summaries, to: out)
        return summaries
    }

    /// Whether `refold validate` must exit non-zero.
    public static func failed(_ summaries: [StudySummary]) -> Bool {
        summaries.contains { $0.result.status.failsRun }
    }

    /// The gate table of one study.
    public static func table(_ summary: StudySummary) -> String {
        var header = "\(summary.study) (\(summary.kind.rawValue), \(summary.network.rawValue)): \(summary.result.status.label)"
        switch summary.result.status {
        case .pending(let reason): header += ", \(reason)"
        case .error(let message): header += ": \(message)"
        default: break
        }
        let rows = summary.result.gates.map { gate -> [String] in
            let verdict: String
            if case .pending = summary.result.status { verdict = "pending" } else { verdict = gate.pass ? "PASS" : "FAIL" }
            return [gate.name, format(gate.value), gate.toleranceText, verdict]
        }
        let all = [["gate", "value", "tolerance", "result"]] + rows
        let widths = (0..<4).map { column in all.map { $0[column].count }.max() ?? 0 }
        let lines = all.map { row in
            "  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([header] + lines).joined(separator: "\n")
    }

    /// `index.md`: one section per study with its status, gates, provenance and plot links.
    public static func writeIndex(_ summaries: [StudySummary], to out: URL) throws {
        var text = "# Refold validation report\n\n"
        if let p = summaries.first?.provenance {
            text += "Profile `\(p.profile.rawValue)`, seed \(p.seed), Refold \(p.refoldVersion), git `\(p.gitRevision)`\(p.gitDirty ? " (dirty)" : ""), \(p.date), \(p.cores) cores.\n\n"
        }
        text += "| study | status | gates passed | wall time |\n|---|---|---|---|\n"
        for s in summaries {
            let passed = s.result.gates.filter(\.pass).count
            text += "| [\(s.study)](#\(s.study)) | \(s.result.status.label) | \(passed)/\(s.result.gates.count) | \(String(format: "%.1f s", s.wallTime)) |\n"
        }
        for s in summaries {
            text += "\n## \(s.study)\n\n\(s.description)\n\nKind `\(s.kind.rawValue)`, network `\(s.network.rawValue)`, status **\(s.result.status.label)**"
            switch s.result.status {
            case .pending(let reason): text += ": \(reason)"
            case .error(let message): text += ": `\(message)`"
            default: break
            }
            text += ". Summary: [\(s.study)/summary.json](\(s.study)/summary.json).\n\n"
            text += "| gate | observable | value | tolerance | result |\n|---|---|---|---|---|\n"
            for g in s.result.gates {
                let verdict: String
                if case .pending = s.result.status { verdict = "pending" } else { verdict = g.pass ? "PASS" : "**FAIL**" }
                text += "| \(g.name) | \(g.observable ?? g.metric.rawValue) | \(format(g.value)) | \(g.toleranceText) | \(verdict) |\n"
            }
            for plot in s.result.plots {
                text += "\n![\(plot.title)](\(s.study)/\(plot.png))  \n[PDF](\(s.study)/\(plot.pdf)) · data: "
                    + plot.data.map { "[\($0)](\(s.study)/\($0))" }.joined(separator: ", ") + "\n"
            }
            for note in s.result.notes { text += "\n- \(note)" }
            if !s.result.notes.isEmpty { text += "\n" }
        }
        try writeAtomically(text, to: out.appendingPathComponent("index.md"))
    }

    /// Every `<out>/*/summary.json`, sorted by study name.
    public static func readSummaries(in out: URL) throws -> [StudySummary] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        return try entries.sorted().compactMap { entry in
            let file = out.appendingPathComponent(entry).appendingPathComponent("summary.json")
            return FileManager.default.fileExists(atPath: file.path) ? try StudySummary.read(from: file) : nil
        }
    }

    /// `report.pdf`: every plot of every study again, one page each. Returns false if there are no
    /// plots (nothing written).
    @discardableResult
    public static func writeReportPDF(_ summaries: [StudySummary], to out: URL, gnuplot: Gnuplot) throws -> Bool {
        let plots = summaries.flatMap { s in s.result.plots.map { (folder: out.appendingPathComponent(s.study), record: $0) } }
        guard !plots.isEmpty else { return false }
        try gnuplot.assemblePDF(plots, to: out.appendingPathComponent("report.pdf"))
        return true
    }
}
