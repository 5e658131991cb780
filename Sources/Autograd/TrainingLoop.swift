import Foundation
import Parallel
import Tensor

/// The epoch loop that every trainer runs (FlowTrainer, and through it the BINN and the inference
/// networks; GANTrainer; EventClassifier; the cINN's condition pre-training): the epochs from
/// `completedEpochs` on, the shuffling and noise streams of each epoch, the learning-rate
/// schedules, the stop on SIGINT or SIGTERM and on a NaN or infinite loss or gradient, and the
/// checkpoint after every epoch with the metadata that `resume` reads back.
///
/// Contract: epoch e draws from streams indexed by e only (`TrainingEpoch.stream`), never from a
/// stream carried over from epoch e - 1, and the optimizer state travels in the checkpoint; so
/// the whole random state at the start of epoch e is (seed, e), and a run resumed from the
/// checkpoint of epoch e - 1 continues bit for bit. A stop (NaN, signal) happens before the
/// checkpoint of the unfinished epoch is written, so the last good one stays.
/// Under mpirun every rank shuffles alike and only rank 0 writes the checkpoint.
public final class TrainingLoop {
    /// The trainer's name in error messages ("FlowTrainer").
    public let name: String
    /// The epochs of the whole run: the schedules and the ETA span them, also when `run` stops
    /// early at `until`.
    public let epochs: Int
    public let batchSize: Int
    public let rng: RNGStream
    public let checkpoint: URL?
    public let parallel: DataParallel
    /// The prefix of the checkpoint metadata keys ("flows" -> "flows.completedEpochs").
    public let keyPrefix: String
    /// Extra metadata written into every checkpoint (model config, column names, ...).
    public var metadata: [String: String]
    /// Epochs finished so far (the next epoch's index).
    public private(set) var completedEpochs = 0

    public init(name: String, epochs: Int, batchSize: Int, rng: RNGStream, checkpoint: URL? = nil, keyPrefix: String = "training",
                metadata: [String: String] = [:], parallel: DataParallel = DataParallel()) {
        self.name = name; self.epochs = epochs; self.batchSize = batchSize; self.rng = rng
        self.checkpoint = checkpoint; self.keyPrefix = keyPrefix; self.metadata = metadata; self.parallel = parallel
    }

    /// Metadata keys of a checkpoint: the epochs finished and the seed of the loop's stream.
    public static func epochKey(_ prefix: String) -> String { "\(prefix).completedEpochs" }
    public static func seedKey(_ prefix: String) -> String { "\(prefix).seed" }
    public var epochKey: String { Self.epochKey(keyPrefix) }
    public var seedKey: String { Self.seedKey(keyPrefix) }

    /// ceil(events / batchSize).
    public func batches(events: Int) -> Int { (events + batchSize - 1) / batchSize }

    /// Sets `optimizer`'s per-step schedule for the whole run: an optimizer stepping once every
    /// `every` of `batchesPerEpoch` batches takes epochs x batchesPerEpoch / every steps,
    /// max(1, batchesPerEpoch / every) of them an epoch.
    public func install(_ schedule: LearningRateSchedule, rate: Float, on optimizer: Optimizer, batchesPerEpoch: Int, every: Int = 1) {
        optimizer.schedule = schedule.schedule(rate: rate, totalSteps: epochs * batchesPerEpoch / every,
                                               stepsPerEpoch: max(1, batchesPerEpoch / every))
    }

    /// `metadata` with the epochs finished and the loop's seed, for the checkpoint of this epoch.
    public var checkpointMetadata: [String: String] {
        var meta = metadata
        meta[epochKey] = String(completedEpochs)
        meta[seedKey] = String(rng.seed)
        return meta
    }

    /// Continues after the epochs recorded in a checkpoint's metadata (written with
    /// `checkpointMetadata`). Throws, naming the file, if the count is missing or if the checkpoint
    /// was trained from another stream (a different seed would not continue the run).
    public func resume(from metadata: [String: String], file url: URL) throws {
        guard let done = metadata[epochKey].flatMap(Int.init) else {
            throw RefoldError.file(url.path, "missing metadata '\(epochKey)' (expected a \(name) checkpoint)")
        }
        if let seed = metadata[seedKey], seed != String(rng.seed) {
            throw RefoldError.file(url.path, "trained from another seed ('\(seedKey)' \(seed), this run's stream \(rng.seed)): resume with the seed it was trained with")
        }
        completedEpochs = done
    }

    /// Runs the epochs from `completedEpochs` to `epochs` (or to `until`, for a run cut in parts)
    /// over `events` events: `epoch` trains one (its batches through `TrainingEpoch.forEachBatch`)
    /// and returns its report; then the epoch counts as finished, `save` writes the checkpoint
    /// (rank 0, when there is one) and `progress` gets the report. Returns the reports.
    @discardableResult
    public func run<Report>(events: Int, until: Int? = nil, save: (URL) throws -> Void = { _ in },
                            progress: (Report) -> Void = { _ in }, epoch body: (TrainingEpoch) throws -> Report) throws -> [Report] {
        var reports: [Report] = []
        let last = min(epochs, until ?? epochs)
        for index in completedEpochs..<max(completedEpochs, last) {
            let report = try body(TrainingEpoch(index: index, events: events, loop: self))
            completedEpochs = index + 1
            if let checkpoint, parallel.group.isRoot {
                try save(checkpoint)
                // A model folder's manifest binds this checkpoint to the folder's other files.
                try ModelManifest.refresh(checkpoint.deletingLastPathComponent())
            }
            reports.append(report)
            progress(report)
        }
        return reports
    }

    /// The error that stops the run at `position`: names the trainer, what went wrong, the epoch
    /// and batch, and what the last good checkpoint holds.
    public func stopped(_ what: String, at position: BatchPosition) -> RefoldError {
        let kept: String
        if let checkpoint, completedEpochs > 0 {
            kept = "the last good checkpoint \(checkpoint.path) holds \(completedEpochs) epoch(s)"
        } else {
            kept = "no checkpoint was written yet"
        }
        return RefoldError("\(name): \(what) at epoch \(position.epoch), batch \(position.batch) of \(position.batches); training stopped, \(kept)")
    }

    /// Throws `Interrupted` if SIGINT or SIGTERM arrived (see `Interruption`): the batch at
    /// `position` is abandoned, the last checkpoint stays, and the message says where it is and
    /// how to resume.
    public func checkInterruption(at position: BatchPosition) throws {
        guard let signal = Interruption.signal else { return }
        let signalName = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
        let message = stopped("\(signalName) received", at: position).message
        throw Interrupted(signal: signal, message: message + (completedEpochs > 0 && checkpoint != nil ? "; continue it with --resume" : ""))
    }

    /// The NaN guard and update of one step, the gradients of `loss` already in `parameters`:
    /// a non-finite loss stops the run, the gradients' joint norm is clipped to `clip` (nil: not
    /// clipped), a non-finite norm stops the run, and `optimizer` steps. `network` names the
    /// network in the message when a trainer has two ("generator loss is nan").
    public func step(_ optimizer: Optimizer, parameters: [Variable], loss: Float, clip: Float?, network: String? = nil,
                     at position: BatchPosition) throws {
        let prefix = network.map { $0 + " " } ?? ""
        guard loss.isFinite else { throw stopped("\(prefix)loss is \(loss)", at: position) }
        let norm = clipGradNorm(parameters, maxNorm: clip ?? .greatestFiniteMagnitude)
        guard norm.isFinite else { throw stopped("\(prefix)gradient norm is \(norm)", at: position) }
        optimizer.step()
    }
}

/// A trainer that runs a `TrainingLoop`: its stream, checkpoint, ranks and epoch count are the loop's.
public protocol EpochTrainer: AnyObject {
    var loop: TrainingLoop { get }
    /// Restores the weights, the optimizer state and the epoch count from a checkpoint it wrote.
    func resume(from url: URL) throws
}

extension EpochTrainer {
    /// With `resume`, continues from the trainer's checkpoint if one exists (a run stopped before
    /// this trainer's first epoch left none) and otherwise starts afresh.
    public func resumeIfCheckpointed(_ resume: Bool) throws {
        guard resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) else { return }
        try self.resume(from: checkpoint)
    }

    public var rng: RNGStream { loop.rng }
    public var checkpoint: URL? { loop.checkpoint }
    /// The ranks this trainer shares its batches with (one process without mpirun).
    public var parallel: DataParallel { loop.parallel }
    /// Epochs finished so far (the next epoch's index).
    public var completedEpochs: Int { loop.completedEpochs }
    /// Extra metadata written into every checkpoint (model config, column names, ...).
    public var metadata: [String: String] {
        get { loop.metadata }
        set { loop.metadata = newValue }
    }
}

/// Where a step stands: the epoch and the batch (0-based) and the epoch's number of batches.
public struct BatchPosition: Equatable, Sendable {
    public var epoch: Int, batch: Int, batches: Int
    public init(epoch: Int, batch: Int, batches: Int) { self.epoch = epoch; self.batch = batch; self.batches = batches }
}

/// Seconds an epoch took, its events per second, and the seconds estimated for the epochs left.
public struct EpochTiming: Equatable, Sendable {
    public var seconds: Double, eventsPerSecond: Double, secondsRemaining: Double
}

/// One epoch of a `TrainingLoop`: its streams, its event order and its batches.
public final class TrainingEpoch {
    public let index: Int
    public let events: Int
    /// ceil(events / batch size).
    public let batches: Int
    public let loop: TrainingLoop
    let start = Date()

    init(index: Int, events: Int, loop: TrainingLoop) {
        self.index = index; self.events = events; self.loop = loop
        batches = loop.batches(events: events)
    }

    /// This epoch's stream called `name`: `rng.child(name).child(index: epoch)`.
    public func stream(_ name: String) -> RNGStream { loop.rng.child(name).child(index: index) }

    /// The shuffling stream `stream("shuffle")`.
    public var shuffle: RNGStream { stream("shuffle") }

    /// A permutation of the events from `shuffle`, the same on every rank.
    public private(set) lazy var order: [Int] = shuffle.permutation(events)

    /// This rank's noise: `stream("noise")`, under mpirun its `child("rank").child(index: rank)`.
    public private(set) lazy var noise: RNGStream = {
        let noise = self.stream("noise"), parallel = self.loop.parallel
        return parallel.isDistributed ? noise.child("rank").child(index: parallel.group.rank) : noise
    }()

    /// The events of batch `b` in `order`: positions [b B, min(N, (b + 1) B)).
    public func rows(_ b: Int) -> ArraySlice<Int> { order[(b * loop.batchSize)..<min(events, (b + 1) * loop.batchSize)] }

    public func position(_ batch: Int) -> BatchPosition { BatchPosition(epoch: index, batch: batch, batches: batches) }

    /// Calls `body` with every batch index in turn, first stopping with `Interrupted` if a signal
    /// arrived.
    public func forEachBatch(_ body: (Int) throws -> Void) throws {
        for b in 0..<batches {
            try loop.checkInterruption(at: position(b))
            try body(b)
        }
    }

    /// `TrainingLoop.step` at batch `batch` of this epoch.
    public func step(_ optimizer: Optimizer, parameters: [Variable], loss: Float, clip: Float?, network: String? = nil, batch: Int) throws {
        try loop.step(optimizer, parameters: parameters, loss: loss, clip: clip, network: network, at: position(batch))
    }

    /// The time since the epoch began, `events` per second over it, and that time for each epoch
    /// of the run still to come after this one.
    public func timing() -> EpochTiming {
        let seconds = Date().timeIntervalSince(start)
        return EpochTiming(seconds: seconds, eventsPerSecond: Double(events) / max(seconds, 1e-9),
                           secondsRemaining: seconds * Double(loop.epochs - (index + 1)))
    }
}
