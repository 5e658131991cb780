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
    samples_per_event = 30

    [network.binn]
    blocks = 20
    mmd = { widths = [2.0, 8.0] }

    [network.training]
    learning_rate = 1e-3
    schedule = "cosine"

    [profile.quick.generator]
    events = 20000

    [profile.quick.network.training]
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

    /// Stand-ins for a trainer's own config structs (the real ones live above Validation).
    struct Schedule: Codable, Equatable { var name: String }
    struct Training: Codable, Equatable, CheckedConfiguration {
        var epochs: Int, learningRate: Float, schedule: String, gradientClip: Float?
        func validate() throws {
            guard epochs >= 1, learningRate > 0 else {
                throw RefoldError.value("Training", expected: "epochs >= 1, learning_rate > 0", actual: "\(epochs), \(learningRate)")
            }
        }
    }
    struct Kernel: Codable, Equatable { var widths: [Float], exponent: Int }
    struct Sizes: Codable, Equatable { var dimension: Int, blocks: Int, units: Int, mmd: Kernel }
    static let training = Training(epochs: 300, learningRate: 1, schedule: "constant", gradientClip: 10)
    static let sizes = Sizes(dimension: 2, blocks: 8, units: 32, mmd: Kernel(widths: [1], exponent: 2))

    func testValidSpecParsesAndAppliesProfile() throws {
        let spec = try StudySpec(text: Self.valid, file: "ring.toml")
        XCTAssertEqual(spec.kind, .ring)
        XCTAssertEqual(spec.network.variant, .binn)
        XCTAssertEqual(spec.generator.parameters["radius"], .double(1))
        XCTAssertEqual(spec.gates.count, 2)
        let quick = spec.settings(for: .quick), paper = spec.settings(for: .paper)
        XCTAssertEqual(quick.generator.events, 20_000)
        XCTAssertEqual(quick.generator.testEvents, 2_000)
        XCTAssertEqual(try quick.network.decode("training", over: Self.training),
                       Training(epochs: 5, learningRate: 5e-3, schedule: "cosine", gradientClip: 10),
                       "a profile overrides any key of a section; keys it leaves keep the base value, keys nobody sets the preset's")
        XCTAssertEqual(try paper.network.decode("training", over: Self.training),
                       Training(epochs: 300, learningRate: 1e-3, schedule: "cosine", gradientClip: 10))
        XCTAssertEqual(try quick.network.decode("binn", over: Self.sizes),
                       Sizes(dimension: 2, blocks: 20, units: 32, mmd: Kernel(widths: [2, 8], exponent: 2)),
                       "a nested table merges key by key")
        XCTAssertEqual(quick.network.samplesPerEvent, 30)
        XCTAssertEqual(quick.network.parameters["boundaries"], .string("logit"))
        XCTAssertEqual(quick.generator.parameters["radius"], .double(1), "parameters merge key by key")
        XCTAssertEqual(quick.generator.seedOffset, 3)
        XCTAssertEqual(paper.generator.events, 300_000)
        XCTAssertNil(paper.network.parameters["boundaries"])
        XCTAssertEqual(spec.gates(for: .quick).map(\.name), ["density-chi2"])
        XCTAssertEqual(spec.gates(for: .paper).count, 2)
        XCTAssertEqual(spec.gates[1].profileReason, "the width needs the paper's statistics")
    }

    /// `false` switches an optional setting off; a section set in code decodes the same way.
    func testOptionalOffAndSectionSetInCode() throws {
        var network = try StudySpec(text: Self.valid.replacingOccurrences(of: "schedule = \"cosine\"", with: "gradient_clip = false"),
                                    file: "ring.toml").network
        XCTAssertNil(try network.decode("training", over: Self.training).gradientClip)
        network.set("training", "epochs", .int(7))
        XCTAssertEqual(try network.decode("training", over: Self.training).epochs, 7)
    }

    enum Boundaries: String, CaseIterable { case hard, box }

    /// A runner's typed read of a parameter names the file, line and key path where it was set:
    /// the profile's table for a value the profile overrides, the base table otherwise.
    func testParameterErrorsNameTheirLine() throws {
        let spec = try StudySpec(text: Self.valid, file: "ring.toml")
        let quick = spec.settings(for: .quick).network.parameters
        XCTAssertThrowsError(try quick.enumeration("boundaries", Boundaries.self)) {
            XCTAssertEqual("\($0)", "ring.toml:34: profile.quick.network.parameters.boundaries: expected one of hard, box, got \"logit\"")
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
        assertFails("profile_reason = \"the width needs the paper's statistics\"", "", line: 42, key: "gate[1].profile_reason",
                    "expected the reason why \"width-fit\" is not gated")
    }

    /// Replaces `old` in the valid spec and expects an error naming file, line and key (from the
    /// parse, or from `decode` when given: a section's keys are checked against its struct).
    private func assertFails(_ old: String, _ new: String, line: Int, key: String, _ fragment: String,
                             decode: ((StudySpec) throws -> Void)? = nil, file: StaticString = #filePath, testLine: UInt = #line) {
        let text = Self.valid.replacingOccurrences(of: old, with: new)
        XCTAssertNotEqual(text, Self.valid, "replacement did not apply", file: file, line: testLine)
        XCTAssertThrowsError(try { let spec = try StudySpec(text: text, file: "ring.toml"); try decode?(spec) }(), file: file, line: testLine) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("ring.toml:\(line): \(key):"), "message: \(message)", file: file, line: testLine)
            XCTAssertTrue(message.contains(fragment), "message: \(message)", file: file, line: testLine)
        }
    }

    private func quickTraining(_ spec: StudySpec) throws { _ = try spec.settings(for: .quick).network.decode("training", over: Self.training) }
    private func baseSizes(_ spec: StudySpec) throws { _ = try spec.network.decode("binn", over: Self.sizes, derived: ["dimension"]) }

    func testUnknownKeyNamesLineAndKey() {
        assertFails("samples_per_event = 30", "samples_per_event = 30\nblocks = 3", line: 17, key: "network.blocks", "unknown key")
        assertFails("seed_offset = 3", "seed_offset = 3\ncolour = \"red\"", line: 10, key: "generator.colour", "unknown key")
        assertFails("[network.binn]", "[network.cinn]\nblocks = 1\n[network.binn]", line: 18, key: "network.cinn", "unknown key")
        assertFails("[profile.quick.generator]", "[profile.quick.generator]\nepochs = 3", line: 27, key: "profile.quick.generator.epochs", "unknown key")
        assertFails("comparison = \"within\"", "comparison = \"within\"\nsigma = 2", line: 48, key: "gate[1].sigma", "unknown key")
        assertFails("blocks = 20", "blocks = 20\nblokcs = 3", line: 20, key: "network.binn.blokcs", "unknown key (known keys: blocks, mmd, units)",
                    decode: baseSizes)
        assertFails("epochs = 5", "epochs = 5\nwarp = 1", line: 31, key: "profile.quick.network.training.warp", "unknown key", decode: quickTraining)
        assertFails("mmd = { widths = [2.0, 8.0] }", "mmd = { widths = [2.0], power = 2 }", line: 20, key: "network.binn.mmd.power",
                    "unknown key (known keys: exponent, widths)", decode: baseSizes)
        assertFails("blocks = 20", "blocks = 20\ndimension = 3", line: 20, key: "network.binn.dimension", "is set from the data", decode: baseSizes)
    }

    func testWrongTypeNamesLineAndKey() {
        assertFails("events = 300000", "events = \"many\"", line: 8, key: "generator.events", "expected an integer, got string")
        assertFails("tolerance = 2.0", "tolerance = \"two\"", line: 39, key: "gate[0].tolerance", "expected a number")
        assertFails("kind = \"ring\"", "kind = 3", line: 3, key: "study.kind", "expected a string")
        assertFails("epochs = 5", "epochs = \"five\"", line: 30, key: "profile.quick.network.training.epochs", "expected an integer",
                    decode: quickTraining)
        assertFails("blocks = 20", "blocks = 2.5", line: 19, key: "network.binn.blocks", "expected an integer", decode: baseSizes)
        assertFails("mmd = { widths = [2.0, 8.0] }", "mmd = { widths = [2.0, \"wide\"] }", line: 20, key: "network.binn.mmd.widths[1]",
                    "expected a number", decode: baseSizes)
    }

    func testOutOfRangeAndBadEnumNameLineAndKey() {
        assertFails("learning_rate = 5e-3", "learning_rate = -5.0", line: 31, key: "profile.quick.network.training.learning_rate",
                    "out of range: Training: expected epochs >= 1, learning_rate > 0", decode: quickTraining)
        assertFails("samples_per_event = 30", "samples_per_event = 0", line: 16, key: "network.samples_per_event", "expected an integer in 1...100000, got 0")
        assertFails("variant = \"binn\"", "variant = \"transformer\"", line: 15, key: "network.variant", "expected one of none, inn")
        assertFails("comparison = \"lessThan\"", "comparison = \"below\"", line: 40, key: "gate[0].comparison", "lessThan")
        assertFails("tolerance = 0.1", "tolerance = -0.1", line: 45, key: "gate[1].tolerance", "non-negative")
        assertFails("learning_rate = 1e-3", "learning_rate = nan", line: 23, key: "network.training.learning_rate", "expected a finite number")
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
