import ArgumentParser
import Foundation
import GAN
import Studies
import Tensor

/// `refold unfold-gan`: K parton-level samples per detector-level event from a trained GAN.
struct UnfoldGAN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unfold-gan",
        abstract: "Unfold detector-level events with a trained GAN: samples.npy (N, K, 12) in parton columns, GeV.")

    @Option(help: "GAN model folder (from train-gan).") var model: String
    @Option(help: "Sample folder with detector.npy (and meta.json).") var detector: String
    @Option(help: "Samples per event K (the FCGAN draws K; the naive GAN repeats its one answer).") var samples: Int = 1
    @Option(help: "The seed of the generator noise.") var seed: UInt64 = 2026
    @Option(help: "Output folder.") var out: String

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples: expected >= 1, got \(samples)") }
    }

    func run() throws {
        try unfoldGAN(model: URL(fileURLWithPath: model), detector: URL(fileURLWithPath: detector), samples: samples,
                      seed: seed, out: URL(fileURLWithPath: out))
    }
}

/// Writes `out/samples.npy` (N, K, D_p; float32, physical units, parton column order, phi in
/// [-pi, pi)) and `out/meta.json` (columns, model, K, seed). Noise from RNGStream(seed).child("unfold-gan").
func unfoldGAN(model: URL, detector: URL, samples: Int, seed: UInt64, out: URL) throws {
    let trained = try GANModelFolder.load(model)
    let sample = try EventSample.read(from: detector)
    guard let block = sample.detector else {
        throw RefoldError.file(detector.path, "expected a paired sample folder with detector.npy, got a \(sample.level.rawValue)-level sample")
    }
    BLAS.setThreads(ProcessInfo.processInfo.environment["REFOLD_BLAS_THREADS"].flatMap(Int.init) ?? 1)
    let events = try GANCollider.unfold(trained, detector: block, samples: samples, rng: RNGStream(seed: seed).child("unfold-gan"))
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let d = events.columns.count
    try NPYArray(shape: [block.rows, samples, d], values: events.values, dtype: .float32)
        .write(to: out.appendingPathComponent("samples.npy"))
    let meta: [String: Any] = [
        "columns": events.columns, "events": block.rows, "samples_per_event": samples, "units": "GeV",
        "model": model.path, "variant": trained.settings.variant.rawValue, "epochs": trained.completedEpochs,
        "detector": detector.path, "seed": seed, "files": ["samples": "samples.npy"],
    ]
    try writeAtomically(try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]),
                        to: out.appendingPathComponent("meta.json"))
    print("wrote \(block.rows) x \(samples) \(trained.settings.variant.rawValue) samples to \(out.appendingPathComponent("samples.npy").path)")
}
