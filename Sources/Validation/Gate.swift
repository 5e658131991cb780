import Foundation

/// One evaluated check: the measured value against its tolerance.
public struct Gate: Equatable, Sendable, Codable {
    public var name: String
    public var metric: GateMetric
    public var observable: String?
    public var value: Double
    public var tolerance: Double
    public var comparison: GateComparison
    public var target: Double
    public var pass: Bool
    /// Why the gate failed without a value ("not measured"), if so.
    public var note: String?

    public init(spec: GateSpec, value: Double?) {
        name = spec.name; metric = spec.metric; observable = spec.observable
        tolerance = spec.tolerance; comparison = spec.comparison; target = spec.target
        self.value = value ?? .nan
        pass = value.map { spec.comparison.passes($0, tolerance: spec.tolerance, target: spec.target) } ?? false
        note = value == nil ? "not measured by the study runner" : nil
    }

    /// "< 0.05", "> 0.001", "1.0 ± 0.1".
    public var toleranceText: String {
        switch comparison {
        case .within: return "\(format(target)) ± \(format(tolerance))"
        default: return "\(comparison.symbol) \(format(tolerance))"
        }
    }

    enum CodingKeys: String, CodingKey { case name, metric, observable, value, tolerance, comparison, target, pass, note }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(metric, forKey: .metric)
        try c.encodeIfPresent(observable, forKey: .observable)
        // JSON has no NaN: an unmeasured value is null.
        try c.encode(value.isFinite ? value : nil, forKey: .value)
        try c.encode(tolerance, forKey: .tolerance); try c.encode(comparison, forKey: .comparison)
        try c.encode(target, forKey: .target); try c.encode(pass, forKey: .pass)
        try c.encodeIfPresent(note, forKey: .note)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name); metric = try c.decode(GateMetric.self, forKey: .metric)
        observable = try c.decodeIfPresent(String.self, forKey: .observable)
        value = try c.decodeIfPresent(Double.self, forKey: .value) ?? .nan
        tolerance = try c.decode(Double.self, forKey: .tolerance)
        comparison = try c.decode(GateComparison.self, forKey: .comparison)
        target = try c.decode(Double.self, forKey: .target); pass = try c.decode(Bool.self, forKey: .pass)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }
}

/// Four significant digits, or "n/a" for NaN.
public func format(_ value: Double) -> String {
    guard value.isFinite else { return value.isNaN ? "n/a" : "\(value)" }
    if value != 0, abs(value) < 1e-3 || abs(value) >= 1e6 { return String(format: "%.3e", value) }
    return String(format: "%.4g", value)
}

/// The outcome of a study.
public enum StudyStatus: Equatable, Sendable, Codable {
    case passed, failed
    /// No runner registered (yet): the reason names what the study waits for. Does not fail a run.
    case pending(reason: String)
    /// The runner threw.
    case error(message: String)

    public var label: String {
        switch self {
        case .passed: return "passed"
        case .failed: return "FAILED"
        case .pending: return "pending"
        case .error: return "ERROR"
        }
    }

    /// Whether `refold validate` must exit non-zero.
    public var failsRun: Bool {
        switch self {
        case .failed, .error: return true
        case .passed, .pending: return false
        }
    }
}

/// A plot a study rendered: PNG and PDF, the data behind it and the gnuplot body that draws it
/// (loadable under any terminal, used again for the multi-page report).
public struct PlotRecord: Equatable, Sendable, Codable {
    public var title: String
    /// File names relative to the study's report folder.
    public var png: String
    public var pdf: String
    public var script: String
    public var data: [String]

    public init(title: String, png: String, pdf: String, script: String, data: [String]) {
        self.title = title; self.png = png; self.pdf = pdf; self.script = script; self.data = data
    }
}

/// What a runner returns: measurements (keyed by gate name), plots, data files and notes.
/// `refold validate` turns the measurements into `gates` with the spec's tolerances.
public struct StudyResult: Equatable, Sendable, Codable {
    public var measurements: [String: Double] = [:]
    public var gates: [Gate] = []
    public var plots: [PlotRecord] = []
    /// Data files (relative to the study folder) that are not plot data: samples, fit tables.
    public var dataFiles: [String] = []
    public var notes: [String] = []
    public var status: StudyStatus = .passed

    public init() {}

    /// Records the value of the gate called `gateName` in the spec.
    public mutating func measure(_ gateName: String, _ value: Double) {
        measurements[gateName] = value
    }

    /// Evaluates `specs` against the measurements; a gate without a measurement fails.
    /// Sets `status` to failed if any gate fails (unless it is already pending or error).
    public mutating func evaluate(_ specs: [GateSpec]) {
        gates = specs.map { Gate(spec: $0, value: measurements[$0.name]) }
        let declared = Set(specs.map(\.name))
        for name in measurements.keys.sorted() where !declared.contains(name) {
            notes.append("measurement '\(name)' has no [[gate]] in the spec")
        }
        if status == .passed, gates.contains(where: { !$0.pass }) { status = .failed }
    }

    public static func pending(_ reason: String) -> StudyResult {
        var result = StudyResult()
        result.status = .pending(reason: reason)
        return result
    }
}
