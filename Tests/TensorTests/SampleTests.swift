import XCTest
import Tensor
import TestSupport

final class SampleTests: XCTestCase {
    private func paired(rows: Int = 3) -> EventSample {
        let parton = EventSample.Block(columns: ["a", "b"], rows: rows, values: (0..<(2 * rows)).map { Double($0) + 0.5 })
        let detector = EventSample.Block(columns: ["c", "d", "e"], rows: rows, values: (0..<(3 * rows)).map { -Double($0) })
        return EventSample(generator: "test", seed: 7, parton: parton, detector: detector, njets: Array(repeating: 2, count: rows),
                           weights: Array(repeating: 1.5, count: rows), parameters: ["x": 2], selectionEfficiency: 0.25)
    }

    func testPairedRoundTrip() throws {
        let folder = temporaryFolder()
        let sample = paired()
        try sample.write(to: folder)
        let back = try EventSample.read(from: folder)
        XCTAssertEqual(back, sample)
        XCTAssertEqual(back.detector?.tensor().shape, [3, 3])
        XCTAssertEqual(back.parton?.tensor().storage[1], 1.5)
    }

    func testSingleRoundTripAndCSV() throws {
        let folder = temporaryFolder()
        let sample = EventSample(generator: "ring", seed: 1, events: .init(columns: ["x", "y"], rows: 2, values: [1, 2, 3, 4]))
        try sample.write(to: folder)
        XCTAssertEqual(try EventSample.read(from: folder), sample)
        try sample.writeCSV(to: folder)
        let csv = try String(contentsOf: folder.appendingPathComponent("events.csv"), encoding: .utf8)
        XCTAssertEqual(csv, "x,y\n1.0,2.0\n3.0,4.0\n")
        XCTAssertEqual(try EventSample.readCSV(folder.appendingPathComponent("events.csv")), sample.events)
        let bad = folder.appendingPathComponent("bad.csv")
        try "x,y\n1,2\n3\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EventSample.readCSV(bad)) {
            XCTAssertTrue("\($0)".contains("bad.csv:3:") && "\($0)".contains("expected 2 fields") && "\($0)".contains("got 1"), "\($0)")
        }
    }

    func testRowMismatchNamesFileExpectedAndActual() throws {
        let folder = temporaryFolder()
        try paired().write(to: folder)
        try NPYArray(shape: [2, 3], values: Array(repeating: 0, count: 6)).write(to: folder.appendingPathComponent("detector.npy"))
        XCTAssertThrowsError(try EventSample.read(from: folder)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("detector.npy") && message.contains("expected 3 rows") && message.contains("got 2"), message)
        }
    }

    func testColumnMismatchAndMissingFile() throws {
        let folder = temporaryFolder()
        try paired().write(to: folder)
        try NPYArray(shape: [3, 4], values: Array(repeating: 0, count: 12)).write(to: folder.appendingPathComponent("parton.npy"))
        XCTAssertThrowsError(try EventSample.read(from: folder)) { error in
            XCTAssertTrue("\(error)".contains("parton.npy") && "\(error)".contains("expected 2 columns") && "\(error)".contains("[3, 4]"), "\(error)")
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("njets.npy"))
        try paired().parton.map { try NPYArray(shape: $0.shape, values: $0.values).write(to: folder.appendingPathComponent("parton.npy")) }
        XCTAssertThrowsError(try EventSample.read(from: folder)) { error in
            XCTAssertTrue("\(error)".contains("njets.npy") && "\(error)".contains("missing"), "\(error)")
        }
    }

    /// Jet counts that are not counts, and non-finite event values, are refused on read with the
    /// file, the row (and column) and the value (issue [reliability] 1, 2).
    func testRefusesBadJetCountsAndNonFiniteValues() throws {
        for bad in [Double.nan, 1e30, -1, 2.5] {
            let folder = temporaryFolder()
            try paired().write(to: folder)
            // Raw bytes: NPYArray.write refuses to write a non-finite array, as a foreign writer would not.
            try writeAtomically(NPYArray(shape: [3], values: [2, bad, 2], dtype: .float64).encoded(), to: folder.appendingPathComponent("njets.npy"))
            XCTAssertThrowsError(try EventSample.read(from: folder), "njets \(bad)") { error in
                XCTAssertTrue("\(error)".contains("njets.npy") && "\(error)".contains("row 1"), "\(error)")
            }
        }
        for bad in [Double.nan, .infinity] {
            let folder = temporaryFolder()
            try paired().write(to: folder)
            try writeAtomically(NPYArray(shape: [3, 3], values: [0, 1, 2, 3, 4, bad, 6, 7, 8]).encoded(), to: folder.appendingPathComponent("detector.npy"))
            XCTAssertThrowsError(try EventSample.read(from: folder), "detector \(bad)") { error in
                XCTAssertTrue("\(error)".contains("detector.npy") && "\(error)".contains("row 1, column e"), "\(error)")
            }
        }
    }

    /// `--drop-non-finite`: the events holding NaN or inf in any array (here row 1 of the
    /// detector, row 3 of the parton level, row 4 of the weights) leave every array alike, so the
    /// pairs, jet counts and weights of the others stay aligned; the count is kept.
    func testDropPolicyRemovesEventsFromEveryArrayAlike() throws {
        let folder = temporaryFolder()
        var sample = paired(rows: 6)
        sample.njets = [2, 3, 4, 5, 6, 7]
        sample.weights = [0, 1, 2, 3, 4, 5]
        try sample.write(to: folder)
        var detector = sample.detector!.values, parton = sample.parton!.values, weights = sample.weights!
        detector[1 * 3 + 2] = .nan
        parton[3 * 2 + 0] = -.infinity
        weights[4] = .infinity
        try writeAtomically(NPYArray(shape: [6, 3], values: detector).encoded(), to: folder.appendingPathComponent("detector.npy"))
        try writeAtomically(NPYArray(shape: [6, 2], values: parton).encoded(), to: folder.appendingPathComponent("parton.npy"))
        try writeAtomically(NPYArray(shape: [6], values: weights).encoded(), to: folder.appendingPathComponent("weights.npy"))
        XCTAssertThrowsError(try EventSample.read(from: folder))

        let read = try EventSample.read(from: folder, nonFinite: .drop)
        let kept = [0, 2, 5]
        XCTAssertEqual(read.droppedNonFinite, 3)
        XCTAssertEqual(read.count, 3)
        XCTAssertEqual(read.parton, sample.parton!.rows(kept))
        XCTAssertEqual(read.detector, sample.detector!.rows(kept))
        XCTAssertEqual(read.njets, kept.map { sample.njets![$0] })
        XCTAssertEqual(read.weights, kept.map { sample.weights![$0] })
        let clean = temporaryFolder()
        try sample.write(to: clean)
        XCTAssertEqual(try EventSample.read(from: clean, nonFinite: .drop), sample, "nothing dropped from a finite sample")
    }
}

/// Row selection of an event block: any order, repeats, ranges.
final class BlockRowsTests: XCTestCase {
    func testRowsSelectsInOrderWithRepeats() {
        let block = EventSample.Block(columns: ["a", "b"], rows: 3, values: [0, 1, 10, 11, 20, 21])
        XCTAssertEqual(block.rows([2, 0, 2]), EventSample.Block(columns: ["a", "b"], rows: 3, values: [20, 21, 0, 1, 20, 21]))
        XCTAssertEqual(block.rows(1..<3).values, [10, 11, 20, 21])
        XCTAssertEqual(block.rows([Int]()).rows, 0)
    }
}

/// Atomic writes clean up what a killed writer left ([reliability] 4).
final class AtomicWriteTests: XCTestCase {
    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let folder = temporaryFolder()
        let url = folder.appendingPathComponent("checkpoint.safetensors")
        // PID 2^22 + 1 is above Linux's pid_max limit (4194304): no such process can exist.
        let stale = folder.appendingPathComponent(".checkpoint.safetensors.tmp-4194305")
        let live = folder.appendingPathComponent(".checkpoint.safetensors.tmp-1")   // init is always alive
        let other = folder.appendingPathComponent(".other.tmp-4194305")
        for f in [stale, live, other] { try Data("x".utf8).write(to: f) }
        try writeAtomically("new", to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "new")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "a dead writer's temporary is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "a live process's temporary stays")
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.path), "other files' temporaries are not touched")
    }
}
