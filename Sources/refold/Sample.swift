import ArgumentParser
import Flows
import Foundation
import GAN
import Unfolders
import Tensor

/// `refold sample`: marginal distributions of a trained BINN with their uncertainty (thesis
/// sec. 6.3.5): for each of M weight draws N events are sampled and histogrammed per column with
/// identical binning; the mean and standard deviation of the M histograms. For a subtraction GAN
/// (a model folder with subtraction.json): N unweighted B - S events as a single-level sample. For
/// the Z+jets INN generator (generator.json): N generated events in the z-jets format with their
/// Delta R weights (weights.npy), at `--augmentation a` for a conditioned one, and D/(1-D)
/// (discriminator_weights.npy) when the model stores its discriminators. For a ttbar generator:
/// N unweighted events.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "BINN marginal histograms over M weight draws (sec. 6.3.5), unweighted B - S events of a subtraction GAN, or weighted Z+jets events of the INN generator.")

    @Option(help: "A model from `refold train binn`, `refold train subtraction` or `refold train generator`.") var model: String
    @Option(help: "Events N per weight draw (BINN) or in total (subtraction, generator); checked against half the memory before sampling.") var events: Int = 100_000
    @Option(help: "Weight draws M (2...1000).") var draws: Int = 30
    @Option(help: "Bins per column, on mean ± 4 std of the training data (1...100000).") var bins: Int = 50
    @Option(help: "Seed of the weight draws and the latent samples.") var seed: UInt64 = 2026
    @Option(help: "Z+jets generator trained with --condition-on augmentation: the theory parameter a in [0, 30] (default 0).") var augmentation: Double?
    @Option(help: "Output folder: marginal-<column>.csv, marginals_mean.npy, marginals_sigma.npy [D, bins].") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events: expected >= 1, got \(events)") }
        try checkCount("--draws", draws, in: 2...1_000)
        try checkCount("--bins", bins, in: 1...100_000)
    }

    func run() throws {
        let modelFolder = URL(fileURLWithPath: model)
        if augmentation != nil, !ZJetsGenerator.isModel(at: modelFolder) {
            throw ValidationError("--augmentation: only for a Z+jets generator (refold train generator --condition-on augmentation)")
        }
        try OutputGuard.check(URL(fileURLWithPath: out), inputs: [("--model", modelFolder)], force: force)
        if ZJetsGenerator.isModel(at: modelFolder) {
            try checkMemory("--events", count: events, bytesPerItem: 512)
            let generator = try ZJetsGenerator.load(from: modelFolder)
            let start = Date()
            var (sample, discriminator) = try generator.controlledSample(events: events, rng: RNGStream(seed: seed).child("sample"), augmentation: augmentation ?? 0)
            let seconds = Date().timeIntervalSince(start)
            sample.seed = seed
            let folder = URL(fileURLWithPath: out)
            let weights = discriminator.map { NPYArray(shape: [events], values: $0.weights, dtype: .float64) }
            try weights?.requireFinite(folder.appendingPathComponent("discriminator_weights.npy"))
            try sample.write(to: folder)
            try weights?.write(to: folder.appendingPathComponent("discriminator_weights.npy"))
            print(String(format: "%d generated Z+jets events with Delta R weights%@ (%.0f events/s) -> %@", events,
                         discriminator.map { String(format: " and D/(1-D) in discriminator_weights.npy (%.3f %% clipped)", 100 * $0.clippedFraction) } ?? "",
                         Double(events) / seconds, out))
            return
        }
        if TTbarGenerator.isModel(at: modelFolder) {
            try checkMemory("--events", count: events, bytesPerItem: 512)
            let generator = try TTbarGenerator.load(from: modelFolder)
            let start = Date()
            var sample = try generator.sample(events: events, rng: RNGStream(seed: seed).child("sample"))
            let seconds = Date().timeIntervalSince(start)
            sample.seed = seed
            try sample.write(to: URL(fileURLWithPath: out))
            print(String(format: "%d generated ttbar events, %@ generator (%.0f events/s) -> %@", events, generator.settings.network.rawValue,
                         Double(events) / seconds, out))
            return
        }
        if SubtractionModel.isModel(at: modelFolder) {
            let (settings, gan) = try SubtractionModelSettings.load(from: modelFolder)
            try checkMemory("--events", count: events, bytesPerItem: 16 * settings.columns.count)
            let x = try gan.sample(count: events, rng: RNGStream(seed: seed).child("sample"))
            var sample = EventSample(generator: "subtraction-gan(\(settings.background) - \(settings.subtract))", seed: seed,
                                     events: .init(columns: settings.columns, rows: events, values: x.storage.map(Double.init)),
                                     parameters: ["cross_section": gan.crossSectionDifference])
            sample.seed = seed
            try sample.write(to: URL(fileURLWithPath: out))
            print("\(events) unweighted B - S events (sigma_B - sigma_S = \(gan.crossSectionDifference)) -> \(out)")
            return
        }
        let binn = try BINNModel.load(from: URL(fileURLWithPath: model))
        // One weight draw pushes all N events through the network at once: the float32 activations
        // of every layer of every block, if the tape keeps them.
        let config = binn.network.config
        try checkMemory("--events", count: events, bytesPerItem: 4 * config.units * (config.hiddenLayers + 2) * config.blocks)
        let observables = binn.columns.enumerated().map { j, name in
            MarginalObservable.column(j, name: name, bins: bins, low: binn.standardizer.mean[j] - 4 * binn.standardizer.std[j],
                                      high: binn.standardizer.mean[j] + 4 * binn.standardizer.std[j])
        }
        let bands = try binn.marginals(observables, events: events, draws: draws, rng: RNGStream(seed: seed).child("sample"))
        let folder = URL(fileURLWithPath: out)
        let mean = NPYArray(shape: [bands.count, bins], values: bands.flatMap(\.mean), dtype: .float64)
        let sigma = NPYArray(shape: [bands.count, bins], values: bands.flatMap(\.sigma), dtype: .float64)
        try mean.requireFinite(folder.appendingPathComponent("marginals_mean.npy"))
        try sigma.requireFinite(folder.appendingPathComponent("marginals_sigma.npy"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for band in bands {
            var csv = "low,high,density,sigma_pred\n"
            for b in 0..<band.mean.count { csv += "\(band.edges[b]),\(band.edges[b + 1]),\(band.mean[b]),\(band.sigma[b])\n" }
            try writeAtomically(csv, to: folder.appendingPathComponent("marginal-\(band.name).csv"))
        }
        try mean.write(to: folder.appendingPathComponent("marginals_mean.npy"))
        try sigma.write(to: folder.appendingPathComponent("marginals_sigma.npy"))
        print("\(bands.count) marginals, N = \(events) events x M = \(draws) draws -> \(folder.path)")
    }
}
