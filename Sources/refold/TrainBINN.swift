import ArgumentParser
import Flows
import Foundation
import Unfolders
import Tensor
import Validation

/// Trains a BINN (thesis eq. 6.16) on a single-level sample folder (`events.npy` + `meta.json`,
/// e.g. from `refold generate wedge|kicker|ring|drell-yan`) and writes the model (a safetensors
/// checkpoint after every epoch, with the config and standardisation as metadata) to `out`.
/// `resume` continues from `out` if it exists. BLAS runs on one thread (skinny shapes).
/// `paper`: table 6.1 (2D toys) or 6.2 (Drell-Yan, D = 4); `quick`: 8 blocks x 2 hidden layers x
/// 32 units, 30 epochs, a few minutes on 2 cores.
func trainBINN(data: URL, profile: ProfileName, epochs: Int?, seed: UInt64, resume: Bool, out: URL,
               batchSize: Int? = nil, learningRate: Float? = nil,
               events: EventReader = EventReader(.refuse), progress: (String) -> Void = { print($0) }) throws {
    let sample = try events.read(data)
    guard let block = sample.events else {
        throw RefoldError.file(data.path, "expected a single-level sample (events.npy), got a paired one: the BINN learns one density")
    }
    let events = block.tensor()
    var config: BINNConfig
    var training: TrainingConfig
    switch profile {
    case .paper:
        config = block.columns.count == 2 ? .paper(dimension: 2, trainingEvents: events.rows)
            : .drellYanPaper(dimension: block.columns.count, trainingEvents: events.rows)
        training = block.columns.count == 2 ? BINNConfig.paperTraining : BINNConfig.drellYanTraining
    case .quick:
        config = .quick(dimension: block.columns.count, trainingEvents: events.rows)
        training = TrainingConfig(epochs: 30, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine, gradientClip: 10)
    }
    if let epochs { training.epochs = epochs }
    if let batchSize { training.batchSize = batchSize }
    if let learningRate { training.learningRate = learningRate }
    guard training.epochs >= 1, training.batchSize >= 1, training.learningRate > 0 else {
        throw RefoldError.value("--epochs, --batch-size, --learning-rate", expected: ">= 1, >= 1, > 0", actual: "\(training.epochs), \(training.batchSize), \(training.learningRate)")
    }
    BLAS.setThreads(1)
    let model = try BINNModel(config: config, standardizer: try Standardizer(fitting: events), columns: block.columns, seed: seed)
    try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
    progress("BINN: \(events.rows) events x \(block.columns.count) (\(block.columns.joined(separator: ", "))), \(config.blocks) blocks x \(config.hiddenLayers) hidden x \(config.units), \(model.network.bayesianWeightCount) Bayesian weights, \(training.epochs) epochs")
    let terminal = TerminalProgress()
    try BINNTraining.train(model, events: events, config: training, checkpoint: out, resume: resume) { r in
        let nll = r.terms[.negativeLogLikelihood] ?? .nan
        terminal.update(String(format: "epoch %d/%d  loss %.4f (NLL %.4f, KL/N %.4f)  %.0f events/s  %.0f s left", r.epoch + 1, training.epochs,
                        r.trainLoss, nll, r.trainLoss - nll, r.eventsPerSecond, r.secondsRemaining))
    }
    terminal.finish()
    progress("model written to \(out.path)")
}

