import Foundation
import Tensor

/// A uniform prior on some shower parameters: each jet draws its own values (training data for
/// inference); the others stay at the fixed `ShowerParameters`.
public struct ShowerPrior {
    public struct Range { public let field: ShowerParameters.Field; public let low: Double, high: Double }
    public private(set) var ranges: [Range] = []

    public init() {}

    /// From `NAME=LOW:HIGH` assignments. Unknown names (the message lists the valid ones), the
    /// discrete n_f and running, repeated names and LOW > HIGH are errors.
    public init(_ assignments: [String]) throws {
        for assignment in assignments {
            let (name, range) = try ShowerParameters.split(assignment, separator: "=", what: "shower prior", form: "NAME=LOW:HIGH")
            let field = try ShowerParameters.field(named: name)
            guard field.continuous else { throw RefoldError.value("shower prior \(name)", expected: "a continuous parameter (set n_f and running with --set)", actual: name) }
            guard !ranges.contains(where: { $0.field.name == name }) else { throw RefoldError.value("shower prior", expected: "each name once", actual: "\(name) twice") }
            let (lowText, highText) = try ShowerParameters.split(range, separator: ":", what: "shower prior \(name)", form: "LOW:HIGH")
            guard let low = Double(lowText), let high = Double(highText), low.isFinite, high.isFinite, low <= high else {
                throw RefoldError.value("shower prior \(name)", expected: "finite LOW:HIGH with LOW <= HIGH", actual: "'\(range)'")
            }
            ranges.append(Range(field: field, low: low, high: high))
        }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Throws unless every point of the box is valid around `fixed`: each constraint of
    /// `ShowerParameters.validated()` is monotone in every parameter, so checking the 2^k corners suffices.
    public func validate(around fixed: ShowerParameters) throws {
        for corner in 0..<(1 << ranges.count) {
            var p = fixed
            for (k, r) in ranges.enumerated() { r.field.set(&p, corner & (1 << k) == 0 ? r.low : r.high) }
            do { _ = try p.validated() } catch {
                throw RefoldError("shower prior: the corner \(ranges.enumerated().map { "\($1.field.name)=\(corner & (1 << $0) == 0 ? $1.low : $1.high)" }.joined(separator: ", ")) is invalid: \(error)")
            }
        }
    }

    /// `fixed` with the prior's parameters drawn uniformly.
    public func draw(around fixed: ShowerParameters, _ rng: RNGStream) -> ShowerParameters {
        var p = fixed
        for r in ranges { r.field.set(&p, rng.uniform(r.low, r.high)) }
        return p
    }

    /// {name: [low, high]} for meta.json.
    public var record: [String: [Double]] { Dictionary(uniqueKeysWithValues: ranges.map { ($0.field.name, [$0.low, $0.high]) }) }
}

/// Which parton starts each jet.
public enum InitialParton: Equatable {
    case quark, gluon
    /// A quark with probability `quarkFraction`, else a gluon, per jet.
    case mixed(quarkFraction: Double)
}

/// Showered jets with the parameters each was made with.
///
/// On disk: `constituents.npy` [N, K_max, 4] (E, px, py, pz in GeV, zero-padded; jet axis +z,
/// recoiler along -z), `counts.npy` [N] int32, `parameters.npy` [N, P] (every field of
/// `ShowerParameters.fields`, in that order), `quark.npy` [N] int32 (1: the jet started from a
/// quark), `observables.npy` [N, 5] (`JetShapes.names`) and `meta.json`.
public struct ShowerSample {
    public var constituents: [[FourMomentum]] = []
    public var parameters: [ShowerParameters] = []
    public var quark: [Bool] = []
    public var energy: Double
    public var seed: UInt64
    public var fixed: ShowerParameters
    public var prior: ShowerPrior
    public var initial: InitialParton
    /// Jets sharing one draw of the prior: jets k M ..< (k + 1) M form set k (1: a draw per jet).
    public var jetsPerSet: Int

    public var count: Int { constituents.count }
    public var maximumConstituents: Int { constituents.map(\.count).max() ?? 0 }

    /// `jets` jets of energy `energy` from streams RNGStream(seed).child("generate.shower") and its
    /// children "prior" (parameter draws), "initial" (quark or gluon) and "shower". With
    /// `jetsPerSet` M the prior is drawn once per M consecutive jets (a set measured together, the
    /// training data of set-level inference); `jets` must be a multiple of M.
    public init(jets: Int, energy: Double, initial: InitialParton, fixed: ShowerParameters, prior: ShowerPrior = ShowerPrior(),
                jetsPerSet: Int = 1, seed: UInt64) throws {
        guard jets > 0 else { throw RefoldError.value("jets", expected: "a positive count", actual: jets) }
        guard jetsPerSet >= 1, jets % jetsPerSet == 0 else {
            throw RefoldError.value("jets per set", expected: "a positive divisor of the \(jets) jets", actual: jetsPerSet)
        }
        guard energy.isFinite, energy > 0 else { throw RefoldError.value("jet energy", expected: "a positive number of GeV", actual: energy) }
        if case .mixed(let f) = initial, !(0...1).contains(f) { throw RefoldError.value("quark fraction", expected: "a value in [0, 1]", actual: f) }
        let fixed = try fixed.validated()
        try prior.validate(around: fixed)
        guard energy * energy > 4 * fixed.cutoff else {
            throw RefoldError.value("jet energy", expected: "above 2 sqrt(t_0) = \(2 * fixed.cutoff.squareRoot()) GeV", actual: energy)
        }
        self.energy = energy; self.seed = seed; self.fixed = fixed; self.prior = prior; self.initial = initial
        self.jetsPerSet = jetsPerSet
        let rng = RNGStream(seed: seed).child("generate.shower")
        let priorStream = rng.child("prior"), initialStream = rng.child("initial"), showerStream = rng.child("shower")
        let fixedShower = try PartonShower(fixed)
        constituents.reserveCapacity(jets); parameters.reserveCapacity(jets); quark.reserveCapacity(jets)
        var shower = fixedShower
        for i in 0..<jets {
            if !prior.isEmpty, i % jetsPerSet == 0 { shower = try PartonShower(prior.draw(around: fixed, priorStream)) }
            let isQuark: Bool
            switch initial {
            case .quark: isQuark = true
            case .gluon: isQuark = false
            case .mixed(let f): isQuark = initialStream.uniform() < f
            }
            constituents.append(shower.shower(isQuark ? .quark : .gluon, energy: energy, showerStream).constituents)
            parameters.append(shower.parameters)
            quark.append(isQuark)
        }
    }

    /// Writes the arrays and meta.json (each file atomically); `command` is recorded as given.
    public func write(to folder: URL, command: [String]) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let n = count, k = maximumConstituents, p = ShowerParameters.fields.count
        var padded = [Double](repeating: 0, count: n * k * 4)
        for (i, jet) in constituents.enumerated() {
            for (j, c) in jet.enumerated() {
                let base = (i * k + j) * 4
                padded[base] = c.e; padded[base + 1] = c.px; padded[base + 2] = c.py; padded[base + 3] = c.pz
            }
        }
        let files = ["constituents": "constituents.npy", "counts": "counts.npy", "parameters": "parameters.npy",
                     "quark": "quark.npy", "observables": "observables.npy"]
        func url(_ name: String) -> URL { folder.appendingPathComponent(files[name]!) }
        try NPYArray(shape: [n, k, 4], values: padded).write(to: url("constituents"))
        try NPYArray(shape: [n], values: constituents.map { Double($0.count) }, dtype: .int32).write(to: url("counts"))
        try NPYArray(shape: [n, p], values: parameters.flatMap(\.values)).write(to: url("parameters"))
        try NPYArray(shape: [n], values: quark.map { $0 ? 1 : 0 }, dtype: .int32).write(to: url("quark"))
        try NPYArray(shape: [n, JetShapes.names.count], values: constituents.flatMap { JetShapes($0).values }).write(to: url("observables"))
        let initialRecord: [String: Any]
        switch initial {
        case .quark: initialRecord = ["kind": "quark", "quark_fraction": 1.0]
        case .gluon: initialRecord = ["kind": "gluon", "quark_fraction": 0.0]
        case .mixed(let f): initialRecord = ["kind": "mixed", "quark_fraction": f]
        }
        let meta: [String: Any] = [
            "generator": "shower", "seed": seed, "jets": n, "energy": energy, "units": "GeV",
            "command": command, "initial": initialRecord,
            "parameters": fixed.record, "prior": prior.record,
            "parameter_columns": ShowerParameters.fieldNames, "constituent_columns": ["E", "px", "py", "pz"],
            "observable_columns": JetShapes.names, "max_constituents": k,
            "jets_per_set": jetsPerSet, "quark_jets": quark.filter { $0 }.count, "mean_multiplicity": Double(constituents.map(\.count).reduce(0, +)) / Double(n),
            "frame": "jet parton (E,0,0,E) and recoiler (E,0,0,-E) from a singlet at rest; constituents exclude the recoiler",
            "files": files,
        ]
        let data = try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(data, to: folder.appendingPathComponent("meta.json"))
    }
}
