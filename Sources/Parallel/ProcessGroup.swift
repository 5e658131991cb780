import CMPI
import Foundation
import Tensor

/// The processes of one run, numbered 0 ..< size: Open MPI's MPI_COMM_WORLD when the process was
/// launched by `mpirun` or `srun` (Open MPI's or PMIx's environment names a world), and a single
/// process (rank 0 of 1, every collective a no-op) otherwise, without touching MPI at all.
///
/// Contract: every rank calls the same collectives in the same order with the same counts (as in
/// MPI); a call with a count that differs between ranks is undefined. MPI errors abort the whole
/// job (Open MPI's default MPI_ERRORS_ARE_FATAL). MPI_Init runs on the first use of `world`,
/// MPI_Finalize when the process exits normally; `abortJob` ends every rank after an error on one.
public final class ProcessGroup: @unchecked Sendable {
    /// This process's rank, 0 ..< size.
    public let rank: Int
    /// The number of processes.
    public let size: Int
    /// nil for a single process without MPI.
    private let communicator: MPI_Comm?

    /// Rank 0: the process that writes checkpoints, reports and summaries.
    public var isRoot: Bool { rank == 0 }

    /// The world of this process (initialised once, on first use).
    public static let world: ProcessGroup = launchedByMPI(ProcessInfo.processInfo.environment) ? initialiseMPI() : single

    /// One process: rank 0 of 1.
    public static let single = ProcessGroup(rank: 0, size: 1, communicator: nil)

    /// The ranks a computation (a training, per-event likelihoods) spreads over unless told
    /// otherwise: `world`, or `single` while every rank runs studies of its own (`refold validate`
    /// under mpirun).
    public static var current: ProcessGroup = world

    private init(rank: Int, size: Int, communicator: MPI_Comm?) {
        self.rank = rank; self.size = size; self.communicator = communicator
    }

    /// True when a launcher started this process as one rank of an MPI job: Open MPI's mpirun sets
    /// OMPI_COMM_WORLD_SIZE, PMIx launchers (srun --mpi=pmix, prterun) PMIX_RANK, PMI-2 ones PMI_SIZE.
    public static func launchedByMPI(_ environment: [String: String]) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
    }

    private static func initialiseMPI() -> ProcessGroup {
        var initialised: Int32 = 0
        MPI_Initialized(&initialised)
        if initialised == 0 {
            MPI_Init(nil, nil)
            atexit {
                var finalised: Int32 = 0
                MPI_Finalized(&finalised)
                if finalised == 0 { MPI_Finalize() }
            }
        }
        let comm = refold_mpi_comm_world()
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(comm, &rank)
        MPI_Comm_size(comm, &size)
        return ProcessGroup(rank: Int(rank), size: Int(size), communicator: comm)
    }

    /// Waits until every rank has arrived, polling a non-blocking barrier every millisecond and
    /// sleeping in between: Open MPI's blocking collectives spin, and a rank that finished its share
    /// early would take a core from the ranks still working when cores are shared.
    public func barrier() {
        guard let communicator else { return }
        var request: MPI_Request?
        MPI_Ibarrier(communicator, &request)
        var done: Int32 = 0
        while true {
            MPI_Test(&request, &done, refold_mpi_status_ignore())
            if done != 0 { return }
            usleep(1_000)
        }
    }

    /// Rank `root`'s values on every rank; `values.count` must be the same on every rank.
    public func broadcast(_ values: inout [Float], root: Int = 0) {
        guard let communicator else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            forEachChunk(buffer.count) { offset, count in
                _ = MPI_Bcast(buffer.baseAddress! + offset, count, refold_mpi_float(), Int32(root), communicator)
            }
        }
    }

    /// Rank `root`'s bytes on every rank; the other ranks' `bytes` may have any length (the count
    /// is broadcast first).
    public func broadcast(bytes: inout [UInt8], root: Int = 0) {
        guard let communicator else { return }
        var count = Int64(bytes.count)
        MPI_Bcast(&count, 1, refold_mpi_int64(), Int32(root), communicator)
        let total = Int(count)
        if rank != root { bytes = [UInt8](repeating: 0, count: total) }
        bytes.withUnsafeMutableBufferPointer { buffer in
            forEachChunk(buffer.count) { offset, count in
                _ = MPI_Bcast(buffer.baseAddress! + offset, count, refold_mpi_byte(), Int32(root), communicator)
            }
        }
    }

    /// values[i] = sum over ranks of values[i], on every rank, in place; `values.count` must be the
    /// same on every rank. The order of the sum is Open MPI's and may differ from a serial sum in
    /// the last bits (Float32 round-off).
    public func allreduceSum(_ values: inout [Float]) {
        guard let communicator else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            forEachChunk(buffer.count) { offset, count in
                _ = MPI_Allreduce(refold_mpi_in_place(), buffer.baseAddress! + offset, count, refold_mpi_float(),
                                  refold_mpi_sum(), communicator)
            }
        }
    }

    /// Every rank's bytes (any length, possibly different per rank) at rank `root`, in rank order;
    /// the other ranks get an empty array. Each rank's payload must stay below 2^31 bytes.
    public func gather(bytes: [UInt8], root: Int = 0) throws -> [[UInt8]] {
        guard let communicator else { return [bytes] }
        guard bytes.count <= Int(Int32.max) else {
            throw RefoldError.value("gathered bytes on rank \(rank)", expected: "< 2^31", actual: bytes.count)
        }
        var counts = [Int32](repeating: 0, count: size)
        var mine = Int32(bytes.count)
        _ = counts.withUnsafeMutableBufferPointer { all in
            MPI_Gather(&mine, 1, refold_mpi_int(), all.baseAddress, 1, refold_mpi_int(), Int32(root), communicator)
        }
        var offsets = [Int32](repeating: 0, count: size)
        var total = 0
        if rank == root {
            for r in 0..<size { offsets[r] = Int32(clamping: total); total += Int(counts[r]) }
            guard total <= Int(Int32.max) else {
                throw RefoldError.value("gathered bytes at rank \(root)", expected: "< 2^31 in all", actual: total)
            }
        }
        var received = [UInt8](repeating: 0, count: max(total, 1))
        bytes.withUnsafeBufferPointer { send in
            received.withUnsafeMutableBufferPointer { receive in
                _ = MPI_Gatherv(send.baseAddress, mine, refold_mpi_byte(), receive.baseAddress, &counts, &offsets,
                                refold_mpi_byte(), Int32(root), communicator)
            }
        }
        guard rank == root else { return [] }
        return (0..<size).map { r in Array(received[Int(offsets[r])..<(Int(offsets[r]) + Int(counts[r]))]) }
    }

    /// Ends every rank of the job with `exitCode` (MPI_Abort) when this is one rank of several, so
    /// that an error on one rank does not leave the others waiting in a collective; returns
    /// without doing anything in a single process.
    public func abortJob(exitCode: Int32) {
        guard let communicator, size > 1 else { return }
        MPI_Abort(communicator, exitCode)
    }

    /// MPI counts are Int32: calls `body(offset, count)` on consecutive chunks of at most 2^30 elements.
    private func forEachChunk(_ total: Int, _ body: (Int, Int32) -> Void) {
        let chunk = 1 << 30
        var offset = 0
        while offset < total {
            let count = min(chunk, total - offset)
            body(offset, Int32(count))
            offset += count
        }
    }
}
