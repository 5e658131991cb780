import Foundation
import Tensor

/// What a runner gets: the spec, the profile's sizes, a seeded RNG stream and its report folder.
public final class StudyContext {
    public let spec: StudySpec
    public let profile: ProfileName
    /// The run seed (`--seed`), recorded in the report. Studies never seed from it directly: every
    /// stream derives from `rng` and every network seed from `seed(for:)`.
    public let runSeed: UInt64
    /// Generator settings with the profile's overrides applied.
    public let generator: GeneratorSpec
    /// Network settings with the profile's overrides applied.
    public let network: NetworkSpec
    /// `Reports/<study>/`: every plot, data file and sample of the study goes here.
    public let folder: URL
    /// `RNGStream(seed: seed + generator.seedOffset).child(study name)`: derive children for
    /// generation, initialisation and sampling (`rng.child("generator")`, ...).
    public let rng: RNGStream
    /// `--train DIR --test DIR`: the paired samples a collider study runs on instead of its
    /// generator (nil: the generator). Read them through `takeSampleFolders()`.
    public let sampleFolders: SampleFolders?
    /// Whether the runner took `sampleFolders` (the registry refuses a run that ignored them).
    public private(set) var tookSampleFolders = false
    private let progress: (String) -> Void

    public init(spec: StudySpec, profile: ProfileName, seed: UInt64, folder: URL, sampleFolders: SampleFolders? = nil,
                progress: @escaping (String) -> Void = { _ in }) {
        self.spec = spec
        self.sampleFolders = sampleFolders
        self.profile = profile
        runSeed = seed
        (generator, network) = spec.settings(for: profile)
        self.folder = folder
        rng = RNGStream(seed: seed &+ UInt64(spec.generator.seedOffset)).child(spec.name)
        self.progress = progress
    }

    /// The integer seed of one network or sample of this study, `rng.child(name)`'s first draw:
    /// depends on the run seed, the generator's seed offset, the study name and `name`.
    public func seed(for name: String) -> UInt64 { UInt64(rng.child(name).integer(below: 1 << 31)) }

    /// The `--train`/`--test` samples, if given, marked as used: the first min(folder events,
    /// `generator.events`) training and min(folder events, `generator.testEvents`) test events.
    public func takeSampleFolders() -> SampleFolders? {
        tookSampleFolders = true
        return sampleFolders?.capped(events: generator.events, testEvents: generator.testEvents)
    }

    /// A status line on the terminal ("epoch 3/20, loss 1.23"); silent under CI.
    public func report(_ message: String) { progress(message) }

    /// `folder/name`, creating the folder.
    public func file(_ name: String) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(name)
    }
}

/// Runs one study: generate, train, sample, measure, plot. Throw for errors; report every gate of
/// the spec (whatever the profile) with `result.measure(gateName, value, noise:)`.
public typealias StudyRunner = (StudySpec, StudyContext) throws -> StudyResult

/// Study kind -> runner, a plain value: Studies builds the one `refold validate` uses
/// (`StudyCatalog.registry()`), tests build their own. A kind without a runner is reported as
/// pending with `spec.network.variant.pendingReason`.
public struct StudyRegistry {
    private var runners: [StudyKind: StudyRunner] = [:]

    public init() {}

    /// Registers `runner` for `kind` (replacing any earlier one).
    public mutating func register(_ kind: StudyKind, _ runner: @escaping StudyRunner) {
        runners[kind] = runner
    }

    public func runner(for kind: StudyKind) -> StudyRunner? { runners[kind] }

    public var registeredKinds: [StudyKind] { StudyKind.allCases.filter { runners[$0] != nil } }

    /// Runs the study (pending if no runner; error if it throws), evaluates its gates and
    /// returns the result with the wall time in seconds.
    public func run(_ context: StudyContext) -> (result: StudyResult, wallTime: Double) {
        let start = Date()
        var result: StudyResult
        if let runner = runner(for: context.spec.kind) {
            do {
                try FileManager.default.createDirectory(at: context.folder, withIntermediateDirectories: true)
                if context.sampleFolders != nil { try SampleFolders.require(context.spec) }
                result = try runner(context.spec, context)
                if let folders = context.sampleFolders {
                    guard context.tookSampleFolders else {
                        throw RefoldError("\(context.spec.file): the \(context.spec.kind.rawValue) runner did not read the --train/--test sample folders")
                    }
                    result.notes.insert(folders.note(used: folders.capped(events: context.generator.events, testEvents: context.generator.testEvents)), at: 0)
                }
                result.evaluate(context.spec.gates, profile: context.profile)
            } catch {
                result = StudyResult()
                result.status = .error(message: "\(error)")
                result.evaluate(context.spec.gates, profile: context.profile)
                result.status = .error(message: "\(error)")
            }
        } else {
            result = .pending(context.spec.network.variant.pendingReason)
            result.gates = context.spec.gates.map { Gate(spec: $0, measurement: nil, profile: context.profile) }
        }
        return (result, Date().timeIntervalSince(start))
    }
}
