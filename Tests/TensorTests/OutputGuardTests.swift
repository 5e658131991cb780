import Foundation
import Tensor
import XCTest

/// Issue 20, "no output is silently destroyed" and "no result is silently meaningless": the
/// output gate every command passes, and the npy writer's refusal of non-finite arrays.
final class OutputGuardTests: XCTestCase {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("refold-output-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func assertRefused(_ body: () throws -> Void, naming path: String, _ words: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "\(message) does not name \(path)", line: line)
            XCTAssertTrue(message.contains(words), "\(message) does not say '\(words)'", line: line)
        }
    }

    func testAnOutputNeverReplacesAnInputEvenWithForce() throws {
        let sample = try folder()
        let alias = sample.appendingPathComponent("..").appendingPathComponent(sample.lastPathComponent)
        for force in [false, true] {
            assertRefused({ try OutputGuard.check(alias, inputs: [("--detector", sample)], force: force) },
                          naming: alias.path, "is the --detector input")
        }
    }

    func testAnExistingOutputNeedsForce() throws {
        let root = try folder()
        let empty = root.appendingPathComponent("empty"), missing = root.appendingPathComponent("missing")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertNoThrow(try OutputGuard.check(empty, force: false))
        XCTAssertNoThrow(try OutputGuard.check(missing, force: false))
        let file = root.appendingPathComponent("result.csv")
        try writeAtomically("1,2\n", to: file)
        assertRefused({ try OutputGuard.check(root, force: false) }, naming: root.path, "pass --force")
        assertRefused({ try OutputGuard.check(file, force: false) }, naming: file.path, "pass --force")
        XCTAssertNoThrow(try OutputGuard.check(root, force: true))
        XCTAssertNoThrow(try OutputGuard.check(file, force: true))
    }

    func testStaleTemporariesOfAFolderAreRemovedLiveOnesKept() throws {
        let root = try folder()
        let stale = root.appendingPathComponent(".checkpoint.safetensors.tmp-999999999")
        let live = root.appendingPathComponent(".config.json.tmp-\(getpid())")
        for url in [stale, live] { XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data([1]))) }
        removeStaleTemporaries(in: root)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path))
    }

    func testNonFiniteArraysAreNotWritten() throws {
        let root = try folder()
        let cases: [(NPYArray, String)] = [
            (NPYArray(shape: [2, 3], values: [0, 1, 2, 3, .nan, 5], dtype: .float64), "element [1, 1] is nan"),
            (NPYArray(shape: [3], values: [0, -.infinity, 1], dtype: .float64), "element [1] is -inf"),
            (NPYArray(shape: [2], values: [1, 1e39], dtype: .float32), "element [1] is 1e+39"),
            (NPYArray(shape: [1], values: [1e10], dtype: .int32), "element [0] is 10000000000.0"),
        ]
        for (k, (array, words)) in cases.enumerated() {
            let url = root.appendingPathComponent("out\(k).npy")
            assertRefused({ try array.write(to: url) }, naming: url.path, words)
            XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        }
        let fine = root.appendingPathComponent("fine.npy")
        try NPYArray(shape: [2], values: [1, 2], dtype: .float32).write(to: fine)
        XCTAssertEqual(try NPYArray.read(fine).values, [1, 2])
    }
}
