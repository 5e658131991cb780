import Foundation
import TestSupport
import XCTest

/// Launches `refold` (the one `swift build --build-tests` put next to the test bundle) under
/// `mpirun --oversubscribe` with `ranks` processes, one BLAS thread each, allowed to run as root.
enum MPIRun {
    /// mpirun on PATH, or nil (the tests that need it skip).
    static var mpirun: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func requireMPIRun() throws -> URL {
        guard let mpirun else {
            throw XCTSkip("mpirun not found on PATH: install openmpi-bin (make deps does) to run the MPI tests")
        }
        return mpirun
    }

    /// The refold executable of this build: next to the test bundle.
    static func refold() throws -> URL { try RefoldExecutable.url() }

    /// The environment of a rank: root allowed, no single-copy mechanism (ptrace is barred in
    /// containers), one BLAS thread per rank, nothing inherited from an enclosing MPI job.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        environment["OMP_NUM_THREADS"] = "1"
        environment["BLIS_NUM_THREADS"] = "1"
        return environment
    }

    /// Runs `refold arguments` on `ranks` ranks (or as a plain process for ranks == nil); throws
    /// with the output when the exit status is not 0 or the run takes longer than `timeout`.
    @discardableResult
    static func run(ranks: Int?, _ arguments: [String], timeout: TimeInterval = 60) throws -> String {
        let refold = try refold()
        let process = Process()
        if let ranks {
            process.executableURL = try requireMPIRun()
            process.arguments = ["--oversubscribe", "--allow-run-as-root", "-np", String(ranks), refold.path] + arguments
        } else {
            process.executableURL = refold
            process.arguments = arguments
        }
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("refold-mpirun-\(getpid())-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw NSError(domain: "MPIRun", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot create \(output.path)"])
        }
        let log = try FileHandle(forWritingTo: output)
        process.standardOutput = log
        process.standardError = log
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let timedOut = finished.wait(timeout: .now() + timeout) == .timedOut
        if timedOut { process.terminate(); finished.wait() }
        try log.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: output)
        let command = ([process.executableURL!.path] + (process.arguments ?? [])).joined(separator: " ")
        if timedOut { throw NSError(domain: "MPIRun", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(command) took over \(timeout) s:\n\(text)"]) }
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "MPIRun", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(command) exited with \(process.terminationStatus):\n\(text)"])
        }
        return text
    }
}
