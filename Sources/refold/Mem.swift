import ArgumentParser
import Flows
import Foundation
import Inference
import Physics
import Unfolders
import Tensor
import Validation

extension MEMParameter: ExpressibleByArgument {}
extension MEMScan.Integrator: ExpressibleByArgument {}

/// `refold mem --transfer`: the fast detector's closed-form W or a learned one (`LearnedTransfer`).
enum TransferKind: String, CaseIterable, ExpressibleByArgument { case analytic, learned }

/// `refold mem`: the matrix element method on a zw-type sample (docs/mem.md): per-event
/// likelihoods p(x_d | theta) by VEGAS or by flow importance sampling, the scan of -2 log L over
/// one parameter, and the estimate with its error.
struct Mem: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure w_mass, angular_b or wprime_fraction from detector events by the matrix element method; writes per-event log-likelihoods, the scan and the estimate.")

    @Option(help: "A zw or wprime sample folder (refold generate; needs lepton_flavour.npy).") var data: String
    @Option(help: "The parameter: \(MEMParameter.allCases.map(\.rawValue).joined(separator: ", ")).") var parameter: MEMParameter
    @Option(help: "The scan grid a:b:n (n >= 3 points).") var grid: String
    @Option(help: "vegas (GSL, one integral per event and grid point) or flow (importance sampling with --model).") var integrator: MEMScan.Integrator = .flow
    @Option(help: "The flow proposal (refold train mem).") var model: String?
    @Option(help: "The transfer function: analytic (the fast detector's closed form) or learned (--transfer-model, flow integrator only).") var transfer: TransferKind = .analytic
    @Option(help: "The learned transfer density (refold train transfer), with --transfer learned.") var transferModel: String?
    @Option(help: "Use the first N events (default: all; at most the folder's, so no more is allocated).") var events: Int?
    @Option(help: "Defensive importance sampling: a fraction W of the flow draws from a latent Gaussian S times wider, as W:S (default: none).")
    var defensive: String?
    @Option(help: "Flow draws per event (2...10000000).") var draws = 1_000
    @Option(help: "VEGAS relative precision per integral.") var precision = 0.01
    @Option(help: "Simulated events for the selection probability P_sel(theta) (1000...100000000).") var selectionTrials = 200_000
    @Option(help: "The hypotheses' W' fraction (unless it is the parameter).") var wprimeFraction = 0.0
    @Option(name: .customLong("set"), parsing: .singleValue,
            help: ArgumentHelp("A process parameter of the hypotheses, NAME=VALUE (repeatable).", valueName: "NAME=VALUE"))
    var assignments: [String] = []
    @Option(help: "The seed of the draws.") var seed: UInt64 = 2026
    @Option(help: "The output folder (loglikelihood.npy, scan.csv, estimate.json).") var out: String
    @Flag(help: "Overwrite an existing --out (never one of the inputs).") var force = false
    @OptionGroup var nonFinite: NonFiniteOption

    func validate() throws {
        if let events, events < 1 { throw ValidationError("--events: expected >= 1, got \(events)") }
        guard draws >= 2, draws <= 10_000_000 else { throw ValidationError("--draws: expected 2...10000000, got \(draws)") }
        guard precision > 0, precision < 1 else { throw ValidationError("--precision: expected a value in (0, 1), got \(precision)") }
        guard selectionTrials >= 1_000, selectionTrials <= 100_000_000 else {
            throw ValidationError("--selection-trials: expected 1000...100000000, got \(selectionTrials)")
        }
        switch (transfer, transferModel, integrator) {
        case (.analytic, nil, _), (.learned, _?, .flow): break
        case (.analytic, _?, _): throw ValidationError("--transfer-model: only with --transfer learned")
        case (.learned, nil, _): throw ValidationError("--transfer learned: expected --transfer-model MODEL (refold train transfer)")
        case (.learned, _?, .vegas):
            throw ValidationError("--transfer learned: expected --integrator flow (the learned transfer evaluates its networks on batches of draws; VEGAS asks for one point at a time)")
        }
        guard (0...1).contains(wprimeFraction) else { throw ValidationError("--wprime-fraction: expected a value in [0, 1], got \(wprimeFraction)") }
    }

    func run() throws {
        Interruption.install()
        let folder = URL(fileURLWithPath: data), outURL = URL(fileURLWithPath: out)
        try OutputGuard.check(outURL, inputs: [("--data", folder)] + (model.map { [("--model", URL(fileURLWithPath: $0))] } ?? [])
                                + (transferModel.map { [("--transfer-model", URL(fileURLWithPath: $0))] } ?? []), force: force)
        var request = MEMScan.Request(parameter: parameter, grid: try MEMScan.grid(grid))
        request.base = try ZWParameters().setting(assignments)
        request.fraction = wprimeFraction
        request.integrator = integrator
        request.draws = draws; request.precision = precision; request.selectionTrials = selectionTrials
        let proposal: MEMProposal?
        switch (integrator, model) {
        case (.flow, let model?):
            let flow = try MEMProposal.read(from: URL(fileURLWithPath: model))
            if let defensive { flow.latent = try LatentMixture(defensive: defensive) }
            proposal = flow
        case (.flow, nil): throw ValidationError("--integrator flow: expected --model MODEL (refold train mem)")
        case (.vegas, _): proposal = nil
        }
        let sample = try readEvents(folder, nonFinite.policy)
        let all = try sample.colliderEvents(source: folder.path).map(\.detector)
        let selected = all.filter { $0.jets.count == 2 }
        guard !selected.isEmpty else { throw RefoldError.file(folder.path, "expected events with exactly two jets, got none of \(all.count)") }
        let used = Array(selected.prefix(events ?? selected.count))
        let terminal = TerminalProgress(fileDescriptor: 2)
        let start = Date()
        request.learnedTransfer = try transferModel.map { try LearnedTransfer.read(from: URL(fileURLWithPath: $0)) }
        let output = try MEMScan.run(used, request: request, transfer: try TransferDensity(), proposal: proposal, rng: RNGStream(seed: seed).child("mem")) { done, total in
            guard terminal.isLive else { return }
            let elapsed = Date().timeIntervalSince(start), eta = Int((elapsed / Double(done) * Double(total - done)).rounded())
            terminal.update(String(format: "mem %d/%d events  %.1f ev/s  ETA %d:%02d", done, total, Double(done) / max(elapsed, 1e-9), eta / 60, eta % 60))
        }
        terminal.finish()
        try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        try NPYArray(shape: [used.count, request.grid.count], values: output.logLikelihoods.flatMap { $0 }, dtype: .float64)
            .write(to: outURL.appendingPathComponent("loglikelihood.npy"))
        var csv = "\(parameter.rawValue),minus_two_log_likelihood,log_selection\n"
        for j in request.grid.indices {
            csv += "\(request.grid[j]),\(output.scan.minusTwoLogL[j]),\(output.logSelection[j])\n"
        }
        try writeAtomically(csv, to: outURL.appendingPathComponent("scan.csv"))
        let sortedEvaluations = output.evaluations.sorted()
        var estimate: [String: Any] = [
            "parameter": parameter.rawValue, "estimate": output.scan.estimate, "error": output.scan.error, "events": used.count,
            "method": output.scan.method, "integrator": integrator.rawValue, "seed": seed, "data": folder.path,
            "median_evaluations_per_event": sortedEvaluations[sortedEvaluations.count / 2],
            "seconds": Date().timeIntervalSince(start), "refold": RefoldVersion.string,
            "dropped_non_finite_events": sample.droppedNonFinite,
            "hypothesis": request.base.record.merging(["wprime_fraction": wprimeFraction]) { a, _ in a },
        ]
        if let ess = output.meanEffectiveSampleSize { estimate["mean_effective_sample_size"] = ess; estimate["draws_per_event"] = draws }
        if let outside = output.outsideFraction { estimate["outside_fraction"] = outside }
        if let mc = output.scan.monteCarloError { estimate["monte_carlo_error"] = mc; estimate["total_error"] = output.scan.totalError }
        if integrator == .flow, let model { estimate["model"] = model }
        estimate["transfer"] = transfer.rawValue
        if let transferModel { estimate["transfer_model"] = transferModel }
        let json = try JSONSerialization.data(withJSONObject: estimate, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(json, to: outURL.appendingPathComponent("estimate.json"))
        let mc = output.scan.monteCarloError.map { String(format: " (stat) ± %.3g (draws)", $0) } ?? ""
        print(String(format: "%@ = %.5g ± %.3g%@ from %d events (%@); results in %@", parameter.rawValue, output.scan.estimate, output.scan.error,
                     mc, used.count, output.scan.method, out))
    }
}

/// What the MEM trainers start from: the sample's paired events, the profile's architecture, and
/// Adam at 1e-3 with cosine decay over `epochs`, batch 512 unless given.
func memTrainingInputs(data: URL, profile: ProfileName, quick: ConditionalINNConfig, paper: ConditionalINNConfig, epochs: Int, batchSize: Int?,
                       reader: EventReader) throws
    -> (sample: EventSample, events: [(hard: HardEvent, detector: DetectorEvent)], config: ConditionalINNConfig, training: TrainingConfig) {
    let sample = try reader.read(data)
    return (sample, try sample.colliderEvents(source: data.path), profile == .paper ? paper : quick,
            TrainingConfig(epochs: epochs, batchSize: batchSize ?? 512, learningRate: 1e-3, weightDecay: 0, schedule: .cosine))
}

/// `refold train mem`: the flow proposal of the MEM (docs/mem.md) on a paired zw sample.
func trainMEMProposal(data: URL, profile: ProfileName, epochs: Int?, batchSize: Int?, seed: UInt64, resume: Bool, out: URL,
                      events reader: EventReader = EventReader(.refuse)) throws {
    let (sample, events, config, training) = try memTrainingInputs(
        data: data, profile: profile, quick: MEMProposal.quickConfig,
        paper: ConditionalINNConfig(blocks: 12, layersPerBlock: 2, unitsPerLayer: 128, conditionLayers: 3, conditionUnits: 128, conditionOutput: 32,
                                    mmdWeight: WeightSchedule(initial: 0)),
        epochs: epochs ?? (profile == .paper ? 100 : 20), batchSize: batchSize, reader: reader)
    let terminal = TerminalProgress()
    let start = Date()
    var last: EpochReport?
    // z of the resonance-aligned coordinates needs the W Breit-Wigner the sample was generated with (meta.json).
    var generatedWith = ZWParameters()
    for field in ZWParameters.fields { if let value = sample.parameters[field.name] { generatedWith[keyPath: field.keyPath] = value } }
    let (proposal, _) = try MEMProposal.train(events: events, matching: FastDetector(), generated: [(generatedWith, events.count)], config: config,
                                              training: training, seed: seed,
                                              folder: out, resume: resume) { report in
        last = report
        terminal.update(progressLine(report, epochs: training.epochs))
    }
    terminal.finish()
    let summary: String = last.map { progressLine($0, epochs: training.epochs) } ?? "nothing left to train"
    let seconds = String(format: "%.1f s", Date().timeIntervalSince(start))
    print("trained the MEM proposal on \(events.count) events, \(proposal.model.parameterCount) weights, \(seconds): \(summary); model in \(out.path)")
}

/// `refold train transfer`: the MEM's learned transfer density (docs/mem.md), two conditional
/// flows (jets, leptons) for the detector given the partons, on a paired zw sample.
func trainLearnedTransfer(data: URL, profile: ProfileName, epochs: Int?, batchSize: Int?, seed: UInt64, resume: Bool, out: URL,
                          events reader: EventReader = EventReader(.refuse)) throws {
    let (_, events, config, training) = try memTrainingInputs(
        data: data, profile: profile, quick: LearnedTransfer.quickConfig,
        paper: ConditionalINNConfig(blocks: 10, layersPerBlock: 2, unitsPerLayer: 64, conditionLayers: 2, conditionUnits: 64, conditionOutput: 16,
                                    mmdWeight: WeightSchedule(initial: 0)),
        epochs: epochs ?? (profile == .paper ? 60 : 15), batchSize: batchSize, reader: reader)
    let terminal = TerminalProgress()
    let start = Date()
    var last: (String, EpochReport)?
    let (transfer, _) = try LearnedTransfer.train(events: events, matching: FastDetector(), config: config, training: training, seed: seed,
                                                  folder: out, resume: resume) { flow, report in
        last = (flow, report)
        terminal.update("\(flow) flow " + progressLine(report, epochs: training.epochs))
    }
    terminal.finish()
    let summary = last.map { "\($0.0) flow " + progressLine($0.1, epochs: training.epochs) } ?? "nothing left to train"
    let seconds = String(format: "%.1f s", Date().timeIntervalSince(start))
    print("trained the learned transfer on \(transfer.description.trainingPairs) events (2 jets, 2 leptons each), "
          + "\(transfer.jet.parameterCount + transfer.lepton.parameterCount) weights, \(seconds): \(summary); model in \(out.path)")
}
