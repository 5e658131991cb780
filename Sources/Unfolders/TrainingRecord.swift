import Foundation
import Parallel
import Tensor

/// The options of one `refold train` that a `--resume` must repeat (network, profile, seed, batch
/// size, coordinates, ...; not the epochs, which a resume may extend), recorded as
/// `train-options.json` inside a model folder, or as `<file>.train-options.json` beside a model
/// that is one file (the BINN).
///
/// `prepare` is the one gate every training passes before it writes (issue 20):
/// - a fresh training starts only in a free place: a missing path or an empty folder (or one
///   holding only a record, of a run that stopped before training); `force`
///   first removes an existing model (a folder or file some `ModelFolder` recognises, or one
///   holding a record), never anything else;
/// - `--resume` needs the model and refuses options that differ from the record, naming each
///   option with both values;
/// - temporaries of atomic writes left by killed processes are removed;
/// - a fresh folder model starts its `ModelManifest` (the seed, this record), and a resume verifies
///   the manifest before it reads a file; `seal` rewrites it after the training's last write.
public struct TrainingRecord: Codable, Equatable, Sendable {
    /// Option name (as on the command line) -> its value as text ("default" when not given).
    public var options: [String: String]
    /// Data folder -> events dropped on read for holding NaN or inf (`--drop-non-finite`), written
    /// when the training ends (nil: none dropped). What the data were, not an option: a resume
    /// does not compare it.
    public var droppedNonFinite: [String: Int]?

    public init(options: [String: String]) { self.options = options }

    public static let fileName = "train-options.json"

    /// Where the record of the model at `model` lives.
    public static func location(of model: URL) -> URL {
        isSingleFile(model) ? model.deletingLastPathComponent().appendingPathComponent(model.lastPathComponent + "." + fileName)
            : model.appendingPathComponent(fileName)
    }

    static func isSingleFile(_ model: URL) -> Bool { model.pathExtension == "safetensors" }

    /// The record at `model`, nil when the model has none (written before records existed).
    public static func read(at model: URL) throws -> TrainingRecord? {
        let url = location(of: model)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try readJSON(TrainingRecord.self, from: url, needs: "--resume", what: "a record of training options")
    }

    /// The options whose values differ from `stored`, as "--option: NOW (the model was trained with THEN)".
    public func differences(from stored: TrainingRecord) -> [String] {
        Set(options.keys).union(stored.options.keys).sorted().compactMap { key in
            let now = options[key] ?? "not given", then = stored.options[key] ?? "not given"
            return now == then ? nil : "\(key) \(now) (the model was trained with \(then))"
        }
    }

    /// Whether `model` holds anything besides a record and its first manifest (a run that failed
    /// before training leaves only those, and a new run may start there).
    static func holdsTraining(_ model: URL) -> Bool {
        if isSingleFile(model) { return FileManager.default.fileExists(atPath: model.path) }
        guard OutputGuard.isOccupied(model) else { return false }
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: model.path)) ?? [])
        return !names.isSubset(of: [fileName, ModelManifest.fileName])
    }

    /// Removes the record of `model`, and its folder if that is left empty, when no training wrote
    /// anything there (a fresh run that failed before its first file).
    public func discardIfUnused(_ model: URL) {
        guard ProcessGroup.current.isRoot, !Self.holdsTraining(model) else { return }
        try? FileManager.default.removeItem(at: Self.location(of: model))
        if !Self.isSingleFile(model) { try? FileManager.default.removeItem(at: ModelManifest.location(in: model)) }
        if !Self.isSingleFile(model), (try? FileManager.default.contentsOfDirectory(atPath: model.path))?.isEmpty == true {
            try? FileManager.default.removeItem(at: model)
        }
    }

    /// Checks `model` for a fresh training or a resume (see the type's contract) and, for a fresh
    /// one, writes this record. Under mpirun every rank checks, rank 0 writes.
    public func prepare(_ model: URL, resume: Bool, force: Bool) throws {
        let group = ProcessGroup.current
        let exists = Self.holdsTraining(model)
        if resume {
            guard exists else { throw RefoldError.file(model.path, "missing: --resume needs a model written by an earlier run") }
            if !Self.isSingleFile(model) { try ModelManifest.verify(model) }
            if let stored = try TrainingRecord.read(at: model) {
                let changed = differences(from: stored)
                guard changed.isEmpty else {
                    throw RefoldError.file(model.path, "--resume with changed options: " + changed.joined(separator: "; ")
                                           + ": repeat the original options, or train afresh with another --out")
                }
            }
            if group.isRoot { removeStaleTemporaries(in: Self.isSingleFile(model) ? model.deletingLastPathComponent() : model) }
            group.barrier()
            return
        }
        let record = Self.location(of: model)
        if exists {
            guard force else {
                throw RefoldError.file(model.path, "exists: pass --resume to continue it, --force to replace it, or choose another --out")
            }
            let isModel = ModelFolders.kind(at: model) != nil || FileManager.default.fileExists(atPath: record.path)
            guard isModel else {
                throw RefoldError.file(model.path, "exists and is not a model: --force replaces only a model; choose another --out")
            }
        }
        group.barrier()
        if group.isRoot {
            if exists {
                try FileManager.default.removeItem(at: model)
                try? FileManager.default.removeItem(at: record)
            }
            if !Self.isSingleFile(model) { try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true) }
            try writeJSONAtomically(self, to: record)
            if !Self.isSingleFile(model) { try ModelManifest.write(model, seed: seed) }
        }
        group.barrier()
    }

    /// The `--seed` of the record (nil when not a number).
    var seed: UInt64? { options["--seed"].flatMap { UInt64($0) } }

    /// After the training's last write: records the events dropped from each data folder (if
    /// any) in this record, and rewrites the manifest of a folder model (files such as settings
    /// written after the last checkpoint). Rank 0 only.
    public func seal(_ model: URL, droppedNonFinite: [String: Int] = [:]) throws {
        guard ProcessGroup.current.isRoot else { return }
        if !droppedNonFinite.isEmpty {
            var record = self
            record.droppedNonFinite = droppedNonFinite
            try writeJSONAtomically(record, to: Self.location(of: model))
        }
        if !Self.isSingleFile(model) { try ModelManifest.refresh(model) }
    }
}
