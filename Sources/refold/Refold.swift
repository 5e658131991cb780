import ArgumentParser
import CBLAS
import Foundation
import Tensor

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
            Mem.self,
            Infer.self,
        ]
    )
}

extension Refold {
    /// As ArgumentParser's main, except that training interrupted by SIGINT or SIGTERM exits with
    /// 128 + signal (130, 143) after saying where the last checkpoint is.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let interrupted as Interrupted {
            FileHandle.standardError.write(Data("Error: \(interrupted.message)\n".utf8))
            Foundation.exit(interrupted.exitCode)
        } catch {
            exit(withError: error)
        }
    }
}

enum RefoldVersion {
    static let string = "0.1.0"
}
