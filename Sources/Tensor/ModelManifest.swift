import Foundation

/// `MODEL/manifest.json`: what makes a model folder one unit (issue 20, "config, weights and
/// metadata must not mix across trainings"). Each file is written atomically on its own, but a
/// folder is several files (config.json, the checkpoints, settings) written at different times;
/// the manifest binds them: the FNV-1a 64 hash and size of every file the training wrote, and the
/// seed it was started with.
///
/// Contract:
/// - `refold train` writes it when it starts a fresh training (`start`), `TrainingLoop` rewrites it
///   after every checkpoint (`refresh`) and the training after its last write; `ModelFolder.save`
///   and the models' own `write(to:)` write it with their files. Each write is atomic.
/// - Every loader of a model folder and `--resume` call `verify` first: a listed file that is
///   missing or whose hash differs, and a file the manifest does not list, is an error naming the
///   file and both hashes. A folder with files of two trainings (a config of one, a checkpoint of
///   another) therefore never loads.
/// - A folder without a manifest (written before manifests existed) loads as before, with a
///   warning on stderr that its files are not checked against each other.
/// - Not covered: hidden files (the temporaries of atomic writes) and sub-folders. A single-file
///   model (the BINN's safetensors, config in its metadata) needs no manifest.
///
/// FNV-1a is not cryptographic: it finds mixed or damaged files, not a forgery. Two files cannot
/// be replaced at once: a kill -9 between a checkpoint's rename and the manifest's rewrite (the
/// milliseconds of hashing after each epoch; SIGINT and SIGTERM wait for the end of a batch and
/// never land there) leaves a folder that loads and resumes only after `manifest.json` is deleted,
/// which the error says.
public struct ModelManifest: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        /// FNV-1a 64 of the file's bytes, 16 hex digits.
        public var fnv1a: String
        public var bytes: Int
    }

    /// File name (in the model folder) -> its hash and size.
    public var files: [String: Entry]
    /// The seed the training was started with (nil: the writer did not know one).
    public var seed: UInt64?

    public static let fileName = "manifest.json"

    public static func location(in folder: URL) -> URL { folder.appendingPathComponent(fileName) }

    /// The files of `folder` as they are now.
    public static func measure(_ folder: URL, seed: UInt64?) throws -> ModelManifest {
        var files: [String: Entry] = [:]
        for name in try coveredFiles(in: folder) {
            let data = try fileData(folder.appendingPathComponent(name))
            files[name] = Entry(fnv1a: hash(data), bytes: data.count)
        }
        return ModelManifest(files: files, seed: seed)
    }

    /// Writes the manifest of `folder` as it is now.
    public static func write(_ folder: URL, seed: UInt64?) throws {
        try writeJSONAtomically(try measure(folder, seed: seed), to: location(in: folder))
    }

    /// Rewrites the manifest of `folder` (keeping its seed) if the folder has one; a folder
    /// without one (a training outside `refold train`, or an older model) stays without.
    public static func refresh(_ folder: URL) throws {
        let url = location(in: folder)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let stored = try readJSON(ModelManifest.self, from: url, needs: "a model folder's manifest", what: "a model manifest")
        try write(folder, seed: stored.seed)
    }

    /// Checks every file of `folder` against its manifest (see the type's contract). Returns the
    /// manifest, or nil (after a warning on stderr) for a folder written before manifests.
    @discardableResult
    public static func verify(_ folder: URL) throws -> ModelManifest? {
        let url = location(in: folder)
        guard FileManager.default.fileExists(atPath: url.path) else {
            FileHandle.standardError.write(Data("warning: \(folder.path) has no \(fileName) (a model written before manifests): its config and weights are not checked against each other\n".utf8))
            return nil
        }
        let stored = try readJSON(ModelManifest.self, from: url, needs: "a model folder's manifest", what: "a model manifest")
        let remedy = "config and weights of different trainings, or a file changed after the training's last checkpoint: "
            + "retrain with --force (or, if you know the files belong together, delete \(url.path) to load the folder unchecked)"
        let present = Set(try coveredFiles(in: folder))
        for (name, entry) in stored.files.sorted(by: { $0.key < $1.key }) {
            let file = folder.appendingPathComponent(name)
            guard present.contains(name) else {
                throw RefoldError.file(file.path, "missing: \(fileName) lists it (FNV-1a \(entry.fnv1a), \(entry.bytes) bytes)")
            }
            let actual = hash(try fileData(file))
            guard actual == entry.fnv1a else {
                throw RefoldError.file(file.path, "FNV-1a \(actual), expected \(entry.fnv1a) (\(url.path), seed \(stored.seed.map(String.init) ?? "not recorded")): \(remedy)")
            }
        }
        if let extra = present.subtracting(stored.files.keys).sorted().first {
            throw RefoldError.file(folder.appendingPathComponent(extra).path, "not in \(url.path), which lists \(stored.files.keys.sorted()): \(remedy)")
        }
        return stored
    }

    /// Regular, non-hidden files of `folder` except the manifest, in name order.
    static func coveredFiles(in folder: URL) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw RefoldError.file(folder.path, "cannot list the model folder: \(error.localizedDescription)")
        }
        return names.filter { name in
            var isFolder: ObjCBool = false
            return !name.hasPrefix(".") && name != fileName
                && FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isFolder) && !isFolder.boolValue
        }.sorted()
    }

    static func fileData(_ url: URL) throws -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw RefoldError.file(url.path, "cannot read") }
        return data
    }

    static func hash(_ data: Data) -> String {
        var fnv = FNV1a()
        data.withUnsafeBytes { fnv.mix($0) }
        return fnv.hex
    }
}
