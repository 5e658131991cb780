import Flows
import Foundation
import Inference
import Unfolders
import Tensor
import Validation

/// `refold train qcd`: the set-level cINN over shower parameters (docs/qcd-inference.md) on a
/// `refold generate shower --prior ... --jets-per-set M` folder; the inferred parameters are the
/// prior's. Progress lines on a terminal; a NaN loss stops with the last good checkpoint in `out`.
func trainQCD(data: URL, profile: ProfileName, epochs: Int?, batchSize: Int?, seed: UInt64, resume: Bool, out: URL) throws {
    let checkpoint = out.appendingPathComponent(QCDInferenceModel.checkpointFile)
    let sets = try JetSets.read(from: data)
    let metaURL = data.appendingPathComponent("meta.json")
    let meta = (try? JSONSerialization.jsonObject(with: Data(contentsOf: metaURL))) as? [String: Any]
    let priorRecord = meta?["prior"] as? [String: [Double]] ?? [:]
    let prior = try sets.names.map { name -> [Double] in
        guard let range = priorRecord[name], range.count == 2 else { throw RefoldError.file(metaURL.path, "prior.\(name): expected [low, high]") }
        return range
    }
    let m = sets.features.map(\.count).max() ?? 0
    guard m >= 2 else { throw RefoldError.file(data.path, "sets of \(m) jet(s): generate with --jets-per-set M (M >= 2)") }
    let config = profile == .paper ? JetSetINNConfig.paper(parameters: sets.names.count, maximumJets: m, minimumJets: min(10, m))
                                   : JetSetINNConfig.quick(parameters: sets.names.count, maximumJets: m, minimumJets: min(10, m))
    var training = TrainingConfig(epochs: profile == .paper ? 150 : 30, batchSize: 128, learningRate: 1e-3, weightDecay: 1e-5, schedule: .oneCycle)
    if let epochs { training.epochs = epochs }
    if let batchSize { training.batchSize = batchSize }
    let terminal = TerminalProgress()
    let start = Date()
    var last: EpochReport?
    let (model, _) = try QCDInferenceModel.train(sets, config: config, prior: prior, optimisation: training, seed: seed, folder: out, resume: resume) { report in
        last = report
        terminal.update(progressLine(report, epochs: training.epochs))
    }
    terminal.finish()
    let summary = last.map { progressLine($0, epochs: training.epochs) } ?? "nothing left to train"
    print("trained the QCD inference network for \(model.names.joined(separator: ", ")) on \(sets.count) sets of \(m) jets, \(model.network.parameterCount) weights, "
          + String(format: "%.1f s", Date().timeIntervalSince(start)) + ": \(summary); model in \(out.path)")
}
