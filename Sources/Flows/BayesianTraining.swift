import Foundation

/// Trains a BINNModel on events [N, D] (physical coordinates) with FlowTrainer: shuffling, Adam,
/// checkpoints (with the BINN metadata, so `BINNModel.load` reads them), NaN guard and resume.
/// The trainer's stream is `RNGStream(seed: model.seed).child("binn.train")`.
public enum BINNTraining {
    @discardableResult
    public static func train(_ model: BINNModel, events: Tensor, config: TrainingConfig, checkpoint: URL? = nil,
                             resume: Bool = false, until: Int? = nil,
                             progress: (EpochReport) -> Void = { _ in }) throws -> FlowTrainer<BayesianINN> {
        guard events.rank == 2, events.columns == model.dimension else {
            throw RefoldError.shape("BINN training events", expected: [events.rows, model.dimension], actual: events.shape)
        }
        let trainer = try FlowTrainer(model: model.network, config: config, rng: RNGStream(seed: model.seed).child("binn.train"),
                                      checkpoint: checkpoint, metadata: model.metadata)
        try trainer.resumeIfCheckpointed(resume)
        let x = try model.networkCoordinates(events)
        try trainer.train(partonLevel: x, detectorLevel: Tensor(shape: [events.rows, 0]), until: until, progress: progress)
        return trainer
    }
}
