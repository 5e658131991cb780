import ArgumentParser
import Foundation
import Reporting
import Validation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild index.md and the multi-page report.pdf from the summaries in a report folder.")

    @Argument(help: "The report folder written by `refold validate`.") var folder: String = "Reports"

    func run() throws {
        let out = URL(fileURLWithPath: folder)
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
