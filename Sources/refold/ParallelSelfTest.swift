import ArgumentParser
import Autograd
import Flows
import Foundation
import GAN
import Parallel
import Tensor

/// `mpirun -np N refold mpi-selftest collectives|map|training|gan --out FILE`: what Tests/ParallelTests
/// launches under mpirun. Rank 0 writes what every rank saw (`ParallelCheck`) as JSON; the test
/// checks it. `mpi-selftest timing` is what `refold bench` launches for its MPI rows.
struct ParallelSelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-selftest",
        abstract: "Check the MPI layer under mpirun (for the tests).",
        shouldDisplay: false,
        subcommands: [Collectives.self, Map.self, Training.self, AdversarialTraining.self, Timing.self])

    /// The JSON file rank 0 writes: every rank checks it before any work (issue 20: an existing
    /// file needs `--force`), so no rank has started when one refuses.
    struct OutputFile: ParsableArguments {
        @Option(help: "The JSON file rank 0 writes.") var out: String
        @Flag(help: "Overwrite an existing --out.") var force = false

        var url: URL { URL(fileURLWithPath: out) }
        func check() throws { try OutputGuard.check(url, force: force) }
    }

    /// The upper bound of the float and item counts here: an allreduce of 10^8 floats takes 400 MB
    /// per buffer, far above the paper cINN's 4.6M gradients that the tests and `refold bench` use.
    static let counts = 1...100_000_000

    struct Collectives: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run every collective; rank 0 writes what each rank received.")

        @Option(help: "Floats in the allreduce and the broadcast (at most 100000000).") var count = 4099
        @OptionGroup var output: OutputFile

        func validate() throws { try checkCount("--count", count, in: ParallelSelfTest.counts) }

        func run() throws {
            try output.check()
            let all = try ParallelCheck.Collectives.run(count: count)
            guard ProcessGroup.world.isRoot else { return }
            try writeJSONAtomically(all, to: output.url)
        }
    }

    /// `distributedMap` over `count` items, item i = [i, a normal draw of stream i, +inf for i = 2,
    /// NaN for i = 3, else 0]; rank 0 writes the Doubles' bit patterns.
    struct Map: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Spread items over the ranks; rank 0 writes the assembled list.")

        @Option(help: "Items (at most 100000000).") var count = 7
        @OptionGroup var output: OutputFile

        func validate() throws { try checkCount("--count", count, in: ParallelSelfTest.counts) }

        func run() throws {
            try output.check()
            let rng = RNGStream(seed: 19)
            let items = try ProcessGroup.world.distributedMap(count) { i -> [Double] in
                [Double(i), rng.child(index: i).normal(), i == 2 ? .infinity : i == 3 ? .nan : 0]
            }
            guard ProcessGroup.world.isRoot else { return }
            try writeJSONAtomically(items.map { $0.map(\.bitPattern) }, to: output.url)
        }
    }

    /// The options of a short training run.
    struct RunOptions: ParsableArguments {
        @Option(help: "Events in a global batch (split over the ranks; at most 100000).") var batch = 64
        @Option(help: "Global batches: one epoch of steps x batch events (at most 1000).") var steps = 4
        @Option(help: "The seed of data, weights and shuffle.") var seed: UInt64 = 19
        @OptionGroup var output: OutputFile

        /// batch x steps events of at most 7 floats: at most 10^8 events, 2.8 GB.
        func validate() throws {
            try checkCount("--batch", batch, in: 1...100_000)
            try checkCount("--steps", steps, in: 1...1_000)
        }

        /// Gathers every rank's weights and writes them with rank 0's losses (rank 0 only).
        func write(losses: [Double], initial: [Float], model: some Module) throws {
            let trained = model.parameterVariables.flatMap(\.value.storage)
            guard let result = try ParallelCheck.Training.gather(losses: losses, initial: initial, trained: trained) else { return }
            try writeJSONAtomically(result, to: output.url)
        }
    }

    /// `steps` Adam steps of a small cINN on global batches of `batch` events; rank 1 starts from
    /// other weights, which rank 0's broadcast must overwrite.
    struct Training: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Train a small cINN data-parallel; rank 0 writes losses and weights.")

        @OptionGroup var options: RunOptions

        func run() throws {
            try options.output.check()
            let rng = RNGStream(seed: options.seed)
            let n = options.batch * options.steps
            let xd = Tensor.normal([n, 2], rng: rng.child("detector"))
            var xp = Tensor.normal([n, 3], std: 0.3, rng: rng.child("parton"))
            for i in 0..<n { xp[i, 0] += xd[i, 0]; xp[i, 2] -= xd[i, 1] }
            var config = ConditionalINNConfig.quick
            config.blocks = 3; config.unitsPerLayer = 16; config.conditionUnits = 16; config.conditionOutput = 4
            config.initialization = .kaiming
            // The fixed permutations come from the seed, the same on every rank; the weights do not.
            let model = ConditionalINN(partonDimension: 3, detectorDimension: 2, config: config, rng: rng.child("model"))
            let initial = model.parameterVariables.flatMap(\.value.storage)
            if !ProcessGroup.world.isRoot {
                for p in model.parameterVariables { p.value.storage = p.value.storage.map { $0 * 1.5 + 0.1 } }
            }
            let training = TrainingConfig(epochs: 1, batchSize: options.batch, learningRate: 2e-3, weightDecay: 1e-4,
                                          schedule: .cosine, gradientClip: 5)
            let reports = try FlowTrainer(model: model, config: training, rng: rng.child("trainer")).train(partonLevel: xp, detectorLevel: xd)
            try options.write(losses: reports.map(\.trainLoss), initial: initial, model: model)
        }
    }

    /// One epoch of a small FCGAN (a generator step every second batch); the ranks see different
    /// shards and draw different noise.
    struct AdversarialTraining: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gan",
                                                        abstract: "Train a small FCGAN data-parallel; rank 0 writes losses and every rank's weights.")

        @OptionGroup var options: RunOptions

        func run() throws {
            try options.output.check()
            let rng = RNGStream(seed: options.seed)
            let n = options.batch * options.steps
            let xp = Tensor.normal([n, 3], rng: rng.child("parton")), xd = Tensor.normal([n, 4], rng: rng.child("detector"))
            let config = GANConfig(generatorLayers: 2, discriminatorLayers: 2, unitsPerLayer: 8, noiseDimension: 2)
            let model = try FullyConditionalGAN(partonDimension: 3, detectorDimension: 4, config: config, rng: rng.child("model"))
            let initial = model.parameterVariables.flatMap(\.value.storage)
            let training = GANTrainingConfig(epochs: 1, batchSize: options.batch, discriminatorSteps: 2)
            let reports = try GANTrainer(model: model, config: training, rng: rng.child("trainer")).train(partonLevel: xp, detectorLevel: xd)
            try options.write(losses: reports.flatMap { [$0.discriminatorLoss, $0.generatorLoss] }, initial: initial, model: model)
        }
    }

    /// The allreduce of `floats` floats and a data-parallel step of the paper cINN (global batch
    /// 512) on this world, one BLAS thread per rank; rank 0 prints one JSON object.
    struct Timing: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time an allreduce and a data-parallel cINN step; rank 0 prints JSON.")

        @Option(help: "Floats in the allreduce (the paper cINN's gradients: 4.6M; at most 100000000).") var floats = 4_600_000
        @Option(help: "Timed global batches of the paper cINN (0: no training step; at most 1000).") var batches = 8
        @Option(help: "The seed of weights and data.") var seed: UInt64 = 2026

        struct Result: Codable {
            var ranks: Int
            var allreduceSeconds: Double
            var stepSeconds: Double?
        }

        func validate() throws {
            try checkCount("--floats", floats, in: ParallelSelfTest.counts)
            try checkCount("--batches", batches, in: 0...1_000)
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
