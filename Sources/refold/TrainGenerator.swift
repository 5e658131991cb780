import Flows
import Foundation
import GAN
import Physics
import Unfolders
import Tensor
import Validation

/// Sizes of the generators per profile. Z+jets INN: `quick` 10 blocks x 2 layers x 64 units, 100
/// epochs (as Toys/generator.toml: about 80 s on 2 cores for 60k events); `paper` 12 x 3 x 128,
/// 200 epochs; R- = 0.4 (the sample's R_min) and R+ = 1.2 for the Delta R weight. ttbar GAN:
/// `GANConfig.quick` / `.paper` with their training (the paper's 1200 epochs for `paper`).
enum GeneratorPreset {
    static func flow(_ profile: ProfileName) -> DensityFlowConfig {
        profile == .paper ? DensityFlowConfig(dimension: 2, blocks: 12, layersPerBlock: 3, unitsPerLayer: 128)
            : DensityFlowConfig(dimension: 2, blocks: 10, layersPerBlock: 2, unitsPerLayer: 64)
    }
    static func training(_ profile: ProfileName) -> TrainingConfig {
        TrainingConfig(epochs: profile == .paper ? 200 : 100, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine, gradientClip: 10)
    }
    static func gan(_ profile: ProfileName) -> (GANConfig, GANTrainingConfig) {
        profile == .paper ? (.paper, .paper) : (.quick, .quick)
    }
}

/// What `refold train generator` trains besides the sample: the network, the MMD weight (ttbar),
/// the augmentation condition and the discriminator (Z+jets).
struct GeneratorRequest {
    var network: GeneratorNetwork = .inn
    var mmdWeight: Float = 0
    var augmentation = false
    var discriminator = false
}

/// `refold train generator`: on a z-jets sample the Z+jets INN generator (one flow per jet
/// multiplicity, Delta R weighted maximum likelihood; `--condition-on augmentation` conditions it on
/// the theory parameter a; `--discriminator` stores the D/(1-D) classifiers with it) or the BINN
/// generator; on a ttbar sample the INN or GAN generator with an optional MMD on m_t and m_W.
/// Checkpoints after every epoch into `out`.
func trainGenerator(data: URL, profile: ProfileName, epochs: Int?, batchSize: Int?, seed: UInt64, resume: Bool, out: URL,
                    separationUpper: Double, request: GeneratorRequest, events: EventReader = EventReader(.refuse)) throws {
    let sample = try events.read(data)
    var training = GeneratorPreset.training(profile)
    if let epochs { training.epochs = epochs }
    if let batchSize { training.batchSize = batchSize }
    let start = Date()
    let terminal = TerminalProgress()
    if sample.events?.columns == TTbarProduction.columns {
        guard request.network != .binn, !request.augmentation, !request.discriminator else {
            throw RefoldError.file(data.path, "a ttbar sample: expected --network inn or gan without --condition-on or --discriminator (those are for z-jets)")
        }
        var (gan, ganTraining) = GeneratorPreset.gan(profile)
        if let epochs { ganTraining.epochs = epochs }
        if let batchSize { ganTraining.batchSize = batchSize }
        let events = try TTbarGenerator.events(of: sample, source: data.path)
        let generator = try TTbarGenerator.train(events: events, network: request.network, flow: GeneratorPreset.flow(profile), training: training,
                                                 gan: gan, ganTraining: ganTraining, mmdWeight: request.mmdWeight, seed: seed, folder: out,
                                                 resume: resume) { terminal.update("ttbar \(request.network.rawValue) " + $0) }
        terminal.finish()
        print(String(format: "trained the ttbar %@ generator (MMD on m_t, m_W: lambda %g) on %d events, %.1f s; model in %@",
                     request.network.rawValue, Double(request.mmdWeight), generator.settings.trainingEvents, Date().timeIntervalSince(start), out.path))
        return
    }
    guard request.mmdWeight == 0, request.network == .inn else {
        throw RefoldError.file(data.path, "a z-jets sample: expected --network inn without --mmd-weight (the GAN and the MMD are for ttbar; the BINN generator is not built yet), got --network \(request.network.rawValue)")
    }
    let rMin = sample.parameters["minimum_separation"] ?? ZJetsParameters().minimumSeparation
    let separation = try SeparationWeight(lower: rMin, upper: separationUpper)
    let generator = try ZJetsGenerator.train(sample: sample, source: data.path, flow: GeneratorPreset.flow(profile), training: training,
                                             separation: separation, seed: seed, augmentation: request.augmentation ? try AugmentationWeight() : nil,
                                             folder: out, resume: resume) { jets, r in
        terminal.update("\(jets)-jet flow " + progressLine(r, epochs: training.epochs))
    }
    terminal.finish()
    if request.discriminator {
        // Same sizes and clip as Toys/generator.toml; trained on the training truth.
        let losses = try generator.trainDiscriminators(truth: try ZJetsGenerator.events(of: sample, source: data.path), config: ClassifierConfig(),
                                                       weightClip: 10, rng: RNGStream(seed: seed).child("generator.discriminators"), folder: out)
        print("discriminators trained, final losses " + losses.map { String(format: "%.4f", $0) }.joined(separator: "/") + " (ln 4 = 1.386: indistinguishable)")
    }
    let counts = generator.settings.trainingEvents.map(String.init).joined(separator: "/")
    print(String(format: "trained the Z+jets INN generator on %@ events (1/2/3 jets), Delta R weight on [%.2f, %.2f], %.1f s; model in %@",
                 counts, separation.lower, separation.upper, Date().timeIntervalSince(start), out.path))
}
