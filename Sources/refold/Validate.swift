import ArgumentParser
import Studies
import Foundation
import Parallel
import Reporting
import Tensor
import Validation

extension ProfileName: ExpressibleByArgument {}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run validation studies (Toys/*.toml): gates, summary.json, plots, index.md and report.pdf.")

    @Argument(help: "A study spec (Toys/ring.toml) or a folder of specs (Toys).")
    var specs: String = "Toys"

    @Option(help: "Sizes: quick (2-core machine) or paper (thesis sizes).") var profile: ProfileName = .quick
    @Option(help: "The seed that drives every random number.") var seed: UInt64 = 2026
    @Option(help: "Report folder.") var out: String = "Reports"
    @Option(help: "Studies run at once, each in its own process (default: the number of cores; at most 256).") var jobs: Int?
    @Option(help: "A paired sample folder (refold generate's format) to train on instead of the study's generator; with --test, one study of kind zwDetector, zwISR or wprime.")
    var train: String?
    @Option(help: "The paired sample folder to unfold and compare with (with --train).") var test: String?
    @Flag(help: "Replace the outputs of an earlier run in --out (each study's folder, index.md, report.pdf).") var force = false
    @OptionGroup var nonFinite: NonFiniteOption
    @Flag(help: .hidden) var summaryOnly = false

    func validate() throws {
        if let jobs { try checkCount("--jobs", jobs, in: 1...256) }
    }

    /// What this run writes: `<out>/<study>/` per study, `index.md` and `report.pdf`. None may be
    /// an input (the specs, the sample folders), and one that exists needs `--force`. Every rank
    /// checks before any writes (a barrier under mpirun); the processes of `--jobs` skip it
    /// (`--summary-only`: their parent checked).
    func checkOutputs(_ studies: [StudySpec], out: URL) throws {
        guard !summaryOnly else { return }
        let inputs = [("specs", URL(fileURLWithPath: specs))] + [("--train", train), ("--test", test)].compactMap { option, path in
            path.map { (option, URL(fileURLWithPath: $0)) }
        }
        try OutputGuard.check(out, inputs: inputs, force: true)
        let outputs = studies.map { out.appendingPathComponent($0.name) } + ["index.md", "report.pdf"].map { out.appendingPathComponent($0) }
        for output in outputs { try OutputGuard.check(output, inputs: inputs, force: force) }
        ProcessGroup.world.barrier()
    }

    func run() throws {
        let studies = try StudySpec.load(URL(fileURLWithPath: specs))
        for study in studies { try StudyCatalog.checkNetworkSections(study) }
        let outFolder = URL(fileURLWithPath: out)
        try checkOutputs(studies, out: outFolder)
        var suite = ValidationSuite(registry: StudyCatalog.registry(), profile: profile, seed: seed, out: outFolder, refoldVersion: RefoldVersion.string)
        if train != nil || test != nil {
            guard let train, let test else { throw ValidationError("--train and --test: give both folders (got only \(train == nil ? "--test" : "--train"))") }
            guard studies.count == 1 else {
                throw ValidationError("--train/--test: expected one study file, got \(studies.count) studies in \(specs)")
            }
            try SampleFolders.require(studies[0])
            let folders = try SampleFolders.read(training: URL(fileURLWithPath: train), test: URL(fileURLWithPath: test), nonFinite: nonFinite.policy)
            for record in folders.records { reportDropped(record.droppedNonFinite ?? 0, kept: record.events, folder: record.path) }
            suite.sampleFolders = folders
        }
        if summaryOnly {
            // One part of a parallel run: the parent writes index.md and report.pdf.
            let summaries = try suite.run(studies, writeIndex: false)
            if ValidationSuite.failed(summaries) { throw ExitCode(1) }
            return
        }
        let world = ProcessGroup.world
        if world.size > 1 {
            // mpirun -np N refold validate: the studies spread over the ranks; rank 0 reports.
            let summaries = try suite.runOnRanks(studies, group: world)
            guard world.isRoot else { return }
            try finish(summaries, out: outFolder)
            return
        }
        let parallel = min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, studies.count)
        guard parallel >= 1 else { throw ValidationError("--jobs: expected at least 1, got \(jobs ?? 0)") }
        let summaries = parallel > 1
            ? try suite.runInProcesses(studies, jobs: parallel, executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath())
            : try suite.run(studies)
        try finish(summaries, out: outFolder)
    }

    /// report.pdf, the closing line, and exit status 1 if a study failed.
    func finish(_ summaries: [StudySummary], out outFolder: URL) throws {
        try ValidationSuite.writeReportPDF(summaries, to: outFolder)
        let pending = summaries.filter { if case .pending = $0.result.status { return true } else { return false } }.count
        let failed = summaries.filter { $0.result.status.failsRun }.count
        print("\(summaries.count) studies: \(summaries.count - pending - failed) passed, \(pending) pending, \(failed) failed; see \(outFolder.appendingPathComponent("index.md").path)")
        if failed > 0 { throw ExitCode(1) }
    }
}
