import Foundation
import Tensor

/// One sample folder a study read in place of its generator, as `summary.json` records it.
public struct SampleFolderRecord: Equatable, Sendable, Codable {
    /// "train" or "test".
    public var role: String
    /// The folder as given on the command line, and resolved to an absolute path.
    public var path: String
    /// Events in the folder.
    public var events: Int
    /// `meta.json`'s generator name (the producer's own label).
    public var generator: String
    /// FNV-1a 64 of the folder's files (name and bytes, in name order), hex: two runs on the same
    /// files record the same hash, a changed byte a different one.
    public var contentHash: String
    /// Events dropped on read for holding NaN or inf (`--drop-non-finite`); nil when none were
    /// (and in summaries written before the option existed).
    public var droppedNonFinite: Int?
}

/// `refold validate STUDY --train DIR --test DIR`: paired sample folders a collider study runs on
/// instead of drawing its training and test samples from its generator. Read once with the
/// sample reader (`EventSample.read`); the study checks the columns it needs
/// (`ZWStudySupport.trainingAndTest`) and uses the first min(folder events, profile events) of
/// each (`capped(_:)`).
public struct SampleFolders {
    public var training: EventSample
    public var test: EventSample
    public var records: [SampleFolderRecord]

    /// The study kinds that take their samples from the context (all others refuse the folders).
    public static let supportedKinds: [StudyKind] = [.zwDetector, .zwISR, .wprime]

    public init(training: EventSample, test: EventSample, records: [SampleFolderRecord]) {
        self.training = training; self.test = test; self.records = records
    }

    /// Reads both folders (paired samples, the reader's own checks, events holding NaN or inf
    /// refused or dropped as `nonFinite` says) and hashes their files.
    public static func read(training: URL, test: URL, nonFinite: EventSample.NonFiniteEvents = .refuse) throws -> SampleFolders {
        var samples: [EventSample] = [], records: [SampleFolderRecord] = []
        for (role, url) in [("train", training), ("test", test)] {
            let sample = try EventSample.read(from: url, nonFinite: nonFinite)
            guard sample.level == .paired else {
                throw RefoldError.file(url.path, "--\(role): expected a paired sample (parton.npy and detector.npy), got a single-level one")
            }
            samples.append(sample)
            records.append(SampleFolderRecord(role: role, path: url.standardizedFileURL.path, events: sample.count,
                                              generator: sample.generator, contentHash: try contentHash(of: url),
                                              droppedNonFinite: sample.droppedNonFinite > 0 ? sample.droppedNonFinite : nil))
        }
        return SampleFolders(training: samples[0], test: samples[1], records: records)
    }

    /// Throws unless `spec`'s kind runs on sample folders, naming the kind and the spec file.
    public static func require(_ spec: StudySpec) throws {
        guard supportedKinds.contains(spec.kind) else {
            throw RefoldError("\(spec.file): study kind \(spec.kind.rawValue) (\(spec.name)) does not run on --train/--test sample folders; "
                              + "the kinds that do: \(supportedKinds.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The first min(folder events, `events`) training and min(folder events, `testEvents`) test
    /// events: the profile's sizes cap what a folder gives (records keep the folders' counts).
    public func capped(events: Int, testEvents: Int) -> SampleFolders {
        SampleFolders(training: Self.capped(training, events: events), test: Self.capped(test, events: testEvents), records: records)
    }

    /// What the study ran on, for its notes (`used` the capped folders).
    public func note(used: SampleFolders) -> String {
        let parts = zip(records, [used.training.count, used.test.count]).map { record, n in
            "\(record.role) \(record.path): first \(n) of \(record.events) events (\(record.generator), FNV-1a \(record.contentHash))"
        }
        return "samples from --train/--test folders instead of the generator (at most the profile's events): " + parts.joined(separator: "; ")
    }

    /// The first min(count, `events`) events of `sample` (the folder's order).
    public static func capped(_ sample: EventSample, events: Int) -> EventSample {
        let n = min(sample.count, max(events, 0))
        guard n < sample.count else { return sample }
        var out = sample
        out.parton = sample.parton?.rows(0..<n)
        out.detector = sample.detector?.rows(0..<n)
        out.njets = sample.njets.map { Array($0[0..<n]) }
        out.weights = sample.weights.map { Array($0[0..<n]) }
        out.leptonFlavour = sample.leptonFlavour.map { Array($0[0..<n]) }
        return out
    }

    /// FNV-1a 64 over each regular file's name and bytes, files in name order (subfolders skipped).
    public static func contentHash(of folder: URL) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        var hash = FNV1a()
        for name in names {
            let url = folder.appendingPathComponent(name)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            hash.mix(Array(name.utf8) + [0])
            let data = try Data(contentsOf: url)
            data.withUnsafeBytes { hash.mix($0) }
        }
        return hash.hex
    }
}
