/// Anything that draws parton-level samples for detector-level events: the door of `refold
/// unfold`. GANs conform here; the flows (cINN, INN/eINN) conform below, since their
/// UnfoldingFlow `sample` has the same contract.
public protocol UnfoldingSampler: AnyObject {
    /// D_p, the parton-level features.
    var partonDimension: Int { get }
    /// D_d, the detector-level features.
    var detectorDimension: Int { get }
    /// `count` parton-level samples per detector-level event x_d [N, D_d]: [N, K, D_p], no graph.
    func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor
}

extension ConditionalINN: UnfoldingSampler {}
extension BidirectionalINN: UnfoldingSampler {}

/// What GANTrainer trains: a generator and a discriminator with their losses on one batch of
/// each of two samples (x_p and x_d for unfolding, B and S for event subtraction). One epoch is
/// one pass over the first sample; the second is drawn in the same rows when `needsPairedEvents`,
/// from an independent permutation otherwise.
public protocol AdversarialModel: Module {
    var generatorParameters: [(name: String, variable: Variable)] { get }
    var discriminatorParameters: [(name: String, variable: Variable)] { get }
    var needsPairedEvents: Bool { get }
    /// Whether `GeneratorLoss.mmd` carries a value worth reporting.
    var reportsMMD: Bool { get }
    /// Throws unless the two training samples have the shapes the model needs.
    func checkTrainingEvents(partonLevel: Tensor, detectorLevel: Tensor) throws
    /// The discriminator's loss; the generator output is a constant in it.
    func discriminatorLoss(partonLevel: Variable, detectorLevel: Variable, rng: RNGStream) -> DiscriminatorLoss
    func generatorLoss(partonLevel: Variable, detectorLevel: Variable, rng: RNGStream) -> GeneratorLoss
}

/// A generator G(x_d ⊕ r) -> x_p and a discriminator phi = logit D on parton level (naive GAN)
/// or on x_p ⊕ x_d (FCGAN), trained by GANTrainer with the losses of thesis ch. 4.
/// Parameters "generator.layer*", "discriminator.layer*".
public protocol AdversarialUnfolding: UnfoldingSampler, AdversarialModel {
    var config: GANConfig { get }
    /// G: [N, D_d + noiseDimension] -> [N, D_p], linear output.
    var generator: MLP { get }
    /// phi: [N, discriminator input] -> [N, 1], the logit of D.
    var discriminator: MLP { get }
    /// The r ~ N(0, 1) columns appended to x_d at the generator input (0: deterministic).
    var noiseDimension: Int { get }
    /// The caller's observables for the MMD term of the generator loss (may be empty).
    var observableMMD: ObservableMMD { get set }
    /// The fixed skip from x_d of the residual generator and the response-aware FCGAN
    /// discriminator (`GANConfig.needsSkip`), or nil.
    var skip: DetectorSkip? { get }
    /// True if training needs event-by-event matched x_p, x_d (FCGAN); false if the parton and
    /// detector batches are drawn independently (naive GAN, sec. 4.2).
    var needsPairedEvents: Bool { get }
    /// The discriminator input for parton-level events and the detector-level events in the same rows.
    func discriminatorInput(partonLevel: Variable, detectorLevel: Variable) -> Variable
}

extension AdversarialUnfolding {
    public var parameters: [(name: String, variable: Variable)] { generatorParameters + discriminatorParameters }
    public var generatorParameters: [(name: String, variable: Variable)] { prefixed("generator", generator) }
    public var discriminatorParameters: [(name: String, variable: Variable)] { prefixed("discriminator", discriminator) }
    public var reportsMMD: Bool { !observableMMD.observables.isEmpty && config.lambdaG > 0 }

    /// x_G = G(x_d ⊕ r) with r ~ N(0, 1) from `rng` (no noise drawn when noiseDimension is 0),
    /// plus skip(x_d) for a residual generator.
    public func generate(detectorLevel: Variable, rng: RNGStream) -> Variable {
        let output: Variable
        if noiseDimension > 0 {
            let r = Variable(Tensor.normal([detectorLevel.value.rows, noiseDimension], rng: rng))
            output = generator(concat([detectorLevel, r]))
        } else {
            output = generator(detectorLevel)
        }
        guard config.residual == true, let skip else { return output }
        return output + Variable(skip.apply(detectorLevel.value))
    }

    /// Eq. 4.3 (naive) or 4.10 (FCGAN) on real x_p with its rows' x_d, and events generated from
    /// `detectorLevel` (the same x_d, or for the naive GAN an independent batch). The generator
    /// output is a constant here: only the discriminator learns from this loss.
    public func discriminatorLoss(partonLevel: Variable, detectorLevel: Variable, rng: RNGStream) -> DiscriminatorLoss {
        let fake = withNoGrad { generate(detectorLevel: detectorLevel, rng: rng) }
        let real = discriminatorInput(partonLevel: partonLevel, detectorLevel: detectorLevel)
        let generated = withNoGrad { discriminatorInput(partonLevel: fake, detectorLevel: detectorLevel) }
        return regularizedDiscriminatorLoss(real: real.value, fake: generated.value, lambda: config.lambdaD) { discriminator($0) }
    }

    /// Eq. 4.4 (naive) or 4.11 (FCGAN) + lambda_G MMD(o(x_G), o(x_p)) on the caller's observables.
    public func generatorLoss(partonLevel: Variable, detectorLevel: Variable, rng: RNGStream) -> GeneratorLoss {
        let fake = generate(detectorLevel: detectorLevel, rng: rng)
        let adversarial = generatorAdversarialLoss(fakeLogits: discriminator(discriminatorInput(partonLevel: fake, detectorLevel: detectorLevel)))
        guard config.lambdaG > 0, let mmd = observableMMD(generated: fake, truth: partonLevel) else {
            return GeneratorLoss(total: adversarial, adversarial: adversarial.scalar, mmd: nil)
        }
        return GeneratorLoss(total: adversarial + config.lambdaG * mmd, adversarial: adversarial.scalar, mmd: mmd.scalar)
    }

    /// [N, K, D_p] samples, no graph. Without noise the K samples of an event are identical.
    public func sample(detectorLevel: Tensor, count: Int, rng: RNGStream) throws -> Tensor {
        try checkDetectorLevel(detectorLevel)
        guard count >= 1 else { throw RefoldError.value("samples per event", expected: ">= 1", actual: count) }
        let n = detectorLevel.rows, dp = partonDimension
        return withNoGrad {
            if noiseDimension == 0 {
                let x = generate(detectorLevel: Variable(detectorLevel), rng: rng).value
                return Tensor(shape: [n, count, dp], storage: repeatRows(x, times: count).storage)
            }
            let perChunk = max(1, 16_384 / count)
            var storage = [Float]()
            storage.reserveCapacity(n * count * dp)
            var start = 0, chunk = 0
            while start < n {
                let end = min(n, start + perChunk)
                let rows = gatherRows(detectorLevel, start..<end)
                let block = generate(detectorLevel: Variable(repeatRows(rows, times: count)), rng: rng.child(index: chunk))
                storage.append(contentsOf: block.value.storage)
                start = end; chunk += 1
            }
            return Tensor(shape: [n, count, dp], storage: storage)
        }
    }

    /// Throws unless x_d is [N, D_d].
    public func checkDetectorLevel(_ detectorLevel: Tensor) throws {
        guard detectorLevel.rank == 2, detectorLevel.columns == detectorDimension else {
            throw RefoldError.shape("detector-level events", expected: [detectorLevel.shape.first ?? 0, detectorDimension],
                                    actual: detectorLevel.shape)
        }
    }

    /// Throws unless x_p is [N_p, D_p], and x_d is [N_d, D_d] with N_d = N_p when events must be paired.
    public func checkTrainingEvents(partonLevel: Tensor, detectorLevel: Tensor) throws {
        try checkDetectorLevel(detectorLevel)
        let rows = needsPairedEvents ? detectorLevel.rows : (partonLevel.shape.first ?? 0)
        guard partonLevel.rank == 2, partonLevel.shape == [rows, partonDimension] else {
            throw RefoldError.shape("parton-level events", expected: [rows, partonDimension], actual: partonLevel.shape)
        }
    }
}

/// What both GANs are made of: a generator G(x_d ⊕ r) -> x_p, a discriminator D and the MMD on
/// the caller's observables. The variants differ in the noise and in what D sees.
public class GANNetworks {
    public let partonDimension: Int
    public let detectorDimension: Int
    public let config: GANConfig
    public let noiseDimension: Int
    public let generator: MLP
    public let discriminator: MLP
    public var observableMMD: ObservableMMD
    public let skip: DetectorSkip?

    /// `rng` draws the generator (child "generator") and the discriminator (child "discriminator").
    /// A config that uses the skip (`GANConfig.needsSkip`) needs `skip`, and only such a config takes it.
    init(partonDimension: Int, detectorDimension: Int, config: GANConfig, noiseDimension: Int,
         discriminatorInputs: Int, observables: [Observable], skip: DetectorSkip?, rng: RNGStream) throws {
        try config.validate()
        try checkDimensions(partonDimension, detectorDimension)
        switch (config.needsSkip, skip) {
        case (true, nil):
            throw RefoldError.value("residual GAN skip", expected: "a DetectorSkip (GANConfig.residual or discriminatorResponse is true)", actual: "none")
        case (false, .some):
            throw RefoldError.value("GAN skip", expected: "none (GANConfig.residual and discriminatorResponse are not set)", actual: "a DetectorSkip")
        case (true, let s?):
            try s.check(partonDimension: partonDimension, detectorDimension: detectorDimension)
        default: break
        }
        self.skip = skip
        self.partonDimension = partonDimension
        self.detectorDimension = detectorDimension
        self.config = config
        self.noiseDimension = noiseDimension
        generator = makeNetwork(inputs: detectorDimension + noiseDimension, outputs: partonDimension,
                                layers: config.generatorLayers, config: config, rng: rng.child("generator"))
        discriminator = makeNetwork(inputs: discriminatorInputs, outputs: 1, layers: config.discriminatorLayers,
                                    config: config, rng: rng.child("discriminator"))
        observableMMD = ObservableMMD(observables: observables, loss: config.mmd)
    }
}

/// The naive unfolding GAN (thesis sec. 4.2, fig. 4.2): G(x_d [⊕ r]) -> x_G, D(x_p). Parton and
/// detector batches need not be matched. Without noise (the default) the map is deterministic.
public final class NaiveGAN: GANNetworks, AdversarialUnfolding {
    public var needsPairedEvents: Bool { false }

    public init(partonDimension: Int, detectorDimension: Int, config: GANConfig, observables: [Observable] = [],
                skip: DetectorSkip? = nil, rng: RNGStream) throws {
        guard config.discriminatorResponse != true else {
            throw RefoldError.value("naive GAN discriminatorResponse", expected: "not set (its D sees x_p alone, with no matched x_d)", actual: true)
        }
        try super.init(partonDimension: partonDimension, detectorDimension: detectorDimension, config: config,
                       noiseDimension: config.noiseDimension ?? 0, discriminatorInputs: partonDimension,
                       observables: observables, skip: skip, rng: rng)
    }

    public func discriminatorInput(partonLevel: Variable, detectorLevel: Variable) -> Variable { partonLevel }
}

/// The fully conditional GAN (thesis sec. 4.3, fig. 4.5): G(r, x_d) -> x_G with r ~ N(0, 1),
/// D(x_p, x_d) on matched event pairs; K samples per event give a (too narrow, sec. 5.3) posterior.
public final class FullyConditionalGAN: GANNetworks, AdversarialUnfolding {
    public var needsPairedEvents: Bool { true }

    public init(partonDimension: Int, detectorDimension: Int, config: GANConfig, observables: [Observable] = [],
                skip: DetectorSkip? = nil, rng: RNGStream) throws {
        let noise = config.noiseDimension ?? partonDimension
        guard noise >= 1 else { throw RefoldError.value("FCGAN noise dimension", expected: ">= 1", actual: noise) }
        try super.init(partonDimension: partonDimension, detectorDimension: detectorDimension, config: config,
                       noiseDimension: noise,
                       discriminatorInputs: partonDimension + detectorDimension + (config.discriminatorResponse == true ? partonDimension : 0),
                       observables: observables, skip: skip, rng: rng)
    }

    public func discriminatorInput(partonLevel: Variable, detectorLevel: Variable) -> Variable {
        guard config.discriminatorResponse == true, let skip else { return concat([partonLevel, detectorLevel]) }
        return concat([partonLevel, detectorLevel, partonLevel - Variable(skip.apply(detectorLevel.value))])
    }
}

private func checkDimensions(_ partonDimension: Int, _ detectorDimension: Int) throws {
    guard partonDimension >= 1, detectorDimension >= 1 else {
        throw RefoldError.value("GAN dimensions", expected: "D_p >= 1 and D_d >= 1", actual: "D_p = \(partonDimension), D_d = \(detectorDimension)")
    }
}

/// inputs -> units x (layers - 1) -> outputs.
private func makeNetwork(inputs: Int, outputs: Int, layers: Int, config: GANConfig, rng: RNGStream) -> MLP {
    let sizes = [inputs] + [Int](repeating: config.unitsPerLayer, count: layers - 1) + [outputs]
    return MLP(sizes: sizes, activation: config.activation.activation, rng: rng)
}

