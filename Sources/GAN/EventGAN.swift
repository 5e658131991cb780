import Foundation

/// An unconditional GAN event generator (talk 002, "How to GAN LHC events"; arXiv:1907.03764):
/// G(r) -> x from noise r ~ N(0, 1), a discriminator phi = logit D on x, both MLPs, trained by
/// GANTrainer with the regularised Jensen-Shannon loss (thesis eq. 4.3) and
///
///     L_G = <-log D(G(r))> + lambda_G sum_o MMD(o(G(r)), o(x)),
///
/// the MMD on the caller's observables (for ttbar the resonance masses m_t and m_W, which a
/// discriminator on the partons resolves only slowly: a 1.4 GeV wide peak built from three
/// partons). Flows knows no physics, so the observables are closures on network coordinates.
/// The truth events are the first sample of the trainer; the second (drawn from an independent
/// permutation) is unused. Parameters "generator.layer*", "discriminator.layer*".
public final class EventGAN: AdversarialModel {
    public let config: GANConfig
    public let dimension: Int
    public let noiseDimension: Int
    public let generator: MLP
    public let discriminator: MLP
    /// The MMD term's observables (empty or lambda_G = 0: the plain GAN).
    public var observableMMD: ObservableMMD

    /// `rng` draws the generator (child "generator") and the discriminator (child "discriminator").
    public init(dimension: Int, config: GANConfig, observables: [Observable] = [], rng: RNGStream) throws {
        try config.validate()
        guard dimension >= 1 else { throw RefoldError.value("event GAN dimension", expected: ">= 1", actual: dimension) }
        self.config = config; self.dimension = dimension
        noiseDimension = config.noiseDimension ?? dimension
        guard noiseDimension >= 1 else { throw RefoldError.value("event GAN noise dimension", expected: ">= 1", actual: noiseDimension) }
        let units = config.unitsPerLayer
        generator = MLP(sizes: [noiseDimension] + Array(repeating: units, count: config.generatorLayers - 1) + [dimension],
                        activation: config.activation.activation, rng: rng.child("generator"))
        discriminator = MLP(sizes: [dimension] + Array(repeating: units, count: config.discriminatorLayers - 1) + [1],
                            activation: config.activation.activation, rng: rng.child("discriminator"))
        observableMMD = ObservableMMD(observables: observables, loss: config.mmd)
    }

    public var parameters: [(name: String, variable: Variable)] { generatorParameters + discriminatorParameters }
    public var generatorParameters: [(name: String, variable: Variable)] { prefixed("generator", generator) }
    public var discriminatorParameters: [(name: String, variable: Variable)] { prefixed("discriminator", discriminator) }
    public var needsPairedEvents: Bool { false }
    public var reportsMMD: Bool { !observableMMD.observables.isEmpty && config.lambdaG > 0 }

    public func checkTrainingEvents(partonLevel truth: Tensor, detectorLevel second: Tensor) throws {
        for (name, x) in [("training events", truth), ("second sample", second)] {
            guard x.rank == 2, x.columns == dimension, x.rows >= 1 else {
                throw RefoldError.shape(name, expected: [x.shape.first ?? 0, dimension], actual: x.shape)
            }
        }
    }

    /// G(r) for `count` noise vectors, in network coordinates.
    public func generate(count: Int, rng: RNGStream) -> Variable {
        generator(Variable(Tensor.normal([count, noiseDimension], rng: rng)))
    }

    /// Eq. 4.3 on a truth batch against as many generated events.
    public func discriminatorLoss(partonLevel truth: Variable, detectorLevel _: Variable, rng: RNGStream) -> DiscriminatorLoss {
        let fake = withNoGrad { generate(count: truth.value.rows, rng: rng) }.value
        return regularizedDiscriminatorLoss(real: truth.value, fake: fake, lambda: config.lambdaD) { discriminator($0) }
    }

    /// Eq. 4.4 + lambda_G MMD on the observables, as many generated events as the truth batch.
    public func generatorLoss(partonLevel truth: Variable, detectorLevel _: Variable, rng: RNGStream) -> GeneratorLoss {
        let fake = generate(count: truth.value.rows, rng: rng)
        let adversarial = generatorAdversarialLoss(fakeLogits: discriminator(fake))
        guard config.lambdaG > 0, let mmd = observableMMD(generated: fake, truth: truth) else {
            return GeneratorLoss(total: adversarial, adversarial: adversarial.scalar, mmd: nil)
        }
        return GeneratorLoss(total: adversarial + config.lambdaG * mmd, adversarial: adversarial.scalar, mmd: mmd.scalar)
    }

    /// `count` events [count, D] in network coordinates, no graph, in chunks of 16,384 (chunk k
    /// from `rng.child(index: k)`).
    public func sample(events count: Int, rng: RNGStream) throws -> Tensor {
        guard count >= 1 else { throw RefoldError.value("generated events", expected: ">= 1", actual: count) }
        return chunkedSampling(events: count, count: 1, partonDimension: dimension, rng: rng) { range, rng in
            generate(count: range.count, rng: rng).value
        }.reshaped([count, dimension])
    }
}
