import ArgumentParser
import Foundation
import GAN
import Studies
import Tensor
import Validation

extension GANVariant: ExpressibleByArgument {}

/// `refold train-gan gan|fcgan`: trains an unfolding GAN on a paired sample folder into a GAN
/// model folder (gan.json, checkpoint.safetensors after every epoch, history.json).
struct TrainGAN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-gan",
        abstract: "Train the naive GAN or the fully conditional GAN (thesis ch. 4) on a paired sample.")

    @Argument(help: "The network: gan (naive, sec. 4.2) or fcgan (fully conditional, sec. 4.3).") var variant: GANVariant
    @Option(help: "Paired sample folder (parton.npy, detector.npy, meta.json).") var data: String
    @Option(help: "Sizes: quick (4 x 128, 30 epochs) or paper (table 4.1: 12 x 512, 1200 epochs).") var profile: ProfileName = .quick
    @Option(help: "Epochs (default: the profile's; with --resume the total to reach).") var epochs: Int?
    @Option(help: "The seed of the weights, shuffling and noise.") var seed: UInt64 = 2026
    @Flag(help: "Continue from the checkpoint in --out.") var resume = false
    @Option(help: "Model folder.") var out: String

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs: expected >= 1, got \(epochs)") }
    }

    func run() throws {
        try trainGAN(variant: variant, data: URL(fileURLWithPath: data), profile: profile, epochs: epochs, seed: seed,
                     resume: resume, out: URL(fileURLWithPath: out))
    }
}

/// Trains `variant` on the sample folder `data` into the model folder `out` (the entry point
/// `refold train gan|fcgan` dispatches to). Progress lines on a terminal (none under CI). A NaN
/// or infinite loss throws (non-zero exit) and the last good checkpoint stays in `out`. Without
/// `resume` an existing checkpoint in `out` is an error.
func trainGAN(variant: GANVariant, data: URL, profile: ProfileName, epochs: Int?, seed: UInt64, resume: Bool, out: URL) throws {
    let checkpoint = out.appendingPathComponent(GANModelFolder.checkpointFile)
    if !resume, FileManager.default.fileExists(atPath: checkpoint.path) {
        throw RefoldError.file(checkpoint.path, "exists: pass --resume to continue it or choose another --out")
    }
    if resume, !FileManager.default.fileExists(atPath: checkpoint.path) {
        throw RefoldError.file(checkpoint.path, "missing: nothing to resume")
    }
    let sample = try EventSample.read(from: data)
    let showProgress = ProcessInfo.processInfo.environment["CI"] == nil && isatty(2) != 0
    BLAS.setThreads(ProcessInfo.processInfo.environment["REFOLD_BLAS_THREADS"].flatMap(Int.init) ?? 1)
    let start = Date()
    let trained = try GANModelFolder.train(variant: variant, sample: sample, profile: profile, epochs: epochs, seed: seed,
                                           resume: resume, out: out) { report in
        if showProgress { FileHandle.standardError.write(Data("\(variant.rawValue) \(report.progressLine)\n".utf8)) }
    }
    print(String(format: "trained %@ on %d events: %d epochs in %.1f s, model in %@", variant.rawValue, sample.count,
                 trained.completedEpochs, Date().timeIntervalSince(start), out.path))
}
