import Tensor
import TestSupport
import Unfolding
import XCTest

final class BinnedCSVTests: XCTestCase {
    func assertFails(_ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(message), "expected '\(message)' in: \(error)", file: file, line: line)
        }
    }

    func testResponseParses() throws {
        let text = "# response\n0.8, 0.1\n\n0.1,0.7\n0.05,0.1\n"
        let r = try BinnedCSV.parseResponse(text, path: "R.csv")
        XCTAssertEqual(r.measuredBins, 3); XCTAssertEqual(r.truthBins, 2)
        assertAllClose(r.efficiency, [0.95, 0.9], rel: 1e-14)
    }

    func testBadResponseNamesFileAndLine() {
        assertFails("R.csv:3: ragged row: expected 2 columns (as on line 1), got 3") {
            _ = try BinnedCSV.parseResponse("0.5,0.5\n0.5,0.5\n0.1,0.1,0.1\n", path: "R.csv")
        }
        assertFails("R.csv:2: response entry in column 2: expected a value >= 0, got -0.1") {
            _ = try BinnedCSV.parseResponse("0.5,0.5\n0.5,-0.1\n", path: "R.csv")
        }
        assertFails("R.csv:1: column 1: expected a probability in [0, 1], got 1.5") {
            _ = try BinnedCSV.parseResponse("1.5,0\n", path: "R.csv")
        }
        assertFails("R.csv:2: response entry in column 1: expected a number, got 'abc'") {
            _ = try BinnedCSV.parseResponse("0.5\nabc\n", path: "R.csv")
        }
        assertFails("R.csv: ResponseMatrix column 0 sum (efficiency): expected <= 1, got 1.2") {
            _ = try BinnedCSV.parseResponse("0.6\n0.6\n", path: "R.csv")
        }
    }

    func testBadCountsNameFileAndLine() throws {
        assertFails("d.csv:3: count: expected a value >= 0, got -4.0") { _ = try BinnedCSV.parseCounts("1\n2\n-4\n", path: "d.csv") }
        assertFails("d.csv:2: expected one count per line, got 2 fields") { _ = try BinnedCSV.parseCounts("1\n2,3\n", path: "d.csv") }
        assertFails("d.csv: expected counts, one per line, got none") { _ = try BinnedCSV.parseCounts("# nothing\n", path: "d.csv") }
        let counts = try BinnedCSV.parseCounts("# header comment\n10\n20\n\n30\n", path: "d.csv")
        XCTAssertEqual(counts.values, [10, 20, 30]); XCTAssertEqual(counts.lines, [2, 3, 5])
        assertFails("d.csv:5: expected 2 counts (the measured bins of R.csv), got 3: first extra count here") {
            try counts.requireCount(2, "the measured bins of R.csv")
        }
        assertFails("d.csv:5: expected 4 counts (the measured bins of R.csv), got 3") { try counts.requireCount(4, "the measured bins of R.csv") }
        XCTAssertNoThrow(try counts.requireCount(3, "bins"))
    }

    func testResultFormat() throws {
        let result = try BinByBin.unfold(data: [4, 9], simulatedTruth: [1, 1], simulatedReco: [1, 1])
        XCTAssertEqual(BinnedCSV.format(result), "4.0,2.0\n9.0,3.0\n")
    }
}
