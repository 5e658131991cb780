import Flows
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

    public static let file = "generator.json"
    public static func checkpoint(jets n: Int) -> String { "flow-\(n)j.safetensors" }
}

/// The precision generator for Z -> mu mu + 1, 2, 3 jets (talk 001, arXiv:2110.13632): one
/// unconditional INN per jet multiplicity (`WeightedDensityFlow` on `ZJetsCoordinates`), trained by
/// maximum likelihood on events weighted by the seed's Delta R weight f (product over jet pairs);
/// generated events carry Z_n / f.
///
/// One flow per multiplicity rather than one flow conditioned on it: the event has 5 + 3n
/// coordinates, so a single flow would need zero-padded jet slots, directions without any spread
/// that a density cannot learn (its log-likelihood is unbounded there) and that leak into the
/// others; separate flows learn each phase space with exactly its own dimensions. The price is
/// that the 3-jet flow sees only its own (fewest) events, with nothing shared from the 1-jet ones.
public final class ZJetsGenerator {
    public let settings: ZJetsGeneratorSettings
    public let flows: [WeightedDensityFlow]

    init(settings: ZJetsGeneratorSettings) throws {
        self.settings = settings
        flows = try settings.flows.enumerated().map { n, config in
            try WeightedDensityFlow(config: config, rng: RNGStream(seed: settings.seed).child("generator.flow").child(index: n + 1))
        }
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
                             separation: SeparationWeight, seed: UInt64, folder: URL? = nil, resume: Bool = false,
                             progress: (Int, EpochReport) -> Void = { _, _ in }) throws -> ZJetsGenerator {
        let grouped = try events(of: sample, source: source)
        let threshold = sample.parameters["jet_minimum_pT"] ?? ZJetsParameters().jetMinimumPT
        var drellYan = DrellYanParameters()
        for (key, path) in [("m_Z", \DrellYanParameters.zMass), ("Gamma_Z", \.zWidth), ("minimum_mass", \.minimumMass), ("maximum_mass", \.maximumMass)] {
            if let value = sample.parameters[key] { drellYan[keyPath: path] = value }
        }
        var coordinates: [ZJetsCoordinates] = [], standardizers: [Standardizer] = [], inputs: [Tensor] = [], weights: [Tensor] = []
        var meanWeight: [Double] = []
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
            inputs.append(try standardizer.transform(x)); weights.append(Tensor(shape: [group.count, 1], storage: f.map(Float.init)))
            meanWeight.append(f.reduce(0, +) / Double(f.count))
        }
        let total = Double(grouped.reduce(0) { $0 + $1.count })
        let settings = ZJetsGeneratorSettings(
            coordinates: coordinates, standardizers: standardizers,
            flows: coordinates.map { var c = flow; c.dimension = $0.dimension; return c },
            fractions: grouped.map { Double($0.count) / total }, meanSeparationWeight: meanWeight, separation: separation,
            columns: sample.events!.columns, seed: seed, training: training, trainingEvents: grouped.map(\.count))
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
        return generator
    }

    /// `count` generated events of `jets` jets and their weights Z_n / f (0 for a jet pair below R-).
    /// The global azimuth comes from `rng.child("phi")`, the latent points from `rng.child("latent")`.
    public func generate(jets: Int, count: Int, rng: RNGStream) throws -> (events: [ZJetsEvent], weights: [Double]) {
        guard (1...maximumJets).contains(jets) else { throw RefoldError.value("jets", expected: "1...\(maximumJets)", actual: jets) }
        let k = jets - 1, map = settings.coordinates[k], d = map.dimension
        let x = try settings.standardizers[k].inverse(try flows[k].sample(events: count, rng: rng.child("latent")))
        let phi = rng.child("phi")
        var events: [ZJetsEvent] = [], weights: [Double] = []
        events.reserveCapacity(count); weights.reserveCapacity(count)
        let values = x.storage.map(Double.init)
        for i in 0..<count {
            let event = map.event(values[(i * d)..<((i + 1) * d)], phi0: phi.uniform(-.pi, .pi))
            events.append(event)
            weights.append(settings.meanSeparationWeight[k] * settings.separation.inverse(event.jetSeparations))
        }
        return (events, weights)
    }

    /// A z-jets sample of `count` generated events (multiplicities drawn with the training fractions
    /// from `rng.child("multiplicity")`, then shuffled), with the Delta R weights in `weights.npy`.
    public func sample(events count: Int, rng: RNGStream) throws -> EventSample {
        let draw = rng.child("multiplicity")
        var counts = [Int](repeating: 0, count: maximumJets)
        for _ in 0..<count {
            var u = draw.uniform(), n = 0
            while n < maximumJets - 1, u >= settings.fractions[n] { u -= settings.fractions[n]; n += 1 }
            counts[n] += 1
        }
        var rows: [(row: [Double], jets: Int, weight: Double)] = []
        for (k, c) in counts.enumerated() where c > 0 {
            let (events, weights) = try generate(jets: k + 1, count: c, rng: rng.child("jets").child(index: k + 1))
            for (e, w) in zip(events, weights) { rows.append((ZJetsProduction.row(e, slots: maximumJets), k + 1, w)) }
        }
        let order = rng.child("mix").permutation(rows.count)
        var sample = EventSample(generator: "inn-generator(z-jets)", seed: rng.seed,
                                 events: .init(columns: settings.columns, rows: count, values: order.flatMap { rows[$0].row }),
                                 weights: order.map { rows[$0].weight })
        sample.njets = order.map { rows[$0].jets }
        return sample
    }
}
