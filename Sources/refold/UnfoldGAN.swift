import ArgumentParser
import Foundation
import GAN
import Unfolders
import Tensor

/// Writes `out/samples.npy` (N, K, D_p; float32, physical units, parton column order, phi in
/// (-pi, pi]) and `out/meta.json` (columns, model, K, seed). Noise from RNGStream(seed).child("unfold-gan").
func unfoldGAN(model: URL, detector: URL, samples: Int, seed: UInt64, out: URL, nonFinite: EventSample.NonFiniteEvents = .refuse) throws {
    let trained = try GANModelFolder.load(model)
    let sample = try readEvents(detector, nonFinite)
    guard let block = sample.detector else {
        throw RefoldError.file(detector.path, "expected a paired sample folder with detector.npy, got a \(sample.level.rawValue)-level sample")
    }
    try checkUnfoldMemory(events: block.rows, samples: samples)
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
        "dropped_non_finite_events": sample.droppedNonFinite,
    ]
    try writeAtomically(try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]),
                        to: out.appendingPathComponent("meta.json"))
    print("wrote \(block.rows) x \(samples) \(trained.settings.variant.rawValue) samples to \(out.appendingPathComponent("samples.npy").path)")
}
