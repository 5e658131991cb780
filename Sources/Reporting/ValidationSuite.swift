import Foundation
import Parallel
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
    /// `--train`/`--test`: the paired samples the (one, collider) study runs on instead of its
    /// generator; recorded in each summary's provenance.
    public var sampleFolders: SampleFolders?

    public init(registry: StudyRegistry, profile: ProfileName, seed: UInt64, out: URL,
                refoldVersion: String, showProgress: Bool? = nil, print: @escaping (String) -> Void = { Swift.print($0) }) {
        self.registry = registry; self.profile = profile; self.seed = seed; self.out = out
        self.refoldVersion = refoldVersion
        self.showProgress = showProgress ?? TerminalProgress().isLive
        self.print = print
    }

    /// Runs one study (the registry measures and evaluates its gates) and draws its figures: the
    /// wall time includes the drawing. A figure that cannot be drawn makes the study an error,
    /// with its gates as measured.
    func runStudy(_ context: StudyContext) -> (result: StudyResult, wallTime: Double) {
        var (result, wallTime) = registry.run(context)
        let start = Date()
        Self.render(&result, in: context.folder)
        return (result, wallTime + Date().timeIntervalSince(start))
    }

    /// Renders `result.figures` into `folder` (PNG, PDF, data and script each) as `result.plots`.
    static func render(_ result: inout StudyResult, in folder: URL) {
        guard !result.figures.isEmpty else { return }
        do {
            let gnuplot = try Gnuplot()
            for figure in result.figures { result.plots.append(try gnuplot.render(figure.plot, name: figure.name, in: folder)) }
            result.figures = []
        } catch {
            result.status = .error(message: "plots: \(error)")
        }
    }

    /// Runs `specs` in order; returns the summaries (also written to disk, with `index.md` unless
    /// `writeIndex` is false: a study run as one part of a parallel run).
    @discardableResult
    public func run(_ specs: [StudySpec], writeIndex: Bool = true) throws -> [StudySummary] {
        var summaries: [StudySummary] = []
        for (index, spec) in specs.enumerated() {
            let tag = "[\(index + 1)/\(specs.count)] \(spec.name)"
            if showProgress { print("\(tag): running (\(profile.rawValue) profile, seed \(seed))") }
            let folder = out.appendingPathComponent(spec.name)
            let context = StudyContext(spec: spec, profile: profile, seed: seed, folder: folder,
                                       sampleFolders: sampleFolders) { [showProgress, print] message in
                if showProgress { print("\(tag): \(message)") }
            }
            let (result, wallTime) = runStudy(context)
            let summary = StudySummary(spec: spec, result: result, wallTime: wallTime,
                                       provenance: Provenance(seed: seed, profile: profile, refoldVersion: refoldVersion,
                                                              samples: sampleFolders?.records))
            try summary.write(to: folder)
            if showProgress { print("\(tag): \(result.status.label) in \(String(format: "%.1f", wallTime)) s") }
            print(Self.table(summary))
            summaries.append(summary)
        }
        if writeIndex { try Self.writeIndex(summaries, to: out) }
        return summaries
    }

    /// Runs `specs` as `jobs` concurrent processes of `executable` (`refold validate <spec>
    /// --summary-only`, each study's output in `<out>/<study>/validate.log`), the longest first
    /// (the wall time of the summary already in `out`, else `expectedCost`), and writes `index.md`
    /// from their summaries. Each study seeds its own streams from (seed, offset, name), so the
    /// gates equal those of a run in one process. A child that leaves no summary is an error study.
    @discardableResult
    public func runInProcesses(_ specs: [StudySpec], jobs: Int, executable: URL) throws -> [StudySummary] {
        var waiting = longestFirst(specs).map(\.index)[...]
        var running: [(process: Process, index: Int, start: Date)] = []
        var finished = 0
        let total = specs.count
        while !waiting.isEmpty || !running.isEmpty {
            while running.count < max(jobs, 1), let index = waiting.popFirst() {
                let spec = specs[index], folder = out.appendingPathComponent(spec.name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                // A summary left by an earlier run must not pass for this one's.
                try? FileManager.default.removeItem(at: folder.appendingPathComponent("summary.json"))
                let log = folder.appendingPathComponent("validate.log")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                let handle = try FileHandle(forWritingTo: log)
                let process = Process()
                process.executableURL = executable
                process.arguments = ["validate", spec.file, "--profile", profile.rawValue, "--seed", "\(seed)", "--out", out.path, "--summary-only"]
                process.standardOutput = handle
                process.standardError = handle
                process.standardInput = FileHandle.nullDevice
                do { try process.run() } catch {
                    throw RefoldError("validate: cannot start \(executable.path) for \(spec.name): \(error.localizedDescription)")
                }
                try? handle.close()
                running.append((process, index, Date()))
                if showProgress { print("[\(finished + running.count)/\(total) started] \(spec.name): running in process \(process.processIdentifier) (log: \(log.path))") }
            }
            usleep(200_000)
            for entry in running where !entry.process.isRunning {
                running.removeAll { $0.index == entry.index }
                finished += 1
                let spec = specs[entry.index], folder = out.appendingPathComponent(spec.name)
                let summary = try Self.childSummary(spec, folder: folder, process: entry.process, start: entry.start,
                                                    provenance: Provenance(seed: seed, profile: profile, refoldVersion: refoldVersion))
                if showProgress { print("[\(finished)/\(total) done] \(spec.name): \(summary.result.status.label) in \(String(format: "%.1f", summary.wallTime)) s") }
                print(Self.table(summary))
            }
        }
        let summaries = try specs.map { try StudySummary.read(from: out.appendingPathComponent($0.name).appendingPathComponent("summary.json")) }
        try Self.writeIndex(summaries, to: out)
        return summaries
    }

    /// Indices of `specs` and their expected cost, the longest first: the wall time of the summary
    /// already in `out`, else `expectedCost`.
    func longestFirst(_ specs: [StudySpec]) -> [(index: Int, cost: Double)] {
        let previous = Dictionary((try? Self.readSummaries(in: out))?.map { ($0.study, $0.wallTime) } ?? [], uniquingKeysWith: { a, _ in a })
        let costs = specs.map { previous[$0.name] ?? Self.expectedCost($0) }
        return specs.indices.sorted { a, b in costs[a] != costs[b] ? costs[a] > costs[b] : a < b }.map { ($0, costs[$0]) }
    }

    /// Runs `specs` spread over the ranks of `group` (`mpirun -np N refold validate`): rank 0
    /// deals them out longest first, each to the rank with the least expected work so far, and
    /// broadcasts the deal; each rank runs its studies in order, alone (`ProcessGroup.current`
    /// is `single` meanwhile, so their trainers do not wait for other ranks); rank 0 gathers the
    /// summaries and writes `index.md`. Returns every summary, in the order of `specs`, on rank 0
    /// and this rank's own on the others. Studies seed their streams from (seed, name), so the
    /// gates equal those of a run in one process. Plots and data files stay where each rank wrote
    /// them: `out` must be one shared folder for report.pdf (as on a cluster's shared filesystem).
    @discardableResult
    public func runOnRanks(_ specs: [StudySpec], group: ProcessGroup) throws -> [StudySummary] {
        var deal = [UInt8]()
        if group.isRoot {
            var load = [Double](repeating: 0, count: group.size)
            var rankOf = [Int](repeating: 0, count: specs.count)
            for (index, cost) in longestFirst(specs) {
                let rank = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
                rankOf[index] = rank
                load[rank] += cost
            }
            deal = Array(try JSONEncoder().encode(rankOf))
        }
        group.broadcast(bytes: &deal)
        let rankOf = try JSONDecoder().decode([Int].self, from: Data(deal))
        let mine = specs.indices.filter { rankOf[$0] == group.rank }.map { specs[$0] }
        let current = ProcessGroup.current
        ProcessGroup.current = .single
        defer { ProcessGroup.current = current }
        let summaries = try run(mine, writeIndex: false)
        group.barrier()  // the ranks that finish first sleep rather than spin in the gather
        let gathered = try group.gather(bytes: Array(try JSONEncoder().encode(summaries)))
        guard group.isRoot else { return summaries }
        let all = try gathered.flatMap { try JSONDecoder().decode([StudySummary].self, from: Data($0)) }
        let byName = Dictionary(all.map { ($0.study, $0) }, uniquingKeysWith: { a, _ in a })
        let ordered = try specs.map { spec in
            guard let summary = byName[spec.name] else {
                throw RefoldError.value("gathered summaries", expected: "one for \(spec.name)", actual: all.map(\.study))
            }
            return summary
        }
        try Self.writeIndex(ordered, to: out)
        return ordered
    }

    /// The summary a finished child wrote, or (none written, or a crash) an error summary naming
    /// its exit status and log, written in its place.
    static func childSummary(_ spec: StudySpec, folder: URL, process: Process, start: Date, provenance: Provenance) throws -> StudySummary {
        let file = folder.appendingPathComponent("summary.json")
        if FileManager.default.fileExists(atPath: file.path), process.terminationReason == .exit, [0, 1].contains(process.terminationStatus) {
            return try StudySummary.read(from: file)
        }
        let how = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
        var result = StudyResult()
        result.status = .error(message: "the study's process \(how) without a summary; see \(folder.appendingPathComponent("validate.log").path)")
        result.gates = spec.gates.map { Gate(spec: $0, measurement: nil, profile: provenance.profile) }
        let summary = StudySummary(spec: spec, result: result, wallTime: Date().timeIntervalSince(start), provenance: provenance)
        try summary.write(to: folder)
        return summary
    }

    /// A first run's guess of a study's cost, for the longest-first order: network trainings first.
    static func expectedCost(_ spec: StudySpec) -> Double {
        switch spec.network.variant {
        case .none: return 1
        case .inn, .einn, .gan, .generator: return 2
        case .binn, .fcgan, .subtraction, .qcd, .mem, .transfer: return 3
        case .cinn, .cinnISR, .memflow: return 4
        }
    }

    /// Whether `refold validate` must exit non-zero.
    public static func failed(_ summaries: [StudySummary]) -> Bool {
        summaries.contains { $0.result.status.failsRun }
    }

    /// The gate table of one study: value ± noise, tolerance, noise / margin, verdict.
    public static func table(_ summary: StudySummary) -> String {
        var header = "\(summary.study) (\(summary.kind.rawValue), \(summary.network.rawValue)): \(summary.result.status.label)"
        switch summary.result.status {
        case .pending(let reason): header += ", \(reason)"
        case .error(let message): header += ": \(message)"
        default: break
        }
        let rows = ReportText.rows([summary]).map { [$0.gate, $0.value, $0.tolerance, $0.noise, $0.verdict] }
        let all = [["gate", "value ± noise", "tolerance", "noise/margin", "result"]] + rows
        let widths = (0..<5).map { column in all.map { $0[column].count }.max() ?? 0 }
        let lines = all.map { row in
            "  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([header] + lines).joined(separator: "\n")
    }

    /// `index.md` (see `ReportText.markdown`).
    public static func writeIndex(_ summaries: [StudySummary], to out: URL) throws {
        try writeAtomically(ReportText.markdown(summaries), to: out.appendingPathComponent("index.md"))
    }

    /// Every `<out>/*/summary.json`, sorted by study name.
    public static func readSummaries(in out: URL) throws -> [StudySummary] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        return try entries.sorted().compactMap { entry in
            let file = out.appendingPathComponent(entry).appendingPathComponent("summary.json")
            return FileManager.default.fileExists(atPath: file.path) ? try StudySummary.read(from: file) : nil
        }
    }

    /// `report.pdf`: title page, gate table and one section per study with its captioned figures,
    /// typeset by groff (`ms` macros, tbl) with the plots' PDFs placed by `.PDFPIC` (made
    /// uncompressed by qpdf first, which gropdf needs). Written atomically. Returns false if there
    /// are no summaries (nothing written).
    @discardableResult
    public static func writeReportPDF(_ summaries: [StudySummary], to out: URL) throws -> Bool {
        guard !summaries.isEmpty else { return false }
        let groff = try Tool.find("groff", package: "groff"), qpdf = try Tool.find("qpdf", package: "qpdf")
        let build = out.appendingPathComponent(".report-\(getpid())")
        try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: build) }
        var figures: [String: String] = [:]
        for s in summaries {
            for plot in s.result.plots {
                let source = out.appendingPathComponent(s.study).appendingPathComponent(plot.pdf)
                guard FileManager.default.fileExists(atPath: source.path) else { continue }
                let name = "figure-\(figures.count + 1).pdf"
                try Tool.run(qpdf, ["--object-streams=disable", source.path, build.appendingPathComponent(name).path], in: build)
                figures["\(s.study)/\(plot.pdf)"] = name
            }
        }
        let source = ReportText.roff(summaries) { s, plot in figures["\(s.study)/\(plot.pdf)"] }
        try writeAtomically(source, to: build.appendingPathComponent("report.ms"))
        let pdf = try Tool.run(groff, ["-k", "-U", "-t", "-ms", "-Tpdf", "-P-pa4", "report.ms"], in: build)
        guard pdf.starts(with: Array("%PDF".utf8)) else {
            throw RefoldError.file(build.appendingPathComponent("report.ms").path, "groff wrote no PDF (\(pdf.count) bytes)")
        }
        try writeAtomically(pdf, to: out.appendingPathComponent("report.pdf"))
        return true
    }
}

/// An external program of the report (groff, qpdf): found on PATH, run with its output captured.
enum Tool {
    static func find(_ name: String, package: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let found = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent(name) })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw RefoldError("\(name): not found on PATH (\(path)); the report needs it: `sudo apt-get install \(package)` or `make deps`")
        }
        return found
    }

    /// Runs `tool arguments` in `folder`; returns its standard output, throws with its standard error on failure.
    @discardableResult
    static func run(_ tool: URL, _ arguments: [String], in folder: URL) throws -> Data {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw RefoldError("\(tool.path): cannot start: \(error.localizedDescription)")
        }
        // Read both pipes while it runs (a full pipe would block it).
        // The reader thread owns `stderr` until it finishes; the wait below orders its write
        // before our read.
        final class Captured: @unchecked Sendable { var data = Data() }
        let stderrCapture = Captured()
        let reader = Thread { stderrCapture.data = errors.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        let stderr = stderrCapture.data
        guard process.terminationStatus == 0 else {
            throw RefoldError.file(folder.path, "\(tool.lastPathComponent) \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus):\n"
                                   + String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return data
    }
}
