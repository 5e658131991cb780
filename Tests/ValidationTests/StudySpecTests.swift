import Config
import XCTest
import Tensor
@testable import Validation

final class StudySpecTests: XCTestCase {
    static let valid = """
    [study]
    name = "ring"
    kind = "ring"
    description = "Gaussian ring"

    [generator]
    name = "ring"
    events = 300000
    seed_offset = 3

    [generator.parameters]
    radius = 1.0

    [network]
    variant = "binn"
    blocks = 20
    learning_rate = 1e-3

    [profile.quick.generator]
    events = 20000

    [profile.quick.network]
    epochs = 5
    learning_rate = 5e-3

    [profile.quick.network.parameters]
    boundaries = "logit"

    [[gate]]
    name = "density-chi2"
    metric = "chi2PerNdf"
    tolerance = 2.0
    comparison = "lessThan"

    [[gate]]
    name = "width-fit"
    metric = "fitParameter"
    tolerance = 0.1
    target = 1.0
    comparison = "within"
    profiles = ["paper"]
    profile_reason = "the width needs the paper's statistics"
    """

    func testValidSpecParsesAndAppliesProfile() throws {
        let spec = try StudySpec(text: Self.valid, file: "ring.toml")
        XCTAssertEqual(spec.kind, .ring)
        XCTAssertEqual(spec.network.variant, .binn)
        XCTAssertEqual(spec.generator.parameters["radius"], .double(1))
        XCTAssertEqual(spec.gates.count, 2)
        let quick = spec.settings(for: .quick), paper = spec.settings(for: .paper)
        XCTAssertEqual(quick.generator.events, 20_000)
        XCTAssertEqual(quick.generator.testEvents, 2_000)
        XCTAssertEqual(quick.network.epochs, 5)
        XCTAssertEqual(quick.network.learningRate, 5e-3, "a profile overrides any network key")
        XCTAssertEqual(quick.network.blocks, 20, "keys the profile leaves keep the base value")
        XCTAssertEqual(quick.network.parameters["boundaries"], .string("logit"))
        XCTAssertEqual(quick.generator.parameters["radius"], .double(1), "parameters merge key by key")
        XCTAssertEqual(quick.generator.seedOffset, 3)
        XCTAssertEqual(paper.generator.events, 300_000)
        XCTAssertEqual(paper.network.learningRate, 1e-3)
        XCTAssertNil(paper.network.parameters["boundaries"])
        XCTAssertEqual(spec.gates(for: .quick).map(\.name), ["density-chi2"])
        XCTAssertEqual(spec.gates(for: .paper).count, 2)
        XCTAssertEqual(spec.gates[1].profileReason, "the width needs the paper's statistics")
    }

    enum Boundaries: String, CaseIterable { case hard, box }

    /// A runner's typed read of a parameter names the file, line and key path where it was set:
    /// the profile's table for a value the profile overrides, the base table otherwise.
    func testParameterErrorsNameTheirLine() throws {
        let spec = try StudySpec(text: Self.valid, file: "ring.toml")
        let quick = spec.settings(for: .quick).network.parameters
        XCTAssertThrowsError(try quick.enumeration("boundaries", Boundaries.self)) {
            XCTAssertEqual("\($0)", "ring.toml:27: profile.quick.network.parameters.boundaries: expected one of hard, box, got \"logit\"")
        }
        let generator = spec.settings(for: .quick).generator.parameters
        XCTAssertThrowsError(try generator.flag("radius")) {
            XCTAssertEqual("\($0)", "ring.toml:12: generator.parameters.radius: expected true or false, got double(1.0)")
        }
        XCTAssertEqual(try generator.number("radius"), 1)
        XCTAssertNil(try quick.enumeration("absent", Boundaries.self))
    }

    /// A gate restricted to some profiles must say why it is not gated in the others.
    func testProfileRestrictedGateNeedsItsReason() {
        assertFails("profile_reason = \"the width needs the paper's statistics\"", "", line: 35, key: "gate[1].profile_reason",
                    "expected the reason why \"width-fit\" is not gated")
    }

    /// Replaces `old` in the valid spec and expects an error naming file, line and key.
    private func assertFails(_ old: String, _ new: String, line: Int, key: String, _ fragment: String,
                             file: StaticString = #filePath, testLine: UInt = #line) {
        let text = Self.valid.replacingOccurrences(of: old, with: new)
        XCTAssertNotEqual(text, Self.valid, "replacement did not apply", file: file, line: testLine)
        XCTAssertThrowsError(try StudySpec(text: text, file: "ring.toml"), file: file, line: testLine) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("ring.toml:\(line): \(key):"), "message: \(message)", file: file, line: testLine)
            XCTAssertTrue(message.contains(fragment), "message: \(message)", file: file, line: testLine)
        }
    }

    func testUnknownKeyNamesLineAndKey() {
        assertFails("blocks = 20", "blocks = 20\nblokcs = 3", line: 17, key: "network.blokcs", "unknown key")
        assertFails("seed_offset = 3", "seed_offset = 3\ncolour = \"red\"", line: 10, key: "generator.colour", "unknown key")
        assertFails("epochs = 5", "epochs = 5\nwarp = 1", line: 24, key: "profile.quick.network.warp", "unknown key")
        assertFails("[profile.quick.generator]", "[profile.quick.generator]\nepochs = 3", line: 20, key: "profile.quick.generator.epochs", "unknown key")
        assertFails("comparison = \"within\"", "comparison = \"within\"\nsigma = 2", line: 41, key: "gate[1].sigma", "unknown key")
    }

    func testWrongTypeNamesLineAndKey() {
        assertFails("events = 300000", "events = \"many\"", line: 8, key: "generator.events", "expected an integer, got string")
        assertFails("tolerance = 2.0", "tolerance = \"two\"", line: 32, key: "gate[0].tolerance", "expected a number")
        assertFails("kind = \"ring\"", "kind = 3", line: 3, key: "study.kind", "expected a string")
    }

    func testOutOfRangeAndBadEnumNameLineAndKey() {
        assertFails("blocks = 20", "blocks = 0", line: 16, key: "network.blocks", "expected an integer in 1...256, got 0")
        assertFails("learning_rate = 1e-3", "learning_rate = 5.0", line: 17, key: "network.learning_rate", "got 5.0")
        assertFails("learning_rate = 5e-3", "learning_rate = 5.0", line: 24, key: "profile.quick.network.learning_rate", "got 5.0")
        assertFails("variant = \"binn\"", "variant = \"transformer\"", line: 15, key: "network.variant", "expected one of none, inn")
        assertFails("comparison = \"lessThan\"", "comparison = \"below\"", line: 33, key: "gate[0].comparison", "lessThan")
        assertFails("tolerance = 0.1", "tolerance = -0.1", line: 38, key: "gate[1].tolerance", "non-negative")
    }

    func testMissingTableAndSyntaxError() {
        XCTAssertThrowsError(try StudySpec(text: "[generator]\nname = \"ring\"\n", file: "x.toml")) {
            XCTAssertTrue("\($0)".contains("x.toml: study: missing required table"), "\($0)")
        }
        XCTAssertThrowsError(try StudySpec(text: "[study\nname = 1", file: "x.toml")) {
            XCTAssertTrue("\($0)".hasPrefix("x.toml:1: TOML syntax"), "\($0)")
        }
    }

    /// Every spec shipped in Toys/ parses.
    func testShippedSpecsParse() throws {
        let toys = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Toys")
        let specs = try StudySpec.load(toys)
        XCTAssertEqual(Set(specs.map(\.kind)), Set(StudyKind.allCases), "one spec per study kind")
        for spec in specs {
            XCTAssertFalse(spec.gates.isEmpty, "\(spec.name) has no gates")
            XCTAssertNotNil(spec.profiles[.quick], "\(spec.name) has no quick profile")
            XCTAssertNotNil(spec.profiles[.paper], "\(spec.name) has no paper profile")
        }
    }
}
