import Foundation
import XCTest

/// Package.swift's edges between Refold's own targets equal the imports of their files: a target
/// depends on exactly the targets it imports (issue 13), tests included.
final class PackageEdgesTests: XCTestCase {
    func testDependenciesEqualImports() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let target = try NSRegularExpression(pattern: #"\.(?:target|testTarget|executableTarget)\(\s*name:\s*"(\w+)"(?:,\s*dependencies:\s*\[([^\]]*)\])?"#)
        let quoted = try NSRegularExpression(pattern: #""(\w+)""#)
        func groups(_ regex: NSRegularExpression, _ text: String) -> [[String?]] {
            regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { match in
                (1..<match.numberOfRanges).map { Range(match.range(at: $0), in: text).map { String(text[$0]) } }
            }
        }
        var dependencies: [String: Set<String>] = [:]
        for g in groups(target, manifest) { dependencies[g[0]!] = Set(groups(quoted, g[1] ?? "").map { $0[0]! }) }
        let names = Set(dependencies.keys)
        XCTAssertGreaterThan(names.count, 20)
        for (name, declared) in dependencies.sorted(by: { $0.key < $1.key }) {
            let folder = ["Sources", "Tests"].map { root.appendingPathComponent($0).appendingPathComponent(name) }
                .first { FileManager.default.fileExists(atPath: $0.path) }
            guard let folder, let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            var imported: Set<String> = []
            for case let file as URL in files where file.pathExtension == "swift" {
                for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                    let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                    if words.count == 2, words[0] == "import" { imported.insert(String(words[1])) }
                }
            }
            XCTAssertEqual(imported.intersection(names), declared.intersection(names), "\(name): imports vs Package.swift dependencies")
        }
    }
}
