import Foundation
import GAN
import Tensor
import Validation

/// `refold train subtraction`: a subtraction GAN (docs/subtraction.md) on two single-level samples
/// with the same columns; sigma_B and sigma_S from their meta.json (parameters.cross_section).
/// The sizes and coordinates of Toys/subtraction.toml: columns Gaussianised with B's quantiles,
/// or the logit of `box`.
/// Progress lines on a terminal; a NaN loss stops with the last good checkpoint in `out`.
func trainSubtraction(background: URL, subtract: URL, box: String?, profile: ProfileName, epochs: Int?, batchSize: Int?,
                      seed: UInt64, resume: Bool, out: URL, events: EventReader = EventReader(.refuse)) throws {
    let checkpoint = out.appendingPathComponent(SubtractionModelSettings.checkpointFile)
    let b = try events.read(background), s = try events.read(subtract)
    guard let bEvents = b.events, let sEvents = s.events else {
        throw RefoldError.file(b.events == nil ? background.path : subtract.path, "expected a single-level sample (events.npy)")
    }
    guard bEvents.columns == sEvents.columns else {
        throw RefoldError.file(subtract.path, "columns \(sEvents.columns) differ from the background's \(bEvents.columns)")
    }
    func crossSection(_ sample: EventSample, _ url: URL) throws -> Double {
        guard let sigma = sample.parameters["cross_section"], sigma.isFinite, sigma > 0 else {
            throw RefoldError.file(url.appendingPathComponent("meta.json").path,
                                   "expected a positive parameters.cross_section, got \(sample.parameters["cross_section"].map { "\($0)" } ?? "none")")
        }
        return sigma
    }
    let sigmaB = try crossSection(b, background), sigmaS = try crossSection(s, subtract)
    var boxMap: BoxMap?
    if let box {
        let ranges = try box.split(separator: ",").map { part -> (Double, Double) in
            let ends = part.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard ends.count == 2, let lo = ends[0], let hi = ends[1] else {
                throw RefoldError.value("--box", expected: "lo:hi per column, comma-separated", actual: String(part))
            }
            return (lo, hi)
        }
        guard ranges.count == bEvents.columns.count else {
            throw RefoldError.value("--box", expected: "\(bEvents.columns.count) ranges (columns \(bEvents.columns))", actual: ranges.count)
        }
        boxMap = try BoxMap(.logit, lower: ranges.map(\.0), upper: ranges.map(\.1))
    }
    var network = profile == .paper ? GANConfig(generatorLayers: 6, discriminatorLayers: 6, unitsPerLayer: 128)
                                    : GANConfig(generatorLayers: 4, discriminatorLayers: 4, unitsPerLayer: 64)
    network.noiseDimension = 32
    var training = GANTrainingConfig(epochs: profile == .paper ? 60 : 16, batchSize: 512, generatorLearningRate: 1e-3,
                                     discriminatorLearningRate: 1e-3, schedule: .cosine, generatorAverage: 0.99)
    if let epochs { training.epochs = epochs }
    if let batchSize { training.batchSize = batchSize }
    let settings = SubtractionModelSettings(columns: bEvents.columns, network: network, training: training,
                                            coordinates: try SubtractionCoordinates(box: boxMap, gaussianise: boxMap == nil, fitting: bEvents.tensor()),
                                            crossSectionB: sigmaB, crossSectionS: sigmaS, seed: seed,
                                            background: b.generator, subtract: s.generator)
    let terminal = TerminalProgress(fileDescriptor: 2)
    let start = Date()
    _ = try settings.train(background: bEvents.tensor(), subtract: sEvents.tensor(), into: out, resume: resume) { report in
        terminal.update("subtraction \(report.progressLine)")
    }
    terminal.finish()
    print(String(format: "trained the subtraction GAN on %d B and %d S events (sigma_S / sigma_B = %.4f): %d epochs in %.1f s, model in %@",
                 bEvents.rows, sEvents.rows, sigmaS / sigmaB, training.epochs, Date().timeIntervalSince(start), out.path))
}
