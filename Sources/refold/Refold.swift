import ArgumentParser
import CBLAS
import Foundation

@main
struct Refold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refold",
        abstract: "Partons to detector and back again: generators, unfolding networks and their validation.",
        version: RefoldVersion.string,
        subcommands: [
            Generate.self,
            Train.self,
            Unfold.self,
            UnfoldBinned.self,
            Validate.self,
            Report.self,
            Inspect.self,
            Bench.self,
            Density.self,
            Sample.self,
        ]
    )
}

enum RefoldVersion {
    static let string = "0.1.0"
}
