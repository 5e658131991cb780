import XCTest
import Tensor
import TestSupport
import Validation
@testable import Reporting

/// `refold validate --train DIR --test DIR` without a network: the suite hands the folders to the
/// study through its context (capped to the profile's events), records them (path, events,
/// content hash) in summary.json's provenance and index.md, and a study kind that does not run
/// on folders, or a runner that ignores them, is an error naming the kind.
final class SampleFolderProvenanceTests: XCTestCase {
    func spec(kind: StudyKind, events: Int, testEvents: Int) throws -> StudySpec {
        try StudySpec(text: """
        [study]
        name = "folders"
        kind = "\(kind.rawValue)"
        [generator]
        name = "zw"
        events = \(events)
        test_events = \(testEvents)
        [network]
        variant = "cinn"
        """, file: "folders.toml")
    }

    /// A paired sample of `events` rows: parton column a = row index, detector column a = row + 0.5.
    func writeFolder(_ events: Int, generator: String) throws -> URL {
        let folder = temporaryFolder()
        let parton = EventSample.Block(columns: ["a"], rows: events, values: (0..<events).map(Double.init))
        let detector = EventSample.Block(columns: ["a"], rows: events, values: (0..<events).map { Double($0) + 0.5 })
        try EventSample(generator: generator, seed: 1, parton: parton, detector: detector).write(to: folder)
        return folder
    }

    func suite(_ registry: StudyRegistry, _ folders: SampleFolders, out: URL) -> ValidationSuite {
        var suite = ValidationSuite(registry: registry, profile: .quick, seed: 3, out: out, refoldVersion: "9.9", showProgress: false) { _ in }
        suite.sampleFolders = folders
        return suite
    }

    func testFoldersReachTheStudyCappedAndAreRecorded() throws {
        let train = try writeFolder(50, generator: "chain-a"), test = try writeFolder(8, generator: "chain-b")
        let folders = try SampleFolders.read(training: train, test: test)
        var seen: (Int, Int)? = nil
        var registry = StudyRegistry()
        registry.register(.zwDetector) { _, context in
            let samples = try XCTUnwrap(context.takeSampleFolders())
            seen = (samples.training.count, samples.test.count)
            XCTAssertEqual(samples.training.parton?.values.last, 19)  // the folder's first 20 rows
            return StudyResult()
        }
        let out = temporaryFolder()
        let summaries = try suite(registry, folders, out: out).run([try spec(kind: .zwDetector, events: 20, testEvents: 100)])
        // Training capped by the profile's 20 events; the test folder's 8 events are all used.
        XCTAssertEqual(seen?.0, 20); XCTAssertEqual(seen?.1, 8)
        XCTAssertEqual(summaries[0].result.status, .passed)
        let read = try StudySummary.read(from: out.appendingPathComponent("folders/summary.json"))
        let records = try XCTUnwrap(read.provenance.samples)
        XCTAssertEqual(records.map(\.role), ["train", "test"])
        XCTAssertEqual(records.map(\.events), [50, 8])
        XCTAssertEqual(records.map(\.generator), ["chain-a", "chain-b"])
        XCTAssertEqual(records[0].path, train.standardizedFileURL.path)
        XCTAssertEqual(records[0].contentHash.count, 16)
        XCTAssertTrue(read.result.notes.first?.contains("first 20 of 50 events") == true, "\(read.result.notes)")
        let index = try String(contentsOf: out.appendingPathComponent("index.md"), encoding: .utf8)
        XCTAssertTrue(index.contains(records[1].contentHash), index)
    }

    /// `validate --train --test --drop-non-finite`: the folder's NaN event is refused by default,
    /// dropped with the policy and counted in the record that summary.json and the report carry.
    func testDroppedNonFiniteEventsAreRecorded() throws {
        let train = try writeFolder(6, generator: "a"), test = try writeFolder(4, generator: "b")
        let values: [Double] = [0.5, .nan, 2.5, 3.5, 4.5, 5.5]
        try writeAtomically(NPYArray(shape: [6, 1], values: values).encoded(), to: train.appendingPathComponent("detector.npy"))
        XCTAssertThrowsError(try SampleFolders.read(training: train, test: test)) { XCTAssertTrue("\($0)".contains("detector.npy"), "\($0)") }
        let folders = try SampleFolders.read(training: train, test: test, nonFinite: .drop)
        XCTAssertEqual(folders.records.map(\.droppedNonFinite), [1, nil])
        XCTAssertEqual(folders.records.map(\.events), [5, 4])
        XCTAssertEqual(folders.training.parton?.values, [0, 2, 3, 4, 5], "the parton row of the dropped event leaves too")
    }

    /// The hash follows the bytes: the same content gives the same hash, one changed value another.
    func testContentHashFollowsTheFiles() throws {
        let a = try writeFolder(10, generator: "x"), b = try writeFolder(10, generator: "x")
        XCTAssertEqual(try SampleFolders.contentHash(of: a), try SampleFolders.contentHash(of: b))
        let folder = temporaryFolder()
        let detector = EventSample.Block(columns: ["a"], rows: 10, values: (0..<10).map { $0 == 9 ? 9.25 : Double($0) + 0.5 })
        try EventSample(generator: "x", seed: 1, parton: EventSample.Block(columns: ["a"], rows: 10, values: (0..<10).map(Double.init)),
                        detector: detector).write(to: folder)
        XCTAssertNotEqual(try SampleFolders.contentHash(of: a), try SampleFolders.contentHash(of: folder))
    }

    func testKindsWithoutFolderSupportAndIgnoringRunnersAreErrors() throws {
        let folders = try SampleFolders.read(training: try writeFolder(5, generator: "x"), test: try writeFolder(5, generator: "x"))
        var ran = false
        var registry = StudyRegistry()
        registry.register(.zwCuts) { _, _ in ran = true; return StudyResult() }
        registry.register(.zwISR) { _, _ in StudyResult() }  // never asks for the folders
        let cuts = StudyContext(spec: try spec(kind: .zwCuts, events: 5, testEvents: 5), profile: .quick, seed: 1,
                                folder: temporaryFolder(), sampleFolders: folders)
        guard case .error(let message) = registry.run(cuts).result.status else { return XCTFail("zwCuts ran on folders") }
        XCTAssertFalse(ran)
        XCTAssertTrue(message.contains("study kind zwCuts") && message.contains("zwDetector, zwISR, wprime"), message)
        let isr = StudyContext(spec: try spec(kind: .zwISR, events: 5, testEvents: 5), profile: .quick, seed: 1,
                               folder: temporaryFolder(), sampleFolders: folders)
        guard case .error(let ignored) = registry.run(isr).result.status else { return XCTFail("ignored folders passed") }
        XCTAssertTrue(ignored.contains("did not read the --train/--test sample folders"), ignored)
    }

    func testSingleLevelFolderIsRefused() throws {
        let single = temporaryFolder()
        try EventSample(generator: "x", seed: 1, events: EventSample.Block(columns: ["a"], rows: 3, values: [1, 2, 3])).write(to: single)
        XCTAssertThrowsError(try SampleFolders.read(training: single, test: try writeFolder(3, generator: "x"))) { error in
            XCTAssertTrue("\(error)".contains(single.path) && "\(error)".contains("paired"), "\(error)")
        }
    }
}
