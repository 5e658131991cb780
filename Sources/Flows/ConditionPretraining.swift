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
    /// trained weights as the cINN's starting point. Returns the mean loss of each epoch. A
    /// non-finite loss throws, naming the epoch and batch.
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
        let n = detectorLevel.rows, batches = (n + settings.batchSize - 1) / settings.batchSize
        var losses: [Double] = []
        for epoch in 0..<settings.epochs {
            let order = rng.child("shuffle").child(index: epoch).permutation(n)
            var sum = 0.0
            for b in 0..<batches {
                let rows = order[(b * settings.batchSize)..<min(n, (b + 1) * settings.batchSize)]
                let x = Variable(gatherRows(detectorLevel, rows))
                optimizer.zeroGrad()
                let loss = mean(square(decoder(conditionNetwork(x)) - x))
                let value = loss.scalar
                guard value.isFinite else {
                    throw RefoldError.value("encoder pre-training loss (epoch \(epoch + 1), batch \(b + 1) of \(batches))",
                                            expected: "a finite value", actual: value)
                }
                backward(loss)
                optimizer.step()
                sum += Double(value) * Double(rows.count)
            }
            losses.append(sum / Double(n))
            progress(epoch, losses[epoch])
        }
        return losses
    }
}
