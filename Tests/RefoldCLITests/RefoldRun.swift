import Foundation
import TestSupport
import XCTest

/// One run of the `refold` executable that `swift build --build-tests` put next to the tests.
struct RefoldRun {
    let status: Int32
    let output: String

    /// Runs `refold arguments` to its end (one BLAS thread), stdout and stderr together.
    init(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = try RefoldExecutable.url()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        environment["BLIS_NUM_THREADS"] = "1"
        process.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("refold-cli-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        status = process.terminationStatus
        output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    }
}

/// A CLI case of issue 20: a run that must succeed, or fail with an error (exit status 1...127,
/// no crash) whose message contains `words` (the file it names first of all).
class RefoldCLITestCase: XCTestCase {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("refold-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Replaces every float32 of the safetensors file at `url` by `value` (a corrupted checkpoint).
    func overwriteWeights(_ url: URL, with value: Float) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        var overwritten = 0
        for (name, entry) in header where name != "__metadata__" {
            guard let tensor = entry as? [String: Any], tensor["dtype"] as? String == "F32",
                  let offsets = tensor["data_offsets"] as? [Int] else { continue }
            var index = 8 + headerLength + offsets[0]
            while index < 8 + headerLength + offsets[1] {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { for (k, b) in $0.enumerated() { bytes[index + k] = b } }
                index += 4
            }
            overwritten += 1
        }
        XCTAssertGreaterThan(overwritten, 0, "no F32 tensor in \(url.path)")
        try Data(bytes).write(to: url)
    }

    /// Overwrites the checkpoint of the unfolding model `model` with finite but absurd weights
    /// (1e30): `unfold` refuses it naming the checkpoint, first through the manifest (the file
    /// changed), then, the manifest removed as in a folder written before manifests, through the
    /// network's draws; nothing is written.
    func assertAbsurdWeightsRefused(model: URL, detector: URL, out: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let checkpoint = model.appendingPathComponent("checkpoint.safetensors")
        try overwriteWeights(checkpoint, with: 1e30)
        let unfold = ["unfold", "--model", model.path, "--detector", detector.path, "--samples", "2", "--out", out.path]
        try fails(unfold, saying: [checkpoint.path, "different trainings"], file: file, line: line)
        try FileManager.default.removeItem(at: model.appendingPathComponent("manifest.json"))
        try fails(unfold, saying: [checkpoint.path, "corrupted"], file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("samples.npy").path), file: file, line: line)
    }

    @discardableResult
    func succeeds(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let run = try RefoldRun(arguments)
        XCTAssertEqual(run.status, 0, "refold \(arguments.joined(separator: " ")):\n\(run.output)", file: file, line: line)
        return run.output
    }

    func fails(_ arguments: [String], saying words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try RefoldRun(arguments)
        XCTAssertTrue((1..<128).contains(run.status), "refold \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.output)",
                      file: file, line: line)
        for word in words {
            XCTAssertTrue(run.output.contains(word), "refold \(arguments.joined(separator: " ")) does not say '\(word)':\n\(run.output)",
                          file: file, line: line)
        }
    }
}
