import ArgumentParser
import Foundation
import GAN
import Unfolders
import Tensor
import Validation

/// Trains `variant` on the sample folder `data` into the model folder `out` (the entry point
/// `refold train gan|fcgan` dispatches to). Progress lines on a terminal (none under CI). A NaN
/// or infinite loss throws (non-zero exit) and the last good checkpoint stays in `out`. Without
/// `resume` an existing checkpoint in `out` is an error.
func trainGAN(variant: NetworkVariant, data: URL, profile: ProfileName, epochs: Int?, batchSize: Int? = nil, seed: UInt64, resume: Bool,
              residual: Bool = false, discriminatorResponse: Bool = false, out: URL,
              events: EventReader = EventReader(.refuse)) throws {
    let sample = try events.read(data)
    let terminal = TerminalProgress(fileDescriptor: 2)
    BLAS.setThreads(ProcessInfo.processInfo.environment["REFOLD_BLAS_THREADS"].flatMap(Int.init) ?? 1)
    let start = Date()
    if resume, residual || discriminatorResponse {
        throw RefoldError.value("--residual or --discriminator-response with --resume",
                                expected: "neither (the model folder's gan.json decides)", actual: "both")
    }
    var (network, training) = GANModelSettings.presets(profile)
    network.residual = residual ? true : nil
    network.discriminatorResponse = discriminatorResponse ? true : nil
    if let batchSize { training.batchSize = batchSize }
    let trained = try GANModelFolder.train(variant: variant, sample: sample, profile: profile, epochs: epochs, seed: seed,
                                           resume: resume, out: out, network: resume ? nil : network,
                                           training: resume ? nil : training) { report in
        terminal.update("\(variant.rawValue) \(report.progressLine)")
    }
    terminal.finish()
    print(String(format: "trained %@ on %d events: %d epochs in %.1f s, model in %@", variant.rawValue, sample.count,
                 trained.completedEpochs, Date().timeIntervalSince(start), out.path))
}
