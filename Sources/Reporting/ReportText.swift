import Foundation
import Validation

/// The text of a validation report, written twice from the same summaries: `index.md` (Markdown,
/// for a browser or a repository) and the groff `ms` source of `report.pdf` (for a paper's
/// appendix or a referee). Both hold a title block (Refold version, git revision, date, profile,
/// seed, machine), the table of every gate (value, noise, tolerance, verdict), then one section
/// per study: its description, its gates, each figure with its caption, and the runner's notes.
public enum ReportText {
    /// A gate's row: study, gate, observable, value ± noise, tolerance, noise / margin, verdict.
    struct Row {
        var study: String, gate: String, observable: String, value: String, tolerance: String, noise: String, verdict: String
    }

    static func rows(_ summaries: [StudySummary]) -> [Row] {
        summaries.flatMap { s in
            s.result.gates.map { g in
                Row(study: s.study, gate: g.name, observable: g.observable ?? g.metric.rawValue, value: g.valueText,
                    tolerance: g.toleranceText, noise: noiseText(g), verdict: verdict(g, in: s))
            }
        }
    }

    /// "0.12" (noise / margin), with " (large)" at or above 1/3; "n/a" if not estimated.
    static func noiseText(_ gate: Gate) -> String {
        guard gate.noiseFraction.isFinite else { return "n/a" }
        return format(gate.noiseFraction) + (gate.noiseIsSmall ? "" : " (large)")
    }

    static func verdict(_ gate: Gate, in summary: StudySummary) -> String {
        if case .pending = summary.result.status { return "pending" }
        return gate.verdict.label
    }

    /// "1 failed, 2 not gated, 30 passed of 33 gates".
    static func gateCount(_ summaries: [StudySummary]) -> String {
        let gates = summaries.flatMap(\.result.gates)
        let failed = gates.filter { $0.verdict == .fail }.count, notGated = gates.filter { $0.verdict == .notGated }.count
        return "\(gates.count - failed - notGated) passed, \(failed) failed, \(notGated) not gated at this profile (of \(gates.count) gates)"
    }

    static func provenanceLines(_ p: Provenance, wallTime: Double) -> [(String, String)] {
        let samples = (p.samples ?? []).map { record in
            let dropped = record.droppedNonFinite.map { ", \($0) dropped for NaN or inf" } ?? ""
            return ("\(record.role) sample", "\(record.path) (\(record.events) events\(dropped), \(record.generator), FNV-1a \(record.contentHash))")
        }
        return [("Refold", p.refoldVersion),
         ("git revision", p.gitRevision + (p.gitDirty ? " (uncommitted changes)" : "")),
         ("date", p.date),
         ("profile", p.profile.rawValue),
         ("seed", "\(p.seed)"),
         ("machine", "\(p.host), \(p.cores) cores" + (p.cpu.isEmpty ? "" : ", \(p.cpu)")),
         ("study time", String(format: "%.1f min (sum over studies)", wallTime / 60))] + samples
    }

    static let gateExplanation = """
    Each gate compares a measured value with its tolerance. The noise is the standard deviation the \
    value would show if only its measurement were repeated on the same trained network (other weight \
    draws, posterior samples or test events); noise / margin compares it with the distance from the \
    value a perfect model gives to the tolerance (the half-width of a ± gate), and should stay below \
    1/3 for the gate to measure the network rather than the noise. A gate of the other profile is \
    measured and shown as not gated, with the reason; it never fails the run.
    """

    // MARK: Markdown

    /// `index.md`.
    public static func markdown(_ summaries: [StudySummary]) -> String {
        var text = "# Refold validation report\n\n"
        if let p = summaries.first?.provenance {
            text += "| | |\n|---|---|\n"
            for (key, value) in provenanceLines(p, wallTime: summaries.reduce(0) { $0 + $1.wallTime }) { text += "| \(key) | \(value) |\n" }
            text += "\n"
        }
        text += "Studies: " + summaries.map { "[\($0.study)](#\($0.study)) \($0.result.status.label)" }.joined(separator: ", ") + ". "
        text += "Gates: \(gateCount(summaries)).\n\n## Gates\n\n\(gateExplanation)\n\n"
        text += "| study | gate | observable | value ± noise | tolerance | noise / margin | result |\n|---|---|---|---|---|---|---|\n"
        for r in rows(summaries) {
            let verdict = r.verdict == "FAIL" ? "**FAIL**" : r.verdict
            text += "| \(r.study) | \(r.gate) | \(r.observable) | \(r.value) | \(r.tolerance) | \(r.noise) | \(verdict) |\n"
        }
        var figure = 0
        for s in summaries {
            text += "\n## \(s.study)\n\n\(s.description)\n\nKind `\(s.kind.rawValue)`, network `\(s.network.rawValue)`, "
                + "status **\(s.result.status.label)**"
            switch s.result.status {
            case .pending(let reason): text += ": \(reason)"
            case .error(let message): text += ": `\(message)`"
            default: break
            }
            text += String(format: ", %.1f s. ", s.wallTime) + "Summary: [\(s.study)/summary.json](\(s.study)/summary.json).\n"
            let notGated = s.result.gates.filter { !$0.gated }
            for g in notGated { text += "\n- `\(g.name)`: \(g.note ?? "")" }
            if !notGated.isEmpty { text += "\n" }
            for plot in s.result.plots {
                figure += 1
                text += "\n![\(plot.title)](\(s.study)/\(plot.png))  \n*Figure \(figure).* \(caption(plot)) "
                    + "[PDF](\(s.study)/\(plot.pdf)) · data: " + plot.data.map { "[\($0)](\(s.study)/\($0))" }.joined(separator: ", ") + "\n"
            }
            if !s.result.notes.isEmpty { text += "\nNotes of the run:\n" }
            for note in s.result.notes { text += "\n- \(note)" }
            if !s.result.notes.isEmpty { text += "\n" }
        }
        return text
    }

    /// "Title. Caption." in plain text.
    static func caption(_ plot: PlotRecord) -> String {
        let title = GnuplotText.plain(plot.title)
        return plot.caption.isEmpty ? "\(title)." : "\(title): \(plot.caption)"
    }

    // MARK: groff

    /// The `ms` source of `report.pdf`; `figure(study, record)` names the PDF file to place
    /// (an uncompressed copy of the plot's PDF), nil to leave the figure out.
    public static func roff(_ summaries: [StudySummary], figure: (StudySummary, PlotRecord) -> String?) -> String {
        var text = """
        .nr PS 10
        .nr VS 12
        .nr HM 0.8i
        .nr FM 0.8i
        .nr LL 6.3i
        .ds CH
        .ds CF - \\\\n% -
        .TL
        Refold validation report
        .AU
        Unfolding with conditional generative networks: the validation studies

        """
        if let p = summaries.first?.provenance {
            text += ".sp 2\n.TS\ncenter tab(@);\nl l .\n"
            for (key, value) in provenanceLines(p, wallTime: summaries.reduce(0) { $0 + $1.wallTime }) {
                text += "\(cell(key))@\(cell(value))\n"
            }
            text += ".TE\n"
        }
        text += ".sp 2\n.LP\n" + line("\(summaries.count) studies: " + summaries.map { "\($0.study) \($0.result.status.label)" }.joined(separator: ", ")
                                          + ". Gates: \(gateCount(summaries)).") + "\n"
        text += ".LP\n" + line("Refold generates events whose parton-level density and detector response are known in closed form, trains the unfolding and density networks of the thesis \u{201C}Go with the Flow\u{201D} on them, and checks each with the gates below. The notes of each study record what was trained, on how many events, and the measurements behind every gate; summary.json holds all of it.") + "\n"
        text += ".bp\n.NH 1\nGates\n.LP\n" + line(gateExplanation) + "\n"
        let format = "l l lw(1.3i) l l l"
        text += ".ps 8\n.vs 10\n.na\n.nh\n.TS H\nbox tab(@);\n\(format) .\n"
        text += "\\fBgate\\fP@\\fBobservable\\fP@\\fBvalue \u{B1} noise\\fP@\\fBtolerance\\fP@\\fBnoise/margin\\fP@\\fBresult\\fP\n_\n.TH\n"
        var study = ""
        for r in rows(summaries) {
            if r.study != study {
                study = r.study
                text += ".T&\nlb s s s s s .\n\(cell(study))\n.T&\n\(format) .\n"
            }
            let verdict = r.verdict == "FAIL" ? "\\fBFAIL\\fP" : cell(r.verdict)
            text += cell(r.gate) + "@T{\n\(line(r.observable))\nT}@" + [r.value, r.tolerance, r.noise].map(cell).joined(separator: "@") + "@\(verdict)\n"
        }
        text += ".TE\n.ad b\n.hy\n.ps 10\n.vs 12\n"
        var number = 0
        for s in summaries {
            text += ".bp\n.NH 1\n\(line(s.study))\n.LP\n" + line(s.description + ".") + "\n.LP\n"
            var status = "Kind \(s.kind.rawValue), network \(s.network.rawValue), status \(s.result.status.label)"
            switch s.result.status {
            case .pending(let reason): status += ": \(reason)"
            case .error(let message): status += ": \(message)"
            default: break
            }
            text += line(status + String(format: "; %.1f s.", s.wallTime)) + "\n"
            for g in s.result.gates {
                text += ".IP \\(bu 2\n" + line("\(g.name) (\(g.observable ?? g.metric.rawValue)): \(g.valueText) against \(g.toleranceText), \(g.verdict.label)"
                                                + (g.gated ? "" : "; \(g.note ?? "")") + ".") + "\n"
            }
            for plot in s.result.plots {
                guard let file = figure(s, plot) else { continue }
                number += 1
                text += ".KS\n.sp\n.PDFPIC -C \(file) 4.8i 3.6i\n.sp 0.3\n.LP\n\\fBFigure \(number).\\fP " + line(caption(plot)) + "\n.KE\n"
            }
            if !s.result.notes.isEmpty {
                text += ".SH 2\nNotes of the run\n.ps 9\n.vs 11\n"
                for note in s.result.notes { text += ".IP \\(bu 2\n" + line(note) + "\n" }
                text += ".ps 10\n.vs 12\n"
            }
        }
        return text
    }

    /// One line of running text for troff: backslashes escaped, no line starting with a control
    /// character, newlines joined.
    static func line(_ text: String) -> String {
        let escaped = GnuplotText.plain(text).replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "\n", with: " ")
        return "\\&" + escaped
    }

    /// A tbl cell: a line without the column separator.
    static func cell(_ text: String) -> String {
        line(text).replacingOccurrences(of: "@", with: " at ")
    }
}

/// gnuplot's enhanced-text markup in plain Unicode, for captions and tables:
/// `{/Symbol s}_{pred}` -> `σ_pred`, `p_{T,q1}` -> `p_T,q1`, `{/Symbol c}^2` -> `χ^2`.
public enum GnuplotText {
    static let symbols: [Character: String] = [
        "a": "α", "b": "β", "c": "χ", "d": "δ", "D": "Δ", "e": "ε", "f": "φ", "F": "Φ", "g": "γ", "h": "η",
        "l": "λ", "m": "μ", "n": "ν", "p": "π", "q": "θ", "r": "ρ", "s": "σ", "S": "Σ", "t": "τ", "w": "ω",
    ]

    public static func plain(_ text: String) -> String {
        var out = text
        // {/Symbol x} -> Greek letter.
        while let range = out.range(of: #"\{/Symbol ([A-Za-z])\}"#, options: .regularExpression) {
            let letter = out[range].dropFirst(9).first!
            out.replaceSubrange(range, with: symbols[letter] ?? String(letter))
        }
        // _{...} and ^{...} -> _... and ^...
        while let range = out.range(of: #"([_^])\{([^{}]*)\}"#, options: .regularExpression) {
            let matched = String(out[range])
            out.replaceSubrange(range, with: String(matched.first!) + matched.dropFirst(2).dropLast())
        }
        return out
    }
}
