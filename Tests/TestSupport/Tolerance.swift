import XCTest
import Tensor

/// Closeness in relative + absolute terms, NaN-aware: |a - b| <= abs + rel * max(|a|, |b|).
/// NaN equals NaN only if `nanEqual`; infinities must match exactly.
public func isClose(_ a: Double, _ b: Double, rel: Double = 1e-9, abs: Double = 0, nanEqual: Bool = false) -> Bool {
    if a.isNaN || b.isNaN { return nanEqual && a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return Swift.abs(a - b) <= abs + rel * max(Swift.abs(a), Swift.abs(b))
}

/// Asserts closeness (see `isClose`) with a message naming both values and the tolerance.
public func assertClose(_ a: Double, _ b: Double, rel: Double = 1e-9, abs: Double = 0,
                        _ message: @autoclosure () -> String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(isClose(a, b, rel: rel, abs: abs),
                  "\(a) vs \(b) differ by \(Swift.abs(a - b)) (rel \(rel), abs \(abs)) \(message())",
                  file: file, line: line)
}

/// Element-wise closeness of two arrays of equal length.
public func assertAllClose(_ a: [Double], _ b: [Double], rel: Double = 1e-9, abs: Double = 0,
                           _ message: @autoclosure () -> String = "",
                           file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "lengths differ \(message())", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where !isClose(x, y, rel: rel, abs: abs) {
        XCTFail("index \(i): \(x) vs \(y) (rel \(rel), abs \(abs)) \(message())", file: file, line: line)
        return
    }
}

/// The folder of the shared golden files (../shared/golden from the repository), if present.
public func goldenFolder(file: StaticString = #filePath) -> URL? {
    var url = URL(fileURLWithPath: "\(file)")
    for _ in 0..<8 {
        url.deleteLastPathComponent()
        let candidate = url.appendingPathComponent("Tests/Fixtures/golden")
        if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
    }
    return nil
}

/// A fresh temporary folder for one test.
/// Test folders live under `$TMPDIR/refold-tests-<pid>-...`; the first call of a test process
/// removes those that earlier processes left (older than ten minutes), so repeated runs on one
/// machine do not pile up models and plots.
public func temporaryFolder(_ name: String = #function) -> URL {
    _ = staleTestFoldersRemoved
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("refold-tests-\(getpid())-\(name.filter { $0.isLetter || $0.isNumber })-\(UInt32.random(in: 0...UInt32.max))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private let staleTestFoldersRemoved: Void = {
    let fm = FileManager.default
    let root = fm.temporaryDirectory
    let mine = "refold-tests-\(getpid())-"
    let cutoff = Date().addingTimeInterval(-600)
    for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix("refold-tests-") && !name.hasPrefix(mine) {
        let url = root.appendingPathComponent(name)
        if let modified = try? fm.attributesOfItem(atPath: url.path)[.modificationDate] as? Date, modified < cutoff {
            try? fm.removeItem(at: url)
        }
    }
}()
