import Flows
import GAN
import Foundation
import Physics
import Tensor

/// What a trained Z + jets INN generator needs besides its weights (`generator.json`).
public struct ZJetsGeneratorSettings: Codable, Equatable {
    /// Per multiplicity n = 1, 2, ...: the coordinates, their standardisation and the flow sizes.
    public var coordinates: [ZJetsCoordinates]
    public var standardizers: [Standardizer]
    public var flows: [DensityFlowConfig]
    /// The multiplicity fractions of the training sample (generated events follow them exactly in
    /// expectation: a multinomial draw).
    public var fractions: [Double]
    /// Z_n = <f> over the training events with n jets: generated events of n jets get the weight
    /// Z_n / f, so the weights average to 1 within each multiplicity.
    public var meanSeparationWeight: [Double]
    public var separation: SeparationWeight
    public var columns: [String]
    public var seed: UInt64
    public var training: TrainingConfig
    public var trainingEvents: [Int]
    /// The theory augmentation the flows are conditioned on (nil: unconditional flows), and per
    /// multiplicity <u^2> and <f u^2> / <f> over the training events (u^2 = ((pT,j1 - 15) / 100)^2):
    /// at a, the multiplicity fractions go as N_n (1 + a <u^2>_n) and the Delta R weights' mean as
    /// <f> (1 + a <f u^2>/<f>) / (1 + a <u^2>).
    public var augmentation: AugmentationWeight?
    public var augmentationShape: [Double]?
    public var weightedAugmentationShape: [Double]?
    /// The discriminator control stored with the model (`--discriminator`): the classifiers'
    /// sizes, their input standardisations per multiplicity and the clip of D/(1-D).
    public var discriminator: ClassifierConfig?
    public var discriminatorStandardizers: [Standardizer]?
    public var weightClip: Double?

    /// The multiplicity fractions at augmentation a (the training fractions at a = 0).
    public func fractions(augmentation a: Double) -> [Double] {
        guard let shape = augmentationShape, a != 0 else { return fractions }
        let raw = zip(fractions, shape).map { $0 * (1 + a * $1) }, total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    /// Z_n(a): the generated events of n jets at a get Z_n(a) / f, averaging to 1.
    public func meanSeparationWeight(jets n: Int, augmentation a: Double) -> Double {
        guard let shape = augmentationShape, let weighted = weightedAugmentationShape, a != 0 else { return meanSeparationWeight[n - 1] }
        return meanSeparationWeight[n - 1] * (1 + a * weighted[n - 1]) / (1 + a * shape[n - 1])
    }

    public static let file = "generator.json"
    public static func checkpoint(jets n: Int) -> String { "flow-\(n)j.safetensors" }
    public static func discriminatorCheckpoint(jets n: Int) -> String { "discriminator-\(n)j.safetensors" }
}

/// The precision generator for Z -> mu mu + 1, 2, 3 jets (talk 001, arXiv:2110.13632): one
/// unconditional INN per jet multiplicity (`WeightedDensityFlow` on `ZJetsCoordinates`), trained by
/// maximum likelihood on events weighted by the seed's Delta R weight f (product over jet pairs);
/// generated events carry Z_n / f.
///
/// With an `AugmentationWeight` (`--condition-on augmentation`) every flow is conditioned on
/// c = a / a_max and trained on events with a drawn uniformly in [0, a_max] per event and the
/// weight f w_a(x) / (1 + a <f u^2>/<f>): the optimum is p(x | a) ∝ f w_a(x) p(x), each a with the
/// same total weight. a is drawn once per event (not per epoch): the trainer's data are fixed, and
/// 10^4 or more events per multiplicity cover [0, a_max] densely.
///
/// One flow per multiplicity rather than one flow conditioned on it: the event has 5 + 3n
/// coordinates, so a single flow would need zero-padded jet slots, directions without any spread
/// that a density cannot learn (its log-likelihood is unbounded there) and that leak into the
/// others; separate flows learn each phase space with exactly its own dimensions. The price is
/// that the 3-jet flow sees only its own (fewest) events, with nothing shared from the 1-jet ones.
public final class ZJetsGenerator {
    public private(set) var settings: ZJetsGeneratorSettings
    public let flows: [WeightedDensityFlow]
    /// Per multiplicity the classifier of truth against generated events (empty: none stored).
    public private(set) var discriminators: [EventClassifier] = []

    init(settings: ZJetsGeneratorSettings) throws {
        self.settings = settings
        flows = try settings.flows.enumerated().map { n, config in
            try WeightedDensityFlow(config: config, rng: RNGStream(seed: settings.seed).child("generator.flow").child(index: n + 1))
        }
        if let config = settings.discriminator, let standardizers = settings.discriminatorStandardizers {
            discriminators = try standardizers.enumerated().map { k, s in
                try EventClassifier(inputs: s.dimension, config: config, rng: RNGStream(seed: settings.seed).child("generator.discriminator").child(index: k + 1),
                                    standardizer: s)
            }
        }
    }

    /// Whether each row of `x` is finite.
    public static func finiteRows(_ x: Tensor) -> [Bool] {
        let d = x.columns
        return (0..<x.rows).map { i in (0..<d).allSatisfy { x.storage[i * d + $0].isFinite } }
    }

    /// The classifier's inputs, the seed's list (pT, eta, phi, masses, m_mumu, Delta R): the generator
    /// coordinates (log pT, eta and the azimuths of every object), m_mumu and every jet pair's
    /// Delta R. Not the pair's pT: the truth balances it exactly against the jets, which an ML
    /// generator does not (talk 001: "no momentum conservation"), and a classifier fed with it
    /// separates the two by that alone, with weights of 0 or the clip.
    public static func classifierInputs(_ events: [ZJetsEvent], map: ZJetsCoordinates) throws -> Tensor {
        let rows = try events.map { e -> [Float] in
            (try map.coordinates(e) + [e.mMuMu] + e.jetSeparations).map(Float.init)
        }
        return Tensor(shape: [events.count, rows.first?.count ?? 0], storage: rows.flatMap { $0 })
    }

    /// `classifierInputs` of generated events, where an event whose coordinates cannot be computed
    /// (a jet at the threshold within round-off, pT = 20 - 4e-15 GeV after exp) gets NaN inputs,
    /// which `finiteRows` then reports.
    func generatedInputs(_ events: [ZJetsEvent], jets: Int) -> Tensor {
        let map = settings.coordinates[jets - 1], d = map.dimension + 1 + jets * (jets - 1) / 2
        let rows = events.map { e in (try? Self.classifierInputs([e], map: map))?.storage ?? [Float](repeating: .nan, count: d) }
        return Tensor(shape: [events.count, d], storage: rows.flatMap { $0 })
    }

    /// Trains per multiplicity a classifier of the `truth` events (grouped by multiplicity, index
    /// n - 1) against as many generated ones with their Delta R weights (generated events with
    /// inputs beyond Float32 left out), stores them in the settings and, with `folder`, writes them
    /// and the settings there. Returns the classifiers' final losses.
    @discardableResult
    public func trainDiscriminators(truth: [[ZJetsEvent]], config: ClassifierConfig, weightClip: Double, rng: RNGStream,
                                    folder: URL? = nil) throws -> [Double] {
        guard truth.count == maximumJets, weightClip > 1 else {
            throw RefoldError.value("discriminator training (multiplicities, clip)", expected: "\(maximumJets), > 1", actual: "\(truth.count), \(weightClip)")
        }
        var trained: [EventClassifier] = []
        for jets in 1...maximumJets {
            let k = jets - 1, map = settings.coordinates[k], stream = rng.child("jets").child(index: jets)
            let control = try generate(jets: jets, count: truth[k].count, rng: stream.child("control"))
            let inputs = generatedInputs(control.events, jets: jets), finite = Self.finiteRows(inputs)
            let usable = control.events.indices.filter { finite[$0] }
            let classifier = try EventClassifier(inputs: inputs.columns, config: config,
                                                 rng: RNGStream(seed: settings.seed).child("generator.discriminator").child(index: jets))
            try classifier.train(truth: try Self.classifierInputs(truth[k], map: map), generated: gatherRows(inputs, usable),
                                 generatedWeights: usable.map { control.weights[$0] }, rng: stream.child("train"))
            trained.append(classifier)
        }
        discriminators = trained
        settings.discriminator = config; settings.discriminatorStandardizers = trained.map(\.standardizer); settings.weightClip = weightClip
        if let folder {
            for (k, c) in trained.enumerated() { try Checkpoint.save(module: c, to: folder.appendingPathComponent(ZJetsGeneratorSettings.discriminatorCheckpoint(jets: k + 1))) }
            try writeJSONAtomically(settings, to: folder.appendingPathComponent(ZJetsGeneratorSettings.file))
        }
        return trained.map { $0.history.last ?? .nan }
    }

    /// The stored discriminators' weights D/(1-D) of generated `events` of `jets` jets, clipped at
    /// the stored clip (0 where an event's inputs exceed Float32, as its Delta R weight is then
    /// meaningless), and the number clipped.
    func discriminatorWeights(_ events: [ZJetsEvent], jets: Int) throws -> (weights: [Double], clipped: Int) {
        guard !discriminators.isEmpty, let clip = settings.weightClip else { return (events.map { _ in 1 }, 0) }
        let inputs = generatedInputs(events, jets: jets), finite = Self.finiteRows(inputs)
        var safe = inputs
        for i in 0..<inputs.rows where !finite[i] { for j in 0..<inputs.columns { safe[i, j] = 0 } }
        let (w, fraction) = GAN.discriminatorWeights(logits: try discriminators[jets - 1].logits(safe), maximum: clip)
        return (zip(w, finite).map { $1 ? $0 : 0 }, Int((fraction * Double(events.count)).rounded()))
    }

    public var maximumJets: Int { settings.coordinates.count }

    /// The events of `sample` (a z-jets sample) grouped by multiplicity (index n - 1).
    public static func events(of sample: EventSample, source: String) throws -> [[ZJetsEvent]] {
        guard let block = sample.events, let njets = sample.njets else {
            throw RefoldError.file(source, "expected a single-level z-jets sample with njets.npy (refold generate z-jets)")
        }
        let slots = (block.columns.count - 6) / 3
        guard slots >= 1, block.columns == ZJetsProduction.columns(jets: slots) else {
            throw RefoldError.file(source, "columns: expected \(ZJetsProduction.columns(jets: 3)) (or another jet count), got \(block.columns)")
        }
        var grouped = [[ZJetsEvent]](repeating: [], count: slots)
        for i in 0..<block.rows {
            let event = try ZJetsProduction.event(block, row: i)
            guard (1...slots).contains(njets[i]), event.jets.count == njets[i] else {
                throw RefoldError.file(source, "row \(i): expected njets = the \(event.jets.count) non-empty jet slots in 1...\(slots), got \(njets[i])")
            }
            grouped[njets[i] - 1].append(event)
        }
        return grouped
    }

    /// Trains one flow per multiplicity on `sample`; with `folder`, the checkpoints and
    /// `generator.json` go there (and `resume` continues from existing checkpoints).
    public static func train(sample: EventSample, source: String, flow: DensityFlowConfig, training: TrainingConfig,
                             separation: SeparationWeight, seed: UInt64, augmentation: AugmentationWeight? = nil, folder: URL? = nil,
                             resume: Bool = false, progress: (Int, EpochReport) -> Void = { _, _ in }) throws -> ZJetsGenerator {
        let grouped = try events(of: sample, source: source)
        let threshold = sample.parameters["jet_minimum_pT"] ?? ZJetsParameters().jetMinimumPT
        var drellYan = DrellYanParameters()
        for (key, path) in [("m_Z", \DrellYanParameters.zMass), ("Gamma_Z", \.zWidth), ("minimum_mass", \.minimumMass), ("maximum_mass", \.maximumMass)] {
            if let value = sample.parameters[key] { drellYan[keyPath: path] = value }
        }
        var coordinates: [ZJetsCoordinates] = [], standardizers: [Standardizer] = [], inputs: [Tensor] = [], weights: [Tensor] = []
        var meanWeight: [Double] = [], shape: [Double] = [], weightedShape: [Double] = []
        for (k, group) in grouped.enumerated() {
            guard group.count >= 2 else {
                throw RefoldError.file(source, "expected at least 2 training events with \(k + 1) jets, got \(group.count)")
            }
            let map = try ZJetsCoordinates(jets: k + 1, jetMinimumPT: threshold, drellYan: drellYan)
            let x = Tensor(shape: [group.count, map.dimension], storage: try group.flatMap { try map.coordinates($0).map(Float.init) })
            let f = group.map { separation.event($0.jetSeparations) }
            guard f.contains(where: { $0 > 0 }) else {
                throw RefoldError.value("Delta R weights of the \(k + 1)-jet events", expected: "some above 0 (R- below the sample's separations)", actual: "all 0")
            }
            let standardizer = try Standardizer(fitting: x)
            coordinates.append(map); standardizers.append(standardizer)
            inputs.append(try standardizer.transform(x))
            let meanF = f.reduce(0, +) / Double(f.count)
            meanWeight.append(meanF)
            guard let augmentation else {
                weights.append(Tensor(shape: [group.count, 1], storage: f.map(Float.init)))
                continue
            }
            let u2 = group.map { augmentation.shape(leadingJetPT: $0.jets[0].pT) }
            let m = zip(f, u2).reduce(0) { $0 + $1.0 * $1.1 } / Double(group.count) / meanF
            shape.append(u2.reduce(0, +) / Double(u2.count)); weightedShape.append(m)
            let draw = RNGStream(seed: seed).child("generator.augmentation").child(index: k + 1)
            var columns = [Float]()
            columns.reserveCapacity(2 * group.count)
            for i in 0..<group.count {
                let a = draw.uniform(0, augmentation.maximum)
                columns += [Float(f[i] * (1 + a * u2[i]) / (1 + a * m)), Float(a / augmentation.maximum)]
            }
            weights.append(Tensor(shape: [group.count, 2], storage: columns))
        }
        let total = Double(grouped.reduce(0) { $0 + $1.count })
        let settings = ZJetsGeneratorSettings(
            coordinates: coordinates, standardizers: standardizers,
            flows: coordinates.map { var c = flow; c.dimension = $0.dimension; c.conditionDimension = augmentation == nil ? nil : 1; return c },
            fractions: grouped.map { Double($0.count) / total }, meanSeparationWeight: meanWeight, separation: separation,
            columns: sample.events!.columns, seed: seed, training: training, trainingEvents: grouped.map(\.count),
            augmentation: augmentation, augmentationShape: augmentation == nil ? nil : shape,
            weightedAugmentationShape: augmentation == nil ? nil : weightedShape)
        let generator = try ZJetsGenerator(settings: settings)
        if let folder {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try writeJSONAtomically(settings, to: folder.appendingPathComponent(ZJetsGeneratorSettings.file))
        }
        for (k, network) in generator.flows.enumerated() {
            let checkpoint = folder?.appendingPathComponent(ZJetsGeneratorSettings.checkpoint(jets: k + 1))
            let trainer = try FlowTrainer(model: network, config: training, rng: RNGStream(seed: seed).child("generator.train").child(index: k + 1),
                                          checkpoint: checkpoint)
            try trainer.resumeIfCheckpointed(resume)
            try trainer.train(partonLevel: inputs[k], detectorLevel: weights[k]) { progress(k + 1, $0) }
        }
        return generator
    }

    /// Reads `generator.json` and the flow checkpoints of a model folder.
    public static func load(from folder: URL) throws -> ZJetsGenerator {
        try ModelManifest.verify(folder)
        let settings = try readJSON(ZJetsGeneratorSettings.self, from: folder.appendingPathComponent(ZJetsGeneratorSettings.file),
                                    needs: "a Z+jets generator model (refold train generator)", what: "Z+jets generator settings")
        let generator = try ZJetsGenerator(settings: settings)
        for (k, flow) in generator.flows.enumerated() {
            _ = try Checkpoint.load(into: flow, from: folder.appendingPathComponent(ZJetsGeneratorSettings.checkpoint(jets: k + 1)))
        }
        for (k, classifier) in generator.discriminators.enumerated() {
            _ = try Checkpoint.load(into: classifier, from: folder.appendingPathComponent(ZJetsGeneratorSettings.discriminatorCheckpoint(jets: k + 1)))
        }
        return generator
    }

    /// Throws unless `a` is 0 or the generator is conditioned on the augmentation and a is in its range.
    func checkAugmentation(_ a: Double) throws {
        guard let augmentation = settings.augmentation else {
            guard a == 0 else { throw RefoldError.value("augmentation a", expected: "0 (the generator was trained without --condition-on augmentation)", actual: a) }
            return
        }
        try augmentation.check(a)
    }

    /// `count` generated events of `jets` jets and their weights Z_n / f (0 for a jet pair below R-),
    /// at augmentation `a` for a conditioned generator. The global azimuth comes from
    /// `rng.child("phi")`, the latent points from `rng.child("latent")`.
    public func generate(jets: Int, count: Int, rng: RNGStream, augmentation a: Double = 0) throws -> (events: [ZJetsEvent], weights: [Double]) {
        guard (1...maximumJets).contains(jets) else { throw RefoldError.value("jets", expected: "1...\(maximumJets)", actual: jets) }
        try checkAugmentation(a)
        let k = jets - 1, map = settings.coordinates[k], d = map.dimension
        let condition = settings.augmentation.map { Tensor(shape: [count, 1], repeating: Float(a / $0.maximum)) }
        let x = try settings.standardizers[k].inverse(try flows[k].sample(events: count, condition: condition, rng: rng.child("latent")))
        let z = settings.meanSeparationWeight(jets: jets, augmentation: a)
        let phi = rng.child("phi")
        var events: [ZJetsEvent] = [], weights: [Double] = []
        events.reserveCapacity(count); weights.reserveCapacity(count)
        let values = x.storage.map(Double.init)
        for i in 0..<count {
            let event = map.event(values[(i * d)..<((i + 1) * d)], phi0: phi.uniform(-.pi, .pi))
            events.append(event)
            weights.append(z * settings.separation.inverse(event.jetSeparations))
        }
        return (events, weights)
    }

    /// A z-jets sample of `count` generated events (multiplicities drawn with the training fractions,
    /// at a those of the reweighted sample, from `rng.child("multiplicity")`, then shuffled), with the
    /// Delta R weights in `weights.npy`.
    public func sample(events count: Int, rng: RNGStream, augmentation a: Double = 0) throws -> EventSample {
        try controlledSample(events: count, rng: rng, augmentation: a).sample
    }

    /// `sample(events:rng:augmentation:)` and, when the model stores its discriminators, their
    /// weights D/(1-D) per event (in the sample's row order) and the clipped fraction.
    public func controlledSample(events count: Int, rng: RNGStream, augmentation a: Double = 0) throws
        -> (sample: EventSample, discriminator: (weights: [Double], clippedFraction: Double)?) {
        try checkAugmentation(a)
        let draw = rng.child("multiplicity"), fractions = settings.fractions(augmentation: a)
        var counts = [Int](repeating: 0, count: maximumJets)
        for _ in 0..<count {
            var u = draw.uniform(), n = 0
            while n < maximumJets - 1, u >= fractions[n] { u -= fractions[n]; n += 1 }
            counts[n] += 1
        }
        var rows: [(row: [Double], jets: Int, weight: Double, discriminator: Double)] = []
        var clipped = 0
        for (k, c) in counts.enumerated() where c > 0 {
            let (events, weights) = try generate(jets: k + 1, count: c, rng: rng.child("jets").child(index: k + 1), augmentation: a)
            let d = try discriminatorWeights(events, jets: k + 1)
            clipped += d.clipped
            for i in events.indices { rows.append((ZJetsProduction.row(events[i], slots: maximumJets), k + 1, weights[i], d.weights[i])) }
        }
        let order = rng.child("mix").permutation(rows.count)
        var sample = EventSample(generator: "inn-generator(z-jets)", seed: rng.seed,
                                 events: .init(columns: settings.columns, rows: count, values: order.flatMap { rows[$0].row }),
                                 weights: order.map { rows[$0].weight })
        sample.njets = order.map { rows[$0].jets }
        if settings.augmentation != nil { sample.parameters["augmentation_a"] = a }
        let discriminator = discriminators.isEmpty ? nil : (order.map { rows[$0].discriminator }, Double(clipped) / Double(max(count, 1)))
        return (sample, discriminator)
    }
}
