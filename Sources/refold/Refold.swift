import ArgumentParser
import CBLAS
import Foundation
import Parallel
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
            ParallelSelfTest.self,
        ]
    )
}

extension Refold {
    /// As ArgumentParser's main, except that training interrupted by SIGINT or SIGTERM exits with
    /// 128 + signal (130, 143) after saying where the last checkpoint is. Under mpirun, MPI starts
    /// before the command runs, only rank 0 writes to standard output, and an error on one rank
    /// ends every rank (MPI_Abort) instead of leaving the others waiting in a collective.
    static func main() {
        let world = ProcessGroup.world
        // Rank 0 speaks for all: the other ranks' standard output (progress, tables) is dropped,
        // their errors still reach standard error.
        if !world.isRoot, let null = fopen("/dev/null", "w") {
            fflush(stdout)
            dup2(fileno(null), STDOUT_FILENO)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let interrupted as Interrupted {
            FileHandle.standardError.write(Data("Error: \(interrupted.message)\n".utf8))
            world.abortJob(exitCode: interrupted.exitCode)
            Foundation.exit(interrupted.exitCode)
        } catch {
            let error = namingTheFile(error)
            // A deliberate ExitCode comes after the collectives (refold validate's failed gates).
            if world.size > 1, !(error is ExitCode), exitCode(for: error) != .success {
                FileHandle.standardError.write(Data("rank \(world.rank) of \(world.size): \(fullMessage(for: error))\n".utf8))
                world.abortJob(exitCode: exitCode(for: error).rawValue)
            }
            exit(withError: error)
        }
    }

    /// Foundation's file errors (creating, reading or writing a path) as a `RefoldError` naming the
    /// path and the system's reason, instead of the raw `NSCocoaErrorDomain` dump (issue 20, 6).
    static func namingTheFile(_ error: Error) -> Error {
        guard let cocoa = error as? CocoaError, let path = cocoa.filePath ?? cocoa.url?.path else { return error }
        let underlying = (cocoa.userInfo[NSUnderlyingErrorKey] as? Error).map { $0 as NSError }
        let reason = underlying.map { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : $0.localizedDescription }
            ?? "error \(cocoa.code.rawValue) (\(cocoa.localizedDescription))"
        return RefoldError.file(path, "cannot create, read or write it: \(reason)")
    }
}

enum RefoldVersion {
    static let string = "0.1.0"
}
