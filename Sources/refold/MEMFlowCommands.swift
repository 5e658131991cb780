import Flows
import Foundation
import Inference
import Physics
import Unfolders
import Tensor
import Validation

/// `refold train memflow`: the CMS MEMFlow network (docs/memflow.md) on a paired collider sample
/// with any number of jet slots: regression pre-training, then the likelihood stage.
func trainMEMFlow(data: URL, profile: ProfileName, epochs: Int?, batchSize: Int?, seed: UInt64, resume: Bool, out: URL,
                  events: EventReader = EventReader(.refuse)) throws {
    let sample = try events.read(data)
    var config = profile == .paper ? MEMFlowConfig.paper : MEMFlowConfig.quick
    if let epochs { config.training.epochs = epochs }
    if let batchSize { config.pretraining.batchSize = batchSize; config.training.batchSize = batchSize }
    let terminal = TerminalProgress()
    let start = Date()
    var last: String?
    let model = try MEMFlowModel.train(sample: sample, config: config, seed: seed, folder: out, resume: resume, source: data.path) { stage, report in
        let total = stage == .regression ? config.pretraining.epochs : config.training.epochs
        let line = "\(stage.rawValue) " + progressLine(report, epochs: total)
        terminal.update(line)
        last = line
    }
    terminal.finish()
    print("trained MEMFlow on \(sample.count) events (\(model.description.trainingSlots) token slots), \(model.network.parameterCount) weights, "
          + String(format: "%.1f s", Date().timeIntervalSince(start)) + ": \(last ?? "nothing left to train"); model in \(out.path)")
}

/// `refold unfold` with a MEMFlow model: `samples.npy` (N, K, 12) in the collider parton columns
/// and `meta.json`, as the cINN path writes them. Noise from RNGStream(seed).child("unfold").
func unfoldMEMFlow(model: URL, detector: URL, samples: Int, seed: UInt64, out: URL, nonFinite: EventSample.NonFiniteEvents = .refuse) throws {
    let loaded = try MEMFlowModel.read(from: model)
    let sample = try readEvents(detector, nonFinite)
    guard let block = sample.detector else {
        throw RefoldError.file(detector.path, "expected a sample with a detector level (detector.npy), got a \(sample.level.rawValue)-level sample")
    }
    try checkUnfoldMemory(events: block.rows, samples: samples)
    let start = Date()
    let drawn = try loaded.sample(detector: block, count: samples, rng: RNGStream(seed: seed).child("unfold"), source: detector.path)
    let seconds = Date().timeIntervalSince(start)
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try NPYArray(shape: [drawn.events, samples, MEMFlowSamples.columns.count], values: drawn.values, dtype: .float32)
        .write(to: out.appendingPathComponent("samples.npy"))
    let meta: [String: Any] = [
        "model": model.standardizedFileURL.path, "variant": MEMFlowModel.kind, "detector": detector.standardizedFileURL.path,
        "seed": seed, "samples_per_event": samples, "events": drawn.events, "columns": MEMFlowSamples.columns,
        "shape": [drawn.events, samples, MEMFlowSamples.columns.count], "units": "GeV", "files": ["samples": "samples.npy"],
        "maximum_relative_imbalance": drawn.maximumImbalance, "unphysical_samples": drawn.unphysical,
        "spline_tail_fraction": drawn.tails.fraction, "dropped_non_finite_events": sample.droppedNonFinite,
    ]
    try writeAtomically(try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]),
                        to: out.appendingPathComponent("meta.json"))
    print(String(format: "unfolded %d events x %d samples in %.2f s (%.0f samples/s) into %@; largest |sum pT| / sum pT %.2g, %d unphysical",
                 drawn.events, samples, seconds, Double(drawn.events * samples) / max(seconds, 1e-9), out.path, drawn.maximumImbalance, drawn.unphysical))
}
