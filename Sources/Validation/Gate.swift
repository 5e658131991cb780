import Foundation

/// A runner's measurement of one gate: the value and its measurement noise, the standard
/// deviation the value would show if the measurement alone were repeated (other weight draws,
/// other posterior samples, other test events) on the same trained network. NaN: not estimated.
public struct Measured: Equatable, Sendable, Codable {
    public var value: Double
    public var noise: Double

    public init(_ value: Double, noise: Double) {
        self.value = value; self.noise = noise
    }

    /// The mean of repeated measurements and its standard error, sd / sqrt(n) (NaN for n < 2).
    /// A NaN among them makes the value NaN: a repetition that found nothing is not dropped.
    public init(repeated values: [Double]) {
        let spread = Measured(0, spreadOf: values).noise
        self.init(values.reduce(0, +) / Double(values.count), noise: spread / Double(values.count).squareRoot())
    }

    /// A single measurement whose noise is the standard deviation of `repetitions`, the same
    /// measurement repeated with independent draws (NaN for fewer than 2).
    public init(_ value: Double, spreadOf repetitions: [Double]) {
        let n = Double(repetitions.count)
        let mean = repetitions.reduce(0, +) / n
        let variance = repetitions.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        self.init(value, noise: repetitions.count >= 2 ? variance.squareRoot() : .nan)
    }

    enum CodingKeys: String, CodingKey { case value, noise }

    // JSON has no NaN: a missing value or noise is null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(value.isFinite ? value : nil, forKey: .value)
        try c.encode(noise.isFinite ? noise : nil, forKey: .noise)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decodeIfPresent(Double.self, forKey: .value) ?? .nan
        noise = try c.decodeIfPresent(Double.self, forKey: .noise) ?? .nan
    }
}

/// How a gate came out.
public enum GateVerdict: String, Equatable, Sendable, Codable {
    case pass, fail
    /// The gate belongs to another profile: measured and shown, never failing the run.
    case notGated

    public var label: String {
        switch self {
        case .pass: return "PASS"
        case .fail: return "FAIL"
        case .notGated: return "not gated"
        }
    }
}

/// One evaluated check: the measured value and its noise against the tolerance.
public struct Gate: Equatable, Sendable, Codable {
    public var name: String
    public var metric: GateMetric
    public var observable: String?
    public var value: Double
    /// The measurement noise (standard deviation), NaN if the runner did not estimate it.
    public var noise: Double
    public var tolerance: Double
    public var comparison: GateComparison
    public var target: Double
    public var pass: Bool
    /// False when the gate belongs to another profile than the run's: `pass` is then shown, not counted.
    public var gated: Bool
    /// Why the gate failed without a value ("not measured"), or why it is not gated at this profile.
    public var note: String?

    public init(spec: GateSpec, measurement: Measured?, profile: ProfileName) {
        name = spec.name; metric = spec.metric; observable = spec.observable
        tolerance = spec.tolerance; comparison = spec.comparison; target = spec.target
        let value = measurement.map(\.value)
        self.value = value ?? .nan
        noise = measurement?.noise ?? .nan
        pass = value.map { spec.comparison.passes($0, tolerance: spec.tolerance, target: spec.target) } ?? false
        gated = spec.profiles.contains(profile)
        if !gated {
            note = "not gated in the \(profile.rawValue) profile (gated in \(spec.profiles.map(\.rawValue).joined(separator: ", "))): \(spec.profileReason ?? "")"
        } else {
            note = value == nil ? "not measured by the study runner" : nil
        }
    }

    public var verdict: GateVerdict {
        gated ? (pass ? .pass : .fail) : .notGated
    }

    /// The distance the noise is compared with: the half-width of a `within` gate, or for `<` and
    /// `>` the distance from the target (the value a perfect model gives) to the tolerance.
    public var margin: Double {
        comparison == .within ? tolerance : abs(tolerance - target)
    }

    /// noise / margin: below 1/3 the gate measures the network, not the noise of its measurement.
    public var noiseFraction: Double { noise / margin }

    /// Whether the noise is known and below a third of the margin.
    public var noiseIsSmall: Bool { noiseFraction < 1.0 / 3 }

    /// "< 0.05", "> 0.001", "1.0 ± 0.1".
    public var toleranceText: String {
        switch comparison {
        case .within: return "\(format(target)) ± \(format(tolerance))"
        default: return "\(comparison.symbol) \(format(tolerance))"
        }
    }

    /// "0.0123 ± 0.002" (value and noise), "n/a" when not measured.
    public var valueText: String {
        noise.isFinite ? "\(format(value)) ± \(format(noise))" : format(value)
    }

    enum CodingKeys: String, CodingKey { case name, metric, observable, value, noise, tolerance, comparison, target, pass, gated, note }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(metric, forKey: .metric)
        try c.encodeIfPresent(observable, forKey: .observable)
        // JSON has no NaN: an unmeasured value (or noise) is null.
        try c.encode(value.isFinite ? value : nil, forKey: .value)
        try c.encode(noise.isFinite ? noise : nil, forKey: .noise)
        try c.encode(tolerance, forKey: .tolerance); try c.encode(comparison, forKey: .comparison)
        try c.encode(target, forKey: .target); try c.encode(pass, forKey: .pass)
        try c.encode(gated, forKey: .gated)
        try c.encodeIfPresent(note, forKey: .note)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name); metric = try c.decode(GateMetric.self, forKey: .metric)
        observable = try c.decodeIfPresent(String.self, forKey: .observable)
        value = try c.decodeIfPresent(Double.self, forKey: .value) ?? .nan
        noise = try c.decodeIfPresent(Double.self, forKey: .noise) ?? .nan
        tolerance = try c.decode(Double.self, forKey: .tolerance)
        comparison = try c.decode(GateComparison.self, forKey: .comparison)
        target = try c.decode(Double.self, forKey: .target); pass = try c.decode(Bool.self, forKey: .pass)
        gated = try c.decodeIfPresent(Bool.self, forKey: .gated) ?? true
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

/// A figure a runner describes: the plot and its file name (without extension).
public struct Figure: Sendable {
    public var name: String
    public var plot: Plot
    public init(name: String, plot: Plot) { self.name = name; self.plot = plot }
}

/// A plot a study rendered: PNG and PDF, the data behind it and the gnuplot body that draws it
/// (loadable under any terminal, used again for the multi-page report).
public struct PlotRecord: Equatable, Sendable, Codable {
    public var title: String
    /// What the figure shows, for the report's caption (after the title).
    public var caption: String
    /// File names relative to the study's report folder.
    public var png: String
    public var pdf: String
    public var script: String
    public var data: [String]

    public init(title: String, caption: String = "", png: String, pdf: String, script: String, data: [String]) {
        self.title = title; self.caption = caption; self.png = png; self.pdf = pdf; self.script = script; self.data = data
    }

    enum CodingKeys: String, CodingKey { case title, caption, png, pdf, script, data }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = try c.decode(String.self, forKey: .title)
        caption = try c.decodeIfPresent(String.self, forKey: .caption) ?? ""
        png = try c.decode(String.self, forKey: .png); pdf = try c.decode(String.self, forKey: .pdf)
        script = try c.decode(String.self, forKey: .script); data = try c.decode([String].self, forKey: .data)
    }
}

/// What a runner returns: measurements (keyed by gate name), plots, data files and notes.
/// `refold validate` turns the measurements into `gates` with the spec's tolerances.
public struct StudyResult: Equatable, Sendable, Codable {
    /// Values keyed by the name of the spec's gate they are compared with.
    public var measurements: [String: Measured] = [:]
    /// Further reported values (with their noise where known), keyed by name: the numbers a note
    /// explains, typed for tests and summary.json.
    public var quantities: [String: Measured] = [:]
    public var gates: [Gate] = []
    /// The figures the runner described, not yet drawn (Reporting renders them into `plots`).
    public var figures: [Figure] = []
    /// Rendered figures (files in the study's report folder).
    public var plots: [PlotRecord] = []
    /// Data files (relative to the study folder) that are not plot data: samples, fit tables.
    public var dataFiles: [String] = []
    public var notes: [String] = []
    public var status: StudyStatus = .passed

    public init() {}

    enum CodingKeys: String, CodingKey { case measurements, quantities, gates, plots, dataFiles, notes, status }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        measurements = try c.decode([String: Measured].self, forKey: .measurements)
        quantities = try c.decodeIfPresent([String: Measured].self, forKey: .quantities) ?? [:]
        gates = try c.decode([Gate].self, forKey: .gates)
        plots = try c.decode([PlotRecord].self, forKey: .plots)
        dataFiles = try c.decode([String].self, forKey: .dataFiles)
        notes = try c.decode([String].self, forKey: .notes)
        status = try c.decode(StudyStatus.self, forKey: .status)
    }

    /// Equal measurements, gates, rendered plots, files, notes and status; undrawn figures by name.
    public static func == (a: StudyResult, b: StudyResult) -> Bool {
        a.measurements == b.measurements && a.quantities == b.quantities && a.gates == b.gates && a.plots == b.plots
            && a.dataFiles == b.dataFiles && a.notes == b.notes && a.status == b.status && a.figures.map(\.name) == b.figures.map(\.name)
    }

    /// Describes a figure for Reporting to draw as `<name>.png` / `.pdf` in the study folder.
    public mutating func add(_ plot: Plot, name: String) {
        figures.append(Figure(name: name, plot: plot))
    }

    /// Records a reported value that is not compared with a gate; `noise` 0 for an exact value (a
    /// count, a setting, a deterministic computation), NaN when not estimated.
    public mutating func record(_ name: String, _ value: Double, noise: Double = 0) {
        quantities[name] = Measured(value, noise: noise)
    }

    /// Records the value of the gate called `gateName` in the spec and its measurement noise
    /// (the standard deviation of the value over repetitions of the measurement alone).
    public mutating func measure(_ gateName: String, _ value: Double, noise: Double) {
        measurements[gateName] = Measured(value, noise: noise)
    }

    public mutating func measure(_ gateName: String, _ measurement: Measured) {
        measurements[gateName] = measurement
    }

    /// Evaluates every gate of `specs` against the measurements: those of `profile` are gated (one
    /// without a measurement fails), the others are shown as not gated. Sets `status` to failed if
    /// any gated gate fails (unless it is already pending or error).
    public mutating func evaluate(_ specs: [GateSpec], profile: ProfileName) {
        gates = specs.map { Gate(spec: $0, measurement: measurements[$0.name], profile: profile) }
        let declared = Set(specs.map(\.name))
        for name in measurements.keys.sorted() where !declared.contains(name) {
            notes.append("measurement '\(name)' has no [[gate]] in the spec")
        }
        if status == .passed, gates.contains(where: { $0.verdict == .fail }) { status = .failed }
    }

    public static func pending(_ reason: String) -> StudyResult {
        var result = StudyResult()
        result.status = .pending(reason: reason)
        return result
    }
}
