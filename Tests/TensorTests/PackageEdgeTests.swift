import Foundation
import Tensor
import XCTest

/// Package.swift's edges equal the imports: every module a target's sources import is one of its
/// declared dependencies, and it declares nothing it does not import (system modules aside).
final class PackageEdgeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let system: Set<String> = ["Foundation", "Glibc", "Dispatch", "XCTest"]

    /// Target name -> declared dependencies (a product's name for `.product(name:package:)`).
    func declaredEdges() throws -> [String: Set<String>] {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let target = try NSRegularExpression(pattern: #"\.(?:target|executableTarget)\(name:\s*"(\w+)",\s*dependencies:\s*\[(.*?)\]\s*[,)]"#,
                                             options: [.dotMatchesLineSeparators])
        let name = try NSRegularExpression(pattern: #"(?:\.product\(name:\s*)?"(\w+)""#)
        var edges: [String: Set<String>] = [:]
        for match in target.matches(in: manifest, range: NSRange(manifest.startIndex..., in: manifest)) {
            let module = String(manifest[Range(match.range(at: 1), in: manifest)!])
            let list = String(manifest[Range(match.range(at: 2), in: manifest)!])
            var names: Set<String> = []
            for m in name.matches(in: list, range: NSRange(list.startIndex..., in: list)) {
                let text = String(list[Range(m.range, in: list)!])
                if text.hasPrefix(".product") || !list[..<Range(m.range, in: list)!.lowerBound].hasSuffix("package: ") {
                    names.insert(String(list[Range(m.range(at: 1), in: list)!]))
                }
            }
            edges[module] = names
        }
        return edges
    }

    func imports(of module: String) throws -> Set<String> {
        let folder = Self.root.appendingPathComponent("Sources").appendingPathComponent(module)
        var modules: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            for line in try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), words[..<i].allSatisfy({ $0.hasPrefix("@") }), i + 1 < words.count else { continue }
                modules.insert(String(words[i + 1]))
            }
        }
        return modules.subtracting(Self.system)
    }

    func testSourceTargetsDeclareExactlyWhatTheyImport() throws {
        let edges = try declaredEdges()
        let sources = edges.keys.filter { !$0.hasSuffix("Tests") && $0 != "TestSupport" }
        XCTAssertTrue(sources.contains("Flows") && sources.contains("refold"), "parsed \(edges.keys.sorted())")
        for module in sources.sorted() {
            XCTAssertEqual(try imports(of: module), edges[module], "Sources/\(module): imports vs Package.swift dependencies")
        }
    }
}

/// Study helpers change the BLAS thread count only for their own work.
final class BLASThreadScopeTests: XCTestCase {
    func testWithThreadsRestoresTheCountAlsoWhenThrowing() {
        let before = BLAS.threads
        let inside = BLAS.withThreads(before + 1) { BLAS.threads }
        XCTAssertEqual(inside, before + 1)
        XCTAssertEqual(BLAS.threads, before)
        struct Failure: Error {}
        XCTAssertThrowsError(try BLAS.withThreads(before + 2) { throw Failure() })
        XCTAssertEqual(BLAS.threads, before)
    }
}
