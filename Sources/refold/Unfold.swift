import ArgumentParser
import Foundation
import Inference
import Unfolders
import Tensor

/// `refold unfold`: posterior samples for every detector-level event of a sample (docs/unfold.md).
struct Unfold: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unfold detector-level events with a trained model: samples.npy (N, K, D_p) in physical units and meta.json.")

    @Option(help: "A model folder written by refold train (invertible network, GAN or MEMFlow).") var model: String
    @Option(help: "A sample folder with detector.npy (and njets.npy for cinn-isr) in the model's detector columns.") var detector: String
    @Option(help: "Posterior samples per event (events x samples x 12 values within half the memory, checked before unfolding).") var samples: Int = 100
    @Option(help: "The seed of the sampling noise.") var seed: UInt64 = 2026
    @Option(help: "BLAS threads (at most 256).") var threads: Int = 1
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false
    @OptionGroup var nonFinite: NonFiniteOption

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples: expected >= 1, got \(samples)") }
        try checkCount("--threads", threads, in: 1...256)
    }

    func run() throws {
        // samples.npy and meta.json would replace the detector sample's or the model's files.
        try OutputGuard.check(URL(fileURLWithPath: out), inputs: [("--detector", URL(fileURLWithPath: detector)), ("--model", URL(fileURLWithPath: model))],
                              force: force)
        BLAS.setThreads(threads)
        let modelFolder = URL(fileURLWithPath: model)
        if GANModelFolder.Trained.isModel(at: modelFolder) {
            try unfoldGAN(model: modelFolder, detector: URL(fileURLWithPath: detector), samples: samples, seed: seed,
                          out: URL(fileURLWithPath: out), nonFinite: nonFinite.policy)
            return
        }
        if MEMFlowModel.isModel(at: modelFolder) {
            try unfoldMEMFlow(model: modelFolder, detector: URL(fileURLWithPath: detector), samples: samples, seed: seed,
                              out: URL(fileURLWithPath: out), nonFinite: nonFinite.policy)
            return
        }
        let loaded = try UnfoldingModel.load(from: modelFolder)
        let sample = try readEvents(URL(fileURLWithPath: detector), nonFinite.policy)
        guard let block = sample.detector else {
            throw RefoldError.value("\(detector)", expected: "a sample with a detector level (detector.npy)", actual: "a \(sample.level.rawValue)-level sample")
        }
        try checkUnfoldMemory(events: block.rows, samples: samples)
        let start = Date()
        let unfolded = try loaded.unfold(detector: block, njets: sample.njets, samples: samples,
                                         rng: RNGStream(seed: seed).child("unfold"))
        let seconds = Date().timeIntervalSince(start)
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try unfolded.writeNPY(to: folder.appendingPathComponent("samples.npy"))
        let meta: [String: Any] = [
            "model": URL(fileURLWithPath: model).standardizedFileURL.path, "variant": loaded.config.network.variant.rawValue,
            "detector": URL(fileURLWithPath: detector).standardizedFileURL.path, "seed": seed, "samples_per_event": samples,
            "events": unfolded.events, "columns": unfolded.columns, "shape": [unfolded.events, samples, unfolded.columns.count],
            "units": "GeV", "files": ["samples": "samples.npy"],
            "dropped_non_finite_events": sample.droppedNonFinite, "redrawn_outside_training_support": unfolded.redrawnSamples, "outside_training_support": unfolded.outsideSupport,
        ]
        try writeAtomically(try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]),
                            to: folder.appendingPathComponent("meta.json"))
        print(String(format: "unfolded %d events x %d samples in %.2f s (%.0f events/s) into %@", unfolded.events, samples,
                     seconds, Double(unfolded.events) / max(seconds, 1e-9), folder.path))
        if unfolded.redrawnSamples > 0 {
            print("\(unfolded.redrawnSamples) samples fell outside the training support and were redrawn; \(unfolded.outsideSupport) still outside")
        }
    }
}
