import Flows
import Foundation
import Physics
import Unfolders
import Tensor
import Validation

/// Sizes of the Z+jets INN generator per profile: `quick` 10 blocks x 2 layers x 64 units, 100
/// epochs (as Toys/generator.toml: about 80 s on 2 cores for 60k events); `paper` 12 x 3 x 128,
/// 200 epochs. R- = 0.4 (the
/// sample's R_min) and R+ = 1.2 for the Delta R weight.
enum GeneratorPreset {
    static func flow(_ profile: ProfileName) -> DensityFlowConfig {
        profile == .paper ? DensityFlowConfig(dimension: 2, blocks: 12, layersPerBlock: 3, unitsPerLayer: 128)
            : DensityFlowConfig(dimension: 2, blocks: 10, layersPerBlock: 2, unitsPerLayer: 64)
    }
    static func training(_ profile: ProfileName) -> TrainingConfig {
        TrainingConfig(epochs: profile == .paper ? 200 : 100, batchSize: 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine, gradientClip: 10)
    }
}

/// `refold train generator`: the Z+jets INN generator (one flow per jet multiplicity, Delta R
/// weighted maximum likelihood) on a z-jets sample; writes generator.json and one checkpoint per
/// multiplicity (after every epoch) into `out`.
func trainGenerator(data: URL, profile: ProfileName, epochs: Int?, batchSize: Int?, seed: UInt64, resume: Bool, out: URL,
                    separationUpper: Double, events: EventReader = EventReader(.refuse)) throws {
    let sample = try events.read(data)
    var training = GeneratorPreset.training(profile)
    if let epochs { training.epochs = epochs }
    if let batchSize { training.batchSize = batchSize }
    let rMin = sample.parameters["minimum_separation"] ?? ZJetsParameters().minimumSeparation
    let separation = try SeparationWeight(lower: rMin, upper: separationUpper)
    let start = Date()
    let terminal = TerminalProgress()
    let generator = try ZJetsGenerator.train(sample: sample, source: data.path, flow: GeneratorPreset.flow(profile), training: training,
                                             separation: separation, seed: seed, folder: out, resume: resume) { jets, r in
        terminal.update("\(jets)-jet flow " + progressLine(r, epochs: training.epochs))
    }
    terminal.finish()
    let counts = generator.settings.trainingEvents.map(String.init).joined(separator: "/")
    print(String(format: "trained the Z+jets INN generator on %@ events (1/2/3 jets), Delta R weight on [%.2f, %.2f], %.1f s; model in %@",
                 counts, separation.lower, separation.upper, Date().timeIntervalSince(start), out.path))
}
