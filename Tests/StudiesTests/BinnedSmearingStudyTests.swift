import Foundation
import XCTest
import Studies
import TestSupport
import Validation

/// The binned-smearing study in its quick form: every gate of Toys/binned-smearing.toml passes.
/// Its chi2/ndf gates (< 2 for 20 bins) are means over 11 pseudo-data sets: one set scatters by
/// sqrt(2/20) = 0.32, the mean by 0.1, a third of the margin 2 - 1 at most 0.33; the SVD pull gate at 4.
final class BinnedSmearingStudyTests: XCTestCase {
    func testQuickProfilePassesItsGates() throws {
        let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Toys/binned-smearing.toml")
        let spec = try XCTUnwrap(StudySpec.load(toys).first)
        let registry = StudyCatalog.registry()
        let folder = temporaryFolder()
        let context = StudyContext(spec: spec, profile: .quick, seed: 2026, folder: folder)
        let (result, _) = registry.run(context)
        XCTAssertEqual(result.status, .passed, "seed 2026: \(result.gates.map { "\($0.name)=\($0.value)" }) \(result.status)")
        for gate in result.gates { XCTAssertTrue(gate.noiseIsSmall, "\(gate.name): noise \(gate.noise), margin \(gate.margin)") }
        XCTAssertEqual(result.gates.count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("unfolded.csv").path))
        assertFigures(result, ["response"])
    }
}
