import ArgumentParser
import Flows
import Foundation
import Unfolders
import Tensor
import Validation

/// Every network `refold train` builds: the variants of the study files except `none`.
extension NetworkVariant: ExpressibleByArgument {
    static var trainable: [NetworkVariant] { allCases.filter { $0 != .none } }
    public static var allValueStrings: [String] { trainable.map(\.rawValue) }
    public init?(argument: String) {
        guard let variant = NetworkVariant(rawValue: argument), variant != .none else { return nil }
        self = variant
    }
}

/// `refold train`: an invertible unfolding network on a paired sample folder (docs/unfold.md).
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an INN, eINN, cINN, cINN with ISR jets, GAN, FCGAN, MEMFlow (transformer + spline flow), the MEM flow proposal or the MEM's learned transfer density on a paired sample, the QCD inference network on sets of showered jets, a Bayesian INN on a single-level one, a subtraction GAN on two, or the Z+jets INN generator on a z-jets sample; writes a model.")

    @Argument(help: "The network: \(NetworkVariant.allValueStrings.joined(separator: ", ")).")
    var network: NetworkVariant
    @Option(help: "A sample folder: paired (parton.npy, detector.npy, meta.json; njets.npy for cinn-isr) or single-level for binn.") var data: String?
    @Option(help: "subtraction: the single-level sample B (its meta.json parameters.cross_section is sigma_B).") var background: String?
    @Option(help: "subtraction: the single-level sample S to subtract (parameters.cross_section is sigma_S).") var subtract: String?
    @Option(help: "subtraction: the support of every column, lo:hi,lo:hi,... (a logit map keeps generated events inside; default: each column Gaussianised with B's quantiles).") var box: String?
    @Option(help: "Sizes: quick (minutes on 2 cores) or paper (thesis tables 5.1, 5.2).") var profile: ProfileName = .quick
    @Option(help: "Epochs (default: the profile's; at most 100000).") var epochs: Int?
    @Option(help: "Batch size (default: the profile's; at most 1000000, and at most the training events).") var batchSize: Int?
    @Option(help: "The seed of the initialisation, permutations, split and shuffling.") var seed: UInt64 = 2026
    @Option(help: "Fraction of events held out for the validation loss.") var validationFraction: Double = 0.1
    @Option(help: "BLAS threads (1 is fastest for these skinny matrices on a shared CPU; at most 256).") var threads: Int = 1
    @Flag(help: "Continue from MODEL/checkpoint.safetensors.") var resume = false
    @Option(help: "inn, einn, cinn, cinn-isr: train exactly the network of this study file (its typed [network] sections and pair coordinates under --profile); --epochs and --batch-size still override.") var study: String?
    @Option(help: "cINNs: the quark pair's coordinates: per-parton, pair-mass, mass-ratio (default) or resonance (docs/unfold.md).") var pairCoordinates: PairCoordinates?
    @Option(help: "cINNs: epochs of autoencoder pre-training of the condition network (default 0: none; at most 100000).") var pretrainEncoderEpochs: Int?
    @Option(help: "cINNs: the quark pair's order, pT (default) or jet-matched (docs/unfold.md).") var pairOrder: PairOrder?
    @Option(help: "cINNs: comma-separated parton particles (l-, l+, q1, q2; ratio: the pair's pT ratio) whose sampled angles are modelled as residuals to the detector objects that measure them (docs/unfold.md).") var angleResiduals: String?
    @Flag(help: "GANs: a residual generator, x_G = skip(x_d) + G(x_d, r), each parton feature starting from its detector-level partner (docs/gan-studies.md).") var residual = false
    @Flag(help: "FCGAN: the discriminator also sees the response x_p - skip(x_d) (docs/gan-studies.md).") var discriminatorResponse = false
    @Option(help: "generator: R+ of the Delta R weight f = (Delta R - R-) / (R+ - R-), R- being the sample's R_min.") var separationUpper: Double = 1.2
    @Option(name: .customLong("network"), help: "generator: the network, inn (default), gan (ttbar) or binn (z-jets).") var generatorNetwork: GeneratorNetwork?
    @Option(help: "generator on ttbar: lambda of the MMD on m_t and m_W in the loss (default 0: none).") var mmdWeight: Float?
    @Option(help: "generator on z-jets: condition the flows on the theory parameter a of the augmentation weight 1 + a ((pT,j1 - 15 GeV) / 100 GeV)^2 (value: augmentation).") var conditionOn: GeneratorCondition?
    @Flag(help: "generator on z-jets: train the D/(1-D) classifiers after the flows and store them with the model (refold sample writes their weights).") var discriminator = false
    @Option(help: "The model folder to write (a fresh training needs a new or empty one).") var out: String
    @Flag(help: "A fresh training replaces the model at --out (refused otherwise).") var force = false
    @OptionGroup var nonFinite: NonFiniteOption

    /// The generator's options (refused for every other network).
    var generatorRequest: GeneratorRequest {
        GeneratorRequest(network: generatorNetwork ?? .inn, mmdWeight: mmdWeight ?? 0, augmentation: conditionOn == .augmentation,
                         discriminator: discriminator)
    }

    func validate() throws {
        if network != .generator, generatorNetwork != nil || mmdWeight != nil || conditionOn != nil || discriminator {
            throw ValidationError("--network, --mmd-weight, --condition-on, --discriminator: only for generator, got \(network.rawValue)")
        }
        if let mmdWeight, !(mmdWeight >= 0 && mmdWeight.isFinite) { throw ValidationError("--mmd-weight: expected >= 0, got \(mmdWeight)") }
        if let epochs { try checkCount("--epochs", epochs, in: 1...100_000) }
        if let batchSize { try checkCount("--batch-size", batchSize, in: 1...1_000_000) }
        guard (0..<1).contains(validationFraction) else { throw ValidationError("--validation-fraction: expected a value in [0, 1), got \(validationFraction)") }
        try checkCount("--threads", threads, in: 1...256)
        if let pretrainEncoderEpochs { try checkCount("--pretrain-encoder-epochs", pretrainEncoderEpochs, in: 0...100_000) }
        if nonFinite.dropNonFinite, network == .qcd {
            throw ValidationError("--drop-non-finite: not for qcd (a jet-set folder holding NaN or inf is refused whole)")
        }
        if study != nil {
            guard network.isUnfoldingFlow else { throw ValidationError("--study: only for inn, einn, cinn and cinn-isr, got \(network.rawValue)") }
            guard pairCoordinates == nil, pretrainEncoderEpochs == nil, angleResiduals == nil, pairOrder == nil else {
                throw ValidationError("--pair-coordinates, --pair-order, --pretrain-encoder-epochs, --angle-residuals: the study file sets them (--study)")
            }
        }
    }

    func run() throws {
        Interruption.install()
        BLAS.setThreads(threads)
        let model = URL(fileURLWithPath: out)
        // The unfolding flows' request (with --study: the study read once, for the record and the training).
        let request = network.isUnfoldingFlow ? try trainingRequest(network) : nil
        let record = try self.record(request)
        try record.prepare(model, resume: resume, force: force)
        let events = EventReader(nonFinite.policy)
        do { try trainNetwork(request, events: events) } catch {
            // A run that fails before its first checkpoint (bad data, say) leaves no folder behind.
            if !resume { record.discardIfUnused(model) }
            throw error
        }
        try record.seal(model, droppedNonFinite: events.dropped)
    }

    func trainNetwork(_ flowRequest: UnfoldingTrainingRequest?, events: EventReader) throws {
        if network == .subtraction {
            guard let background, let subtract, data == nil else {
                throw ValidationError("subtraction: expected --background DIR and --subtract DIR (and no --data)")
            }
            try trainSubtraction(background: URL(fileURLWithPath: background), subtract: URL(fileURLWithPath: subtract), box: box,
                                 profile: profile, epochs: epochs, batchSize: batchSize, seed: seed, resume: resume,
                                 out: URL(fileURLWithPath: out), events: events)
            return
        }
        guard let data, background == nil, subtract == nil, box == nil else {
            throw ValidationError("\(network.rawValue): expected --data DIR (--background, --subtract and --box are for subtraction)")
        }
        let dataURL = URL(fileURLWithPath: data), outURL = URL(fileURLWithPath: out)
        switch network {
        case .qcd: return try trainQCD(data: dataURL, profile: profile, epochs: epochs, batchSize: batchSize, seed: seed, resume: resume, out: outURL)
        case .generator:
            return try trainGenerator(data: dataURL, profile: profile, epochs: epochs, batchSize: batchSize, seed: seed, resume: resume, out: outURL,
                                      separationUpper: separationUpper, request: generatorRequest, events: events)
        case .memflow:
            return try trainMEMFlow(data: dataURL, profile: profile, epochs: epochs, batchSize: batchSize, seed: seed, resume: resume, out: outURL,
                                    events: events)
        case .mem:
            return try trainMEMProposal(data: dataURL, profile: profile, epochs: epochs, batchSize: batchSize, seed: seed, resume: resume,
                                        out: outURL, events: events)
        case .transfer:
            return try trainLearnedTransfer(data: dataURL, profile: profile, epochs: epochs, batchSize: batchSize, seed: seed, resume: resume,
                                            out: outURL, events: events)
        default: break
        }
        if network.isUnfoldingGAN {
            try trainGAN(variant: network, data: URL(fileURLWithPath: data), profile: profile,
                         epochs: epochs, batchSize: batchSize, seed: seed, resume: resume, residual: residual,
                         discriminatorResponse: discriminatorResponse, out: URL(fileURLWithPath: out), events: events)
            return
        }
        if residual || discriminatorResponse {
            throw ValidationError("--residual, --discriminator-response: only for gan and fcgan, got \(network.rawValue)")
        }
        let variant = network
        guard variant.isUnfoldingFlow else {
            try trainBINN(data: URL(fileURLWithPath: data), profile: profile, epochs: epochs, seed: seed,
                          resume: resume, out: URL(fileURLWithPath: out), batchSize: batchSize, events: events)
            return
        }
        let sample = try events.read(URL(fileURLWithPath: data))
        guard var request = flowRequest else { preconditionFailure("run() builds the request of every unfolding flow") }
        if let epochs { request.network.training.epochs = epochs }
        if let batchSize { request.network.training.batchSize = batchSize }
        request.validationFraction = validationFraction
        request.resume = resume
        let terminal = TerminalProgress()
        let total = request.network.training.epochs
        var last: EpochReport?
        let start = Date()
        let model = try UnfoldingModel.train(sample: sample, request: request, out: URL(fileURLWithPath: out)) { report in
            last = report
            terminal.update(progressLine(report, epochs: total))
        }
        terminal.finish()
        let summary = last.map { progressLine($0, epochs: total) } ?? "no epoch left to train (already at \(total))"
        print("trained \(variant.rawValue) on \(model.config.trainingEvents) events (\(model.config.validationEvents) validation), "
              + "\(model.flow.parameterCount) weights, \(String(format: "%.1f", Date().timeIntervalSince(start))) s: \(summary); model in \(out)")
    }

    /// The study's network (`--study`) or the variant's preset with the pair coordinates and
    /// encoder pre-training of the options.
    func trainingRequest(_ variant: NetworkVariant) throws -> UnfoldingTrainingRequest {
        if let study {
            let spec = try StudySpec(contentsOf: URL(fileURLWithPath: study))
            guard spec.network.variant == variant else {
                throw RefoldError.file(study, "network.variant: expected \(variant.rawValue) (the network to train), got \(spec.network.variant.rawValue)")
            }
            return try UnfoldingTrainingRequest(study: spec.settings(for: profile).network, variant: variant, profile: profile, seed: seed)
        }
        var request = UnfoldingTrainingRequest(network: try UnfoldingNetwork.preset(variant, profile: profile), seed: seed)
        request.pairCoordinates = pairCoordinates ?? .massRatio
        request.pairOrder = pairOrder ?? .pT
        request.angleResiduals = angleResiduals.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
        if let pretrainEncoderEpochs, pretrainEncoderEpochs > 0 { request.encoderPretraining = EncoderPretraining(epochs: pretrainEncoderEpochs) }
        return request
    }

    /// The options a `--resume` must repeat (not --epochs, --threads, or where the data lives).
    func record(_ request: UnfoldingTrainingRequest?) throws -> TrainingRecord {
        let given = { (value: Any?, otherwise: String) in value.map { "\($0)" } ?? otherwise }
        var options = [
            "network": network.rawValue, "--profile": profile.rawValue, "--seed": String(seed), "--batch-size": given(batchSize, "the profile's"),
            "--validation-fraction": String(validationFraction),
            "--pair-coordinates": given(pairCoordinates?.rawValue, study == nil ? "mass-ratio" : "the study's"),
            "--pretrain-encoder-epochs": given(pretrainEncoderEpochs, study == nil ? "0" : "the study's"), "--residual": String(residual),
            "--discriminator-response": String(discriminatorResponse), "--separation-upper": String(separationUpper), "--box": given(box, "none"),
        ]
        if let angleResiduals { options["--angle-residuals"] = angleResiduals }
        if let pairOrder { options["--pair-order"] = pairOrder.rawValue }
        // The generator's options only when given, so that generators trained before them still resume.
        if let generatorNetwork { options["--network"] = generatorNetwork.rawValue }
        if let mmdWeight { options["--mmd-weight"] = String(mmdWeight) }
        if let conditionOn { options["--condition-on"] = conditionOn.rawValue }
        if discriminator { options["--discriminator"] = "true" }
        // Only when given, so that models trained before the option existed still resume; the
        // events a resume trains on are the same only with the same policy.
        if nonFinite.dropNonFinite { options["--drop-non-finite"] = "true" }
        // Only when given, so that models trained before --study existed still resume. The study
        // is recorded by what it trains (network, coordinates, pre-training; not its epochs), so a
        // resume accepts the same file by any path and refuses an edited network.
        if let study, let request {
            var trained = request.network
            trained.training.epochs = 0
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            var hash = FNV1a()
            hash.mix(try encoder.encode(trained) + Data(request.pairCoordinates.rawValue.utf8) + encoder.encode(request.encoderPretraining)
                     + Data((request.angleResiduals.joined(separator: ",") + (request.pairOrder == .pT ? "" : request.pairOrder.rawValue)).utf8))
            options["--study"] = "\(URL(fileURLWithPath: study).lastPathComponent) (network \(hash.hex))"
        }
        return TrainingRecord(options: options)
    }
}

extension PairCoordinates: ExpressibleByArgument {}
extension PairOrder: ExpressibleByArgument {}
extension GeneratorNetwork: ExpressibleByArgument {}

/// What `--condition-on` conditions a generator on.
enum GeneratorCondition: String, ExpressibleByArgument, CaseIterable {
    /// The theory parameter a of the augmentation weight (docs/generator.md).
    case augmentation
}
