import Foundation
import XCTest
import Tensor
import TestSupport

final class NPYTests: XCTestCase {
    /// The expected values of one golden file, flattened, with shape from the nesting.
    /// Numbers are parsed with `Double(String)` (correctly rounded): Foundation's JSON parser on
    /// Linux is off by a few ULPs, which would hide or fake a bit-level difference.
    private func expected(_ name: String) throws -> (shape: [Int], values: [Double]) {
        let folder = try XCTUnwrap(goldenFolder())
        let text = try String(contentsOf: folder.appendingPathComponent("npy.expected.json"), encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "\"\(name)\""))
        var depth = 0, rows = 0, values: [Double] = [], token = ""
        var began = false
        for ch in text[start.upperBound...] {
            if ch == "[" { depth += 1; began = true; continue }
            if "-+.eE0123456789".contains(ch) { token.append(ch); continue }
            if !token.isEmpty { values.append(try XCTUnwrap(Double(token))); token = "" }
            if ch == "]" { depth -= 1; if depth == 1 { rows += 1 }; if depth == 0 && began { break } }
        }
        return rows == 0 ? ([values.count], values) : ([rows, values.count / rows], values)
    }

    func testReadsNumpyGoldenFiles() throws {
        let folder = try XCTUnwrap(goldenFolder())
        for name in ["events-f32.npy", "events-f64.npy", "events-fortran.npy", "njets-i32.npy"] {
            let array = try NPYArray.read(folder.appendingPathComponent(name))
            let truth = try expected(name)
            XCTAssertEqual(array.shape, truth.shape, name)
            // Exact: float32 values widen to Double exactly, and numpy wrote the shortest repr.
            XCTAssertEqual(array.values, truth.values, name)
        }
        XCTAssertEqual(try NPYArray.read(folder.appendingPathComponent("njets-i32.npy")).dtype, .int32)
    }

    func testRoundTripEveryDType() throws {
        let folder = temporaryFolder()
        for dtype in NPYArray.DType.allCases {
            let array = NPYArray(shape: [3, 2], values: [1, -2, 3, 4, 5, 6], dtype: dtype)
            let url = folder.appendingPathComponent("a-\(dtype).npy")
            try array.write(to: url)
            let back = try NPYArray.read(url)
            XCTAssertEqual(back, array, "\(dtype)")
            let bytes = try Data(contentsOf: url)
            // Header (magic + length + dict + newline) padded to a multiple of 64 bytes.
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0)
        }
    }

    func testBadMagicNamesTheFile() {
        XCTAssertThrowsError(try NPYArray.parse(Data("hello world".utf8), path: "x.npy")) { error in
            XCTAssertTrue("\(error)".contains("x.npy"), "\(error)")
            XCTAssertTrue("\(error)".contains("magic"), "\(error)")
        }
    }

    /// A header whose shape overflows Int, a negative extent, and junk after the data: errors
    /// naming the file (issue [reliability] 1, 2), not a crash or a silent read.
    func testRefusesOverflowingShapesAndTrailingBytes() throws {
        func file(_ shape: String, payload: Int) -> Data {
            var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
            data.append(Data(header.utf8)); data.append(Data(count: payload))
            return data
        }
        for (shape, message) in [("(9223372036854775807, 4)", "more than Int.max"), ("(4294967296, 4294967296)", "more than Int.max"),
                                 ("(3, -2)", "bad shape entry"), ("(2,)", "8 bytes after the data")] {
            XCTAssertThrowsError(try NPYArray.parse(file(shape, payload: 24), path: "x.npy"), shape) { error in
                XCTAssertTrue("\(error)".contains("x.npy") && "\(error)".contains(message), "\(shape): \(error)")
            }
        }
        XCTAssertEqual(try NPYArray.parse(file("(3,)", payload: 24), path: "x.npy").shape, [3])
    }
}
