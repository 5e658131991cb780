import Foundation
import Tensor
import Config

/// The validation studies of issue 4, one `Toys/*.toml` each.
public enum StudyKind: String, CaseIterable, Codable, Sendable {
    case wedge, kicker, ring, binnedSmearing, zwDetector, zwCuts, zwISR, wprime, errorsVsStatistics, drellYan, subtraction
    case mem, qcdInference
    case generator, zwMEMFlow
}

/// The generator a study draws its events from.
public enum GeneratorName: String, CaseIterable, Codable, Sendable {
    case wedge, kicker, ring, binnedSmearing = "binned-smearing", zw, zwISR = "zw-isr", wprime, drellYan = "drell-yan"
    case subtractionToy = "subtraction-toy"
    case shower
    case zJets = "z-jets"
}

/// Every network Refold trains: the study TOML's `[network] variant`, the argument of
/// `refold train`, and the variant a model folder records. The raw values are the names users type.
public enum NetworkVariant: String, CaseIterable, Codable, Sendable {
    /// Classical baselines only (studies).
    case none
    /// Naive INN (x_p ⊕ r_p <-> x_d, thesis table 5.1), noise-extended INN (sec. 5.3.2), conditional
    /// INN (table 5.2), cINN with zero-padded ISR jets and the one-hot jet count (sec. 5.4.2).
    case inn, einn, cinn, cinnISR = "cinn-isr"
    /// The unfolding GANs of thesis ch. 4: NaiveGAN (sec. 4.2) and the fully conditional GAN (4.3).
    case gan, fcgan
    /// Bayesian INN density (ch. 6).
    case binn
    /// GAN event subtraction (B - S).
    case subtraction
    /// The MEM flow proposal (a cINN over parton residuals).
    case mem
    /// The MEM's learned transfer density (conditional flows for the detector given the partons).
    case transfer
    /// The CMS transformer + spline flow.
    case memflow
    /// The set-level cINN over QCD splitting parameters.
    case qcd
    /// The Z + jets INN event generator.
    case generator

    /// The invertible unfolding networks (model folder `config.json`).
    public var isUnfoldingFlow: Bool { [.inn, .einn, .cinn, .cinnISR].contains(self) }
    /// The unfolding GANs (model folder `gan.json`).
    public var isUnfoldingGAN: Bool { self == .gan || self == .fcgan }
    /// The cINNs: p(x_p | x_d) with the detector level as condition.
    public var isConditional: Bool { self == .cinn || self == .cinnISR }

    /// The typed sections `[network.<name>]` a study of this variant may set: the trainers' own
    /// config structs (docs/validate.md lists their keys).
    public var sectionNames: [String] {
        switch self {
        case .none: return []
        case .inn, .einn: return ["inn", "training"]
        case .cinn, .cinnISR: return ["cinn", "training"]
        case .gan, .fcgan: return ["gan", "training"]
        case .binn: return ["binn", "training"]
        case .subtraction: return ["gan", "training"]
        case .mem, .transfer: return ["training"]
        case .memflow: return ["memflow"]
        case .qcd: return ["qcd", "training"]
        case .generator: return ["generator", "training", "classifier"]
        }
    }

    /// What a study of this variant waits for while no runner is registered.
    public var pendingReason: String {
        switch self {
        case .none: return "needs its generator and the classical unfolding baselines: issues [toys], [unfolding]"
        case .inn: return "needs the INN: issue [inn]"
        case .einn: return "needs the eINN: issue [inn]"
        case .cinn: return "needs the cINN: issue [inn]"
        case .cinnISR: return "needs the cINN with jet-multiplicity conditioning: issue [inn]"
        case .gan: return "needs the GAN: issue [gan]"
        case .fcgan: return "needs the FCGAN: issue [gan]"
        case .binn: return "needs the BINN: issue [binn]"
        case .subtraction: return "needs the subtraction GAN: issue [subtraction]"
        case .mem: return "needs the MEM flow proposal: issue [mem]"
        case .transfer: return "needs the MEM's learned transfer density: issue [mem]"
        case .qcd: return "needs the set-level cINN over shower parameters: issue [qcd-inference]"
        case .generator: return "needs the INN event generator with discriminator control: issue [generator]"
        case .memflow: return "needs the transformer + spline-flow MEMFlow network: issue [memflow]"
        }
    }

    /// Throws unless this variant is one of `allowed` (`what` names the place, e.g. a file and key).
    public func require(_ allowed: (NetworkVariant) -> Bool, _ what: String, expected: String) throws {
        guard allowed(self) else { throw RefoldError.value(what, expected: expected, actual: rawValue) }
    }
}

/// `quick` fits a 2-core machine; `paper` runs the thesis sizes.
public enum ProfileName: String, CaseIterable, Codable, Sendable {
    case quick, paper
}

/// How a gate compares its measured value with the tolerance.
public enum GateComparison: String, CaseIterable, Codable, Sendable {
    /// value < tolerance
    case lessThan
    /// value > tolerance
    case greaterThan
    /// |value - target| <= tolerance
    case within

    public func passes(_ value: Double, tolerance: Double, target: Double) -> Bool {
        guard value.isFinite else { return false }
        switch self {
        case .lessThan: return value < tolerance
        case .greaterThan: return value > tolerance
        case .within: return abs(value - target) <= tolerance
        }
    }

    public var symbol: String {
        switch self {
        case .lessThan: return "<"
        case .greaterThan: return ">"
        case .within: return "±"
        }
    }
}

/// What a gate measures (the runner reports the value under the gate's name).
public enum GateMetric: String, CaseIterable, Codable, Sendable {
    case chi2PerNdf, chi2PValue, ksPValue, calibrationMaxDeviation, mmd, maxPull, meanPull
    case relativeDeviation, fitParameter, fitChi2PerNdf, auc, value
}

/// `[generator]`: the sample a study draws.
public struct GeneratorSpec: Equatable, Sendable, Codable {
    public var name: GeneratorName
    /// Training events.
    public var events: Int
    /// Test events (defaults to `events / 10`).
    public var testEvents: Int
    /// Added to the run seed, so two studies of the same generator draw different samples.
    public var seedOffset: Int
    /// `[generator.parameters]`, checked by the study's runner (errors name file:line: key).
    public var parameters: SpecParameters
}

/// `[network]`: the variant, its typed sections and the study's own settings.
public struct NetworkSpec: Equatable, Sendable, Codable {
    public var variant: NetworkVariant
    /// Posterior samples per event for calibration and per-event plots.
    public var samplesPerEvent: Int?
    /// Events used for calibration curves (see DESIGN.md, statistical floor).
    public var calibrationEvents: Int?
    /// The variant's typed sections (`[network.cinn]`, `[network.training]`, see
    /// `NetworkVariant.sectionNames`), decoded by the runner over its preset with `decode`.
    public var sections: [String: SpecSection]
    /// `[network.parameters]`: the study's own settings, checked by its runner (errors name file:line: key).
    public var parameters: SpecParameters

    public init(variant: NetworkVariant, samplesPerEvent: Int? = nil, calibrationEvents: Int? = nil,
                sections: [String: SpecSection] = [:], parameters: SpecParameters = SpecParameters()) {
        self.variant = variant; self.samplesPerEvent = samplesPerEvent; self.calibrationEvents = calibrationEvents
        self.sections = sections; self.parameters = parameters
    }

    /// Sets `key` of `[network.<section>]` in code (tests, specs built in code).
    public mutating func set(_ section: String, _ key: String, _ value: SectionValue) {
        precondition(variant.sectionNames.contains(section), "\(variant.rawValue) has no section [network.\(section)]")
        if sections[section] == nil {
            sections[section] = SpecSection(origin: ParameterOrigin(file: "(set in code)", line: nil, keyPath: "network.\(section)"))
        }
        sections[section]!.set(key, value)
    }

    /// `preset` with the keys of `[network.<name>]` (and the profile's) applied; `preset` itself
    /// when the file has no such section (or the variant has none of that name). Errors name
    /// file:line: key.path.
    public func decode<T: Codable>(_ name: String, over preset: T, derived: Set<String> = []) throws -> T {
        guard let section = sections[name] else { return preset }
        return try section.decode(over: preset, derived: derived)
    }
}

/// The generator and network settings of one profile: the base sections with
/// `[profile.<name>.generator]`, `[profile.<name>.generator.parameters]`, `[profile.<name>.network]`
/// and `[profile.<name>.network.parameters]` applied. A profile may set any key those sections
/// allow (checked as strictly); a parameters table is merged key by key. A profile that sets
/// `events` but not `test_events` gets `events / 10` test events.
public struct ProfileSettings: Equatable, Sendable, Codable {
    public var generator: GeneratorSpec
    public var network: NetworkSpec
    public init(generator: GeneratorSpec, network: NetworkSpec) { self.generator = generator; self.network = network }
}

/// `[[gate]]`: one check with its tolerance.
public struct GateSpec: Equatable, Sendable, Codable {
    public var name: String
    public var metric: GateMetric
    /// The physics observable or coordinate the metric is computed on (`m_ZW`, `pT_j1`), if any.
    public var observable: String?
    public var tolerance: Double
    public var comparison: GateComparison
    /// The expected value for `within`; for `<` and `>` the value a perfect model gives (chi2/ndf:
    /// 1, a 2-sigma band: 0.954), from which the measurement noise's margin is counted. Default 0.
    public var target: Double
    /// The profiles this gate applies to (default: all). In the others it is measured and reported
    /// as "not gated", with `profileReason`.
    public var profiles: [ProfileName]
    /// Why the gate is not gated in the other profiles (required when `profiles` leaves one out).
    public var profileReason: String?

    public init(name: String, metric: GateMetric, observable: String? = nil, tolerance: Double, comparison: GateComparison,
                target: Double = 0, profiles: [ProfileName] = ProfileName.allCases, profileReason: String? = nil) {
        self.name = name; self.metric = metric; self.observable = observable; self.tolerance = tolerance
        self.comparison = comparison; self.target = target; self.profiles = profiles; self.profileReason = profileReason
    }
}

/// A study spec, `Toys/<name>.toml`:
/// `[study]` name, kind, description; `[generator]`; `[network]`; `[profile.quick.generator]`,
/// `[profile.quick.network]`, ... (any key of those sections, see `ProfileSettings`); `[[gate]]`. Parsing is strict: unknown keys, wrong types and values out of
/// range throw `RefoldError` naming the file, the line and the key path.
public struct StudySpec: Equatable, Sendable, Codable {
    public var name: String
    public var kind: StudyKind
    public var description: String
    public var generator: GeneratorSpec
    public var network: NetworkSpec
    /// The settings of each profile the file declares (`[profile.quick]`, `[profile.paper]`).
    public var profiles: [ProfileName: ProfileSettings]
    public var gates: [GateSpec]
    /// The file it was read from (empty for specs built in code).
    public var file: String

    public init(name: String, kind: StudyKind, description: String = "", generator: GeneratorSpec,
                network: NetworkSpec, profiles: [ProfileName: ProfileSettings] = [:], gates: [GateSpec] = [],
                file: String = "") {
        self.name = name; self.kind = kind; self.description = description; self.generator = generator
        self.network = network; self.profiles = profiles; self.gates = gates; self.file = file
    }

    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw RefoldError.file(url.path, "cannot read study spec: \(error.localizedDescription)")
        }
        try self.init(text: text, file: url.path)
    }

    public init(text: String, file: String = "<string>") throws {
        var top = try TOMLReader.parse(text, file: file)

        guard var study = try top.optionalTable("study") else { throw top.error("study", "missing required table [study]") }
        name = try study.string("name")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw study.error("name", "expected letters, digits, - or _ (it names the report folder), got \"\(name)\"")
        }
        kind = try study.enumeration("kind", StudyKind.self)
        description = try study.optionalString("description") ?? ""
        try study.finish()

        guard var gen = try top.optionalTable("generator") else { throw top.error("generator", "missing required table [generator]") }
        generator = try Self.readGenerator(&gen, base: nil)
        guard var net = try top.optionalTable("network") else { throw top.error("network", "missing required table [network]") }
        network = try Self.readNetwork(&net, base: nil)

        profiles = [:]
        if var profileTable = try top.optionalTable("profile") {
            for profile in ProfileName.allCases {
                guard var table = try profileTable.optionalTable(profile.rawValue) else { continue }
                var settings = ProfileSettings(generator: generator, network: network)
                if var g = try table.optionalTable("generator") { settings.generator = try Self.readGenerator(&g, base: generator) }
                if var n = try table.optionalTable("network") { settings.network = try Self.readNetwork(&n, base: network) }
                try table.finish()
                profiles[profile] = settings
            }
            try profileTable.finish()
        }

        var names: Set<String> = []
        gates = try top.tableArray("gate").map { reader in
            var gate = reader
            let comparison = try gate.enumeration("comparison", GateComparison.self)
            let spec = GateSpec(
                name: try gate.string("name"),
                metric: try gate.enumeration("metric", GateMetric.self),
                observable: try gate.optionalString("observable"),
                tolerance: try gate.double("tolerance", in: -1e12...1e12),
                comparison: comparison,
                target: try gate.optionalDouble("target", in: -1e12...1e12) ?? 0,
                profiles: try gate.optionalEnums("profiles", ProfileName.self) ?? ProfileName.allCases,
                profileReason: try gate.optionalString("profile_reason"))
            if spec.profiles.count < ProfileName.allCases.count, (spec.profileReason ?? "").isEmpty {
                throw gate.error("profile_reason", "expected the reason why \"\(spec.name)\" is not gated in the other profiles (it applies to \(spec.profiles.map(\.rawValue).joined(separator: ", ")) only)")
            }
            if comparison == .within, spec.tolerance < 0 {
                throw gate.error("tolerance", "expected a non-negative half-width for 'within', got \(spec.tolerance)")
            }
            guard names.insert(spec.name).inserted else { throw gate.error("name", "duplicate gate name \"\(spec.name)\"") }
            try gate.finish()
            return spec
        }
        try top.finish()
        self.file = file
    }

    /// The gates that apply under `profile`.
    public func gates(for profile: ProfileName) -> [GateSpec] {
        gates.filter { $0.profiles.contains(profile) }
    }

    /// Generator and network settings with the profile's overrides applied.
    public func settings(for profile: ProfileName) -> (generator: GeneratorSpec, network: NetworkSpec) {
        guard let p = profiles[profile] else { return (generator, network) }
        return (p.generator, p.network)
    }

    /// `[generator]` (base nil) or a profile's `[profile.<name>.generator]` over `base`.
    static func readGenerator(_ gen: inout TOMLReader, base: GeneratorSpec?) throws -> GeneratorSpec {
        let events = try gen.optionalInt("events", in: 1...100_000_000)
        let name: GeneratorName
        if let base { name = try gen.optionalEnum("name", GeneratorName.self) ?? base.name } else { name = try gen.enumeration("name", GeneratorName.self) }
        let resolvedEvents = events ?? base?.events ?? 100_000
        let testEvents = try gen.optionalInt("test_events", in: 1...100_000_000)
            ?? (events != nil || base == nil ? max(1, resolvedEvents / 10) : base!.testEvents)
        var parameters = base?.parameters ?? SpecParameters()
        if let table = try gen.optionalTable("parameters") { parameters.merge(try table.parameters()) }
        let spec = GeneratorSpec(name: name, events: resolvedEvents, testEvents: testEvents,
                                 seedOffset: try gen.optionalInt("seed_offset", in: 0...1_000_000) ?? base?.seedOffset ?? 0,
                                 parameters: parameters)
        try gen.finish()
        return spec
    }

    /// `[network]` (base nil) or a profile's `[profile.<name>.network]` over `base`.
    static func readNetwork(_ net: inout TOMLReader, base: NetworkSpec?) throws -> NetworkSpec {
        let variant: NetworkVariant
        if let base { variant = try net.optionalEnum("variant", NetworkVariant.self) ?? base.variant } else { variant = try net.enumeration("variant", NetworkVariant.self) }
        var parameters = base?.parameters ?? SpecParameters()
        if let table = try net.optionalTable("parameters") { parameters.merge(try table.parameters()) }
        var sections = base?.sections ?? [:]
        for name in variant.sectionNames {
            guard let section = try net.section(name) else { continue }
            if sections[name] == nil { sections[name] = section } else { sections[name]!.merge(section) }
        }
        let spec = NetworkSpec(
            variant: variant,
            samplesPerEvent: try net.optionalInt("samples_per_event", in: 1...100_000) ?? base?.samplesPerEvent,
            calibrationEvents: try net.optionalInt("calibration_events", in: 1...10_000_000) ?? base?.calibrationEvents,
            sections: sections, parameters: parameters)
        try net.finish()
        return spec
    }

    /// Every `*.toml` in `folder` (sorted by file name) or the single file `path`.
    public static func load(_ path: URL) throws -> [StudySpec] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder) else {
            throw RefoldError.file(path.path, "no such study spec or folder")
        }
        guard isFolder.boolValue else { return [try StudySpec(contentsOf: path)] }
        let files = try FileManager.default.contentsOfDirectory(atPath: path.path)
            .filter { $0.hasSuffix(".toml") && !$0.hasPrefix("detector-") }.sorted()
        let specs = try files.map { try StudySpec(contentsOf: path.appendingPathComponent($0)) }
        var seen: [String: String] = [:]
        for spec in specs {
            if let other = seen[spec.name] {
                throw RefoldError.file(spec.file, "study name \"\(spec.name)\" already used by \(other)")
            }
            seen[spec.name] = spec.file
        }
        return specs
    }
}
