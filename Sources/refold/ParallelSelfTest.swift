import ArgumentParser
import Autograd
import Flows
import Foundation
import GAN
import Parallel
import Tensor

/// `mpirun -np N refold mpi-selftest collectives|training|gan --out FILE`: what Tests/ParallelTests
/// launches under mpirun. Rank 0 writes what every rank saw as JSON; the test checks it.
/// `mpi-selftest timing` is what `refold bench` launches for its MPI rows.
struct ParallelSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-selftest",
        abstract: "Check the MPI layer under mpirun (for the tests).",
        shouldDisplay: false,
        subcommands: [Collectives.self, Training.self, AdversarialTraining.self, Timing.self])

    /// Every collective once: allreduce of x_r[i] = (r + 1) i + 1/2, a Float and a byte broadcast
    /// from rank 0, a barrier, and a gather of each rank's results (payloads of different lengths).
    struct Collectives: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run every collective; rank 0 writes what each rank received.")

        @Option(help: "Floats in the allreduce and the broadcast.") var count = 4099
        @Option(help: "The JSON file rank 0 writes.") var out: String

        struct RankResult: Codable {
            var rank: Int
            var size: Int
            var allreduce: [Float]
            var broadcastFloats: [Float]
            var broadcastText: String
            /// rank + 1 repetitions of "rank r ", so that the gathered payloads differ in length.
            var padding: String
        }

        func run() throws {
            let group = ProcessGroup.world
            var reduced = (0..<count).map { Float(group.rank + 1) * Float($0) + 0.5 }
            group.allreduceSum(&reduced)
            var floats = group.isRoot ? (0..<count).map { Float($0) * 0.25 } : [Float](repeating: -1, count: count)
            group.broadcast(&floats)
            var text = group.isRoot ? Array("broadcast from rank 0".utf8) : []
            group.broadcast(bytes: &text)
            group.barrier()
            let mine = RankResult(rank: group.rank, size: group.size, allreduce: reduced, broadcastFloats: floats,
                                  broadcastText: String(decoding: text, as: UTF8.self),
                                  padding: String(repeating: "rank \(group.rank) ", count: group.rank + 1))
            let gathered = try group.gather(bytes: Array(try JSONEncoder().encode(mine)))
            guard group.isRoot else { return }
            let all = try gathered.map { try JSONDecoder().decode(RankResult.self, from: Data($0)) }
            try writeJSONAtomically(all, to: URL(fileURLWithPath: out))
        }
    }

    /// `steps` optimizer steps of a small cINN on global batches of `batch` events; rank 0 writes
    /// the epoch loss and the final weights, to compare N ranks with one process.
    struct Training: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a small cINN data-parallel; rank 0 writes loss and weights.")

        @Option(help: "Events in a global batch (split over the ranks).") var batch = 64
        @Option(help: "Optimizer steps (one epoch of steps x batch events).") var steps = 4
        @Option(help: "The seed of data, weights and shuffle.") var seed: UInt64 = 19
        @Option(help: "The JSON file rank 0 writes.") var out: String

        struct Result: Codable {
            var ranks: Int
            var trainLoss: Double
            var parameters: [Float]
        }

        func run() throws {
            let rng = RNGStream(seed: seed)
            let n = batch * steps
            let xd = Tensor.normal([n, 2], rng: rng.child("detector"))
            var xp = Tensor.normal([n, 3], std: 0.3, rng: rng.child("parton"))
            for i in 0..<n { xp[i, 0] += xd[i, 0]; xp[i, 2] -= xd[i, 1] }
            var config = ConditionalINNConfig.quick
            config.blocks = 3; config.unitsPerLayer = 16; config.conditionUnits = 16; config.conditionOutput = 4
            config.initialization = .kaiming
            let model = ConditionalINN(partonDimension: 3, detectorDimension: 2, config: config, rng: rng.child("model"))
            // Every rank but 0 starts from other weights: the broadcast must overwrite them with rank 0's.
            // (The fixed permutations are drawn from the seed, the same on every rank.)
            if !ProcessGroup.world.isRoot {
                for p in model.parameterVariables { p.value.storage = p.value.storage.map { $0 * 1.5 + 0.1 } }
            }
            let training = TrainingConfig(epochs: 1, batchSize: batch, learningRate: 2e-3, weightDecay: 1e-4,
                                          schedule: .cosine, gradientClip: 5)
            let trainer = try FlowTrainer(model: model, config: training, rng: rng.child("trainer"))
            let reports = try trainer.train(partonLevel: xp, detectorLevel: xd)
            guard ProcessGroup.world.isRoot else { return }
            let result = Result(ranks: ProcessGroup.world.size, trainLoss: reports[0].trainLoss,
                                parameters: model.parameterVariables.flatMap(\.value.storage))
            try writeJSONAtomically(result, to: URL(fileURLWithPath: out))
        }
    }

    /// One epoch of `steps` global batches of a small FCGAN (noise and shards differ per rank);
    /// rank 0 writes every rank's final weights, which data-parallel training keeps identical.
    struct AdversarialTraining: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gan",
                                                        abstract: "Train a small FCGAN data-parallel; rank 0 writes every rank's weights.")

        @Option(help: "Events in a global batch (split over the ranks).") var batch = 64
        @Option(help: "Global batches (discriminator steps; a generator step every second one).") var steps = 4
        @Option(help: "The seed of data, weights and shuffle.") var seed: UInt64 = 19
        @Option(help: "The JSON file rank 0 writes.") var out: String

        struct Result: Codable {
            var ranks: Int
            var discriminatorLoss: Double
            var generatorLoss: Double
            var initial: [Float]
            /// Each rank's weights after training, in rank order.
            var trained: [[Float]]
        }

        func run() throws {
            let rng = RNGStream(seed: seed)
            let n = batch * steps
            let xp = Tensor.normal([n, 3], rng: rng.child("parton")), xd = Tensor.normal([n, 4], rng: rng.child("detector"))
            let config = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8, noiseDimension: 2)
            let model = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: config, rng: rng.child("model"))
            let initial = model.parameterVariables.flatMap(\.value.storage)
            let training = GANTrainingConfig(epochs: 1, batchSize: batch, discriminatorSteps: 2)
            let reports = try GANTrainer(model: model, config: training, rng: rng.child("trainer"))
                .train(partonLevel: xp, detectorLevel: xd)
            let world = ProcessGroup.world
            let weights = model.parameterVariables.flatMap(\.value.storage)
            let gathered = try world.gather(bytes: weights.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) })
            guard world.isRoot else { return }
            let trained = gathered.map { bytes in bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
            let result = Result(ranks: world.size, discriminatorLoss: reports[0].discriminatorLoss,
                                generatorLoss: reports[0].generatorLoss, initial: initial, trained: trained)
            try writeJSONAtomically(result, to: URL(fileURLWithPath: out))
        }
    }

    /// The allreduce of `floats` floats and a data-parallel step of the paper cINN (global batch
    /// 512) on this world, one BLAS thread per rank; rank 0 prints one JSON object.
    struct Timing: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time an allreduce and a data-parallel cINN step; rank 0 prints JSON.")

        @Option(help: "Floats in the allreduce (the paper cINN's gradients: 4.6M).") var floats = 4_600_000
        @Option(help: "Timed global batches of the paper cINN (0: no training step).") var batches = 8
        @Option(help: "The seed of weights and data.") var seed: UInt64 = 2026

        struct Result: Codable {
            var ranks: Int
            var allreduceSeconds: Double
            var stepSeconds: Double?
        }

        func run() throws {
            BLAS.setThreads(1)
            let world = ProcessGroup.world
            let allreduce = ParallelBenchmarks.allreduce(floats: floats)
            let step = batches > 0 ? try FlowBenchmarks.dataParallelStep(config: .paper, batches: batches, seed: seed) : nil
            guard world.isRoot else { return }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            print(String(decoding: try encoder.encode(Result(ranks: world.size, allreduceSeconds: allreduce, stepSeconds: step)), as: UTF8.self))
        }
    }
}
