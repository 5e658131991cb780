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
    /// Allreduce of x_r[i] = (r + 1) i + 1/2 sums exactly (integers and halves below 2^24),
    /// broadcasts carry rank 0's floats and bytes, gather brings payloads of different lengths.
    func testCollectivesOnTwoRanks() throws {
        _ = try MPIRun.requireMPIRun()
        let out = temporaryFolder().appendingPathComponent("collectives.json")
        let count = 4099
        try MPIRun.run(ranks: 2, ["mpi-selftest", "collectives", "--count", String(count), "--out", out.path])
        let results = try JSONDecoder().decode([ParallelCheck.Collectives].self, from: Data(contentsOf: out))
        XCTAssertEqual(results.map(\.rank), [0, 1])
        let expected = (0..<count).map { Float(1 + 2) * Float($0) + 2 * 0.5 }
        for result in results {
            XCTAssertEqual(result.size, 2)
            XCTAssertEqual(result.allreduce, expected, "allreduce on rank \(result.rank)")
            XCTAssertEqual(result.broadcastFloats, (0..<count).map { Float($0) * 0.25 }, "broadcast on rank \(result.rank)")
            XCTAssertEqual(result.broadcastText, ParallelCheck.Collectives.rootText, "byte broadcast on rank \(result.rank)")
            XCTAssertEqual(result.padding, String(repeating: "rank \(result.rank) ", count: result.rank + 1))
        }
    }

    /// distributedMap on 2 ranks (items 0, 2, 4, 6 on rank 0; 1, 3, 5 on rank 1) assembles the list
    /// of one process bit for bit, infinities and NaN included.
    func testDistributedMapOnTwoRanksEqualsOneProcess() throws {
        _ = try MPIRun.requireMPIRun()
        let folder = temporaryFolder()
        let single = folder.appendingPathComponent("single.json"), parallel = folder.appendingPathComponent("parallel.json")
        try MPIRun.run(ranks: nil, ["mpi-selftest", "map", "--count", "7", "--out", single.path])
        try MPIRun.run(ranks: 2, ["mpi-selftest", "map", "--count", "7", "--out", parallel.path])
        let one = try JSONDecoder().decode([[UInt64]].self, from: Data(contentsOf: single))
        let two = try JSONDecoder().decode([[UInt64]].self, from: Data(contentsOf: parallel))
        XCTAssertEqual(one, two)
        let values = two.map { $0.map(Double.init(bitPattern:)) }
        XCTAssertEqual(values.map { $0[0] }, (0..<7).map(Double.init), "items in order")
        XCTAssertEqual(values[2][2], .infinity)
        XCTAssertTrue(values[3][2].isNaN)
        XCTAssertEqual(Set(values.map { $0[1] }).count, 7, "every item drew from its own stream")
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
        let one = try JSONDecoder().decode(ParallelCheck.Training.self, from: Data(contentsOf: single))
        let two = try JSONDecoder().decode(ParallelCheck.Training.self, from: Data(contentsOf: parallel))
        XCTAssertEqual(one.ranks, 1)
        XCTAssertEqual(two.ranks, 2)
        XCTAssertEqual(two.trained.count, 2)
        XCTAssertEqual(two.trained[0], two.trained[1], "both ranks hold the same weights")
        XCTAssertEqual(one.initial, two.initial)
        assertAllClose(one.losses, two.losses, rel: 1e-5, "epoch loss")
        XCTAssertEqual(one.trained[0].count, two.trained[0].count)
        var largest: Float = 0, moved: Float = 0
        for (a, b) in zip(one.trained[0], two.trained[0]) { largest = max(largest, abs(a - b)) }
        for (a, b) in zip(one.trained[0], one.initial) { moved = max(moved, abs(a - b)) }
        XCTAssertGreaterThan(moved, 1e-3, "the steps moved the weights")
        XCTAssertLessThan(largest, 8e-3 * 1e-4, "largest weight difference after 4 steps")
        print("2 ranks vs 1 process after 4 steps: largest weight difference \(largest) (largest step \(moved)), losses \(one.losses) vs \(two.losses)")
    }

    /// Data-parallel GAN training: the ranks see different shards and draw different noise, so only
    /// averaged gradients keep their weights equal through 4 discriminator and 2 generator steps.
    func testTwoRanksKeepIdenticalWeightsThroughGANSteps() throws {
        _ = try MPIRun.requireMPIRun()
        let out = temporaryFolder().appendingPathComponent("gan.json")
        try MPIRun.run(ranks: 2, ["mpi-selftest", "gan", "--batch", "64", "--steps", "4", "--out", out.path])
        let result = try JSONDecoder().decode(ParallelCheck.Training.self, from: Data(contentsOf: out))
        XCTAssertEqual(result.ranks, 2)
        XCTAssertEqual(result.trained.count, 2)
        XCTAssertEqual(result.trained[0], result.trained[1], "rank 0 and rank 1 weights after the steps")
        XCTAssertEqual(result.trained[0].count, result.initial.count)
        XCTAssertNotEqual(result.trained[0], result.initial, "the steps moved the weights")
        XCTAssertTrue(result.losses.allSatisfy(\.isFinite), "losses \(result.losses)")
    }
}

/// `mpirun -np 2 refold validate` of two small studies (the binned-smearing spec under two names
/// and widths) against the same studies run one after another in one process.
final class TwoRankValidateTests: XCTestCase {
    static let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Toys")

    func testTwoRankFanOutEqualsTheSerialRun() throws {
        _ = try MPIRun.requireMPIRun()
        let folder = temporaryFolder()
        let specs = folder.appendingPathComponent("specs")
        try FileManager.default.createDirectory(at: specs, withIntermediateDirectories: true)
        let template = try String(contentsOf: Self.toys.appendingPathComponent("binned-smearing.toml"), encoding: .utf8)
        for (name, width) in [("smearing-narrow", "0.4"), ("smearing-wide", "0.5")] {
            XCTAssertTrue(template.contains("name = \"binned-smearing\"\nkind") && template.contains("smearing = 0.5 "))
            let text = template.replacingOccurrences(of: "name = \"binned-smearing\"\nkind", with: "name = \"\(name)\"\nkind")
                .replacingOccurrences(of: "smearing = 0.5 ", with: "smearing = \(width) ")
            try text.write(to: specs.appendingPathComponent("\(name).toml"), atomically: true, encoding: .utf8)
        }
        let serial = folder.appendingPathComponent("serial"), ranks = folder.appendingPathComponent("ranks")
        let common = ["validate", specs.path, "--profile", "quick", "--seed", "7"]
        try MPIRun.run(ranks: nil, common + ["--jobs", "1", "--out", serial.path], timeout: 120)
        try MPIRun.run(ranks: 2, common + ["--out", ranks.path], timeout: 120)
        for study in ["smearing-narrow", "smearing-wide"] {
            let one = try gates(serial, study), two = try gates(ranks, study)
            XCTAssertFalse(one.isEmpty, "\(study) has gates")
            XCTAssertEqual(one, two, "\(study): gates of the 2-rank run against the serial run")
        }
        let index = try String(contentsOf: ranks.appendingPathComponent("index.md"), encoding: .utf8)
        XCTAssertTrue(index.contains("smearing-narrow") && index.contains("smearing-wide"), "rank 0's index.md lists both:\n\(index)")
    }

    /// The gates of `<out>/<study>/summary.json` as JSON objects (name, value, noise, verdict, ...).
    func gates(_ out: URL, _ study: String) throws -> [NSDictionary] {
        let data = try Data(contentsOf: out.appendingPathComponent(study).appendingPathComponent("summary.json"))
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let result = try XCTUnwrap(summary["result"] as? [String: Any])
        return try XCTUnwrap(result["gates"] as? [NSDictionary])
    }
}
