@_exported import NN
@_exported import Flows

/// Sizes and loss weights of a (fully conditional) unfolding GAN (thesis sec. 4.2, 4.3,
/// table 4.1). "Layers" count linear layers: 12 layers x 512 units is in -> 512 -> ... -> 512 -> out.
public struct GANConfig: Codable, Equatable {
    /// The hidden activation of both networks.
    public enum HiddenActivation: String, Codable, CaseIterable {
        case relu, leakyRelu, elu, tanh

        public var activation: Activation {
            switch self {
            case .relu: return .relu
            case .leakyRelu: return .leakyRelu
            case .elu: return .elu
            case .tanh: return .tanh
            }
        }
    }

    public var generatorLayers: Int
    public var discriminatorLayers: Int
    public var unitsPerLayer: Int
    public var activation: HiddenActivation
    /// Dimension of the noise r ~ N(0, 1) appended to x_d at the generator input. nil: none for the
    /// naive GAN (a deterministic map, fig. 4.2), D_p for the FCGAN (fig. 4.5; the thesis gives no value).
    public var noiseDimension: Int?
    /// lambda_D of the gradient penalty, eq. 4.3 / 4.10.
    public var lambdaD: Float
    /// lambda_G of the MMD term in the generator loss (used only with observables).
    public var lambdaG: Float
    /// The MMD of eq. 4.5 (kernel and widths in the observables' units).
    public var mmd: MMDLoss
    /// true: a residual generator, x_G = skip(x_d) + G(x_d ⊕ r) with the caller's fixed
    /// `DetectorSkip` (each parton feature starts from its detector-level counterpart). nil or
    /// false: x_G = G(x_d ⊕ r), as in the thesis.
    public var residual: Bool?
    /// true: the FCGAN discriminator also sees the response x_p - skip(x_d) (the caller's
    /// `DetectorSkip`), so the width of x_p around the measured event is one of its inputs.
    public var discriminatorResponse: Bool?

    /// Whether the network needs the caller's `DetectorSkip`.
    public var needsSkip: Bool { residual == true || discriminatorResponse == true }

    public init(generatorLayers: Int, discriminatorLayers: Int, unitsPerLayer: Int, activation: HiddenActivation = .leakyRelu,
                noiseDimension: Int? = nil, lambdaD: Float = 1e-3, lambdaG: Float = 1,
                mmd: MMDLoss = MMDLoss(widths: MMDLoss.massWidthsGeV), residual: Bool? = nil, discriminatorResponse: Bool? = nil) {
        self.generatorLayers = generatorLayers; self.discriminatorLayers = discriminatorLayers
        self.unitsPerLayer = unitsPerLayer; self.activation = activation; self.noiseDimension = noiseDimension
        self.lambdaD = lambdaD; self.lambdaG = lambdaG; self.mmd = mmd; self.residual = residual
        self.discriminatorResponse = discriminatorResponse
    }

    /// Table 4.1: G and D 12 layers x 512 units (about 3M weights each), lambda_G = 1, lambda_D = 1e-3.
    public static let paper = GANConfig(generatorLayers: 12, discriminatorLayers: 12, unitsPerLayer: 512)
    /// Sized for 2 cores: 4 layers x 128 units, the paper's loss weights.
    public static let quick = GANConfig(generatorLayers: 4, discriminatorLayers: 4, unitsPerLayer: 128)

    /// Throws unless every size is positive and the weights are non-negative.
    public func validate() throws {
        guard generatorLayers >= 1, discriminatorLayers >= 1, unitsPerLayer >= 1, (noiseDimension ?? 0) >= 0,
              lambdaD >= 0, lambdaG >= 0 else {
            throw RefoldError.value("GANConfig", expected: "layers >= 1, units >= 1, noise >= 0, lambda_D >= 0, lambda_G >= 0",
                                    actual: "\(generatorLayers), \(discriminatorLayers), \(unitsPerLayer), \(noiseDimension.map(String.init) ?? "nil"), \(lambdaD), \(lambdaG)")
        }
    }
}

/// Optimisation settings of GANTrainer: two Adam optimizers, `discriminatorSteps` discriminator
/// updates per generator update, one epoch = one pass over the parton-level events.
public struct GANTrainingConfig: Codable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var generatorLearningRate: Float
    public var discriminatorLearningRate: Float
    /// Adam's beta1 and beta2 (0.5 and 0.9 are common for GANs; PyTorch's defaults are 0.9, 0.999).
    public var beta1: Float
    public var beta2: Float
    /// n_D: discriminator steps (each on its own batch) per generator step.
    public var discriminatorSteps: Int
    public var schedule: LearningRateSchedule
    /// Clip each network's gradient norm to this value (nil: no clipping).
    public var gradientClip: Float?
    /// beta of the generator's exponential moving average theta_avg <- beta theta_avg + (1 - beta)
    /// theta after every generator step (Yazici et al. 2019); the trained model samples with
    /// theta_avg. nil: the last weights.
    public var generatorAverage: Float?

    public init(epochs: Int, batchSize: Int = 512, generatorLearningRate: Float = 1e-4, discriminatorLearningRate: Float = 1e-4,
                beta1: Float = 0.5, beta2: Float = 0.9, discriminatorSteps: Int = 1, schedule: LearningRateSchedule = .constant,
                gradientClip: Float? = 10, generatorAverage: Float? = nil) {
        self.epochs = epochs; self.batchSize = batchSize
        self.generatorLearningRate = generatorLearningRate; self.discriminatorLearningRate = discriminatorLearningRate
        self.beta1 = beta1; self.beta2 = beta2; self.discriminatorSteps = discriminatorSteps
        self.schedule = schedule; self.gradientClip = gradientClip; self.generatorAverage = generatorAverage
    }

    /// Table 4.1: 1200 epochs, batch 512 (500 iterations per epoch on 3e5 events is about one
    /// pass). The thesis gives no learning rate: 1e-4 for both networks is our choice.
    public static let paper = GANTrainingConfig(epochs: 1200, batchSize: 512)
    /// A few minutes on 2 cores with GANConfig.quick.
    public static let quick = GANTrainingConfig(epochs: 30, batchSize: 512, generatorLearningRate: 2e-4,
                                                discriminatorLearningRate: 2e-4)

    /// Throws unless the sizes and rates are positive and the betas and the average's beta lie in [0, 1).
    public func validate() throws {
        guard epochs >= 1, batchSize >= 1, generatorLearningRate > 0, discriminatorLearningRate > 0, discriminatorSteps >= 1,
              (0..<1).contains(beta1), (0..<1).contains(beta2), (0 as Float..<1).contains(generatorAverage ?? 0) else {
            throw RefoldError.value("GANTrainingConfig",
                                    expected: "epochs >= 1, batchSize >= 1, learning rates > 0, discriminatorSteps >= 1, betas and generatorAverage in [0, 1)",
                                    actual: "\(epochs), \(batchSize), \(generatorLearningRate), \(discriminatorLearningRate), \(discriminatorSteps), \(beta1), \(beta2), \(generatorAverage.map { "\($0)" } ?? "nil")")
        }
    }
}

extension GANConfig: CheckedConfiguration {}
extension GANTrainingConfig: CheckedConfiguration {}
