import ArgumentParser
import Foundation
import Reporting
import Tensor
import Validation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild index.md and the multi-page report.pdf from the summaries in a report folder.")

    @Argument(help: "The report folder written by `refold validate`.") var folder: String = "Reports"
    @Flag(help: "Replace an existing index.md and report.pdf in the folder.") var force = false

    func run() throws {
        let out = URL(fileURLWithPath: folder)
        // The outputs sit beside the summaries they are built from, never on one of them.
        for output in ["index.md", "report.pdf"] { try OutputGuard.check(out.appendingPathComponent(output), option: "FOLDER", force: force) }
        let summaries = try ValidationSuite.readSummaries(in: out)
        guard !summaries.isEmpty else {
            throw ValidationError("\(folder): expected <study>/summary.json files written by `refold validate`, found none")
        }
        try ValidationSuite.writeIndex(summaries, to: out)
        for summary in summaries { print(ValidationSuite.table(summary)) }
        if try ValidationSuite.writeReportPDF(summaries, to: out) {
            print("wrote \(out.appendingPathComponent("report.pdf").path)")
        } else {
            print("no studies: report.pdf not written")
        }
    }
}
