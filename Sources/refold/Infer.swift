import ArgumentParser
import Foundation
import Inference
import Tensor

/// `refold infer`: posterior samples of shower parameters for sets of measured jets
/// (docs/qcd-inference.md).
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample the posterior of shower parameters for sets of jets with a model of refold train qcd; writes samples and a summary.")

    @Option(help: "A model folder written by refold train qcd.") var model: String
    @Option(help: "A refold generate shower folder with the measured jets.") var jets: String
    @Option(help: "Jets per measurement (default: the folder's jets_per_set if above 1, else all its jets form one set; at most the model's maximum jets).") var jetsPerSet: Int?
    @Option(help: "Posterior samples per set (2...10000000, and sets x samples x parameters Doubles within half the memory).") var samples: Int = 1000
    @Option(help: "The seed of the posterior draws.") var seed: UInt64 = 2026
    @Option(help: "Output folder: posterior.npy [S, K, P], truth.npy [S, P] (the parameters the jets were made with), summary.json.") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false

    func validate() throws {
        try checkCount("--samples", samples, in: 2...10_000_000)
        if let jetsPerSet, jetsPerSet < 1 { throw ValidationError("--jets-per-set: expected >= 1, got \(jetsPerSet)") }
    }

    func run() throws {
        try OutputGuard.check(URL(fileURLWithPath: out), inputs: [("--model", URL(fileURLWithPath: model)), ("--jets", URL(fileURLWithPath: jets))],
                              force: force)
        let model = try QCDInferenceModel.read(from: URL(fileURLWithPath: self.model))
        let folder = URL(fileURLWithPath: jets)
        let meta = (try? JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("meta.json")))) as? [String: Any]
        let recorded = meta?["jets_per_set"] as? Int ?? 1
        let total = meta?["jets"] as? Int ?? 0
        let perSet = jetsPerSet ?? (recorded > 1 ? recorded : total)
        guard perSet <= model.config.maximumJets else {
            throw RefoldError.value("jets per set", expected: "at most the model's \(model.config.maximumJets) (pass --jets-per-set)", actual: perSet)
        }
        let sets = try JetSets.read(from: folder, names: model.names, jetsPerSet: perSet)
        let (draws, overflow) = sets.features.count.multipliedReportingOverflow(by: samples)
        try checkMemory("--samples x sets (\(sets.features.count))", count: overflow ? Int.max : draws, bytesPerItem: 16 * model.names.count)
        let start = Date()
        let posterior = try model.posterior(sets, samples: samples, rng: RNGStream(seed: seed).child("infer"))
        let seconds = Date().timeIntervalSince(start)
        let outURL = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        let p = model.names.count
        try NPYArray(shape: [sets.count, samples, p], values: posterior.flatMap { $0.flatMap { $0 } }).write(to: outURL.appendingPathComponent("posterior.npy"))
        try NPYArray(shape: [sets.count, p], values: sets.parameters.flatMap { $0 }).write(to: outURL.appendingPathComponent("truth.npy"))
        let summaries = posterior.map { PosteriorSummary(names: model.names, samples: $0) }
        let record: [String: Any] = [
            "model": self.model, "jets": jets, "jets_per_set": perSet, "sets": sets.count, "samples": samples, "seed": seed,
            "parameters": model.names, "prior": model.prior, "command": CommandLine.arguments,
            "posterior": summaries.map { s in
                ["mean": s.mean, "std": s.std, "interval68": s.interval68, "interval95": s.interval95, "correlation": s.correlation] as [String: Any]
            },
        ]
        let json = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(json, to: outURL.appendingPathComponent("summary.json"))
        let first = summaries[0]
        print("posterior of \(sets.count) set(s) of \(perSet) jets, \(samples) samples each (" + String(format: "%.0f samples/s", Double(sets.count * samples) / max(seconds, 1e-9))
              + "); set 0: " + model.names.indices.map { String(format: "%@ = %.4g ± %.3g", model.names[$0], first.mean[$0], first.std[$0]) }.joined(separator: ", ")
              + "; results in \(out)")
    }
}
