import Autograd
import Foundation
import NN
import Tensor

/// Settings of the condition encoder's pre-training (thesis sec. 5.3.3: "an encoder, which is
/// initialized by pre-training it as part of an autoencoder", used for the larger ISR input).
public struct EncoderPretraining: Codable, Equatable, Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float

    public init(epochs: Int, batchSize: Int = 512, learningRate: Float = 1e-3) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
    }
}

extension ConditionalINN {
    /// Trains the condition network f(x_d) as the encoder of an autoencoder: a decoder
    /// MLP(conditionOutput -> conditionUnits -> D_d, ReLU) reconstructs x_d from f(x_d), loss the
    /// mean squared error, Adam with a constant rate. The decoder is discarded; f keeps the
    /// trained weights as the cINN's starting point. Returns the mean loss of each epoch.
    /// `TrainingLoop` runs the epochs: a non-finite loss throws, naming the epoch and batch.
    @discardableResult
    public func pretrainCondition(detectorLevel: Tensor, settings: EncoderPretraining, rng: RNGStream,
                                  progress: (Int, Double) -> Void = { _, _ in }) throws -> [Double] {
        try checkBatch(partonLevel: nil, detectorLevel: detectorLevel)
        guard settings.epochs >= 1, settings.batchSize >= 1, settings.learningRate > 0 else {
            throw RefoldError.value("EncoderPretraining", expected: "epochs >= 1, batchSize >= 1, learningRate > 0",
                                    actual: "\(settings.epochs), \(settings.batchSize), \(settings.learningRate)")
        }
        let decoder = MLP(sizes: [config.conditionOutput, config.conditionUnits, detectorDimension], activation: .relu,
                          rng: rng.child("decoder"))
        let parameters = prefixed("encoder", conditionNetwork) + prefixed("decoder", decoder)
        let optimizer = Adam(parameters, learningRate: settings.learningRate)
        let variables = parameters.map(\.variable)
        let loop = TrainingLoop(name: "encoder pre-training", epochs: settings.epochs, batchSize: settings.batchSize, rng: rng)
        let n = detectorLevel.rows
        return try loop.run(events: n, progress: { progress($0.epoch, $0.loss) }) { epoch in
            var sum = 0.0
            try epoch.forEachBatch { b in
                let rows = epoch.rows(b)
                let x = Variable(gatherRows(detectorLevel, rows))
                optimizer.zeroGrad()
                let loss = mean(square(decoder(conditionNetwork(x)) - x))
                let value = loss.scalar
                if value.isFinite { backward(loss) }
                try epoch.step(optimizer, parameters: variables, loss: value, clip: nil, batch: b)
                sum += Double(value) * Double(rows.count)
            }
            return (epoch: epoch.index, loss: sum / Double(n))
        }.map(\.loss)
    }
}
