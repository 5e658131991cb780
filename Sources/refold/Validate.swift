import ArgumentParser
import Studies
import Foundation
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

    func run() throws {
        StudyCatalog.registerAll()
        let studies = try StudySpec.load(URL(fileURLWithPath: specs))
        let outFolder = URL(fileURLWithPath: out)
        let suite = ValidationSuite(profile: profile, seed: seed, out: outFolder, refoldVersion: RefoldVersion.string)
        let summaries = try suite.run(studies)
        // The report PDF needs gnuplot only when some study drew a plot.
        if summaries.contains(where: { !$0.result.plots.isEmpty }) {
            try ValidationSuite.writeReportPDF(summaries, to: outFolder)
        }
        let pending = summaries.filter { if case .pending = $0.result.status { return true } else { return false } }.count
        let failed = summaries.filter { $0.result.status.failsRun }.count
        print("\(summaries.count) studies: \(summaries.count - pending - failed) passed, \(pending) pending, \(failed) failed; see \(outFolder.appendingPathComponent("index.md").path)")
        if failed > 0 { throw ExitCode(1) }
    }
}
