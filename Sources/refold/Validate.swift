import ArgumentParser
import Studies
import Foundation
import Parallel
import Reporting
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
    @Option(help: "Studies run at once, each in its own process (default: the number of cores).") var jobs: Int?
    @Option(help: "A paired sample folder (refold generate's format) to train on instead of the study's generator; with --test, one study of kind zwDetector, zwISR or wprime.")
    var train: String?
    @Option(help: "The paired sample folder to unfold and compare with (with --train).") var test: String?
    @Flag(help: .hidden) var summaryOnly = false

    func run() throws {
        let studies = try StudySpec.load(URL(fileURLWithPath: specs))
        for study in studies { try StudyCatalog.checkNetworkSections(study) }
        let outFolder = URL(fileURLWithPath: out)
        var suite = ValidationSuite(registry: StudyCatalog.registry(), profile: profile, seed: seed, out: outFolder, refoldVersion: RefoldVersion.string)
        if train != nil || test != nil {
            guard let train, let test else { throw ValidationError("--train and --test: give both folders (got only \(train == nil ? "--test" : "--train"))") }
            guard studies.count == 1 else {
                throw ValidationError("--train/--test: expected one study file, got \(studies.count) studies in \(specs)")
            }
            try SampleFolders.require(studies[0])
            suite.sampleFolders = try SampleFolders.read(training: URL(fileURLWithPath: train), test: URL(fileURLWithPath: test))
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
