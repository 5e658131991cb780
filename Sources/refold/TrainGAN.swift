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
func trainGAN(variant: NetworkVariant, data: URL, profile: ProfileName, epochs: Int?, seed: UInt64, resume: Bool, residual: Bool = false,
              discriminatorResponse: Bool = false, out: URL) throws {
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
    if resume, residual || discriminatorResponse {
        throw RefoldError.value("--residual or --discriminator-response with --resume",
                                expected: "neither (the model folder's gan.json decides)", actual: "both")
    }
    var network = GANModelSettings.presets(profile).0
    network.residual = residual ? true : nil
    network.discriminatorResponse = discriminatorResponse ? true : nil
    let trained = try GANModelFolder.train(variant: variant, sample: sample, profile: profile, epochs: epochs, seed: seed,
                                           resume: resume, out: out, network: resume ? nil : network) { report in
        if showProgress { FileHandle.standardError.write(Data("\(variant.rawValue) \(report.progressLine)\n".utf8)) }
    }
    print(String(format: "trained %@ on %d events: %d epochs in %.1f s, model in %@", variant.rawValue, sample.count,
                 trained.completedEpochs, Date().timeIntervalSince(start), out.path))
}
