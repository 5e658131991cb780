import Foundation
import Tensor

/// Where and how a study ran: recorded in every `summary.json`.
public struct Provenance: Equatable, Sendable, Codable {
    public var seed: UInt64
    public var profile: ProfileName
    /// `git rev-parse HEAD`, or "unknown" outside a git checkout.
    public var gitRevision: String
    /// Uncommitted changes to tracked files (`git status --porcelain --untracked-files=no`).
    public var gitDirty: Bool
    /// UTC, ISO 8601.
    public var date: String
    public var refoldVersion: String
    public var cores: Int
    public var host: String
    /// The processor's model name (`/proc/cpuinfo`), empty where unknown.
    public var cpu: String
    /// The `--train`/`--test` sample folders the study ran on (nil: its generator).
    public var samples: [SampleFolderRecord]?

    public init(seed: UInt64, profile: ProfileName, refoldVersion: String, repository: URL? = nil, date: Date = Date(),
                samples: [SampleFolderRecord]? = nil) {
        self.samples = samples
        self.seed = seed
        self.profile = profile
        self.refoldVersion = refoldVersion
        let folder = repository ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let revision = Self.git(["rev-parse", "HEAD"], in: folder)
        gitRevision = revision ?? "unknown"
        gitDirty = revision == nil ? false : !(Self.git(["status", "--porcelain", "--untracked-files=no"], in: folder) ?? "").isEmpty
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.date = formatter.string(from: date)
        cores = ProcessInfo.processInfo.activeProcessorCount
        host = ProcessInfo.processInfo.hostName
        cpu = Self.processorModel()
    }

    enum CodingKeys: String, CodingKey { case seed, profile, gitRevision, gitDirty, date, refoldVersion, cores, host, cpu, samples }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decode(UInt64.self, forKey: .seed); profile = try c.decode(ProfileName.self, forKey: .profile)
        gitRevision = try c.decode(String.self, forKey: .gitRevision); gitDirty = try c.decode(Bool.self, forKey: .gitDirty)
        date = try c.decode(String.self, forKey: .date); refoldVersion = try c.decode(String.self, forKey: .refoldVersion)
        cores = try c.decode(Int.self, forKey: .cores); host = try c.decode(String.self, forKey: .host)
        cpu = try c.decodeIfPresent(String.self, forKey: .cpu) ?? ""
        samples = try c.decodeIfPresent([SampleFolderRecord].self, forKey: .samples)
    }

    /// "AMD EPYC 7B13" from the first `model name` line of /proc/cpuinfo.
    static func processorModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// Output of `git args` in `folder`, trimmed; nil if git is missing or fails.
    static func git(_ arguments: [String], in folder: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        process.currentDirectoryURL = folder
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `Reports/<study>/summary.json`.
public struct StudySummary: Equatable, Sendable, Codable {
    public var study: String
    public var kind: StudyKind
    public var description: String
    public var specFile: String
    public var network: NetworkVariant
    public var result: StudyResult
    /// Seconds.
    public var wallTime: Double
    public var provenance: Provenance

    public init(spec: StudySpec, result: StudyResult, wallTime: Double, provenance: Provenance) {
        study = spec.name; kind = spec.kind; description = spec.description; specFile = spec.file
        network = spec.network.variant
        self.result = result; self.wallTime = wallTime; self.provenance = provenance
    }

    /// Writes `folder/summary.json` atomically (sorted keys, pretty-printed).
    public func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(self), to: folder.appendingPathComponent("summary.json"))
    }

    public static func read(from url: URL) throws -> StudySummary {
        do { return try JSONDecoder().decode(StudySummary.self, from: Data(contentsOf: url)) } catch {
            throw RefoldError.file(url.path, "cannot read study summary: \(error)")
        }
    }
}
