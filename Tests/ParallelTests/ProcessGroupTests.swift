import Foundation
import Parallel
import Tensor
import TestSupport
import XCTest

/// The MPI layer without mpirun: one process, rank 0 of 1, every collective the identity.
final class ProcessGroupTests: XCTestCase {
    func testLaunchIsDetectedFromTheLaunchersEnvironment() {
        XCTAssertFalse(ProcessGroup.launchedByMPI([:]))
        XCTAssertFalse(ProcessGroup.launchedByMPI(["SLURM_JOB_ID": "7", "PATH": "/usr/bin"]), "a Slurm job is not an MPI launch")
        XCTAssertTrue(ProcessGroup.launchedByMPI(["OMPI_COMM_WORLD_SIZE": "2"]), "mpirun")
        XCTAssertTrue(ProcessGroup.launchedByMPI(["PMIX_RANK": "0"]), "srun --mpi=pmix")
        XCTAssertTrue(ProcessGroup.launchedByMPI(["PMI_SIZE": "4"]), "PMI-2")
    }

    func testWithoutMPIRunTheWorldIsOneProcessAndCollectivesKeepTheValues() throws {
        let world = ProcessGroup.world
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        XCTAssertTrue(world.isRoot)
        var values: [Float] = [1.5, -2, 3e7, .nan]
        world.allreduceSum(&values)
        XCTAssertEqual(values.prefix(3), [1.5, -2, 3e7])
        XCTAssertTrue(values[3].isNaN)
        world.broadcast(&values)
        XCTAssertEqual(values.count, 4)
        var bytes: [UInt8] = Array("rank 0".utf8)
        world.broadcast(bytes: &bytes)
        XCTAssertEqual(bytes, Array("rank 0".utf8))
        world.barrier()
        XCTAssertEqual(try world.gather(bytes: bytes), [bytes])
    }
}

/// The MPI layer and data-parallel training on 2 ranks of `mpirun --oversubscribe` (skipped when
/// mpirun is not installed).
final class TwoRankTests: XCTestCase {
    struct RankResult: Decodable {
        var rank: Int
        var size: Int
        var allreduce: [Float]
        var broadcastFloats: [Float]
        var broadcastText: String
        var padding: String
    }

    /// Allreduce of x_r[i] = (r + 1) i + 1/2 sums exactly (integers and halves below 2^24),
    /// broadcasts carry rank 0's floats and bytes, gather brings payloads of different lengths.
    func testCollectivesOnTwoRanks() throws {
        _ = try MPIRun.requireMPIRun()
        let out = temporaryFolder().appendingPathComponent("collectives.json")
        let count = 4099
        try MPIRun.run(ranks: 2, ["mpi-selftest", "collectives", "--count", String(count), "--out", out.path])
        let results = try JSONDecoder().decode([RankResult].self, from: Data(contentsOf: out))
        XCTAssertEqual(results.map(\.rank), [0, 1])
        let expected = (0..<count).map { Float(1 + 2) * Float($0) + 2 * 0.5 }
        for result in results {
            XCTAssertEqual(result.size, 2)
            XCTAssertEqual(result.allreduce, expected, "allreduce on rank \(result.rank)")
            XCTAssertEqual(result.broadcastFloats, (0..<count).map { Float($0) * 0.25 }, "broadcast on rank \(result.rank)")
            XCTAssertEqual(result.broadcastText, "broadcast from rank 0", "byte broadcast on rank \(result.rank)")
            XCTAssertEqual(result.padding, String(repeating: "rank \(result.rank) ", count: result.rank + 1))
        }
    }

    struct TrainingResult: Decodable {
        var ranks: Int
        var trainLoss: Double
        var parameters: [Float]
    }

    /// k = 4 Adam steps of a small cINN: 2 ranks with 32 events each (rank 1 starting from other
    /// weights, which rank 0's broadcast overwrites) against one process with the whole batch of 64.
    /// The difference is the order of Float32 sums (shard means weighted and added instead of one
    /// mean): measured 6e-8 on weights of size up to 10; Adam moves a weight by at most
    /// lr = 2e-3 a step, 8e-3 in 4 steps, and the bound is 1e-4 of that.
    func testTwoRanksTrainLikeOneProcessWithTheWholeBatch() throws {
        _ = try MPIRun.requireMPIRun()
        let folder = temporaryFolder()
        let arguments = ["mpi-selftest", "training", "--batch", "64", "--steps", "4", "--seed", "19", "--out"]
        let single = folder.appendingPathComponent("single.json"), parallel = folder.appendingPathComponent("parallel.json")
        try MPIRun.run(ranks: nil, arguments + [single.path])
        try MPIRun.run(ranks: 2, arguments + [parallel.path])
        let one = try JSONDecoder().decode(TrainingResult.self, from: Data(contentsOf: single))
        let two = try JSONDecoder().decode(TrainingResult.self, from: Data(contentsOf: parallel))
        XCTAssertEqual(one.ranks, 1)
        XCTAssertEqual(two.ranks, 2)
        assertClose(one.trainLoss, two.trainLoss, rel: 1e-5, "epoch loss")
        XCTAssertEqual(one.parameters.count, two.parameters.count)
        var largest: Float = 0
        for (a, b) in zip(one.parameters, two.parameters) { largest = max(largest, abs(a - b)) }
        XCTAssertLessThan(largest, 8e-3 * 1e-4, "largest weight difference after 4 steps")
        print("2 ranks vs 1 process after 4 steps: largest weight difference \(largest), loss \(one.trainLoss) vs \(two.trainLoss)")
    }
}

/// Data-parallel GAN training on 2 ranks of `mpirun --oversubscribe`: the ranks see different
/// shards and draw different noise, so only averaged gradients keep their weights equal.
final class TwoRankGANTests: XCTestCase {
    struct Result: Decodable {
        var ranks: Int
        var discriminatorLoss: Double
        var generatorLoss: Double
        var initial: [Float]
        var trained: [[Float]]
    }

    func testTwoRanksKeepIdenticalWeightsThroughGANSteps() throws {
        _ = try MPIRun.requireMPIRun()
        let out = temporaryFolder().appendingPathComponent("gan.json")
        try MPIRun.run(ranks: 2, ["mpi-selftest", "gan", "--batch", "64", "--steps", "4", "--out", out.path])
        let result = try JSONDecoder().decode(Result.self, from: Data(contentsOf: out))
        XCTAssertEqual(result.ranks, 2)
        XCTAssertEqual(result.trained.count, 2)
        XCTAssertEqual(result.trained[0], result.trained[1], "rank 0 and rank 1 weights after 4 discriminator and 2 generator steps")
        XCTAssertEqual(result.trained[0].count, result.initial.count)
        XCTAssertNotEqual(result.trained[0], result.initial, "the steps moved the weights")
        XCTAssertTrue(result.discriminatorLoss.isFinite && result.generatorLoss.isFinite)
    }
}
