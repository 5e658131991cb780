import Foundation

/// Speed measurements for `refold bench` (never used in tests).
public enum ParallelBenchmarks {
    /// Median seconds of one in-place allreduce sum of `floats` floats over `group`, from
    /// `repetitions` timed calls after 2 warm-up ones, each started together after a barrier
    /// (rank 0's clock). One process: the cost of the no-op.
    public static func allreduce(floats: Int, repetitions: Int = 10, group: ProcessGroup = .world) -> Double {
        var buffer = (0..<floats).map { Float($0 % 1024) * 1e-3 }
        for _ in 0..<2 { group.allreduceSum(&buffer) }
        let times = (0..<repetitions).map { _ -> Double in
            group.barrier()
            let start = Date()
            group.allreduceSum(&buffer)
            return Date().timeIntervalSince(start)
        }.sorted()
        return times[times.count / 2]
    }
}
