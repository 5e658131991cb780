import Foundation

extension Bench {
    /// The MPI rows: an allreduce of the paper cINN's 4.6M gradient floats and one data-parallel
    /// training step of the paper cINN (global batch 512), each as `refold mpi-selftest timing` in
    /// one process and under `mpirun -np 2` (one BLAS thread per rank), and the scaling efficiency
    /// t_1 / (2 t_2) of the step. Without mpirun the rows say so and carry the one-process numbers.
    func parallelWorkloads(_ record: (String, [String: Double]) -> Void) {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        guard let one = timing(ranks: 1) else { return }
        guard let two = timing(ranks: 2) else {
            FileHandle.standardError.write(Data("bench: mpirun not found or failed; the MPI rows carry one process only\n".utf8))
            record("allreduce_4.6M_floats", ["ranks_1_seconds": one.allreduceSeconds, "cores": cores])
            return
        }
        record("allreduce_4.6M_floats", ["ranks_1_seconds": one.allreduceSeconds, "ranks_2_seconds": two.allreduceSeconds,
                                         "gigabytes_per_second_2_ranks": 4.6e6 * 4 / two.allreduceSeconds / 1e9, "cores": cores])
        if let t1 = one.stepSeconds, let t2 = two.stepSeconds {
            record("cinn_paper_data_parallel_step_b512", ["ranks_1_seconds": t1, "ranks_2_seconds": t2,
                                                          "scaling_efficiency_1_to_2": t1 / (2 * t2), "cores": cores,
                                                          "blas_threads_per_rank": 1])
        }
    }

    /// `refold mpi-selftest timing` on `ranks` ranks (1: a plain process), its JSON line decoded;
    /// nil when mpirun is missing or the run fails.
    private func timing(ranks: Int) -> ParallelSelfTest.Timing.Result? {
        let process = Process()
        let refold = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMP_NUM_THREADS"] = "1"
        environment["BLIS_NUM_THREADS"] = "1"
        process.environment = environment
        let arguments = ["mpi-selftest", "timing", "--seed", String(seed)]
        if ranks == 1 {
            process.executableURL = URL(fileURLWithPath: refold)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["mpirun", "--oversubscribe", "-np", String(ranks), refold] + arguments
        }
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }) else { return nil }
        return try? JSONDecoder().decode(ParallelSelfTest.Timing.Result.self, from: Data(line.utf8))
    }
}
